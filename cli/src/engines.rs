//! Running a model's design in an engine with the cross-check: the
//! engines (native, Verilator, Icarus) and how to set one up, the run
//! itself (the host driver streaming weights and frames through a
//! simulated link, the native engine on several threads), its report, and
//! the input sequences (random frames, or speech through the model's front
//! end). `simulate`, `demo`, `eval`, `listen`, `run` and `report` run
//! their designs through here.

use anyhow::{Context, Result};
use clap::ValueEnum;
use indicatif::ProgressBar;
use lstm_accel_audio::AudioInput;
use lstm_accel_hdl::accelerator::verilog;
use lstm_accel_host::crosscheck::{cross_check, CrossCheck};
use lstm_accel_host::driver::Driver;
use lstm_accel_model::random;
use lstm_accel_model::Model;
use lstm_accel_sim::icarus::IcarusDesign;
use lstm_accel_sim::link::{SimLink, Stalls};
use lstm_accel_sim::native::NativeDevice;
use lstm_accel_sim::verilator::{VerilatorDevice, VerilatorOptions};
use lstm_accel_sim::Device;
use lstm_accel_spec::AcceleratorSpec;
use lstm_accel_verify::icarus_check::{icarus_cross_check, TestbenchSummary};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Instant;

/// Simulation engines.
#[derive(Clone, Copy, Debug, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// rust-hdl's own simulation of the design (no external tool).
    Native,
    /// The generated Verilog compiled by Verilator (needs verilator and a
    /// C++ compiler; builds are cached).
    Verilator,
    /// The generated Verilog under a generated self-checking test bench in
    /// Icarus Verilog (needs iverilog).
    Icarus,
}

/// What a simulation run reports.
#[derive(Serialize)]
pub struct SimulationReport {
    /// Engine.
    pub backend: Backend,
    /// The cross-check.
    #[serde(flatten)]
    pub check: CrossCheck,
    /// Cycles simulated in all (loads, resets and streaming included).
    pub simulated_cycles: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Simulated cycles per second.
    pub cycles_per_second: f64,
    /// The Icarus test bench's own count of output words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub testbench: Option<TestbenchSummary>,
    /// Per wav file: its frames and the design's answer (the model's readout).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub utterances: Vec<Utterance>,
}

impl SimulationReport {
    /// The report of a run of `simulated_cycles` in `seconds` (no test
    /// bench summary, no wav files yet).
    fn of_run(backend: Backend, check: CrossCheck, simulated_cycles: u64, seconds: f64) -> Self {
        SimulationReport {
            backend,
            check,
            simulated_cycles,
            seconds,
            cycles_per_second: simulated_cycles as f64 / seconds.max(1e-9),
            testbench: None,
            utterances: Vec::new(),
        }
    }
}

/// The outcome of one wav file.
#[derive(Serialize)]
pub struct Utterance {
    /// The file.
    pub file: String,
    /// Frames the front end made of it.
    pub frames: usize,
    /// The design's answer: its class after the last frame, or pooled over the frames.
    pub class: Option<u32>,
}

/// How to run an engine.
pub struct EngineSetup {
    /// The engine.
    pub backend: Backend,
    /// Random stalls on both streams.
    pub stalls: Option<Stalls>,
    /// Record every signal to this VCD file.
    pub vcd: Option<PathBuf>,
    /// The Verilator engine's build cache.
    pub verilator_cache: PathBuf,
    /// Read every layer's c and h back after every frame and compare them.
    pub read_state: bool,
    /// Show a progress bar.
    pub progress: bool,
    /// Native engine: run the sequences on up to this many copies of the
    /// design at once, one thread each (every sequence starts from a reset,
    /// so the results are the same; a waveform needs one).
    pub threads: usize,
}

impl EngineSetup {
    /// The native engine, no stalls, no waveform.
    pub fn native(progress: bool) -> Self {
        EngineSetup {
            backend: Backend::Native,
            stalls: None,
            vcd: None,
            verilator_cache: VerilatorOptions::default_cache(),
            read_state: false,
            progress,
            threads: std::thread::available_parallelism().map_or(1, usize::from),
        }
    }
}

