//! Fault injection on the streaming path, in the native and Verilator
//! engines: corrupted, truncated, over-long, duplicated and reordered
//! packets, heavy random stalls on both streams, and weights reloaded
//! between the frames of a sequence. Each scenario asserts the status
//! counters (the design reports the error), that no reply comes for a bad
//! packet (a status request right behind it is answered first, so a stray
//! packet would be read in its place), that nothing hangs (every link has a
//! cycle limit), and that the next good packet gives exactly the
//! reference's result. A reset in the middle of a frame or a load is in
//! `reset.rs`; a corrupted byte on the serial line (caught by the link's
//! CRC) in the host's `serial_link.rs`.

mod engines;

use engines::{native, verilator};
use lstm_accel_host::driver::{Driver, Status};
use lstm_accel_host::link::Link;
use lstm_accel_host::pack::{pack, stream_words};
use lstm_accel_model::random::{self, ModelShape, ScalarKind};
use lstm_accel_model::reference::Reference;
use lstm_accel_model::Model;
use lstm_accel_sim::link::{SimLink, Stalls};
use lstm_accel_sim::Device;
use lstm_accel_spec::protocol::{
    header, loaded_mask, FRAME, LOADED_WEIGHTS, LOAD_BIASES, LOAD_TAPS, LOAD_WEIGHTS, STATUS,
    STATUS_REPLY,
};
use lstm_accel_spec::spec::{AcceleratorSpec, HwConfig};
use lstm_accel_spec::Target;

fn setup() -> (Model, AcceleratorSpec) {
    let mut shape = ModelShape::ternary(5, &[6, 4], 4, 8);
    shape.scalar_kinds = vec![ScalarKind::Ternary, ScalarKind::Pow2];
    let m = random::model(&mut random::rng(17), &shape);
    let hw = HwConfig::on(2, Target::Generic);
    let spec = AcceleratorSpec::new(&m, &hw).expect("spec");
    (m, spec)
}

type Drv<D> = Driver<SimLink<D>>;

/// A driver on a fresh device, weights loaded, state reset.
fn fresh<D: Device>(dev: D, m: &Model, spec: &AcceleratorSpec, stalls: Option<Stalls>) -> Drv<D> {
    let mut link = SimLink::new(dev);
    // Nothing may hang: a few frames' worth of cycles at most.
    link.timeout = 20 * spec.cycles_per_frame() + 50_000;
    if let Some(s) = stalls {
        link = link.with_stalls(s);
    }
    let mut drv = Driver::new(link, spec.clone());
    drv.load(m).expect("load");
    drv.reset().expect("reset");
    drv
}

/// Runs `frame` and checks its result against `reference` stepped on it;
/// `counter` is the design's frame number it must carry.
fn good_frame<D: Device>(drv: &mut Drv<D>, reference: &mut Reference, frame: &[i32], counter: u32) {
    let class = reference.step(frame).expect("reference");
    let got = drv.run_frame(0, frame).expect("a result");
    assert_eq!(got.logits, reference.logits(), "frame {counter}");
    assert_eq!(got.class as i32 as usize, class, "frame {counter}");
    assert_eq!(got.frame, counter);
}

/// The status; also proves that no stray packet came before its reply.
fn status<D: Device>(drv: &mut Drv<D>) -> Status {
    drv.status().expect("the status reply is the next packet")
}

fn counters(s: &Status) -> (u32, u32, u32, u32) {
    (s.frames, s.bad_opcode, s.bad_length, s.refused)
}

fn frames(m: &Model, seed: u64, n: usize) -> Vec<Vec<i32>> {
    random::frames(&mut random::rng(seed), m, n, 0.3)
}

fn send<D: Device>(drv: &mut Drv<D>, words: &[u32]) {
    drv.link_mut().send(words).expect("queued");
}

