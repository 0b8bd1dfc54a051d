//! The cross-check in Icarus Verilog: Icarus runs a whole stream at once
//! under a self-checking test bench, so the check happens in three steps.
//! The driver runs the cross-check against a scripted link holding the
//! reference's replies ([`expected_replies`]), which records the exact
//! words it sends; the test bench streams those words into the design and
//! compares every output word with the expected stream; then the design's
//! own output words are replayed through [`cross_check`], so that a
//! difference is named by sequence, frame, layer, unit and signal, as in
//! the other engines. The test bench's word count also covers what the
//! cross-check does not decode (the frame counter, extra packets).

use lstm_accel_host::crosscheck::{cross_check, expected_replies, CrossCheck};
use lstm_accel_host::driver::{Driver, DriverError};
use lstm_accel_model::Model;
use lstm_accel_sim::icarus::{IcarusDesign, TestbenchJob};
use lstm_accel_sim::link::{packet_words, packets, ScriptedLink, Stalls};
use lstm_accel_sim::{SimError, StreamWord};
use lstm_accel_spec::AcceleratorSpec;
use serde::Serialize;
use std::path::Path;

/// What the test bench counted.
#[derive(Clone, Debug, Serialize)]
pub struct TestbenchSummary {
    /// Input words the design took, of those offered.
    pub words_sent: u64,
    /// Input words offered.
    pub words_offered: usize,
    /// Output words expected.
    pub words_expected: usize,
    /// Output words the design sent.
    pub words_received: usize,
    /// Output words that differ from the expected ones (extra ones
    /// included).
    pub mismatched_words: u64,
    /// The first of them.
    pub first_mismatched_word: Option<u64>,
    /// Cycles simulated.
    pub cycles: u64,
    /// Wall-clock seconds of the simulation.
    pub seconds: f64,
}

/// Why a cross-check in Icarus could not finish.
#[derive(Debug, thiserror::Error)]
pub enum IcarusCheckError {
    /// Icarus could not build or run the test bench, or the design stopped
    /// moving.
    #[error(transparent)]
    Sim(#[from] SimError),
    /// The driver could not make the stream or the design's replies broke
    /// the protocol.
    #[error(transparent)]
    Driver(#[from] DriverError),
}

/// The outcome of a cross-check in Icarus.
#[derive(Clone, Debug)]
pub struct IcarusCheck {
    /// The cross-check of the design's replies.
    pub check: CrossCheck,
    /// The test bench's own count.
    pub testbench: TestbenchSummary,
}

/// The whole stream of a cross-check, as words: what the host sends to
/// run `sequences` from power-up (loads, frames, state reads, status), and
/// what the design must answer, word for word (the reference's replies).
/// A test bench of any kind (Icarus here, cocotb in `python/tests`) drives
/// the first and compares with the second.
pub fn stream_words(
    model: &Model,
    spec: &AcceleratorSpec,
    sequences: &[Vec<Vec<i32>>],
    read_state: bool,
) -> Result<(Vec<StreamWord>, Vec<StreamWord>), DriverError> {
    let expected = expected_replies(model, spec, sequences, read_state)?;
    let mut recorder = Driver::new(ScriptedLink::new(expected.clone()), spec.clone());
    let scripted = cross_check(&mut recorder, model, spec, sequences, read_state, |_| {})?;
    debug_assert!(scripted.mismatches.is_empty());
    let input = recorder.into_link().sent;
    let expected_words = expected.iter().flat_map(|p| packet_words(p)).collect();
    Ok((input, expected_words))
}

/// Runs `sequences` through `design` (compiled from `spec`'s Verilog for
/// `model`'s shape) from power-up and checks everything against the
/// reference. A design that stops moving or sends too few packets is an
/// error, as in the other engines.
pub fn icarus_cross_check(
    design: &mut IcarusDesign,
    model: &Model,
    spec: &AcceleratorSpec,
    sequences: &[Vec<Vec<i32>>],
    read_state: bool,
    stalls: Option<Stalls>,
    vcd: Option<&Path>,
) -> Result<IcarusCheck, IcarusCheckError> {
    let (input, expected_words) = stream_words(model, spec, sequences, read_state)?;
    let expected = packets(&expected_words);
    let cpf = spec.cycles_per_frame();
    let job = TestbenchJob {
        input: &input,
        expected: &expected_words,
        stalls,
        // A frame, a memory load or a reset sweep moves no word for at most
        // a frame's cycles (state sweeps are shorter); stalls stretch it.
        idle_limit: 20 * cpf + 100_000,
        drain: 2 * cpf + 1_000,
        vcd,
    };
    let out = design.run(&job)?;
    let testbench = TestbenchSummary {
        words_sent: out.sent,
        words_offered: input.len(),
        words_expected: expected_words.len(),
        words_received: out.outputs.len(),
        mismatched_words: out.mismatched_words,
        first_mismatched_word: out.first_mismatch,
        cycles: out.cycles,
        seconds: out.seconds,
    };
    if out.timed_out {
        return Err(SimError::Build(format!(
            "Icarus: nothing moved on either stream for {} cycles: the design took {} of {} input words and sent {} of {} output words",
            job.idle_limit,
            out.sent,
            input.len(),
            out.outputs.len(),
            expected_words.len()
        ))
        .into());
    }
    let got = packets(&out.outputs);
    if got.len() < expected.len() {
        return Err(DriverError::Protocol(format!(
            "{} packets in Icarus where {} were expected (the design took {} of {} input words)",
            got.len(),
            expected.len(),
            out.sent,
            input.len()
        ))
        .into());
    }
    let mut replay = Driver::new(ScriptedLink::new(got), spec.clone());
    let check = cross_check(&mut replay, model, spec, sequences, read_state, |_| {})?;
    Ok(IcarusCheck { check, testbench })
}