/// Builds the design of `spec` in the chosen engine and runs the
/// cross-check of `model` on it.
pub fn simulate(
    model: &Model,
    spec: &AcceleratorSpec,
    sequences: &[Vec<Vec<i32>>],
    setup: &EngineSetup,
) -> Result<SimulationReport> {
    let vcd = setup.vcd.as_deref();
    match setup.backend {
        Backend::Native if vcd.is_none() && setup.threads > 1 && sequences.len() > 1 => {
            drive_native_parallel(model, spec, sequences, setup)
        }
        Backend::Native => {
            let mut dev = NativeDevice::new(model, spec)?;
            if let Some(p) = vcd {
                dev.record_vcd(p)?;
            }
            drive(dev, model, spec, sequences, setup)
        }
        Backend::Verilator => {
            let options = VerilatorOptions {
                trace: vcd.is_some(),
                ..VerilatorOptions::new(&setup.verilator_cache)
            };
            let spinner = bar(setup.progress, None);
            spinner.set_message("building the design with Verilator (cached after the first run)");
            spinner.enable_steady_tick(std::time::Duration::from_millis(200));
            let mut dev = VerilatorDevice::new(model, spec, &options)?;
            spinner.finish_and_clear();
            if let Some(p) = vcd {
                dev.record_vcd(p)?;
            }
            drive(dev, model, spec, sequences, setup)
        }
        Backend::Icarus => {
            let spinner = bar(setup.progress, None);
            spinner.enable_steady_tick(std::time::Duration::from_millis(200));
            spinner.set_message("compiling the design with Icarus Verilog");
            let mut design = IcarusDesign::compile(&verilog(model, spec)?)?;
            let frames: usize = sequences.iter().map(Vec::len).sum();
            spinner.set_message(format!("simulating {frames} frames in Icarus Verilog"));
            let run = icarus_cross_check(
                &mut design,
                model,
                spec,
                sequences,
                setup.read_state,
                setup.stalls,
                vcd,
            )?;
            spinner.finish_and_clear();
            let (cycles, seconds) = (run.testbench.cycles, run.testbench.seconds);
            Ok(SimulationReport {
                testbench: Some(run.testbench),
                ..SimulationReport::of_run(setup.backend, run.check, cycles, seconds)
            })
        }
    }
}

fn bar(show: bool, total: Option<usize>) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    match total {
        Some(n) => crate::progress::frames_bar(true, n),
        None => ProgressBar::new_spinner(),
    }
}

/// The native engine on several copies of the design at once: the
/// sequences in contiguous parts of about equal frames, one thread and one
/// device each, the cross-checks joined in order.
fn drive_native_parallel(
    model: &Model,
    spec: &AcceleratorSpec,
    sequences: &[Vec<Vec<i32>>],
    setup: &EngineSetup,
) -> Result<SimulationReport> {
    let total: usize = sequences.iter().map(Vec::len).sum();
    let parts = setup.threads.min(sequences.len());
    let mut bounds = vec![0];
    let mut acc = 0;
    for (i, s) in sequences.iter().enumerate() {
        acc += s.len();
        if bounds.len() < parts && acc * parts >= total * bounds.len() && i + 1 < sequences.len() {
            bounds.push(i + 1);
        }
    }
    bounds.push(sequences.len());
    let bar = bar(setup.progress, Some(total));
    bar.set_message(format!("simulating on {} threads", bounds.len() - 1));
    let done = std::sync::atomic::AtomicUsize::new(0);
    let start = Instant::now();
    let results: Vec<Result<(CrossCheck, u64)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = bounds
            .windows(2)
            .map(|w| {
                let (part, bar, done) = (&sequences[w[0]..w[1]], &bar, &done);
                scope.spawn(move || -> Result<(CrossCheck, u64)> {
                    let mut driver =
                        sim_driver(NativeDevice::new(model, spec)?, spec, setup.stalls);
                    let mut last = 0;
                    let check =
                        cross_check(&mut driver, model, spec, part, setup.read_state, |n| {
                            let all =
                                done.fetch_add(n - last, std::sync::atomic::Ordering::Relaxed);
                            last = n;
                            bar.set_position((all + 1) as u64);
                        })?;
                    Ok((check, driver.link().device().cycles()))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a simulation thread panicked")))
            })
            .collect()
    });
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    let mut parts = results.into_iter();
    let (mut check, mut simulated_cycles) = parts.next().context("no sequence")??;
    for r in parts {
        let (c, cycles) = r?;
        check.append(c);
        simulated_cycles += cycles;
    }
    Ok(SimulationReport::of_run(
        setup.backend,
        check,
        simulated_cycles,
        seconds,
    ))
}

/// The host driver of a simulated device: its link waits twenty frames'
/// predicted cycles (and a million more) before it calls the device dead.
pub fn sim_driver<D: Device>(
    dev: D,
    spec: &AcceleratorSpec,
    stalls: Option<Stalls>,
) -> Driver<SimLink<D>> {
    let mut link = SimLink::new(dev);
    link.timeout = 20 * spec.cycles_per_frame() + 1_000_000;
    if let Some(s) = stalls {
        link = link.with_stalls(s);
    }
    Driver::new(link, spec.clone())
}

fn drive<D: Device>(
    dev: D,
    model: &Model,
    spec: &AcceleratorSpec,
    sequences: &[Vec<Vec<i32>>],
    setup: &EngineSetup,
) -> Result<SimulationReport> {
    let mut driver = sim_driver(dev, spec, setup.stalls);
    let total: usize = sequences.iter().map(Vec::len).sum();
    let bar = bar(setup.progress, Some(total));
    bar.set_message("simulating");
    let start = Instant::now();
    let check = cross_check(&mut driver, model, spec, sequences, setup.read_state, |n| {
        bar.set_position(n as u64)
    })?;
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    let simulated_cycles = driver.link().device().cycles();
    Ok(SimulationReport::of_run(
        setup.backend,
        check,
        simulated_cycles,
        seconds,
    ))
}

