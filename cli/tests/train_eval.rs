//! `lstm-accel train` and `eval` on FSDD, end to end: a quantization-aware
//! model is exported, post-training quantization of its saved shadow
//! weights reproduces the same file, `eval` finds through the wav files
//! the accuracy training reported, the simulated accelerator classifies
//! the recordings exactly as the reference does, the plot is drawn, and
//! bad requests end with clear errors and nothing written.

mod common;

use common::{fails, json};

use lstm_accel_model::model::Model;

#[test]
fn train_exports_a_quantized_model_that_eval_and_the_accelerator_agree_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = |n: &str| dir.path().join(n).to_str().expect("utf-8").to_string();
    let (m, f, m2, svg) = (p("m.json"), p("f.safetensors"), p("m2.json"), p("acc.svg"));
    let small = [
        "--hidden", "8", "--layers", "1", "--batch", "64", "--quant", "pow2", "--json",
    ];
    let mut args = vec!["train", "--epochs", "2", "--out", &m, "--save-float", &f];
    args.extend(small);
    let t = json(&args);
    let split = &t["splits"][0];
    assert_eq!(split["test_examples"], 250);
    let trained = split["reference_accuracy"]
        .as_f64()
        .expect("bit-exact accuracy");
    assert!(trained > 0.2, "{trained}: no better than chance");
    // Post-training quantization of the saved shadow weights is the file.
    let mut args = vec!["train", "--epochs", "0", "--init", &f, "--out", &m2];
    args.extend(small);
    let ptq = json(&args);
    assert_eq!(
        ptq["splits"][0]["reference_accuracy"].as_f64(),
        Some(trained)
    );
    assert_eq!(
        Model::load(&m).expect("loads"),
        Model::load(&m2).expect("loads")
    );
    // A model file starts a new run from its decoded weights: quantized
    // again the same way, its matrices are the same.
    let m3 = p("m3.json");
    let mut args = vec!["train", "--epochs", "0", "--init", &m, "--out", &m3];
    args.extend(small);
    json(&args);
    let (a, b) = (
        Model::load(&m).expect("loads"),
        Model::load(&m3).expect("loads"),
    );
    assert_eq!(a.matrices(), b.matrices());
    // The wav files through the model's own front end: the same accuracy.
    let e = json(&["eval", "--model", &m, "--json"]);
    assert_eq!(e[0]["accuracy"].as_f64(), Some(trained));
    assert_eq!(e[0]["recordings"], 250);
    let bits = e[0]["weight_bits"].as_f64().expect("bits");
    let dense = e[0]["dense_parameters"].as_f64().expect("dense");
    assert_eq!(
        e[0]["compression_ratio"].as_f64(),
        Some(32.0 * dense / bits)
    );
    let confusion: u64 = e[0]["confusion"]
        .as_array()
        .expect("rows")
        .iter()
        .flat_map(|r| {
            r.as_array()
                .expect("row")
                .iter()
                .map(|c| c.as_u64().expect("count"))
        })
        .sum();
    assert_eq!(confusion, 250);
    // The accelerator, cycle-accurate, on every 50th recording.
    let e = json(&[
        "eval", "--model", &m, &m2, "--every", "50", "--engine", "native", "--plot", &svg, "--json",
    ]);
    for row in e.as_array().expect("rows") {
        assert_eq!(row["recordings"], 5);
        assert_eq!(row["engine"]["mismatches"], 0);
        assert_eq!(row["engine"]["accuracy"], row["accuracy"]);
        assert!(row["engine"]["frames"].as_u64().expect("frames") > 5 * 20);
    }
    let plot = std::fs::read_to_string(&svg).expect("plot written");
    assert!(plot.contains("<svg") && plot.contains("\nm2 ("), "{plot}");
}

