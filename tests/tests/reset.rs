//! The accelerator's reset input, in the native and Verilator engines: a
//! reset in the middle of a frame, of a weight load, or of a result held
//! back by the host, leaves a device that answers every later packet
//! exactly like a fresh one. After the reset the status counters are zero,
//! the weights loaded completely before it stay usable (a load it cut short
//! is not counted, and frames are refused until it is sent again), and the
//! frames of a new sequence give the reference's class, logits and state in
//! the predicted cycles, numbered from 0. The reset request lasts from one
//! cycle to a few (the design holds it itself), at random points.

mod engines;

use engines::{native, verilator};
use lstm_accel_host::driver::Driver;
use lstm_accel_model::random::{self, MatrixKind, ModelShape, ScalarKind};
use lstm_accel_model::reference::Reference;
use lstm_accel_model::Model;
use lstm_accel_sim::link::SimLink;
use lstm_accel_sim::Device;
use lstm_accel_spec::protocol::loaded_mask;
use lstm_accel_spec::spec::{AcceleratorSpec, HwConfig};
use lstm_accel_spec::Target;
use rand::Rng;

/// Where the reset falls.
#[derive(Clone, Copy, Debug)]
enum Point {
    /// While a frame runs, `k` cycles after it was sent.
    MidFrame,
    /// While the weights stream in.
    MidLoad,
    /// While a finished frame's result waits for the host's `tready`.
    HeldResult,
}

/// A small model of each kind: dense ternary and power-of-two weights with
/// a LightRNN head, block-Toeplitz / block-circulant matrices, low-rank
/// ones with a projection; odd seeds on row engines.
fn case(seed: u64) -> (Model, HwConfig) {
    let mut r = random::rng(seed);
    let shape = match seed % 3 {
        0 => ModelShape {
            light_rnn: true,
            ..ModelShape::ternary(7, &[5, 4], 6, 8)
        },
        1 => ModelShape {
            matrix_kinds: vec![MatrixKind::BlockToeplitz, MatrixKind::BlockCirculant],
            scalar_kinds: vec![ScalarKind::Ternary, ScalarKind::Pow2],
            ..ModelShape::ternary(8, &[8], 4, 8)
        },
        _ => ModelShape {
            matrix_kinds: vec![MatrixKind::LowRank, MatrixKind::Dense],
            projection: vec![Some(3), None],
            ..ModelShape::ternary(6, &[6, 5], 3, 8)
        },
    };
    let m = random::model(&mut r, &shape);
    // A random lane count the model's blocks allow (one always does).
    let first = r.random_range(0..3);
    let hw = [4, 2, 1]
        .into_iter()
        .cycle()
        .skip(first)
        .take(3)
        .chain([1])
        .map(|lanes| HwConfig {
            lanes,
            target: Target::Generic,
            ..HwConfig::default()
        })
        .find(|hw| AcceleratorSpec::new(&m, hw).is_ok())
        .expect("one lane always fits");
    // Odd seeds on row engines (3 or 2, as the model's blocks allow): the
    // result queue drains while the reset is held too.
    let rows = [3, 2]
        .into_iter()
        .filter(|_| seed % 2 == 1)
        .find(|&rows| AcceleratorSpec::new(&m, &HwConfig { rows, ..hw.clone() }).is_ok())
        .unwrap_or(1);
    (m, HwConfig { rows, ..hw })
}