/// Prints the human report.
pub fn print_report(r: &SimulationReport) {
    let c = &r.check;
    println!(
        "{:?} engine: {} frames, {} cycles simulated in {:.2} s ({:.0} cycles/s)",
        r.backend, c.frames, r.simulated_cycles, r.seconds, r.cycles_per_second
    );
    println!(
        "cycles per frame: predicted {}, measured by the design {}..={}",
        c.predicted_cycles_per_frame, c.measured_cycles_per_frame.0, c.measured_cycles_per_frame.1
    );
    if let Some(t) = &r.testbench {
        println!(
            "test bench: {} of {} input words taken, {} output words of {} expected, {} differ",
            t.words_sent, t.words_offered, t.words_received, t.words_expected, t.mismatched_words
        );
    }
    if c.mismatches.is_empty() {
        let state = if c.state_read {
            ", every layer's c and h read back after every frame"
        } else {
            ""
        };
        println!(
            "cross-check: 0 mismatches (every class and logit{state} equals the reference, every frame took the predicted cycles)"
        );
    } else {
        print_mismatches(c);
    }
}

/// The count of `c`'s mismatches and the first ones.
pub fn print_mismatches(c: &CrossCheck) {
    println!(
        "cross-check: {} mismatches, first ones:",
        c.mismatches.len()
    );
    for m in c.mismatches.iter().take(10) {
        println!("  {m}");
    }
}

/// The sequences a run streams: `count` sequences of `frames` random
/// frames (uniform over the input format, a fifth of the values at its
/// limits) from `seed`, or one per wav file through the model's front end.
pub fn input_sequences(
    model: &Model,
    count: usize,
    frames: usize,
    seed: u64,
    wav: &[PathBuf],
) -> Result<Vec<Vec<Vec<i32>>>> {
    if wav.is_empty() {
        let mut r = random::rng(seed);
        return Ok((0..count)
            .map(|_| random::frames(&mut r, model, frames, 0.2))
            .collect());
    }
    let input = AudioInput::new(model)?;
    Ok(wav
        .iter()
        .map(|p| input.frames_of_file(p))
        .collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lstm_accel_model::random::ModelShape;
    use lstm_accel_spec::spec::HwConfig;
    use lstm_accel_spec::Target;

    /// The native engine on three threads gives the one-thread cross-check:
    /// every sequence's classes and answer in order, the frames and the
    /// cycles per frame; only the wall clock differs.
    #[test]
    fn the_native_engine_on_threads_checks_the_same_as_on_one() {
        let mut r = random::rng(4);
        let m = random::model(&mut r, &ModelShape::ternary(4, &[5], 3, 8));
        let spec = AcceleratorSpec::new(&m, &HwConfig::on(2, Target::Generic)).expect("spec");
        let seqs: Vec<Vec<Vec<i32>>> = (1..=7)
            .map(|n| random::frames(&mut r, &m, n, 0.2))
            .collect();
        let run = |threads| {
            let setup = EngineSetup {
                threads,
                ..EngineSetup::native(false)
            };
            simulate(&m, &spec, &seqs, &setup).expect("simulates")
        };
        let (one, three) = (run(1), run(3));
        assert_eq!(three.check.classes, one.check.classes);
        assert_eq!(three.check.answers, one.check.answers);
        assert_eq!(three.check.frames, 28);
        assert_eq!(
            three.check.measured_cycles_per_frame,
            one.check.measured_cycles_per_frame
        );
        assert!(three.check.mismatches.is_empty() && one.check.mismatches.is_empty());
        // Each copy of the design loads the model: more cycles in all.
        assert!(three.simulated_cycles > one.simulated_cycles);
    }

    /// A mismatch found on a later thread names its sequence as counted
    /// over the whole run.
    #[test]
    fn joined_cross_checks_count_sequences_on() {
        let part = |seq: usize| CrossCheck {
            frames: 2,
            predicted_cycles_per_frame: 10,
            measured_cycles_per_frame: (10 + seq as u64, 10 + seq as u64),
            state_read: false,
            classes: vec![vec![1, 2]],
            answers: vec![Some(2)],
            mismatches: vec![lstm_accel_host::crosscheck::Mismatch {
                sequence: 0,
                frame: 1,
                signal: "logit".into(),
                layer: None,
                unit: Some(0),
                expected: 1,
                got: 2,
            }],
        };
        let mut all = part(0);
        all.append(part(1));
        assert_eq!(all.frames, 4);
        assert_eq!(all.measured_cycles_per_frame, (10, 11));
        assert_eq!(all.answers, vec![Some(2), Some(2)]);
        let seqs: Vec<usize> = all.mismatches.iter().map(|m| m.sequence).collect();
        assert_eq!(seqs, vec![0, 1]);
    }
}
