//! The cross-check: runs sequences of frames through a device with the
//! driver and through the bit-exact reference, and compares every frame's
//! class and logits exactly, and the device's own cycle count with the
//! spec's prediction. With `read_state`, it also reads every layer's c and h
//! back from the device after every frame (timestep) and compares them. A
//! mismatch names the sequence, the frame, the layer and unit (where the
//! signal has them) and the signal that differ.

use crate::driver::{Driver, DriverError};
use crate::link::Link;
use lstm_accel_model::readout::Answer;
use lstm_accel_model::reference::Reference;
use lstm_accel_model::Model;
use lstm_accel_spec::protocol::{self as p, header};
use lstm_accel_spec::AcceleratorSpec;
use serde::Serialize;

/// One difference between the device and the reference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// Sequence index.
    pub sequence: usize,
    /// Frame index within the sequence (the timestep).
    pub frame: usize,
    /// What differs: `class`, `logit`, `cycles`, `c` (cell state), `h` or
    /// `answer` (the sequence's, at its last frame).
    pub signal: String,
    /// The layer of a `c` or `h`.
    pub layer: Option<usize>,
    /// The unit: the cell of a `c` or `h`, the row of a `logit`.
    pub unit: Option<usize>,
    /// The reference's value (the spec's prediction for `cycles`).
    pub expected: i64,
    /// The device's value.
    pub got: i64,
}

/// The outcome of a cross-check.
#[derive(Clone, Debug, Serialize)]
pub struct CrossCheck {
    /// Frames run.
    pub frames: usize,
    /// Cycles per frame the spec predicts.
    pub predicted_cycles_per_frame: u64,
    /// Cycles per frame the device measured (every frame's, min and max).
    pub measured_cycles_per_frame: (u64, u64),
    /// Every layer's c and h were read back and compared after every frame.
    pub state_read: bool,
    /// Classes of the device, per sequence and frame.
    pub classes: Vec<Vec<u32>>,
    /// The device's answer to each sequence, from its own per-frame
    /// results as the model's readout says (its last class, or the arg-max
    /// of its logits summed over the frames); compared with the
    /// reference's (`answer`). `None` for a sequence without frames.
    pub answers: Vec<Option<u32>>,
    /// Every difference found.
    pub mismatches: Vec<Mismatch>,
}

impl CrossCheck {
    /// Joins the cross-check of the sequences that follow these (their
    /// sequence numbers counted on from this one's).
    pub fn append(&mut self, next: CrossCheck) {
        let offset = self.classes.len();
        if next.frames > 0 {
            self.measured_cycles_per_frame = if self.frames == 0 {
                next.measured_cycles_per_frame
            } else {
                (
                    self.measured_cycles_per_frame
                        .0
                        .min(next.measured_cycles_per_frame.0),
                    self.measured_cycles_per_frame
                        .1
                        .max(next.measured_cycles_per_frame.1),
                )
            };
        }
        self.frames += next.frames;
        self.state_read &= next.state_read;
        self.classes.extend(next.classes);
        self.answers.extend(next.answers);
        self.mismatches
            .extend(next.mismatches.into_iter().map(|m| Mismatch {
                sequence: m.sequence + offset,
                ..m
            }));
    }
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sequence {} frame {}", self.sequence, self.frame)?;
        if let Some(l) = self.layer {
            write!(f, " layer {l}")?;
        }
        if let Some(u) = self.unit {
            write!(f, " unit {u}")?;
        }
        write!(
            f,
            " {}: reference {}, device {}",
            self.signal, self.expected, self.got
        )
    }
}

/// Loads `model`, then runs each sequence from a reset, comparing every
/// frame (and with `read_state` every layer's c and h after it);
/// `progress` is called after each frame.
pub fn cross_check<L: Link>(
    driver: &mut Driver<L>,
    model: &Model,
    spec: &AcceleratorSpec,
    sequences: &[Vec<Vec<i32>>],
    read_state: bool,
    mut progress: impl FnMut(usize),
) -> Result<CrossCheck, DriverError> {
    let mut checker = CrossChecker::load(driver, model, spec, read_state)?;
    for frames in sequences {
        checker.sequence(driver, frames, &mut progress)?;
    }
    Ok(checker.finish())
}

/// A cross-check that takes its sequences one at a time, as they come
/// (continuous listening): the model is loaded once, and each sequence runs
/// from a reset.
pub struct CrossChecker {
    reference: Reference,
    answer: Answer<i64>,
    predicted_cycles: u64,
    out: CrossCheck,
}

impl CrossChecker {
    /// Loads `model` into the device behind `driver`.
    pub fn load<L: Link>(
        driver: &mut Driver<L>,
        model: &Model,
        spec: &AcceleratorSpec,
        read_state: bool,
    ) -> Result<Self, DriverError> {
        let reference = Reference::new(model)?;
        driver.load(model)?;
        Ok(CrossChecker {
            reference,
            answer: Answer::new(model.readout),
            predicted_cycles: spec.cycles_per_frame(),
            out: CrossCheck {
                frames: 0,
                predicted_cycles_per_frame: spec.cycles_per_frame(),
                measured_cycles_per_frame: (u64::MAX, 0),
                state_read: read_state,
                classes: Vec::new(),
                answers: Vec::new(),
                mismatches: Vec::new(),
            },
        })
    }

    /// The results so far.
    pub fn check(&self) -> &CrossCheck {
        &self.out
    }

