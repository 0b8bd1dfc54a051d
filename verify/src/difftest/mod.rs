//! Differential testing at scale: seeded random designs of every encoding
//! ([`cases`]), each run with many weight sets and input sequences in
//! several engines (native, Verilator, Icarus), every frame's class and
//! logits, every layer's c and h after every frame, the cycles per frame
//! and the final status counters checked against the bit-exact reference.
//! A failing case is shrunk ([`shrink`]) in the engine that failed and
//! written to disk as a model file, its frames and the `simulate` command
//! that replays it.
//!
//! Designs are built once per engine (a Verilator library, an Icarus
//! compilation) and every case of the design loads its own weights through
//! the stream port, as a host would.

pub mod cases;
pub mod shrink;

use crate::icarus_check::icarus_cross_check;
use crate::shard::Shard;
use cases::{Case, Design};
use lstm_accel_hdl::accelerator::verilog;
use lstm_accel_host::crosscheck::{cross_check, CrossCheck};
use lstm_accel_host::driver::Driver;
use lstm_accel_sim::icarus::IcarusDesign;
use lstm_accel_sim::link::{SimLink, Stalls};
use lstm_accel_sim::native::NativeDevice;
use lstm_accel_sim::verilator::{VerilatorDevice, VerilatorOptions};
use lstm_accel_sim::Device;
use lstm_accel_spec::protocol::{loaded_mask, signature};
use lstm_accel_spec::AcceleratorSpec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// The engines a differential run compares with the reference.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum EngineKind {
    /// rust-hdl's own simulation.
    Native,
    /// Verilator.
    Verilator,
    /// Icarus Verilog.
    Icarus,
}

impl EngineKind {
    /// The engine's name, as `simulate --backend` takes it.
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Native => "native",
            EngineKind::Verilator => "verilator",
            EngineKind::Icarus => "icarus",
        }
    }
}

/// The stalls of a case with stalls: `simulate --stalls --seed <case seed>`.
pub fn case_stalls(case: &Case) -> Option<Stalls> {
    case.stalls.then_some(Stalls {
        input: 0.3,
        output: 0.5,
        seed: case.seed,
    })
}

/// One design built in one engine, ready to run cases.
pub enum BuiltEngine {
    /// A native device per case.
    Native,
    /// The Verilator library of the design (a fresh instance per case).
    Verilator {
        /// The design's Verilog.
        verilog: String,
        /// Build options.
        options: VerilatorOptions,
    },
    /// The Icarus compilation of the design.
    Icarus(IcarusDesign),
}

impl BuiltEngine {
    /// Builds `spec`'s design for `kind` (Verilog generated once per
    /// design by the caller).
    pub fn build(
        kind: EngineKind,
        verilog: &str,
        verilator: &VerilatorOptions,
    ) -> Result<Self, String> {
        Ok(match kind {
            EngineKind::Native => BuiltEngine::Native,
            EngineKind::Verilator => {
                let options = verilator.clone();
                // Build now (or find the cached build), so that a build
                // failure is the design's, not a case's.
                VerilatorDevice::from_verilog(verilog, &options).map_err(|e| e.to_string())?;
                BuiltEngine::Verilator {
                    verilog: verilog.to_string(),
                    options,
                }
            }
            EngineKind::Icarus => {
                BuiltEngine::Icarus(IcarusDesign::compile(verilog).map_err(|e| e.to_string())?)
            }
        })
    }

    /// Runs `case` (whose model has the design's shape) and checks it;
    /// `Err` describes the first difference or error.
    pub fn check(&mut self, case: &Case, spec: &AcceleratorSpec) -> Result<(), String> {
        match self {
            BuiltEngine::Native => {
                let dev = NativeDevice::new(&case.model, spec).map_err(|e| e.to_string())?;
                check_on_device(dev, case, spec)
            }
            BuiltEngine::Verilator { verilog, options } => {
                let dev =
                    VerilatorDevice::from_verilog(verilog, options).map_err(|e| e.to_string())?;
                check_on_device(dev, case, spec)
            }
            BuiltEngine::Icarus(design) => {
                let run = icarus_cross_check(
                    design,
                    &case.model,
                    spec,
                    &case.sequences,
                    true,
                    case_stalls(case),
                    None,
                )
                .map_err(|e| e.to_string())?;
                first_difference(&run.check)?;
                let t = &run.testbench;
                if t.mismatched_words > 0 {
                    return Err(format!(
                        "the test bench found {} output words that differ from the expected stream, the first at word {}",
                        t.mismatched_words,
                        t.first_mismatched_word.unwrap_or(0)
                    ));
                }
                Ok(())
            }
        }
    }
}

