//! The cross-check's mismatch report: a device that corrupts one word of
//! one reply (a result or a state read-back) must be caught, and the report
//! must name the sequence, the frame, the layer, the unit and the signal of
//! exactly that word, and nothing else.

use lstm_accel_host::crosscheck::{cross_check, Mismatch};
use lstm_accel_host::driver::Driver;
use lstm_accel_model::model::Head;
use lstm_accel_model::random::{self, ModelShape};
use lstm_accel_model::readout::Readout;
use lstm_accel_model::reference::Reference;
use lstm_accel_model::Model;
use lstm_accel_sim::link::SimLink;
use lstm_accel_sim::native::NativeDevice;
use lstm_accel_sim::{Device, Edge};
use lstm_accel_spec::protocol::RESULT_FIXED_WORDS;
use lstm_accel_spec::spec::{AcceleratorSpec, HwConfig};
use lstm_accel_spec::Target;

/// Flips the low bit of word `word` of output packet `packet` (counted from
/// the device's first packet).
struct Corrupting<D> {
    inner: D,
    packet: usize,
    word: usize,
    seen_packets: usize,
    seen_words: usize,
}

impl<D: Device> Device for Corrupting<D> {
    fn cycle(&mut self, input: Option<lstm_accel_sim::StreamWord>, out_ready: bool) -> Edge {
        let mut e = self.inner.cycle(input, out_ready);
        if let Some(w) = &mut e.output {
            if self.seen_packets == self.packet && self.seen_words == self.word {
                w.data ^= 1;
            }
            self.seen_words += 1;
            if w.last {
                self.seen_packets += 1;
                self.seen_words = 0;
            }
        }
        e
    }
    fn set_reset(&mut self, asserted: bool) {
        self.inner.set_reset(asserted);
    }
    fn cycles(&self) -> u64 {
        self.inner.cycles()
    }
    fn engine(&self) -> &'static str {
        "corrupting"
    }
}

fn setup() -> (Model, AcceleratorSpec) {
    let mut r = random::rng(11);
    let m = random::model(&mut r, &ModelShape::ternary(5, &[3, 4], 3, 8));
    let hw = HwConfig::on(2, Target::Generic);
    let spec = AcceleratorSpec::new(&m, &hw).expect("spec");
    (m, spec)
}

/// Runs two sequences of three frames with state read-back, corrupting one
/// word of one reply; returns the mismatches.
fn mismatches(packet: usize, word: usize) -> Vec<Mismatch> {
    let (m, spec) = setup();
    let dev = Corrupting {
        inner: NativeDevice::new(&m, &spec).expect("design"),
        packet,
        word,
        seen_packets: 0,
        seen_words: 0,
    };
    let mut drv = Driver::new(SimLink::new(dev), spec.clone());
    let mut r = random::rng(3);
    let seqs: Vec<Vec<Vec<i32>>> = (0..2).map(|_| random::frames(&mut r, &m, 3, 0.3)).collect();
    let check = cross_check(&mut drv, &m, &spec, &seqs, true, |_| {}).expect("runs");
    assert!(check.state_read);
    assert_eq!(check.frames, 6);
    check.mismatches
}

#[test]
fn a_clean_device_has_no_mismatch() {
    // Packet 99 never comes: nothing is corrupted.
    assert_eq!(mismatches(99, 0), vec![]);
}

#[test]
fn a_wrong_h_is_named_by_sequence_frame_layer_and_unit() {
    // Replies alternate RESULT, STATE_REPLY per frame, three frames per
    // sequence: packet 7 is the state after sequence 1's frame 0. Its payload: layer 0 c[0..3], h[0..3], layer 1 c[0..4], h[0..4]; word
    // 1 + 3 + 3 + 4 + 2 is layer 1's h[2].
    let got = mismatches(7, 1 + 3 + 3 + 4 + 2);
    assert_eq!(got.len(), 1, "{got:?}");
    let m = &got[0];
    assert_eq!(
        (m.sequence, m.frame, m.layer, m.unit, m.signal.as_str()),
        (1, 0, Some(1), Some(2), "h")
    );
    assert_eq!((m.expected ^ m.got) & 1, 1);
    assert_eq!(
        m.to_string(),
        format!(
            "sequence 1 frame 0 layer 1 unit 2 h: reference {}, device {}",
            m.expected, m.got
        )
    );
}