/// Unknown opcodes and frames whose declared length, or whose `tlast`, is
/// wrong (short and long) are counted and skipped; nothing answers them; the
/// frame counter does not move; the next good frame is right.
fn corrupted_and_truncated_packets<D: Device>(dev: D) {
    let (m, spec) = setup();
    let mut drv = fresh(dev, &m, &spec, None);
    let mut reference = Reference::new(&m).expect("reference");
    let fs = frames(&m, 1, 6);
    let n = m.input.size;
    good_frame(&mut drv, &mut reference, &fs[0], 0);
    let payload: Vec<u32> = fs[1].iter().map(|&v| v as u32).collect();
    // An opcode the protocol does not have, with a payload.
    send(&mut drv, &[header(0x7f, 2), 1, 2]);
    assert_eq!(counters(&status(&mut drv)), (1, 1, 0, 0));
    // A header whose opcode bits were flipped into another unknown one.
    send(
        &mut drv,
        &[header(FRAME ^ 0x40, n)]
            .iter()
            .copied()
            .chain(payload.clone())
            .collect::<Vec<_>>(),
    );
    assert_eq!(counters(&status(&mut drv)), (1, 2, 0, 0));
    // A frame declaring one value too many (and carrying it).
    let mut long = vec![header(FRAME, n + 1)];
    long.extend(&payload);
    long.push(0);
    send(&mut drv, &long);
    assert_eq!(counters(&status(&mut drv)), (1, 2, 1, 0));
    // A frame cut short: `tlast` two words early.
    let mut short = vec![header(FRAME, n)];
    short.extend(&payload[..n.saturating_sub(2)]);
    send(&mut drv, &short);
    assert_eq!(counters(&status(&mut drv)), (1, 2, 2, 0));
    // A frame running past its declared length before `tlast`.
    let mut over = vec![header(FRAME, n)];
    over.extend(&payload);
    over.extend([7, 7]);
    send(&mut drv, &over);
    assert_eq!(counters(&status(&mut drv)), (1, 2, 3, 0));
    // A status request with a payload it must not have.
    send(&mut drv, &[header(STATUS, 1), 0]);
    let s = status(&mut drv);
    assert_eq!(counters(&s), (1, 2, 4, 0));
    // A bias load declaring one word (the design has more rows): skipped,
    // the biases it would have cut short stay loaded.
    assert!(spec.layout.tap_words == 0 && spec.layout.rows > 1);
    send(&mut drv, &[header(LOAD_BIASES, 1), 0]);
    assert_eq!(counters(&status(&mut drv)), (1, 2, 5, 0));
    // A tap load on a design without a tap memory: an unknown opcode here.
    send(&mut drv, &[header(LOAD_TAPS, 1), 0]);
    assert_eq!(counters(&status(&mut drv)), (1, 3, 5, 0));
    // Recovery: the next good frames continue the sequence exactly.
    good_frame(&mut drv, &mut reference, &fs[1], 1);
    good_frame(&mut drv, &mut reference, &fs[2], 2);
    assert_eq!(status(&mut drv).loaded, loaded_mask(&spec.layout));
}

/// A weight load cut short leaves the weights marked not loaded: frames are
/// refused (counted, no result) rather than run on partial weights, until a
/// complete load; then the sequence goes on from where it was.
fn a_truncated_load_refuses_frames_until_reloaded<D: Device>(dev: D) {
    let (m, spec) = setup();
    let mut drv = fresh(dev, &m, &spec, None);
    let mut reference = Reference::new(&m).expect("reference");
    let fs = frames(&m, 2, 4);
    good_frame(&mut drv, &mut reference, &fs[0], 0);
    let img = pack(&m, &spec)
        .expect("pack")
        .into_iter()
        .find(|i| i.name == "weights")
        .expect("weights image");
    let words = stream_words(&img, &spec.layout);
    let mut cut = vec![header(LOAD_WEIGHTS, words.len())];
    cut.extend(&words[..words.len() / 2]);
    send(&mut drv, &cut);
    let s = status(&mut drv);
    assert_eq!(counters(&s), (1, 0, 1, 0));
    assert_eq!(s.loaded & LOADED_WEIGHTS, 0);
    drv.send_frame(1, &fs[1]).expect("queued");
    let s = status(&mut drv);
    assert_eq!(counters(&s), (1, 0, 1, 1), "refused, and no result came");
    drv.load(&m).expect("reload");
    assert_eq!(status(&mut drv).loaded, loaded_mask(&spec.layout));
    good_frame(&mut drv, &mut reference, &fs[1], 1);
    good_frame(&mut drv, &mut reference, &fs[2], 2);
}

/// Duplicated packets run twice (the frame number tells the host); a frame
/// sent ahead of the weights on a device that has none is refused, and
/// frames reordered on the way are computed in the order they arrive.
fn duplicated_and_reordered_packets<D: Device>(dev: D, fresh_dev: D) {
    let (m, spec) = setup();
    let mut drv = fresh(dev, &m, &spec, None);
    let mut reference = Reference::new(&m).expect("reference");
    let fs = frames(&m, 3, 4);
    // The same frame twice: two results, the state stepped twice.
    drv.send_frame(0, &fs[0]).expect("queued");
    drv.send_frame(0, &fs[0]).expect("queued");
    for counter in 0..2 {
        let class = reference.step(&fs[0]).expect("reference");
        let got = drv.receive_result().expect("result");
        assert_eq!((got.frame, got.class as i32 as usize), (counter, class));
        assert_eq!(got.logits, reference.logits());
    }
    // A duplicated load and reset change nothing but the state's start.
    drv.load(&m).expect("load");
    drv.load(&m).expect("load");
    drv.reset().expect("reset");
    drv.reset().expect("reset");
    reference.reset();
    assert_eq!(counters(&status(&mut drv)), (2, 0, 0, 0));
    // Two frames swapped on the way.
    drv.send_frame(1, &fs[2]).expect("queued");
    drv.send_frame(0, &fs[1]).expect("queued");
    for (counter, f) in [(2, &fs[2]), (3, &fs[1])] {
        let class = reference.step(f).expect("reference");
        let got = drv.receive_result().expect("result");
        assert_eq!((got.frame, got.class as i32 as usize), (counter, class));
        assert_eq!(got.logits, reference.logits());
    }
    // A frame ahead of the weights, on a device that has none yet.
    let mut link = SimLink::new(fresh_dev);
    link.timeout = 20 * spec.cycles_per_frame() + 50_000;
    let mut drv = Driver::new(link, spec.clone());
    drv.send_frame(0, &fs[0]).expect("queued");
    drv.load(&m).expect("load");
    drv.reset().expect("reset");
    let s = status(&mut drv);
    assert_eq!(counters(&s), (0, 0, 0, 1));
    assert_eq!(s.loaded, loaded_mask(&spec.layout));
    let mut reference = Reference::new(&m).expect("reference");
    good_frame(&mut drv, &mut reference, &fs[0], 0);
}

