//! The board's reset button on the virtual board (the serial design: UART,
//! link, register slice, accelerator), native and Verilator: pressed while
//! a frame's bytes cross the line, while it runs, or while its result comes
//! back,
//! it leaves a board that a new host session (a new `SerialLink` on the
//! same line, which agrees sequences with the bridge afresh) finds with its
//! counters at zero and its weights loaded, and that runs a new sequence
//! exactly like the reference, in the predicted cycles.

use lstm_accel_host::crosscheck::cross_check;
use lstm_accel_host::driver::Driver;
use lstm_accel_host::serial::{BytePort, SerialLink};
use lstm_accel_model::random::{self, ModelShape};
use lstm_accel_model::Model;
use lstm_accel_sim::serial::{NativeSerialDevice, SerialDevice, UartLine};
use lstm_accel_sim::verilator::{VerilatorOptions, VerilatorSerialDevice};
use lstm_accel_spec::link;
use lstm_accel_spec::protocol::loaded_mask;
use lstm_accel_spec::spec::{AcceleratorSpec, HwConfig};
use lstm_accel_verify::virtual_board::{LineNoise, SimulatedPort};
use rand::Rng;

const CPB: usize = 4;

fn case() -> (Model, AcceleratorSpec) {
    let mut r = random::rng(50);
    let model = random::model(&mut r, &ModelShape::ternary(6, &[8], 4, 8));
    let hw = HwConfig {
        lanes: 4,
        ..HwConfig::default()
    };
    let spec = AcceleratorSpec::new(&model, &hw).expect("spec");
    (model, spec)
}

/// Presses reset `after` line clocks into frame 1's transfer, holds it
/// `hold` clocks, then checks the board with a new session.
fn press_reset<D: SerialDevice>(device: D, model: &Model, spec: &AcceleratorSpec, seed: u64) {
    let engine = device.engine();
    let mut r = random::rng(seed);
    let frames = random::frames(&mut r, model, 2, 0.5);
    let port = SimulatedPort::new(
        UartLine::new(device, CPB),
        LineNoise::none(),
        4_000 * CPB as u64,
    );
    let mut drv = Driver::new(SerialLink::new(port), spec.clone());
    drv.load(model).expect("load");
    drv.reset().expect("reset");
    drv.run_frame(0, &frames[0]).expect("a frame before");
    // Odd seeds: frame 1 reaches the accelerator (the bridge acknowledged
    // it), and the press falls while it runs or its result comes back. Even
    // seeds: a frame's bytes are still crossing the line.
    let clocks_per_byte = 10 * CPB as u64;
    let wire = clocks_per_byte * (8 + 4 * (frames[1].len() as u64 + 1));
    let after = if seed % 2 == 1 {
        drv.send_frame(1, &frames[1]).expect("send");
        r.random_range(1..spec.cycles_per_frame() + 2 * wire)
    } else {
        let f = link::Frame {
            kind: link::H_DATA_END,
            seq: r.random(),
            words: frame_packet(&frames[1]),
        };
        drv.link_mut().port().write(&f.encode()).expect("write");
        r.random_range(1..wire)
    };
    let hold = r.random_range(1..50);
    let line = drv.link_mut().port().line_mut();
    line.pump(after);
    line.device_mut().set_reset(true);
    line.pump(hold);
    line.device_mut().set_reset(false);
    // The old session is over; a new one on the same line.
    let port = drv.into_link().into_port();
    let mut drv = Driver::new(SerialLink::new(port), spec.clone());
    let ctx = format!("{engine}, seed {seed}, reset {after} clocks in for {hold}");
    let st = drv.status().unwrap_or_else(|e| panic!("{ctx}: {e}"));
    assert_eq!(
        (
            st.frames,
            st.bad_opcode,
            st.bad_length,
            st.refused,
            st.loaded
        ),
        (0, 0, 0, 0, loaded_mask(&spec.layout)),
        "status after the reset, {ctx}"
    );
    let sequences = vec![random::frames(&mut r, model, 3, 0.5)];
    let check = cross_check(&mut drv, model, spec, &sequences, true, |_| {})
        .unwrap_or_else(|e| panic!("{ctx}: {e}"));
    assert!(
        check.mismatches.is_empty(),
        "{ctx}: {}",
        check.mismatches[0]
    );
    assert_eq!(check.frames, 3, "{ctx}");
    let p = spec.cycles_per_frame();
    assert_eq!(check.measured_cycles_per_frame, (p, p), "{ctx}");
}

/// A `FRAME` packet's words.
fn frame_packet(frame: &[i32]) -> Vec<u32> {
    use lstm_accel_spec::protocol::{header, FRAME};
    std::iter::once(header(FRAME, frame.len()))
        .chain(frame.iter().map(|&v| v as u32))
        .collect()
}

#[test]
fn a_reset_press_leaves_a_board_a_new_session_finds_fresh_native() {
    let (model, spec) = case();
    for seed in 0..6 {
        let device = NativeSerialDevice::new(&model, &spec, CPB as u64).expect("design");
        press_reset(device, &model, &spec, seed);
    }
}

#[test]
fn a_reset_press_leaves_a_board_a_new_session_finds_fresh_verilator() {
    let (model, spec) = case();
    let options = VerilatorOptions {
        opt_level: 0,
        ..VerilatorOptions::new(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("verilator"))
    };
    for seed in 10..14 {
        let device =
            VerilatorSerialDevice::new(&model, &spec, CPB as u64, &options).expect("design");
        press_reset(device, &model, &spec, seed);
    }
}