#[test]
fn a_wrong_c_and_a_wrong_logit_are_named() {
    // Packet 3: state after sequence 0 frame 1; word 2 is layer 0's c[1].
    let got = mismatches(3, 2);
    assert_eq!(got.len(), 1, "{got:?}");
    let m = &got[0];
    assert_eq!(
        (m.sequence, m.frame, m.layer, m.unit, m.signal.as_str()),
        (0, 1, Some(0), Some(1), "c")
    );
    // Packet 4: result of sequence 0 frame 2; logit 1. A flipped logit may
    // also flip the class; the logit itself must be named.
    let got = mismatches(4, 1 + RESULT_FIXED_WORDS + 1);
    assert!(
        got.iter().any(
            |m| (m.sequence, m.frame, m.layer, m.unit, m.signal.as_str())
                == (0, 2, None, Some(1), "logit")
        ),
        "{got:?}"
    );
    // The last frame's class is the sequence's answer: a flipped class
    // flips it too.
    assert!(got
        .iter()
        .all(|m| ["logit", "class", "answer"].contains(&m.signal.as_str())));
}

/// A model that pools over time: the device's answer to each sequence is
/// the arg-max of its logits summed over the frames, equal to the
/// reference's, and differs from its last frame's class where pooling
/// matters; read out at the last frame, the answers are the last classes.
#[test]
fn a_pooled_answer_comes_from_every_frame_and_matches_the_reference() {
    let mut m = random::model(&mut random::rng(1), &ModelShape::ternary(5, &[6], 5, 12));
    // A random head's bias outweighs its weights: without it, the logits
    // follow the frames.
    if let Head::Dense(h) = &mut m.head {
        h.bias.values.fill(0);
    }
    let spec = AcceleratorSpec::new(&m, &HwConfig::on(2, Target::Generic)).expect("spec");
    m.readout = Readout::Mean;
    let mut r = random::rng(5);
    let seqs: Vec<Vec<Vec<i32>>> = (0..24)
        .map(|_| random::frames(&mut r, &m, 6, 0.3))
        .collect();
    let dev = NativeDevice::new(&m, &spec).expect("design");
    let mut drv = Driver::new(SimLink::new(dev), spec.clone());
    let check = cross_check(&mut drv, &m, &spec, &seqs, false, |_| {}).expect("runs");
    assert_eq!(check.mismatches, vec![]);
    let mut reference = Reference::new(&m).expect("reference");
    let mut pooled_differs = 0;
    for ((seq, answer), classes) in seqs.iter().zip(&check.answers).zip(&check.classes) {
        reference.reset();
        let mut sums = vec![0i64; m.head.logits()];
        for f in seq {
            reference.step(f).expect("steps");
            for (s, z) in sums.iter_mut().zip(reference.logits()) {
                *s += z;
            }
        }
        let best = sums.iter().copied().max().expect("logits");
        let want = sums.iter().position(|&s| s == best).expect("a maximum");
        assert_eq!(*answer, Some(want as u32));
        assert_eq!(reference.answer(), want);
        pooled_differs += usize::from(classes.last() != Some(&(want as u32)));
    }
    assert!(pooled_differs > 0, "pooling changes some answer");
    // The same model read out at the last frame answers with its classes.
    m.readout = Readout::Last;
    let dev = NativeDevice::new(&m, &spec).expect("design");
    let mut drv = Driver::new(SimLink::new(dev), spec.clone());
    let last = cross_check(&mut drv, &m, &spec, &seqs, false, |_| {}).expect("runs");
    let last_classes: Vec<Option<u32>> = last.classes.iter().map(|c| c.last().copied()).collect();
    assert_eq!(last.answers, last_classes);
}
