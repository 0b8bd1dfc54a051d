//! The cross-check: runs sequences of frames through a device with the
//! driver and through the bit-exact reference, and compares every frame's
//! class and logits exactly, and the device's own cycle count with the
//! spec's prediction. A mismatch names the sequence, the frame and the
//! signal that differ.

use crate::driver::{Driver, DriverError};
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
    /// Frame index within the sequence.
    pub frame: usize,
    /// What differs: `class`, `logits[i]` or `cycles`.
    pub signal: String,
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
    /// Classes of the device, per sequence and frame.
    pub classes: Vec<Vec<u32>>,
    /// Every difference found.
    pub mismatches: Vec<Mismatch>,
}

/// Loads `model`, then runs each sequence from a reset, comparing every
/// frame; `progress` is called after each frame.
pub fn cross_check<L: Link>(
    driver: &mut Driver<L>,
    model: &Model,
    spec: &AcceleratorSpec,
    sequences: &[Vec<Vec<i32>>],
    mut progress: impl FnMut(usize),
) -> Result<CrossCheck, DriverError> {
    let mut reference = Reference::new(model)?;
    driver.load(model)?;
    let mut out = CrossCheck {
        frames: 0,
        predicted_cycles_per_frame: spec.cycles_per_frame(),
        measured_cycles_per_frame: (u64::MAX, 0),
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
            let mut differ = |signal: String, expected: i64, got: i64| {
                if expected != got {
                    out.mismatches.push(Mismatch {
                        sequence: s,
                        frame: f,
                        signal,
                        expected,
                        got,
                    });
                }
            };
            differ("class".into(), want as i64, i64::from(got.class));
            for (i, (&e, &g)) in reference.logits().iter().zip(&got.logits).enumerate() {
                differ(format!("logits[{i}]"), e, g);
            }
            differ(
                "cycles".into(),
                spec.cycles_per_frame() as i64,
                i64::from(got.cycles),
            );
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