#[test]
fn bad_training_and_evaluation_requests_are_refused_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("m.json");
    let out = out.to_str().expect("utf-8");
    fails(&["train", "--out", out], "--quant");
    fails(
        &["train", "--quant", "ternary", "--stochastic"],
        "codebooks",
    );
    fails(&["train", "--stochastic"], "needs a quantization");
    fails(&["train", "--epochs", "0"], "--init");
    fails(&["train", "--split", "speaker:nobody"], "jackson");
    fails(
        &[
            "train", "--split", "speakers", "--out", out, "--quant", "pow2",
        ],
        "one split",
    );
    fails(&["train", "--float-epochs", "2"], "--quant");
    fails(&["train", "--distill", "0.5", "--quant", "pow2"], "teacher");
    fails(&["train", "--recording-norm", "median"], "mean-variance");
    fails(
        &[
            "train",
            "--float-epochs",
            "2",
            "--init",
            out,
            "--quant",
            "pow2",
        ],
        "--init",
    );
    fails(&["train", "--dropout", "1", "--epochs", "1"], "dropout 1");
    fails(&["eval", "--model", out], "m.json");
    fails(&["eval", "--model", out, "--every", "0"], "--every 0");
    assert!(!dir.path().join("m.json").exists());
}

/// One command trains a float network, then the quantized one from it with
/// the float network as its teacher, with per-recording normalisation and
/// dropout: both accuracies are reported, the file carries the front end's
/// normalisation, and `eval` finds the trained accuracy through the wav
/// files.
#[test]
fn a_float_stage_then_distilled_qat_reports_both_and_the_file_keeps_its_front_end() {
    use lstm_accel_model::frontend::RecordingNorm;
    let dir = tempfile::tempdir().expect("tempdir");
    let m = dir.path().join("m.json");
    let m = m.to_str().expect("utf-8");
    let t = json(&[
        "train",
        "--hidden",
        "16",
        "--layers",
        "1",
        "--batch",
        "64",
        "--recording-norm",
        "mean",
        "--dropout",
        "0.1",
        "--float-epochs",
        "2",
        "--float-lr",
        "0.01",
        "--quant",
        "pow2-ternary",
        "--epochs",
        "1",
        "--lr",
        "0.002",
        "--distill",
        "0.5",
        "--out",
        m,
        "--json",
    ]);
    assert_eq!(t["config"]["dropout"].as_f64(), Some(0.1));
    let split = &t["splits"][0];
    let float = split["float_accuracy"].as_f64().expect("float stage");
    assert!(float > 0.3, "{float}: hardly better than chance");
    assert_eq!(split["epochs"].as_array().map(Vec::len), Some(1));
    let trained = split["reference_accuracy"].as_f64().expect("bit-exact");
    assert!(trained > 0.2, "{trained}: no better than chance");
    let model = Model::load(m).expect("loads");
    let fe = model.input.front_end.as_ref().expect("front end");
    assert_eq!(fe.recording_norm, RecordingNorm::Mean);
    let e = json(&["eval", "--model", m, "--json"]);
    assert_eq!(e[0]["accuracy"].as_f64(), Some(trained));
}

/// Soft weight-sharing and the rank budget from the command line: the
/// shared model's matrices hold at most the mixture's entries; the
/// factorised model stays within its parameter and its cycle budget, as the
/// written file measures.
#[test]
fn soft_sharing_and_rank_budgets_hold_in_the_written_models() {
    use lstm_accel_model::encoding::{Matrix, ScalarCode};
    use lstm_accel_spec::spec::{AcceleratorSpec, HwConfig};
    let dir = tempfile::tempdir().expect("tempdir");
    let p = |n: &str| dir.path().join(n).to_str().expect("utf-8").to_string();
    let (f, shared, params, cycles) = (p("f.safetensors"), p("s.json"), p("p.json"), p("c.json"));
    let small = ["--hidden", "16", "--layers", "1", "--batch", "64", "--json"];
    let mut args = vec!["train", "--epochs", "2", "--save-float", &f];
    args.extend(small);
    json(&args);
    let mut args = vec![
        "train",
        "--init",
        &f,
        "--soft-sharing",
        "3",
        "--tau",
        "5",
        "--epochs",
        "1",
        "--sharing-finetune",
        "1",
        "--out",
        &shared,
    ];
    args.extend(small);
    let s = json(&args);
    assert!(s["splits"][0]["reference_accuracy"].as_f64().is_some());
    let model = Model::load(&shared).expect("loads");
    for (path, m) in model.matrices() {
        let Matrix::Dense(d) = m else {
            panic!("{path}: {m:?}")
        };
        let ScalarCode::Codebook { values, .. } = &d.values.code else {
            panic!("{path}: not a codebook")
        };
        assert!(values.len() <= 3, "{path}: {values:?}");
    }
    let mut args = vec![
        "train",
        "--init",
        &f,
        "--rank-budget",
        "1500",
        "--quant",
        "pow2",
        "--epochs",
        "1",
        "--out",
        &params,
    ];
    args.extend(small);
    let r = json(&args);
    let ranks = &r["splits"][0]["ranks"];
    let model = Model::load(&params).expect("loads");
    assert_eq!(ranks["cost"].as_f64(), Some(model.params() as f64));
    assert!(model.params() <= 1500, "{}", model.params());
    assert!(matches!(model.layers[0].w_h, Matrix::LowRank(_)));
    // A cycle budget, for the default hardware configuration.
    let mut args = vec![
        "train",
        "--init",
        &f,
        "--rank-budget",
        "255",
        "--budget-kind",
        "cycles",
        "--quant",
        "pow2",
        "--epochs",
        "1",
        "--out",
        &cycles,
    ];
    args.extend(small);
    let r = json(&args);
    let model = Model::load(&cycles).expect("loads");
    let predicted = AcceleratorSpec::new(&model, &HwConfig::default())
        .expect("spec")
        .cycles_per_frame();
    assert_eq!(
        r["splits"][0]["ranks"]["cost"].as_f64(),
        Some(predicted as f64)
    );
    assert!(predicted <= 255, "{predicted}");
    fails(
        &["train", "--rank-budget", "100", "--quant", "pow2"],
        "--init",
    );
}