fn first_difference(c: &CrossCheck) -> Result<(), String> {
    match c.mismatches.first() {
        None => Ok(()),
        Some(m) => Err(format!("{} mismatches, the first: {m}", c.mismatches.len())),
    }
}

/// The cross-check of `case` on a live device, then its status counters:
/// every frame counted, no packet refused, every memory loaded, the
/// layout's signature.
pub fn check_on_device<D: Device>(
    dev: D,
    case: &Case,
    spec: &AcceleratorSpec,
) -> Result<(), String> {
    let mut link = SimLink::new(dev);
    link.timeout = 20 * spec.cycles_per_frame() + 100_000;
    if let Some(s) = case_stalls(case) {
        link = link.with_stalls(s);
    }
    let mut drv = Driver::new(link, spec.clone());
    let check = cross_check(&mut drv, &case.model, spec, &case.sequences, true, |_| {})
        .map_err(|e| e.to_string())?;
    first_difference(&check)?;
    let st = drv.status().map_err(|e| e.to_string())?;
    let lay = &spec.layout;
    let want = (
        case.frames() as u32,
        0,
        0,
        0,
        loaded_mask(lay),
        signature(lay),
    );
    let got = (
        st.frames,
        st.bad_opcode,
        st.bad_length,
        st.refused,
        st.loaded,
        st.signature,
    );
    if got != want {
        return Err(format!(
            "status (frames, bad opcodes, bad lengths, refused, loaded mask, signature) {got:?}, expected {want:?}"
        ));
    }
    Ok(())
}

/// A differential run's settings.
#[derive(Clone, Debug)]
pub struct DiffConfig {
    /// Cases in all.
    pub cases: usize,
    /// Designs they are spread over (each built once per engine).
    pub designs: usize,
    /// The run's seed (design `d` has seed `seed * 1_000_003 + d`).
    pub seed: u64,
    /// Engines.
    pub engines: Vec<EngineKind>,
    /// How Verilator builds (cache, optimisation: a design runs only a few
    /// thousand cycles per case, so a fast build pays).
    pub verilator: VerilatorOptions,
    /// Where reproducers of failing cases go.
    pub out: PathBuf,
    /// Candidates a shrink may run.
    pub shrink_budget: usize,
    /// Threads, each running whole designs.
    pub jobs: usize,
    /// A file that gets one JSON line per finished design (appended as the
    /// run goes, so that a long run interrupted keeps what it measured).
    pub log: Option<PathBuf>,
    /// The part of the plan's designs this run takes.
    pub shard: Shard,
}

/// A finished design's line in [`DiffConfig::log`].
#[derive(Serialize)]
struct DesignLine<'a> {
    design: u64,
    encoding: &'a str,
    lanes: usize,
    rows: usize,
    activation_units: usize,
    cases: usize,
    frames: usize,
    failures: usize,
    seconds: f64,
    cases_done: usize,
}

/// One failing case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// The design's seed.
    pub design: u64,
    /// The case's seed.
    pub case: u64,
    /// The design's encoding family.
    pub encoding: String,
    /// The engine.
    pub engine: EngineKind,
    /// What went wrong.
    pub failure: String,
    /// What went wrong in the shrunk case.
    pub shrunk_failure: String,
    /// Frames and sequences of the shrunk case.
    pub shrunk_frames: usize,
    /// Sequences of the shrunk case.
    pub shrunk_sequences: usize,
    /// The reproducer's folder.
    pub reproducer: String,
}

/// What a differential run reports.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DiffReport {
    /// The run's seed.
    pub seed: u64,
    /// Cases and designs of the whole plan (all shards).
    pub planned_cases: usize,
    /// Designs of the whole plan.
    pub planned_designs: usize,
    /// The engines.
    pub engines: Vec<EngineKind>,
    /// Which shard this report is (`1/1` for a whole or merged run).
    pub shard: Shard,
    /// Cases run (each in every engine).
    pub cases: usize,
    /// Designs built.
    pub designs: usize,
    /// Frames run per engine.
    pub frames: usize,
    /// Cases per encoding family.
    pub encodings: BTreeMap<String, usize>,
    /// Designs per row-engine count.
    pub row_engines: BTreeMap<usize, usize>,
    /// Seconds per engine (builds included), summed over the threads.
    pub engine_seconds: BTreeMap<String, f64>,
    /// Every failure.
    pub failures: Vec<Failure>,
    /// Wall-clock seconds (of the slowest shard, for a merged run).
    pub seconds: f64,
}

/// The designs of a run: `(design, cases)` for each.
pub fn plan(c: &DiffConfig) -> Vec<(u64, usize)> {
    let designs = c.designs.clamp(1, c.cases.max(1));
    (0..designs)
        .map(|d| {
            let n = c.cases / designs + usize::from(d < c.cases % designs);
            (c.seed.wrapping_mul(1_000_003).wrapping_add(d as u64), n)
        })
        .collect()
}

