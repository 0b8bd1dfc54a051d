//! The importer against onnxruntime, the independent float reference: 60
//! random graphs built by `onnx_models.py` with the `onnx` package (1-3
//! stacked LSTMs of 1-128 cells, Gemm or MatMul + Add heads, zero initial
//! state given or omitted, a third of them with weights behind
//! DequantizeLinear), and the malformed graphs it must refuse by name.
//! Needs `.venv` with onnx and onnxruntime (`scripts/test` installs them).

use lstm_accel_model::float::FloatRunner;
use lstm_accel_model::reference::Reference;
use lstm_accel_onnx::{import_onnx, quantize_import};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Largest |float twin - onnxruntime| allowed on a logit.
const TOLERANCE: f64 = 1e-5;
const CASES: usize = 60;

fn python() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: scripts/test installs onnx and onnxruntime into .venv",
        p.display()
    );
    p
}

fn make_models(dir: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/onnx_models.py");
    let out = Command::new(python())
        .arg(&script)
        .arg(dir)
        .arg(CASES.to_string())
        .arg("2027")
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "onnx_models.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn matrix(v: &Value) -> Vec<Vec<f64>> {
    v.as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            r.as_array()
                .expect("row")
                .iter()
                .map(|x| x.as_f64().expect("number"))
                .collect()
        })
        .collect()
}

fn argmax(v: &[f64]) -> usize {
    v.iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |(bi, bv), (i, &x)| {
            if x > bv {
                (i, x)
            } else {
                (bi, bv)
            }
        })
        .0
}

#[test]
fn float_twin_equals_onnxruntime_and_quantized_weights_are_exact() {
    let dir = tempfile::tempdir().expect("temp dir");
    make_models(dir.path());
    let mut worst = 0f64;
    let (mut agree, mut frames, mut quantized, mut sizes) = (0, 0, 0, Vec::new());
    for k in 0..CASES {
        let file = dir.path().join(format!("case{k}.onnx"));
        let text =
            std::fs::read_to_string(dir.path().join(format!("case{k}.json"))).expect("case json");
        let case: Value = serde_json::from_str(&text).expect("json");
        let x = matrix(&case["x"]);
        let y = matrix(&case["y"]);
        let imp = import_onnx(&file).unwrap_or_else(|e| panic!("case {k}: {e}"));
        let layers: Vec<usize> = case["layers"]
            .as_array()
            .expect("layers")
            .iter()
            .map(|v| v.as_u64().expect("size") as usize)
            .collect();
        assert_eq!(imp.model.input_size, layers[0], "case {k}");
        assert_eq!(
            imp.model
                .layers
                .iter()
                .map(|l| l.hidden)
                .collect::<Vec<_>>(),
            layers[1..],
            "case {k}"
        );
        sizes.extend_from_slice(&layers[1..]);
        let mut run = FloatRunner::new(&imp.model);
        let mut case_worst = 0f64;
        for (t, (xt, yt)) in x.iter().zip(&y).enumerate() {
            let frame: Vec<f32> = xt.iter().map(|&v| v as f32).collect();
            run.step(&frame);
            assert_eq!(run.logits().len(), yt.len(), "case {k} step {t}");
            for (a, b) in run.logits().iter().zip(yt) {
                case_worst = case_worst.max((f64::from(*a) - b).abs());
            }
        }
        assert!(
            case_worst <= TOLERANCE,
            "case {k} ({layers:?}): |float twin - onnxruntime| = {case_worst:e}"
        );
        worst = worst.max(case_worst);
        if case["quantized"].is_string() {
            quantized += 1;
            assert!(
                !imp.quantized.is_empty(),
                "case {k}: the DequantizeLinear weights are not marked"
            );
            let (model, reports) =
                quantize_import(&imp, None).unwrap_or_else(|e| panic!("case {k}: {e}"));
            for r in &reports {
                assert!(r.exact, "case {k}: {} is not exact: {r:?}", r.path);
            }
            assert_eq!(
                reports.len(),
                2 * (layers.len() - 1) + 1,
                "case {k}: {reports:?}"
            );
            let mut reference = Reference::new(&model).expect("reference");
            for (xt, yt) in x.iter().zip(&y) {
                let frame: Vec<f32> = xt.iter().map(|&v| v as f32).collect();
                let q = reference.quantize_frame(&frame);
                reference.step(&q).expect("step");
                agree += usize::from(reference.class() == argmax(yt));
                frames += 1;
            }
        }
    }
    let rate = agree as f64 / frames as f64;
    println!(
        "onnx: {CASES} graphs ({} to {} cells per layer), max |float twin - onnxruntime| = {worst:e}; {quantized} quantized graphs: every DequantizeLinear weight exact, bit-exact reference's class = onnxruntime's in {agree}/{frames} steps ({:.1} %)",
        sizes.iter().min().copied().unwrap_or(0),
        sizes.iter().max().copied().unwrap_or(0),
        100.0 * rate
    );
    // 8-bit data on random weights: a class changes only where onnxruntime's
    // two best logits are close.
    assert!(
        rate >= 0.9,
        "the quantized models' classes agree with onnxruntime in {:.1} % of steps",
        100.0 * rate
    );
    assert!(sizes.contains(&1) && sizes.contains(&128), "{sizes:?}");
}

#[test]
fn malformed_graphs_are_refused_by_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    make_models(dir.path());
    let text = std::fs::read_to_string(dir.path().join("bad.json")).expect("bad.json");
    let cases: Value = serde_json::from_str(&text).expect("json");
    let cases = cases.as_object().expect("object");
    assert!(cases.len() >= 8);
    for (name, want) in cases {
        let want: Vec<&str> = want
            .as_array()
            .expect("pair")
            .iter()
            .map(|v| v.as_str().expect("text"))
            .collect();
        let file = if name == "truncated" {
            dir.path().join("truncated.onnx")
        } else {
            dir.path().join(format!("bad_{name}.onnx"))
        };
        let err = match import_onnx(&file) {
            Ok(_) => panic!("{name}: imported"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(&file.display().to_string()), "{name}: {err}");
        for w in want.iter().filter(|w| !w.is_empty()) {
            assert!(err.contains(w), "{name}: '{err}' does not say '{w}'");
        }
    }
}

#[test]
fn a_scale_that_is_not_a_power_of_two_is_snapped_and_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    make_models(dir.path());
    let imp = import_onnx(&dir.path().join("snapped.onnx")).expect("imports");
    let (_, reports) = quantize_import(&imp, None).expect("quantizes");
    let w = reports
        .iter()
        .find(|r| r.path == "layers[0].w_x")
        .expect("w_x report");
    assert!(!w.exact && w.max_abs_diff > 0.0, "{w:?}");
    assert!(w.node.contains("W_dq"), "{w:?}");
    assert!(
        w.reason
            .as_deref()
            .is_some_and(|r| r.contains("0.3") && r.contains("not a power of two")),
        "{w:?}"
    );
    let r = reports
        .iter()
        .find(|r| r.path == "layers[0].w_h")
        .expect("w_h report");
    assert!(r.exact, "{r:?}");
}
