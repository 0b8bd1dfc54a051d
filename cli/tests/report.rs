//! `lstm-accel report` without synthesis (the flow it runs per point is
//! `synth`'s, tested in `synth.rs`): every section is filled, the schedule
//! never beats the ideal bound, the engines' runs were cross-checks, the
//! latency follows from cycles and clock, and the plot is written.

use std::process::Command;

#[test]
fn the_report_measures_every_section_and_plots_cycles_against_lanes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("report");
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("verilator-report");
    let o = Command::new(env!("CARGO_BIN_EXE_lstm-accel"))
        .args([
            "report",
            "--no-synth",
            "--seconds",
            "0.2",
            "--sim-frames",
            "1",
        ])
        .args(["--lanes", "8,16,256", "--json", "--out"])
        .arg(&out)
        .arg("--verilator-cache")
        .arg(&cache)
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).expect("file"))
            .expect("json file");
    assert_eq!(v["lanes"], written["lanes"]);
    let sw = v["software"].as_array().expect("software");
    assert_eq!(sw.len(), 2);
    for s in sw {
        assert!(
            s["reference_frames_per_second"].as_f64().expect("fps") > 0.0,
            "{s}"
        );
        assert!(
            s["f32_frames_per_second"].as_f64().expect("fps") > 0.0,
            "{s}"
        );
    }
    let engines: Vec<&str> = v["engines"]
        .as_array()
        .expect("engines")
        .iter()
        .map(|e| e["engine"].as_str().expect("name"))
        .collect();
    assert_eq!(engines, ["native", "verilator", "icarus"]);
    for e in v["engines"].as_array().expect("engines") {
        assert!(
            e["cycles"].as_u64().expect("cycles") > 0
                && e["cycles_per_second"].as_f64() > Some(0.0)
        );
    }
    let lanes = v["lanes"].as_array().expect("lanes");
    assert_eq!(lanes.len(), 6, "two models at three lane counts");
    for p in lanes {
        let (c, i) = (
            p["cycles_per_frame"].as_f64().expect("cycles"),
            p["ideal_cycles"].as_f64().expect("ideal"),
        );
        assert!(c >= i, "the schedule cannot beat MACs / lanes: {p}");
    }
    for l in v["latency"].as_array().expect("latency") {
        let us = l["cycles_per_frame"].as_f64().expect("c") / l["fmax_mhz"].as_f64().expect("f");
        assert!(
            (l["latency_us"].as_f64().expect("us") - us).abs() < 1e-6,
            "{l}"
        );
        assert!(l["fmax_source"]
            .as_str()
            .expect("source")
            .contains("not synthesised"));
    }
    assert!(v["fpga"].as_array().expect("fpga").is_empty());
    // Row engines: every point within the ideal bound or refused with a
    // reason; the FSDD model at 256 MACs per cycle at least 3x faster than
    // at 64.
    let rows = v["rows"].as_array().expect("rows");
    let cycles = |model: &str, r: u64, l: u64| {
        rows.iter()
            .find(|p| {
                p["model"].as_str().is_some_and(|m| m.starts_with(model))
                    && p["rows"] == r
                    && p["lanes"] == l
            })
            .and_then(|p| p["cycles_per_frame"].as_f64())
            .expect("the point")
    };
    for p in rows {
        match p["cycles_per_frame"].as_f64() {
            Some(c) => assert!(c >= p["ideal_cycles"].as_f64().expect("ideal"), "{p}"),
            None => assert!(p["error"].as_str().is_some(), "{p}"),
        }
    }
    let (at64, at256) = (cycles("fsdd", 1, 64), cycles("fsdd", 16, 16));
    assert!(
        at64 >= 3.0 * at256,
        "FSDD: {at64} cycles at 1 x 64, {at256} at 16 x 16"
    );
    // ESE's own model: its fastest fit, the configuration docs/examples
    // holds, within 10 % of its ideal, not synthesised here.
    let e = &v["ese"];
    let macs = e["macs_per_frame"].as_f64().expect("macs");
    let per_cycle = e["macs_per_cycle"].as_f64().expect("per cycle");
    let c = e["cycles_per_frame"].as_f64().expect("cycles");
    assert!(c <= 1.10 * macs / per_cycle, "{e}");
    assert!(e["clock_mhz"].is_null() && e["latency_us"].is_null(), "{e}");
    let example: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../docs/examples/ese-ecp5-85k.hw.json"),
        )
        .expect("the example"),
    )
    .expect("json");
    assert_eq!(
        (&example["rows"], &example["lanes"]),
        (&e["rows"], &e["lanes"])
    );
    let svg = std::fs::read_to_string(out.join("cycles-per-frame.svg")).expect("plot");
    assert!(svg.contains("<svg") && svg.contains("ideal (MACs / lanes)"));
}

#[test]
fn two_shards_of_the_flows_merge_into_one_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("verilator-report");
    let run = |extra: &[&str], out: &std::path::Path| -> serde_json::Value {
        let o = Command::new(env!("CARGO_BIN_EXE_lstm-accel"))
            .args([
                "report",
                "--seconds",
                "0.1",
                "--sim-frames",
                "1",
                "--lanes",
                "8",
                "--ecp5-lanes",
            ])
            .args(["--ice40-lanes", "2,4", "--json", "--out"])
            .arg(out)
            .arg("--verilator-cache")
            .arg(&cache)
            .args(extra)
            .output()
            .expect("runs");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).expect("json")
    };
    let mut files = Vec::new();
    let mut points = Vec::new();
    for k in 1..=2 {
        let out = dir.path().join(format!("shard{k}"));
        let v = run(&["--shard", &format!("{k}/2")], &out);
        let fpga = v["fpga"].as_array().expect("fpga");
        assert_eq!(fpga.len(), 1, "one of the two flows per shard: {fpga:?}");
        assert_eq!(fpga[0]["flow"], k - 1);
        assert!(fpga[0]["fmax_mhz"].as_f64().is_some(), "{}", fpga[0]);
        points.push(fpga[0].clone());
        files.push(out.join("report.json"));
    }
    let merged_dir = dir.path().join("merged");
    let mut args = vec!["--merge".to_string()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let merged = run(&args, &merged_dir);
    assert_eq!(
        merged["fpga"].as_array().expect("fpga"),
        &points,
        "every shard's flow, in the run's order"
    );
    assert_eq!(merged["shard"]["count"], 1);
    assert_eq!(merged["fpga"][0]["lanes"], 2);
    assert_eq!(merged["fpga"][1]["lanes"], 4);
    assert!(merged["ese"]["cycles_per_frame"].as_u64().is_some());
    assert!(merged_dir.join("report.json").exists());
    // One shard alone is not a run.
    let o = Command::new(env!("CARGO_BIN_EXE_lstm-accel"))
        .args(["report", "--out"])
        .arg(dir.path().join("bad"))
        .arg("--merge")
        .arg(&files[0])
        .output()
        .expect("runs");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("2/2 are missing"));
}