/// The designs of the plan that `c.shard` runs.
pub fn shard_plan(c: &DiffConfig) -> Vec<(u64, usize)> {
    plan(c)
        .into_iter()
        .enumerate()
        .filter(|&(i, _)| c.shard.includes(i))
        .map(|(_, d)| d)
        .collect()
}

/// Runs the differential test on `c.jobs` threads (designs are shared out
/// one at a time); `progress(cases done, current design)` is called after
/// each case.
pub fn run(c: &DiffConfig, progress: impl Fn(usize, &str) + Sync) -> std::io::Result<DiffReport> {
    let start = Instant::now();
    let plan = shard_plan(c);
    let log = match &c.log {
        Some(p) => Some(Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)?,
        )),
        None => None,
    };
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let parts = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..c.jobs.clamp(1, plan.len().max(1)) {
            s.spawn(|| {
                let mut part = DiffReport::empty(c);
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&(seed, n)) = plan.get(i) else { break };
                    let design = cases::design(seed);
                    part.designs += 1;
                    *part.row_engines.entry(design.hw.rows).or_default() += 1;
                    let before = (part.cases, part.frames, part.failures.len(), Instant::now());
                    run_design(c, &design, n, &mut part, &|what| {
                        progress(done.fetch_add(1, Ordering::SeqCst) + 1, what)
                    });
                    if let Some(Ok(mut f)) = log.as_ref().map(Mutex::lock) {
                        let line = DesignLine {
                            design: design.seed,
                            encoding: design.encoding,
                            lanes: design.hw.lanes,
                            rows: design.hw.rows,
                            activation_units: design.hw.activation_units,
                            cases: part.cases - before.0,
                            frames: part.frames - before.1,
                            failures: part.failures.len() - before.2,
                            seconds: before.3.elapsed().as_secs_f64(),
                            cases_done: done.load(Ordering::SeqCst),
                        };
                        if let Ok(text) = serde_json::to_string(&line) {
                            use std::io::Write;
                            let _ = writeln!(f, "{text}");
                        }
                    }
                }
                if let Ok(mut p) = parts.lock() {
                    p.push(part);
                }
            });
        }
    });
    let mut report = DiffReport::empty(c);
    report.shard = c.shard;
    for p in parts.into_inner().unwrap_or_default() {
        report.absorb(p);
    }
    report.seconds = start.elapsed().as_secs_f64();
    Ok(report)
}

/// Merges the reports of the `N` shards of one run (same seed, plan and
/// engines, each shard once) into the report one run would give; its
/// `seconds` is the slowest shard's.
pub fn merge(reports: Vec<DiffReport>) -> Result<DiffReport, String> {
    let shards: Vec<Shard> = reports.iter().map(|r| r.shard).collect();
    crate::shard::check_complete(&shards)?;
    let mut it = reports.into_iter();
    let Some(first) = it.next() else {
        return Err("no reports to merge".into());
    };
    let mut merged = DiffReport {
        shard: Shard::WHOLE,
        ..first.clone()
    };
    for r in it {
        let same = (r.seed, r.planned_cases, r.planned_designs, &r.engines)
            == (
                first.seed,
                first.planned_cases,
                first.planned_designs,
                &first.engines,
            );
        if !same {
            return Err(format!(
                "shard {} is of another run (seed {}, {} cases on {} designs, engines {:?}) than shard {} (seed {}, {} cases on {} designs, engines {:?})",
                r.shard, r.seed, r.planned_cases, r.planned_designs, r.engines,
                first.shard, first.seed, first.planned_cases, first.planned_designs, first.engines
            ));
        }
        let seconds = merged.seconds.max(r.seconds);
        merged.absorb(r);
        merged.seconds = seconds;
    }
    Ok(merged)
}

impl DiffReport {
    /// Adds another part's counts, times and failures (kept in order).
    fn absorb(&mut self, p: DiffReport) {
        self.cases += p.cases;
        self.designs += p.designs;
        self.frames += p.frames;
        for (k, v) in p.encodings {
            *self.encodings.entry(k).or_default() += v;
        }
        for (k, v) in p.row_engines {
            *self.row_engines.entry(k).or_default() += v;
        }
        for (k, v) in p.engine_seconds {
            *self.engine_seconds.entry(k).or_default() += v;
        }
        self.failures.extend(p.failures);
        self.failures.sort_by_key(|f| (f.design, f.case, f.engine));
    }

    fn empty(c: &DiffConfig) -> Self {
        let engines = &c.engines;
        DiffReport {
            seed: c.seed,
            planned_cases: c.cases,
            planned_designs: plan(c).len(),
            engines: engines.clone(),
            shard: Shard::WHOLE,
            cases: 0,
            designs: 0,
            frames: 0,
            encodings: BTreeMap::new(),
            row_engines: BTreeMap::new(),
            engine_seconds: engines
                .iter()
                .map(|e| (e.name().to_string(), 0.0))
                .collect(),
            failures: Vec::new(),
            seconds: 0.0,
        }
    }
}

