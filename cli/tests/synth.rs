//! `lstm-accel synth` through the open FPGA flow: a bitstream comes out for
//! iCE40 and ECP5, and every figure of the `--json` report is the one the
//! tools logged themselves (Yosys's cell counts, nextpnr's placed resources
//! and final Fmax). Needs the flow of `scripts/setup-fpga`; a missing tool
//! fails the test.

use lstm_accel_model::random::{self, ModelShape};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lstm-accel"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// Whether some line of `log` is exactly the count and the name, in either
/// order, with any spacing (Yosys's `stat` in the format of any release).
fn logged_count(log: &str, name: &str, count: u64) -> bool {
    let want = count.to_string();
    log.lines().any(|l| {
        let t: Vec<&str> = l.split_whitespace().collect();
        t.len() == 2 && ((t[0] == want && t[1] == name) || (t[0] == name && t[1] == want))
    })
}

/// nextpnr's utilisation line for `cell`: (used, available).
fn logged_use(log: &str, cell: &str) -> Option<(u64, u64)> {
    log.lines().find_map(|l| {
        let (_, rest) = l.split_once(&format!(" {cell}:"))?;
        let (used, rest) = rest.split_once('/')?;
        let avail = rest.split_whitespace().next()?;
        Some((used.trim().parse().ok()?, avail.parse().ok()?))
    })
}

/// Every placed resource of the report is nextpnr's logged utilisation.
fn assert_placed_as_logged(rep: &Value, pnr: &str) {
    for (cell, used) in rep["placed"].as_object().expect("placed") {
        let u = (
            used["used"].as_u64().expect("used"),
            used["available"].as_u64().expect("available"),
        );
        assert_eq!(logged_use(pnr, cell), Some(u), "{cell}");
    }
}

/// A random ternary model of `shape` from `seed`, saved in `dir`.
fn model_file(dir: &Path, shape: &ModelShape, seed: u64) -> PathBuf {
    let mut r = random::rng(seed);
    let m = dir.join("model.json");
    random::model(&mut r, shape).save(&m).expect("model saved");
    m
}

/// The 1 x 8 ternary model (8 inputs, 4 classes) the board and refusal
/// tests build.
fn small_model_file(dir: &Path, seed: u64) -> PathBuf {
    model_file(dir, &ModelShape::ternary(8, &[8], 4, 8), seed)
}

/// Runs `synth --json` on a random ternary model and checks the report
/// against the logs; returns the report.
fn synth(dir: &Path, shape: &ModelShape, target: &str, clock: &str, cells: [&str; 3]) -> Value {
    let m = model_file(dir, shape, 5);
    let out = dir.join("flow");
    let out_s = out.to_str().expect("utf-8");
    let run = cli(&[
        "synth",
        "--model",
        m.to_str().expect("utf-8"),
        "--target",
        target,
        "--clock-mhz",
        clock,
        "--out",
        out_s,
        "--allow-timing-failure",
        "--json",
    ]);
    assert!(
        run.status.success(),
        "synth failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let rep: Value = serde_json::from_slice(&run.stdout).expect("JSON report");
    // The same report is on disk.
    let saved: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("synth-report.json")).expect("report written"),
    )
    .expect("saved report parses");
    assert_eq!(saved, rep);
    let bit = out.join(rep["bitstream"].as_str().expect("bitstream"));
    let bytes = std::fs::metadata(&bit).expect("bitstream written").len();
    assert!(bytes > 10_000, "{}: {bytes} bytes", bit.display());
    let yosys = std::fs::read_to_string(out.join("yosys.log")).expect("yosys log");
    let pnr = std::fs::read_to_string(out.join("nextpnr.log")).expect("nextpnr log");
    // Yosys's counts.
    let [lut, ff_prefix, carry] = cells;
    let cellmap = rep["cells"].as_object().expect("cells");
    assert_eq!(
        rep["luts"].as_u64(),
        cellmap.get(lut).and_then(Value::as_u64).or(Some(0))
    );
    assert_eq!(
        rep["carries"].as_u64(),
        cellmap.get(carry).and_then(Value::as_u64).or(Some(0))
    );
    let ffs: u64 = cellmap
        .iter()
        .filter(|(k, _)| k.starts_with(ff_prefix))
        .filter_map(|(_, v)| v.as_u64())
        .sum();
    assert_eq!(rep["flip_flops"].as_u64(), Some(ffs));
    for (name, n) in cellmap {
        let n = n.as_u64().expect("count");
        assert!(logged_count(&yosys, name, n), "{name} {n} not in yosys.log");
    }
    // nextpnr's placed resources and final Fmax.
    assert_placed_as_logged(&rep, &pnr);
    let fmax = lstm_accel_hdl::flow::log_fmax(&pnr);
    let clocks = rep["clocks"].as_array().expect("clocks");
    assert!(!clocks.is_empty());
    for c in clocks {
        let name = c["clock"].as_str().expect("clock");
        let logged = fmax.get(name).copied().expect("clock in the log");
        let reported = c["fmax_mhz"].as_f64().expect("fmax");
        assert!(
            (logged - reported).abs() < 0.01,
            "{name}: {logged} vs {reported}"
        );
    }
    assert_predicted_block_rams(&rep);
    let f = rep["fmax_mhz"].as_f64().expect("fmax");
    let want: f64 = clock.parse().expect("clock");
    assert_eq!(rep["clock_met"].as_bool(), Some(f >= want));
    assert!(!rep["critical_path"].as_array().expect("path").is_empty());
    rep
}

