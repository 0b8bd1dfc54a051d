//! Differential testing: the quick slice (every encoding family in every
//! engine), the redrawn weights keeping the design's Verilog, and a failing
//! case shrunk to a small reproducer that `simulate` replays.

use lstm_accel_hdl::accelerator::verilog;
use lstm_accel_model::random::{biases_mut, weight_values_mut};
use lstm_accel_sim::native::NativeDevice;
use lstm_accel_sim::verilator::VerilatorOptions;
use lstm_accel_sim::{Device, Edge, StreamWord};
use lstm_accel_spec::protocol::{parse_header, RESULT};
use lstm_accel_spec::AcceleratorSpec;
use lstm_accel_verify::difftest::cases::{self, encodings};
use lstm_accel_verify::difftest::shrink::shrink;
use lstm_accel_verify::difftest::{self, check_on_device, DiffConfig, EngineKind};
use std::process::Command;

fn verilator_options() -> VerilatorOptions {
    VerilatorOptions {
        opt_level: 0,
        ..VerilatorOptions::new(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("verilator"))
    }
}

#[test]
fn the_quick_slice_covers_every_encoding_in_every_engine() {
    let families = encodings().len();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = DiffConfig {
        cases: 2 * families,
        designs: families,
        seed: 3,
        engines: vec![
            EngineKind::Native,
            EngineKind::Verilator,
            EngineKind::Icarus,
        ],
        verilator: verilator_options(),
        out: dir.path().join("failures"),
        shrink_budget: 50,
        jobs: 2,
        log: Some(dir.path().join("designs.jsonl")),
        shard: Default::default(),
    };
    let seen = std::sync::atomic::AtomicUsize::new(0);
    let report = difftest::run(&config, |n, _| {
        seen.fetch_max(n, std::sync::atomic::Ordering::SeqCst);
    })
    .expect("the log opens");
    let seen = seen.into_inner();
    assert!(report.failures.is_empty(), "{:#?}", report.failures);
    assert_eq!(
        (report.cases, seen, report.designs),
        (2 * families, 2 * families, families)
    );
    assert_eq!(report.encodings.len(), families, "{:?}", report.encodings);
    assert!(report.encodings.values().all(|&n| n == 2));
    assert!(report.frames >= report.cases);
    assert_eq!(report.engine_seconds.len(), 3);
    assert!(
        !dir.path().join("failures").exists(),
        "nothing written when nothing fails"
    );
}

#[test]
fn redrawn_weights_keep_the_design_and_change_the_weights() {
    for d in 0..encodings().len() as u64 {
        let design = cases::design(40 + d);
        let spec = AcceleratorSpec::new(&design.model, &design.hw).expect("spec");
        let v = verilog(&design.model, &spec).expect("verilog");
        let first = cases::case(&design, 0);
        assert_eq!(
            first.model, design.model,
            "case 0 keeps the design's weights"
        );
        for seed in 1..3 {
            let c = cases::case(&design, seed);
            assert_ne!(
                c.model, design.model,
                "{}: case {seed} draws new weights",
                design.encoding
            );
            let s = AcceleratorSpec::new(&c.model, &c.hw()).expect("spec");
            assert_eq!(
                verilog(&c.model, &s).expect("verilog"),
                v,
                "{}",
                design.encoding
            );
            c.model.validate().expect("a valid model");
            assert!((1..=2).contains(&c.sequences.len()));
            assert!(c.sequences.iter().all(|s| (1..=5).contains(&s.len())));
        }
    }
}

/// A device that corrupts the cycle count of every result from the third
/// frame on (the design's frame counter is 2 or more).
struct LateFault<D> {
    inner: D,
    word: usize,
    result: bool,
    late: bool,
}

