//! The cross-check: runs sequences of frames through a device with the
//! driver and through the bit-exact reference, and compares every frame's
//! class and logits exactly, and the device's own cycle count with the
//! spec's prediction. With `read_state`, it also reads every layer's c and h
//! back from the device after every frame (timestep) and compares them. A
//! mismatch names the sequence, the frame, the layer and unit (where the
//! signal has them) and the signal that differ.

use crate::driver::{Driver, DriverError};
use lstm_accel_hdl::protocol::{self as p, header};
use lstm_accel_hdl::AcceleratorSpec;
use lstm_accel_model::reference::Reference;
use lstm_accel_model::Model;
use lstm_accel_sim::link::Link;
use serde::Serialize;

/// One difference between the device and the reference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// Sequence index.
    pub sequence: usize,
    /// Frame index within the sequence (the timestep).
    pub frame: usize,
    /// What differs: `class`, `logit`, `cycles`, `c` (cell state) or `h`.
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
    /// Every difference found.
    pub mismatches: Vec<Mismatch>,
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
    let mut reference = Reference::new(model)?;
    driver.load(model)?;
    let mut out = CrossCheck {
        frames: 0,
        predicted_cycles_per_frame: spec.cycles_per_frame(),
        measured_cycles_per_frame: (u64::MAX, 0),
        state_read: read_state,
        classes: Vec::with_capacity(sequences.len()),
        mismatches: Vec::new(),
    };
    for (s, frames) in sequences.iter().enumerate() {
        driver.reset()?;
        reference.reset();
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
                spec.cycles_per_frame() as i64,
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
            classes.push(got.class);
            out.frames += 1;
            progress(out.frames);
        }
        out.classes.push(classes);
    }
    if out.frames == 0 {
        out.measured_cycles_per_frame = (0, 0);
    }
    Ok(out)
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
