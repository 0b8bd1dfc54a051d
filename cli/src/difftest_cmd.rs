//! `lstm-accel difftest`: differential testing at scale. Thousands of
//! seeded random cases (every encoding, layer counts, widths, formats, lane
//! counts; saturating and adversarial inputs; stalls) run in native,
//! Verilator and Icarus engines against the bit-exact reference, with a
//! progress bar; a failing case is shrunk and written to disk with the
//! `simulate` command that replays it. Exits with an error if any case
//! fails. `--shard K/N` runs every N-th design of the plan from the K-th,
//! and `--merge` combines the shards' JSON reports into the one report a
//! single run gives (see `docs/verification.md` for a Slurm array job).

use anyhow::{bail, Context, Result};
use clap::Args;
use lstm_accel_sim::verilator::VerilatorOptions;
use lstm_accel_verify::difftest::{self, DiffConfig, DiffReport, EngineKind};
use lstm_accel_verify::shard::Shard;
use std::path::PathBuf;

use crate::progress::progress_bar;

/// Arguments of `lstm-accel difftest`.
#[derive(Args)]
pub struct DifftestArgs {
    /// Cases in all (each runs in every engine).
    #[arg(long, default_value_t = 1000)]
    pub cases: usize,
    /// Designs the cases are spread over, rotating through the encoding
    /// families; each is built once per engine and runs its cases with
    /// their own weights.
    #[arg(long, default_value_t = 50)]
    pub designs: usize,
    /// The run's seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Engines, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [EngineKind::Native, EngineKind::Verilator, EngineKind::Icarus])]
    pub engines: Vec<EngineKind>,
    /// Where shrunk reproducers of failing cases are written.
    #[arg(long, default_value = "difftest-failures")]
    pub out: PathBuf,
    /// Cases a shrink may try.
    #[arg(long, default_value_t = 300)]
    pub shrink_budget: usize,
    /// Where the Verilator engine caches its builds [default:
    /// $XDG_CACHE_HOME/lstm-accel/verilator].
    #[arg(long)]
    pub verilator_cache: Option<PathBuf>,
    /// The C++ optimisation level of Verilator builds (0 builds fastest,
    /// which pays: each case runs only a few thousand cycles).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=3))]
    pub verilator_opt: u32,
    /// Threads, each running whole designs [default: the machine's cores].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub jobs: Option<u64>,
    /// Append one JSON line per finished design to this file (a long run
    /// interrupted keeps what it measured).
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// Run shard K of N (1-based): every N-th design of the plan, from the
    /// K-th. Give every shard the same seed, cases, designs and engines.
    #[arg(long, default_value = "1/1")]
    pub shard: Shard,
    /// Merge the JSON reports of a run's shards (written by `--json`) into
    /// one report instead of running.
    #[arg(long, num_args = 1.., value_name = "REPORT")]
    pub merge: Vec<PathBuf>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

fn merge(a: &DifftestArgs) -> Result<DiffReport> {
    let reports: Vec<DiffReport> = crate::report::read_reports(&a.merge, "difftest --json report")?;
    difftest::merge(reports).map_err(|e| anyhow::anyhow!("merging {} reports: {e}", a.merge.len()))
}

fn finish(a: &DifftestArgs, report: &DiffReport) -> Result<()> {
    if a.json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        print_report(report);
    }
    if !report.failures.is_empty() {
        bail!(
            "{} of {} cases failed; reproducers in {}",
            report.failures.len(),
            report.cases,
            a.out.display()
        );
    }
    Ok(())
}

/// Runs `lstm-accel difftest`.
pub fn run(a: &DifftestArgs) -> Result<()> {
    if !a.merge.is_empty() {
        return finish(a, &merge(a)?);
    }
    if a.cases == 0 || a.designs == 0 {
        bail!("--cases and --designs must be at least 1");
    }
    if a.engines.is_empty() {
        bail!("--engines: name at least one of native, verilator, icarus");
    }
    let mut engines = a.engines.clone();
    engines.sort();
    engines.dedup();
    let config = DiffConfig {
        cases: a.cases,
        designs: a.designs,
        seed: a.seed,
        engines,
        verilator: VerilatorOptions {
            opt_level: a.verilator_opt,
            ..VerilatorOptions::new(
                a.verilator_cache
                    .clone()
                    .unwrap_or_else(VerilatorOptions::default_cache),
            )
        },
        out: a.out.clone(),
        shrink_budget: a.shrink_budget,
        jobs: a.jobs.map_or_else(
            || std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            |j| j as usize,
        ),
        log: a.log.clone(),
        shard: a.shard,
    };
    let shard_cases: usize = difftest::shard_plan(&config).iter().map(|&(_, n)| n).sum();
    let bar = progress_bar(!a.json, shard_cases as u64, "cases");
    let report = difftest::run(&config, |n, what: &str| {
        bar.set_position(n as u64);
        bar.set_message(what.to_string());
    })
    .with_context(|| {
        format!(
            "opening the log {}",
            a.log
                .as_ref()
                .map_or(String::new(), |p| p.display().to_string())
        )
    })?;
    bar.finish_and_clear();
    finish(a, &report)
}

fn print_report(r: &DiffReport) {
    let shard = if r.shard.is_whole() {
        String::new()
    } else {
        format!(
            " (shard {} of a run of {} cases on {} designs)",
            r.shard, r.planned_cases, r.planned_designs
        )
    };
    println!(
        "{} cases ({} frames each engine) on {} designs in {:.1} s{shard}",
        r.cases, r.frames, r.designs, r.seconds
    );
    for (engine, s) in &r.engine_seconds {
        println!("  {engine}: {s:.1} s");
    }
    println!("cases per encoding family:");
    for (family, n) in &r.encodings {
        println!("  {family}: {n}");
    }
    let rows: Vec<String> = r
        .row_engines
        .iter()
        .map(|(rows, n)| format!("{n} on {rows}"))
        .collect();
    println!("designs per row-engine count: {}", rows.join(", "));
    if r.failures.is_empty() {
        println!("every case equals the reference in every engine");
    }
    for f in &r.failures {
        println!(
            "FAILED design {} case {} ({}) in {}: {}",
            f.design,
            f.case,
            f.encoding,
            f.engine.name(),
            f.failure
        );
        println!(
            "  shrunk to {} sequences, {} frames: {}; reproducer: {}",
            f.shrunk_sequences, f.shrunk_frames, f.shrunk_failure, f.reproducer
        );
    }
}