    /// The reference's answer to the last sequence run.
    pub fn reference_answer(&self) -> usize {
        self.reference.answer()
    }

    /// Runs the next sequence from a reset and compares it; returns the
    /// device's answer to it (`None` without frames). `progress` gets the
    /// frames run so far, over every sequence.
    pub fn sequence<L: Link>(
        &mut self,
        driver: &mut Driver<L>,
        frames: &[Vec<i32>],
        mut progress: impl FnMut(usize),
    ) -> Result<Option<u32>, DriverError> {
        let (reference, answer, out) = (&mut self.reference, &mut self.answer, &mut self.out);
        let read_state = out.state_read;
        let s = out.classes.len();
        driver.reset()?;
        reference.reset();
        answer.reset();
        let mut classes = Vec::with_capacity(frames.len());
        for (f, frame) in frames.iter().enumerate() {
            let want = reference.step(frame).map_err(|e| DriverError::Frame {
                frame: f,
                problem: e.to_string(),
            })?;
            let got = driver.run_frame(f, frame)?;
            let state = if read_state {
                driver.read_state()?
            } else {
                Vec::new()
            };
            let mut differ =
                |signal: &str, at: (Option<usize>, Option<usize>), expected: i64, got: i64| {
                    if expected != got {
                        out.mismatches.push(Mismatch {
                            sequence: s,
                            frame: f,
                            signal: signal.into(),
                            layer: at.0,
                            unit: at.1,
                            expected,
                            got,
                        });
                    }
                };
            // A LightRNN class may be -1 (an empty table cell): the word is
            // signed.
            differ(
                "class",
                (None, None),
                want as i64,
                i64::from(got.class as i32),
            );
            for (i, (&e, &g)) in reference.logits().iter().zip(&got.logits).enumerate() {
                differ("logit", (None, Some(i)), e, g);
            }
            differ(
                "cycles",
                (None, None),
                self.predicted_cycles as i64,
                i64::from(got.cycles),
            );
            for (l, st) in state.iter().enumerate() {
                for (u, (&e, &g)) in reference.cell(l).iter().zip(&st.c).enumerate() {
                    differ("c", (Some(l), Some(u)), e, g);
                }
                for (u, (&e, &g)) in reference.output(l).iter().zip(&st.h).enumerate() {
                    differ("h", (Some(l), Some(u)), i64::from(e), g);
                }
            }
            let c = u64::from(got.cycles);
            out.measured_cycles_per_frame.0 = out.measured_cycles_per_frame.0.min(c);
            out.measured_cycles_per_frame.1 = out.measured_cycles_per_frame.1.max(c);
            answer.push(&got.logits, got.class as usize);
            classes.push(got.class);
            out.frames += 1;
            progress(out.frames);
        }
        let got = answer.class();
        if let Some(got) = got {
            // Equal logits give equal answers; a device whose class
            // disagrees with its own logits is caught here too.
            if got != reference.answer() {
                out.mismatches.push(Mismatch {
                    sequence: s,
                    frame: frames.len() - 1,
                    signal: "answer".into(),
                    layer: None,
                    unit: None,
                    expected: reference.answer() as i64,
                    got: got as i64,
                });
            }
        }
        let got = got.map(|c| c as u32);
        out.answers.push(got);
        out.classes.push(classes);
        Ok(got)
    }

    /// The whole cross-check.
    pub fn finish(mut self) -> CrossCheck {
        if self.out.frames == 0 {
            self.out.measured_cycles_per_frame = (0, 0);
        }
        self.out
    }
}

/// The packets a correct device sends while [`cross_check`] runs
/// `sequences` on it from power-up: per frame a `RESULT` (the design's
/// frame counter, the reference's class and logits, the spec's predicted
/// cycles) and, with `read_state`, a `STATE_REPLY` of the reference's c and
/// h. Engines that run a whole stream at once check the design against
/// these.
pub fn expected_replies(
    model: &Model,
    spec: &AcceleratorSpec,
    sequences: &[Vec<Vec<i32>>],
    read_state: bool,
) -> Result<Vec<Vec<u32>>, DriverError> {
    let mut reference = Reference::new(model)?;
    let lay = &spec.layout;
    let mut out = Vec::new();
    let mut frame_counter = 0u32;
    for frames in sequences {
        reference.reset();
        for (f, frame) in frames.iter().enumerate() {
            let class = reference.step(frame).map_err(|e| DriverError::Frame {
                frame: f,
                problem: e.to_string(),
            })?;
            let logits = reference.logits();
            let mut result = Vec::with_capacity(1 + p::RESULT_FIXED_WORDS + logits.len());
            result.push(header(p::RESULT, p::RESULT_FIXED_WORDS + logits.len()));
            // A LightRNN head's empty cell is class -1: the word is signed.
            result.extend([frame_counter, class as u32, spec.cycles_per_frame() as u32]);
            result.extend(logits.iter().map(|&v| v as u32));
            out.push(result);
            frame_counter = frame_counter.wrapping_add(1);
            if read_state {
                let mut state = vec![header(p::STATE_REPLY, p::state_words(lay))];
                for l in 0..lay.layers.len() {
                    state.extend(reference.cell(l).iter().map(|&v| v as u32));
                    state.extend(reference.output(l).iter().map(|&v| i32::from(v) as u32));
                }
                out.push(state);
            }
        }
    }
    Ok(out)
}