/// Runs `point` for `seed` in `engine` and checks the device afterwards.
fn reset_and_check<D: Device>(
    seed: u64,
    point: Point,
    engine: impl Fn(&Model, &AcceleratorSpec) -> D,
) {
    let (m, hw) = case(seed);
    let spec = AcceleratorSpec::new(&m, &hw).expect("spec");
    let per_frame = spec.cycles_per_frame();
    let mut link = SimLink::new(engine(&m, &spec));
    link.timeout = 20 * per_frame + 100_000;
    let ctx = format!(
        "{} engine, seed {seed}, {point:?}, {} x {} lanes",
        link.device().engine(),
        hw.rows,
        hw.lanes
    );
    let mut r = random::rng(seed ^ 0x7e5e7);
    let inputs = random::frames(&mut r, &m, 4, 0.5);
    let hold = r.random_range(1..=6);
    let mut drv = Driver::new(link, spec.clone());
    let full = loaded_mask(&spec.layout);
    match point {
        Point::MidFrame => {
            drv.load(&m).expect("load");
            drv.reset().expect("reset");
            drv.run_frame(0, &inputs[0]).expect("a frame before");
            drv.send_frame(1, &inputs[1]).expect("send");
            let words = inputs[1].len() as u64 + 1;
            let k = words + r.random_range(0..per_frame);
            drv.link_mut().idle(k);
            drv.link_mut().reset_device(hold);
        }
        Point::MidLoad => {
            drv.load(&m).expect("load");
            let k = r.random_range(1..40);
            drv.link_mut().idle(k);
            drv.link_mut().reset_device(hold);
            // The load was cut short: frames are refused until it is sent
            // again (no result comes back; the status counts it).
            let st = drv.status().unwrap_or_else(|e| panic!("{ctx}: {e}"));
            assert_ne!(st.loaded, full, "a cut load must not count, {ctx}");
            drv.send_frame(0, &inputs[0]).expect("send");
            let st = drv.status().unwrap_or_else(|e| panic!("{ctx}: {e}"));
            assert_eq!((st.refused, st.frames), (1, 0), "{ctx}");
            drv.load(&m).expect("load again");
        }
        Point::HeldResult => {
            drv.load(&m).expect("load");
            drv.reset().expect("reset");
            drv.send_frame(0, &inputs[0]).expect("send");
            // Every word in, then the host takes nothing for longer than
            // the frame runs: the result waits in the device.
            let dev = drv.link_mut();
            dev.flush().expect("flush");
            for _ in 0..per_frame + 50 {
                dev.device_mut().cycle(None, false);
            }
            dev.reset_device(hold);
        }
    }
    // The device answers as a fresh one would, with the weights loaded
    // (and the one frame refused after a cut load counted).
    // The new sequence's state reset goes first: the sweep must not race
    // writes of the frame the reset cut short (the design's reset lasts
    // until they have drained).
    drv.reset().expect("reset");
    let refused = u32::from(matches!(point, Point::MidLoad));
    let st = drv.status().unwrap_or_else(|e| panic!("{ctx}: {e}"));
    assert_eq!(
        (
            st.frames,
            st.bad_opcode,
            st.bad_length,
            st.refused,
            st.loaded
        ),
        (0, 0, 0, refused, full),
        "status after the reset, {ctx}"
    );
    let mut reference = Reference::new(&m).expect("reference");
    for (i, f) in inputs.iter().enumerate() {
        let want = reference.step(f).expect("step");
        let got = drv.run_frame(i, f).unwrap_or_else(|e| panic!("{ctx}: {e}"));
        assert_eq!(got.logits, reference.logits(), "logits, frame {i}, {ctx}");
        assert_eq!(got.class as i32 as usize, want, "class, frame {i}, {ctx}");
        assert_eq!(u64::from(got.cycles), per_frame, "cycles, frame {i}, {ctx}");
        assert_eq!(got.frame as usize, i, "frame counter, {ctx}");
        let state = drv.read_state().unwrap_or_else(|e| panic!("{ctx}: {e}"));
        for (l, s) in state.iter().enumerate() {
            assert_eq!(s.c, reference.cell(l), "c of layer {l}, frame {i}, {ctx}");
            let h: Vec<i64> = reference.output(l).iter().map(|&v| i64::from(v)).collect();
            assert_eq!(s.h, h, "h of layer {l}, frame {i}, {ctx}");
        }
    }
}

const POINTS: [Point; 3] = [Point::MidFrame, Point::MidLoad, Point::HeldResult];

#[test]
fn a_reset_anywhere_leaves_a_device_that_answers_like_a_fresh_one_native() {
    for seed in 0..12 {
        reset_and_check(seed, POINTS[seed as usize % 3], native);
    }
    // Every point on every kind of model.
    for seed in 12..15 {
        for p in POINTS {
            reset_and_check(seed, p, native);
        }
    }
}

#[test]
fn a_reset_anywhere_leaves_a_device_that_answers_like_a_fresh_one_verilator() {
    for seed in 0..3 {
        for p in POINTS {
            reset_and_check(seed, p, verilator);
        }
    }
}