fn run_design(
    c: &DiffConfig,
    design: &Design,
    n: usize,
    report: &mut DiffReport,
    progress: &dyn Fn(&str),
) {
    let label = format!(
        "design {} ({}, {} rows x {} lanes)",
        design.seed, design.encoding, design.hw.rows, design.hw.lanes
    );
    let fail_all = |report: &mut DiffReport, engine: EngineKind, msg: String| {
        report.failures.push(Failure {
            design: design.seed,
            case: 0,
            encoding: design.encoding.into(),
            engine,
            failure: msg.clone(),
            shrunk_failure: msg,
            shrunk_frames: 0,
            shrunk_sequences: 0,
            reproducer: String::new(),
        });
    };
    let built = AcceleratorSpec::new(&design.model, &design.hw)
        .map_err(|e| e.to_string())
        .and_then(|s| Ok((verilog(&design.model, &s).map_err(|e| e.to_string())?, s)));
    let (text, spec) = match built {
        Ok(v) => v,
        Err(e) => {
            fail_all(report, c.engines[0], format!("the design: {e}"));
            return;
        }
    };
    let mut engines = Vec::new();
    for &kind in &c.engines {
        let t = Instant::now();
        match BuiltEngine::build(kind, &text, &c.verilator) {
            Ok(b) => engines.push((kind, b)),
            Err(e) => fail_all(report, kind, format!("building the design: {e}")),
        }
        *report.engine_seconds.entry(kind.name().into()).or_default() += t.elapsed().as_secs_f64();
    }
    for seed in 0..n as u64 {
        let case = cases::case(design, seed);
        report.cases += 1;
        report.frames += case.frames();
        *report.encodings.entry(design.encoding.into()).or_default() += 1;
        // The case's weights must leave the design as it is.
        let same = AcceleratorSpec::new(&case.model, &design.hw)
            .map(|s| signature(&s.layout) == signature(&spec.layout));
        for (kind, engine) in engines.iter_mut() {
            let t = Instant::now();
            let outcome = match &same {
                Ok(true) => engine.check(&case, &spec),
                Ok(false) => Err("the redrawn weights changed the design's layout".into()),
                Err(e) => Err(format!("the case's spec: {e}")),
            };
            if let Err(failure) = outcome {
                let shrunk = shrink::shrink(&case, failure.clone(), c.shrink_budget, |cand| {
                    engine.check(cand, &spec).err()
                });
                let dir = c.out.join(format!(
                    "design-{}-case-{}-{}",
                    design.seed,
                    seed,
                    kind.name()
                ));
                let reproducer = match write_reproducer(&dir, &shrunk.case, *kind, &shrunk.failure)
                {
                    Ok(()) => dir.display().to_string(),
                    Err(e) => format!("not written: {e}"),
                };
                report.failures.push(Failure {
                    design: design.seed,
                    case: seed,
                    encoding: design.encoding.into(),
                    engine: *kind,
                    failure,
                    shrunk_failure: shrunk.failure,
                    shrunk_frames: shrunk.case.frames(),
                    shrunk_sequences: shrunk.case.sequences.len(),
                    reproducer,
                });
            }
            *report.engine_seconds.entry(kind.name().into()).or_default() +=
                t.elapsed().as_secs_f64();
        }
        progress(&label);
    }
}

/// Writes `case` to `dir`: `model.json`, `frames.json` (the sequences),
/// `case.json` (everything) and `replay.sh`, the `simulate` command that
/// runs it again in `engine`.
pub fn write_reproducer(
    dir: &Path,
    case: &Case,
    engine: EngineKind,
    failure: &str,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    case.model
        .save(dir.join("model.json"))
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    std::fs::write(
        dir.join("frames.json"),
        serde_json::to_string(&case.sequences).map_err(std::io::Error::other)?,
    )?;
    std::fs::write(
        dir.join("case.json"),
        serde_json::to_string_pretty(case).map_err(std::io::Error::other)?,
    )?;
    let stalls = if case.stalls {
        format!(" --stalls --seed {}", case.seed)
    } else {
        String::new()
    };
    std::fs::write(
        dir.join("replay.sh"),
        format!(
            "#!/bin/sh\n# {failure}\ncd \"$(dirname \"$0\")\"\nexec lstm-accel simulate --model model.json --lanes {} --rows {} --backend {} --frames frames.json --read-state{stalls} \"$@\"\n",
            case.lanes,
            case.rows,
            engine.name()
        ),
    )?;
    Ok(())
}
