//! `lstm-accel import --onnx`: graphs built with the `onnx` package (by the
//! ONNX importer's own test script) import into model files; weights behind
//! DequantizeLinear get exact codes, a scale that is not a power of two is
//! snapped with a warning that names the node, and a graph the accelerator
//! cannot run ends with an error that names the node and writes nothing.

mod common;

use common::{cli, json};
use lstm_accel_model::model::Model;
use std::path::Path;
use std::process::Command;

fn make_models(dir: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: scripts/test installs onnx and onnxruntime into .venv",
        python.display()
    );
    let out = Command::new(python)
        .arg(root.join("onnx/tests/onnx_models.py"))
        .arg(dir)
        .args(["5", "11"])
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn onnx_graphs_import_with_exact_codes_and_named_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    make_models(dir.path());
    let s = |p: &Path| p.to_str().expect("utf-8").to_string();
    // Case 2 is ternary behind DequantizeLinear, case 4 a codebook.
    for k in [2, 3, 4] {
        let out = dir.path().join(format!("m{k}.json"));
        let v = json(&[
            "import",
            "--onnx",
            &s(&dir.path().join(format!("case{k}.onnx"))),
            "--out",
            &s(&out),
            "--json",
        ]);
        let reports = v["quantized_matrices"].as_array().expect("reports");
        assert!(!reports.is_empty(), "{v}");
        for r in reports {
            assert_eq!(r["exact"], true, "case {k}: {r}");
        }
        assert_eq!(v["opset"], 17);
        let m = Model::load(&out).expect("the model loads");
        assert_eq!(v["classes"].as_u64(), Some(m.head.classes() as u64));
    }
    // A float graph: nothing was quantized in the file.
    let out = dir.path().join("m0.json");
    let v = json(&[
        "import",
        "--onnx",
        &s(&dir.path().join("case0.onnx")),
        "--out",
        &s(&out),
        "--json",
    ]);
    assert_eq!(v["quantized_matrices"].as_array().map(Vec::len), Some(0));

    let out = dir.path().join("snapped.json");
    let o = cli(&[
        "import",
        "--onnx",
        &s(&dir.path().join("snapped.onnx")),
        "--out",
        &s(&out),
    ]);
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("layers[0].w_x") && err.contains("W_dq") && err.contains("not a power of two"),
        "{err}"
    );

    let out = dir.path().join("refused.json");
    let o = cli(&[
        "import",
        "--onnx",
        &s(&dir.path().join("bad_bidirectional.onnx")),
        "--out",
        &s(&out),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad_bidirectional.onnx")
            && err.contains("node 'the_lstm' (LSTM)")
            && err.contains("direction"),
        "{err}"
    );
    assert!(!out.exists());
}