/// The spec's block RAMs (and a board's bridge buffers) against what was
/// placed: exactly on ECP5; on iCE40, where Yosys sometimes packs a memory
/// of an odd depth into fewer blocks than whole shapes (522 x 10 in 2
/// RAM4K, not 3), never fewer and at most a tenth more.
fn assert_predicted_block_rams(rep: &Value) {
    let predicted = rep["predicted_block_rams"].as_u64().expect("predicted");
    let used = rep["block_rams"]["used"].as_u64().expect("used");
    if rep["target"]
        .as_str()
        .is_some_and(|t| t.starts_with("ecp5"))
    {
        assert_eq!(predicted, used, "the spec's block RAMs");
    } else {
        assert!(
            used <= predicted && predicted <= used + used / 10 + 1,
            "the spec's block RAMs: {predicted} predicted, {used} placed"
        );
    }
}

#[test]
fn ecp5_bitstream_and_report_for_the_fsdd_size_model() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rep = synth(
        dir.path(),
        &ModelShape::ternary(40, &[64, 64], 10, 8),
        "ecp5-85k",
        "100",
        ["LUT4", "TRELLIS_FF", "CCU2C"],
    );
    assert!(rep["block_rams"]["used"].as_u64().expect("brams") > 0);
    assert_eq!(rep["block_rams"]["available"].as_u64(), Some(208));
    println!(
        "ECP5-85F, 2 x 64: {} LUTs, {} FFs, {} DP16KD, Fmax {:.2} MHz",
        rep["luts"],
        rep["flip_flops"],
        rep["block_rams"]["used"],
        rep["fmax_mhz"].as_f64().unwrap_or(0.0)
    );
}

#[test]
fn ice40_bitstream_and_report_for_a_small_model() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rep = synth(
        dir.path(),
        &ModelShape::ternary(8, &[8], 4, 8),
        "ice40-hx8k",
        "30",
        ["SB_LUT4", "SB_DFF", "SB_CARRY"],
    );
    assert_eq!(rep["block_rams"]["available"].as_u64(), Some(32));
    println!(
        "iCE40 HX8K, 1 x 8: {} LUTs, {} FFs, {} RAM4K, Fmax {:.2} MHz",
        rep["luts"],
        rep["flip_flops"],
        rep["block_rams"]["used"],
        rep["fmax_mhz"].as_f64().unwrap_or(0.0)
    );
}

#[test]
fn synth_refuses_a_target_that_is_no_part_and_names_a_missing_tool() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = small_model_file(dir.path(), 1);
    let m = m.to_str().expect("utf-8");
    let out = dir.path().join("o");
    let out = out.to_str().expect("utf-8");
    let run = cli(&["synth", "--model", m, "--target", "generic", "--out", out]);
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("synth needs a part"), "{err}");
    assert!(
        !Path::new(out).exists(),
        "nothing written for a refused run"
    );
    // No tool on the path: the error names the tool and how to install it.
    let run = Command::new(env!("CARGO_BIN_EXE_lstm-accel"))
        .args([
            "synth",
            "--model",
            m,
            "--target",
            "ice40-hx8k",
            "--out",
            out,
        ])
        .env("PATH", dir.path())
        .env_remove(lstm_accel_hdl::flow::TOOLS_ENV)
        .output()
        .expect("runs");
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("not installed") && err.contains("yosys"),
        "{err}"
    );
}