/// Heavy back-pressure: the host takes an output word on one cycle in ten
/// and offers input on half; twelve frames and status requests queued at
/// once all come back, in order, every one right.
fn no_result_is_lost_under_back_pressure<D: Device>(dev: D) {
    let (m, spec) = setup();
    let stalls = Stalls {
        input: 0.5,
        output: 0.9,
        seed: 4,
    };
    let mut drv = fresh(dev, &m, &spec, Some(stalls));
    let mut reference = Reference::new(&m).expect("reference");
    let fs = frames(&m, 4, 12);
    for (i, f) in fs.iter().enumerate() {
        drv.send_frame(i, f).expect("queued");
        if i % 4 == 3 {
            send(&mut drv, &[header(STATUS, 0)]);
        }
    }
    for (i, f) in fs.iter().enumerate() {
        let class = reference.step(f).expect("reference");
        let got = drv.receive_result().expect("result");
        assert_eq!((got.frame as usize, got.class as i32 as usize), (i, class));
        assert_eq!(got.logits, reference.logits());
        if i % 4 == 3 {
            let st = drv.link_mut().receive().expect("status");
            assert_eq!(st[0] >> 24, STATUS_REPLY);
            assert_eq!(
                st[1] as usize,
                i + 1,
                "frames counted when the status was asked"
            );
        }
    }
    assert_eq!(counters(&status(&mut drv)), (12, 0, 0, 0));
}

/// Another model of the same shape loaded between two frames: the sequence
/// goes on from the same state with the new weights, and back again.
fn weights_reloaded_between_frames<D: Device>(dev: D) {
    let (a, spec) = setup();
    let mut b = a.clone();
    random::redraw_weights(&mut random::rng(5), &mut b, false);
    assert_ne!(a, b);
    let mut drv = fresh(dev, &a, &spec, None);
    let mut ra = Reference::new(&a).expect("reference");
    let mut rb = Reference::new(&b).expect("reference");
    let fs = frames(&a, 5, 6);
    good_frame(&mut drv, &mut ra, &fs[0], 0);
    good_frame(&mut drv, &mut ra, &fs[1], 1);
    drv.load(&b).expect("load b");
    rb.take_state_from(&ra).expect("same shape");
    good_frame(&mut drv, &mut rb, &fs[2], 2);
    good_frame(&mut drv, &mut rb, &fs[3], 3);
    drv.load(&a).expect("load a");
    ra.take_state_from(&rb).expect("same shape");
    good_frame(&mut drv, &mut ra, &fs[4], 4);
    // And from a reset with b.
    drv.load(&b).expect("load b");
    drv.reset().expect("reset");
    rb.reset();
    good_frame(&mut drv, &mut rb, &fs[5], 5);
    assert_eq!(counters(&status(&mut drv)), (6, 0, 0, 0));
}

fn dev_native() -> impl Device {
    let (m, spec) = setup();
    native(&m, &spec)
}

fn dev_verilator() -> impl Device {
    let (m, spec) = setup();
    verilator(&m, &spec)
}

#[test]
fn corrupted_and_truncated_packets_are_counted_skipped_and_recovered_from() {
    corrupted_and_truncated_packets(dev_native());
    corrupted_and_truncated_packets(dev_verilator());
}

#[test]
fn a_truncated_weight_load_refuses_frames_until_the_weights_are_whole() {
    a_truncated_load_refuses_frames_until_reloaded(dev_native());
    a_truncated_load_refuses_frames_until_reloaded(dev_verilator());
}

#[test]
fn duplicated_and_reordered_packets_are_run_as_they_arrive() {
    duplicated_and_reordered_packets(dev_native(), dev_native());
    duplicated_and_reordered_packets(dev_verilator(), dev_verilator());
}

#[test]
fn no_result_is_lost_under_heavy_back_pressure() {
    no_result_is_lost_under_back_pressure(dev_native());
    no_result_is_lost_under_back_pressure(dev_verilator());
}

#[test]
fn weights_reloaded_between_frames_take_effect_from_the_next_frame() {
    weights_reloaded_between_frames(dev_native());
    weights_reloaded_between_frames(dev_verilator());
}