/// The speaker-independent recipe's flags: the front end's trim travels
/// with the model file; augmented copies and synthetic voices (espeak-ng)
/// join the training set, in the counts the flags give; bad settings are
/// refused by name.
#[test]
fn augmentation_synthetic_voices_and_trim_reach_the_training_set_and_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = dir.path().join("m.json");
    let m = m.to_str().expect("utf-8");
    let t = json(&[
        "train",
        "--hidden",
        "8",
        "--layers",
        "1",
        "--epochs",
        "1",
        "--batch",
        "64",
        "--trim",
        "--augment-copies",
        "1",
        "--augment-speed",
        "0.1",
        "--vtlp",
        "0.1",
        "--noise-snr",
        "10:30",
        "--gain-db",
        "6",
        "--shift-ms",
        "100",
        "--spec-masks",
        "1",
        "--synthetic-voices",
        "2",
        "--quant",
        "pow2-ternary",
        "--out",
        m,
        "--json",
    ]);
    let split = &t["splits"][0];
    // 2,250 own-split training recordings and a copy of each; 2 voices x
    // 2 speeds x 2 pitches x 10 digits, and a copy of each.
    assert_eq!(split["train_examples"].as_u64(), Some(2 * 2250 + 2 * 80));
    assert_eq!(split["test_examples"].as_u64(), Some(250));
    let model = Model::load(m).expect("loads");
    let fe = model.input.front_end.as_ref().expect("front end");
    assert_eq!(fe.trim, Some(lstm_accel_model::frontend::Trim::speech()));
    // A validation speaker leaves training: `auto` takes the one after the
    // held-out speaker.
    let t = json(&[
        "train",
        "--hidden",
        "8",
        "--layers",
        "1",
        "--epochs",
        "1",
        "--batch",
        "64",
        "--split",
        "speaker:george",
        "--validation-speaker",
        "auto",
        "--json",
    ]);
    let split = &t["splits"][0];
    assert_eq!(split["validation_speaker"], "jackson");
    assert_eq!(split["train_examples"].as_u64(), Some(1500));
    assert_eq!(split["test_examples"].as_u64(), Some(500));
    let v = split["validation_accuracy"]
        .as_f64()
        .expect("validation accuracy");
    assert!((0.0..=1.0).contains(&v));
    fails(
        &[
            "train",
            "--split",
            "speaker:george",
            "--validation-speaker",
            "george",
        ],
        "test speaker",
    );
    fails(&["train", "--noise-snr", "30:10"], "low SNR");
    fails(&["train", "--augment-copies", "1", "--vtlp", "0.5"], "vtlp");
    fails(&["train", "--synthetic-voices", "500"], "84 English voices");
}