#[test]
fn generate_writes_a_fusesoc_core_that_fusesoc_reads_and_lints() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut r = random::rng(6);
    let mut model = random::model(&mut r, &ModelShape::ternary(8, &[8], 4, 8));
    model.name = "Small model-1".into();
    let m = dir.path().join("m.json");
    model.save(&m).expect("saved");
    let out = dir.path().join("gen");
    let run = cli(&[
        "generate",
        "--model",
        m.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let core = out.join("lstm_accel_small_model_1.core");
    let text = std::fs::read_to_string(&core).expect("core written");
    assert!(text.starts_with("CAPI=2:"), "{text}");
    let verilog = std::fs::read_to_string(out.join("lstm_accel_small_model_1.v")).expect("v");
    assert!(verilog.contains("module lstm_accel_small_model_1("));
    assert!(
        !verilog.contains("module top"),
        "no module named top is left"
    );
    let fusesoc = |args: &[&str]| {
        Command::new("fusesoc")
            .arg("--cores-root")
            .arg(&out)
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("fusesoc runs (scripts/setup-fpga installs it into .venv)")
    };
    let vlnv = "lstm-accel:generated:lstm_accel_small_model_1:0.1.0";
    let info = fusesoc(&["core-info", vlnv]);
    let info_text = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.status.success() && info_text.contains("lint"),
        "{info_text}"
    );
    let lint = fusesoc(&["run", "--target=lint", vlnv]);
    assert!(
        lint.status.success(),
        "{}{}",
        String::from_utf8_lossy(&lint.stdout),
        String::from_utf8_lossy(&lint.stderr)
    );
}

/// `synth --board` on a small model: the bitstream, the PLL's clock as the
/// requested one, the board's constraints used.
fn board_flow(board: &str, clock: &str) -> Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = small_model_file(dir.path(), 7);
    let out = dir.path().join("flow");
    let run = cli(&[
        "synth",
        "--model",
        m.to_str().expect("utf-8"),
        "--lanes",
        "4",
        "--board",
        board,
        "--clock-mhz",
        clock,
        "--out",
        out.to_str().expect("utf-8"),
        "--allow-timing-failure",
        "--json",
    ]);
    assert!(
        run.status.success(),
        "synth --board {board} failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let rep: Value = serde_json::from_slice(&run.stdout).expect("JSON report");
    let bit = out.join(rep["bitstream"].as_str().expect("bitstream"));
    assert!(std::fs::metadata(&bit).expect("bitstream").len() > 10_000);
    let pnr = std::fs::read_to_string(out.join("nextpnr.log")).expect("log");
    assert_placed_as_logged(&rep, &pnr);
    assert_predicted_block_rams(&rep);
    println!(
        "{board}: {} LUTs, {} FFs, {} block RAMs, Fmax {:.2} MHz for {} MHz",
        rep["luts"],
        rep["flip_flops"],
        rep["block_rams"]["used"],
        rep["fmax_mhz"].as_f64().unwrap_or(0.0),
        rep["clock_mhz"]
    );
    rep
}

#[test]
fn icebreaker_and_ulx3s_bitstreams_with_pll_and_uart() {
    let ice = board_flow("icebreaker", "30");
    assert_eq!(ice["target"], "ice40-up5k");
    assert_eq!(ice["clock_mhz"].as_f64(), Some(30.0));
    // A PLL and the pins of the board: 6 I/O (clock, reset button, UART,
    // two LEDs).
    assert_eq!(ice["ios"]["used"].as_u64(), Some(6));
    let ecp = board_flow("ulx3s", "100");
    assert_eq!(ecp["target"], "ecp5-85k");
    assert_eq!(ecp["clock_mhz"].as_f64(), Some(100.0));
    assert_eq!(ecp["placed"]["EHXPLLL"]["used"].as_u64(), Some(1));
}

#[test]
fn the_arty_a7_top_is_written_and_yosys_maps_it_to_xilinx_cells() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = small_model_file(dir.path(), 8);
    let out = dir.path().join("gen");
    // No open flow for it: synth refuses and says where its files come from.
    let refused = cli(&[
        "synth",
        "--model",
        m.to_str().expect("utf-8"),
        "--board",
        "arty-a7",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("generate --board arty-a7"));
    let run = cli(&[
        "generate",
        "--model",
        m.to_str().expect("utf-8"),
        "--board",
        "arty-a7",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let xdc = std::fs::read_to_string(out.join("arty_a7.xdc")).expect("xdc");
    for port in ["CLK100MHZ", "uart_txd_in", "uart_rxd_out", "led[0]"] {
        assert!(xdc.contains(port), "{port}");
    }
    let board = std::fs::read_to_string(out.join("board.v")).expect("board.v");
    let yosys = Command::new("yosys")
        .args([
            "-q",
            "-p",
            "read_verilog -sv board.v; synth_xilinx -top board",
        ])
        .current_dir(&out)
        .output()
        .expect("yosys runs");
    assert!(
        yosys.status.success(),
        "{}",
        String::from_utf8_lossy(&yosys.stderr)
    );
    assert!(board.contains("module board(input CLK100MHZ"));
}