impl<D: Device> Device for LateFault<D> {
    fn cycle(&mut self, input: Option<StreamWord>, out_ready: bool) -> Edge {
        let mut e = self.inner.cycle(input, out_ready);
        if let Some(w) = &mut e.output {
            match self.word {
                0 => self.result = parse_header(w.data).0 == RESULT,
                1 => self.late = self.result && w.data >= 2,
                3 if self.result && self.late => w.data ^= 1,
                _ => {}
            }
            self.word = if w.last { 0 } else { self.word + 1 };
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
        "late-fault"
    }
}

#[test]
fn a_failing_case_shrinks_to_a_reproducer_that_simulate_replays() {
    let design = cases::design(3);
    let mut case = cases::case(&design, 5);
    // Enough frames for the fault, stalls on, nonzero inputs.
    case.sequences = vec![vec![vec![1; case.model.input.size]; 5]; 3];
    case.stalls = true;
    let spec = AcceleratorSpec::new(&case.model, &case.hw()).expect("spec");
    let faulty = |c: &cases::Case| {
        let dev = LateFault {
            inner: NativeDevice::new(&c.model, &spec).expect("design"),
            word: 0,
            result: false,
            late: false,
        };
        check_on_device(dev, c, &spec).err()
    };
    let failure = faulty(&case).expect("the fault shows");
    assert!(failure.contains("cycles"), "{failure}");
    let clean = NativeDevice::new(&case.model, &spec).expect("design");
    assert_eq!(check_on_device(clean, &case, &spec), Ok(()));
    let s = shrink(&case, failure, 500, faulty);
    // The smallest case that still fails: three frames, nothing else.
    assert_eq!(s.case.frames(), 3, "{:?}", s.case.sequences);
    assert!(!s.case.stalls);
    assert!(s.case.sequences.iter().flatten().flatten().all(|&v| v == 0));
    let mut m = s.case.model.clone();
    assert!(weight_values_mut(&mut m)
        .iter()
        .all(|v| v.codes.iter().all(|&c| c == 0)));
    assert!(biases_mut(&mut m)
        .iter()
        .all(|b| b.values.iter().all(|&v| v == 0)));
    assert!(s.failure.contains("cycles"), "{}", s.failure);
    assert!(s.attempts <= 500);
    // The reproducer runs in `simulate` as written (the fault is not in
    // the design, so there it passes).
    let dir = tempfile::tempdir().expect("tempdir");
    difftest::write_reproducer(dir.path(), &s.case, EngineKind::Native, &s.failure)
        .expect("written");
    let replay = std::fs::read_to_string(dir.path().join("replay.sh")).expect("replay.sh");
    assert!(replay.contains("--frames frames.json") && replay.contains("--backend native"));
    let out = Command::new(env!("CARGO_BIN_EXE_lstm-accel"))
        .current_dir(dir.path())
        .args([
            "simulate",
            "--model",
            "model.json",
            "--frames",
            "frames.json",
        ])
        .args([
            "--lanes",
            &s.case.lanes.to_string(),
            "--read-state",
            "--json",
        ])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["frames"], 3);
}

#[test]
fn difftest_runs_from_the_command_line_and_refuses_bad_requests() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_lstm-accel"))
            .current_dir(dir.path())
            .arg("difftest")
            .args(args)
            .output()
            .expect("runs")
    };
    let out = run(&[
        "--cases",
        "6",
        "--designs",
        "3",
        "--engines",
        "native,icarus",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        (v["cases"].as_u64(), v["designs"].as_u64()),
        (Some(6), Some(3))
    );
    assert_eq!(v["failures"].as_array().map(Vec::len), Some(0));
    assert!(v["engine_seconds"]["icarus"].as_f64().is_some());
    let bad = run(&["--cases", "0"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--cases and --designs"));
    let bad = run(&["--engines", "modelsim"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("modelsim"));
}

#[test]
fn four_shards_merge_into_the_report_of_one_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec![
            "difftest",
            "--cases",
            "24",
            "--designs",
            "8",
            "--seed",
            "5",
            "--engines",
            "native",
            "--jobs",
            "1",
            "--json",
        ];
        args.extend_from_slice(extra);
        let out = Command::new(env!("CARGO_BIN_EXE_lstm-accel"))
            .args(&args)
            .current_dir(dir.path())
            .output()
            .expect("runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("json")
    };
    let whole = run(&[]);
    let mut files = Vec::new();
    for k in 1..=4 {
        let part = run(&["--shard", &format!("{k}/4")]);
        assert_eq!(part["shard"]["index"], k);
        assert_eq!(part["designs"], 2, "8 designs dealt over 4 shards");
        let f = dir.path().join(format!("shard{k}.json"));
        std::fs::write(&f, part.to_string()).expect("write");
        files.push(f.to_str().expect("utf-8").to_string());
    }
    let mut merge: Vec<&str> = files.iter().map(String::as_str).collect();
    merge.insert(0, "--merge");
    let merged = run(&merge);
    for key in [
        "cases",
        "designs",
        "frames",
        "encodings",
        "row_engines",
        "failures",
        "planned_cases",
        "seed",
    ] {
        assert_eq!(merged[key], whole[key], "{key}");
    }
    assert_eq!(merged["shard"], whole["shard"]);
    // A shard missing, or one given twice, is refused.
    for bad in [
        [&files[0], &files[1], &files[3]].as_slice(),
        [&files[0], &files[0], &files[1], &files[2]].as_slice(),
    ] {
        let mut args = vec!["difftest", "--merge"];
        args.extend(bad.iter().map(|s| s.as_str()));
        let out = Command::new(env!("CARGO_BIN_EXE_lstm-accel"))
            .args(&args)
            .output()
            .expect("runs");
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("missing") || err.contains("twice"), "{err}");
    }
}
