//! The model file: round trips bit for bit, and every kind of bad input gets
//! an error naming the file, the tensor and what is wrong, with nothing
//! half-written.

use lstm_accel_model::float::{FloatModel, FloatRunner};
use lstm_accel_model::model::Model;
use lstm_accel_model::random::{self, MatrixKind, ModelShape, ScalarKind};
use lstm_accel_model::readout::Readout;
use lstm_accel_model::reference::Reference;
use lstm_accel_model::{ModelError, Problem};
use serde_json::Value;
use std::path::Path;

fn sample(seed: u64, light_rnn: bool) -> Model {
    let mut r = random::rng(seed);
    random::model(
        &mut r,
        &ModelShape {
            input: 6,
            hidden: vec![5, 4],
            projection: vec![Some(3), None],
            classes: 7,
            light_rnn,
            matrix_kinds: MatrixKind::ALL.to_vec(),
            scalar_kinds: ScalarKind::ALL.to_vec(),
            extreme: false,
            data_width: None,
        },
    )
}

fn outputs(m: &Model, seed: u64) -> Vec<Vec<i64>> {
    let mut r = random::rng(seed);
    let mut e = Reference::new(m).expect("valid");
    random::frames(&mut r, m, 20, 0.1)
        .iter()
        .map(|f| {
            e.step(f).expect("valid frame");
            e.logits().to_vec()
        })
        .collect()
}

#[test]
fn models_of_every_encoding_survive_a_save_load_round_trip_bit_for_bit() {
    let dir = tempfile::tempdir().expect("tempdir");
    for seed in 0..40 {
        let m = sample(seed, seed % 3 == 0);
        let p = dir.path().join(format!("m{seed}.json"));
        m.save(&p).expect("save");
        let back = Model::load(&p).expect("load");
        assert_eq!(back, m, "seed {seed}");
        assert_eq!(back.to_json().expect("json"), m.to_json().expect("json"));
        assert_eq!(outputs(&back, seed), outputs(&m, seed), "seed {seed}");
    }
}

/// Writes `m` as JSON, lets `edit` change the document, writes it back and
/// loads it.
fn load_edited(dir: &Path, name: &str, edit: impl FnOnce(&mut Value)) -> ModelError {
    let m = sample(1, false);
    let mut v: Value = serde_json::from_str(&m.to_json().expect("json")).expect("parse");
    edit(&mut v);
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_string(&v).expect("json")).expect("write");
    let e = Model::load(&p).expect_err("must fail");
    assert_eq!(
        e.file.as_deref(),
        Some(p.as_path()),
        "error names the file: {e}"
    );
    assert!(e.to_string().contains(name), "{e}");
    e
}

fn dense_w_x(v: &mut Value) -> &mut Value {
    &mut v["model"]["layers"][0]["w_x"]
}

#[test]
fn unknown_format_or_version_is_named() {
    let d = tempfile::tempdir().expect("tempdir");
    let e = load_edited(d.path(), "v2.json", |v| v["version"] = 2.into());
    assert!(matches!(e.problem, Problem::UnknownVersion { .. }), "{e}");
    assert!(
        e.to_string().contains("version 2") && e.to_string().contains("version 1"),
        "{e}"
    );
    let e = load_edited(d.path(), "other.json", |v| v["format"] = "onnx".into());
    assert!(matches!(e.problem, Problem::UnknownVersion { .. }), "{e}");
    let e = load_edited(d.path(), "none.json", |v| {
        v.as_object_mut().expect("object").remove("version");
    });
    assert!(e.to_string().contains("(none)"), "{e}");
}

#[test]
fn truncated_and_malformed_files_are_reported_as_such() {
    let d = tempfile::tempdir().expect("tempdir");
    let text = sample(2, false).to_json().expect("json");
    // Cuts anywhere: inside a string, a number, between tokens.
    for cut in (1..text.len()).step_by(text.len() / 97) {
        let p = d.path().join("cut.json");
        std::fs::write(&p, &text[..cut]).expect("write");
        let e = Model::load(&p).expect_err("truncated");
        assert!(matches!(e.problem, Problem::Truncated(_)), "{e}");
        assert!(
            e.to_string().contains("cut.json") && e.to_string().contains("truncated"),
            "{e}"
        );
    }
    let e = load_edited(d.path(), "bad.json", |v| {
        v["model"]["layers"][0]["hidden"] = "many".into()
    });
    assert!(matches!(e.problem, Problem::Malformed(_)), "{e}");
    let p = d.path().join("missing.json");
    let e = Model::load(&p).expect_err("missing");
    assert!(matches!(e.problem, Problem::Io(_)), "{e}");
}

/// The readout: `last` is the default and stays out of the file (files
/// written before it existed read the same), `mean` is written and read
/// back, an unknown one is named, and a LightRNN head cannot pool.
#[test]
fn the_readout_round_trips_defaults_to_last_and_pools_dense_heads_only() {
    let d = tempfile::tempdir().expect("tempdir");
    let m = sample(1, false);
    assert_eq!(m.readout, Readout::Last);
    assert!(!m.to_json().expect("json").contains("readout"));
    let mut mean = m.clone();
    mean.readout = Readout::Mean;
    let p = d.path().join("mean.json");
    mean.save(&p).expect("save");
    assert_eq!(Model::load(&p).expect("load"), mean);
    let e = load_edited(d.path(), "max.json", |v| {
        v["model"]["readout"] = "max".into()
    });
    assert!(matches!(e.problem, Problem::Malformed(_)), "{e}");
    assert!(e.to_string().contains("max"), "{e}");
    let mut light = sample(3, true);
    light.readout = Readout::Mean;
    let e = light.validate().expect_err("a LightRNN head cannot pool");
    assert!(
        e.to_string().contains("readout") && e.to_string().contains("LightRNN"),
        "{e}"
    );
}

#[test]
fn wrong_shapes_name_the_tensor() {
    let d = tempfile::tempdir().expect("tempdir");
    let e = load_edited(d.path(), "hidden.json", |v| {
        v["model"]["layers"][1]["hidden"] = 9.into()
    });
    assert!(matches!(e.problem, Problem::Shape { .. }), "{e}");
    assert_eq!(e.tensor.as_deref(), Some("layers[1].w_x"), "{e}");
    let e = load_edited(d.path(), "bias.json", |v| {
        v["model"]["layers"][0]["bias"]["values"]
            .as_array_mut()
            .expect("array")
            .pop();
    });
    assert_eq!(e.tensor.as_deref(), Some("layers[0].bias"), "{e}");
    assert!(e.to_string().contains("expected [20], found [19]"), "{e}");
}

#[test]
fn codes_out_of_range_and_encodings_that_do_not_fit_are_rejected() {
    let d = tempfile::tempdir().expect("tempdir");
    // Force a dense ternary layer so the edit is well defined.
    let e = load_edited(d.path(), "code.json", |v| {
        let w = dense_w_x(v);
        *w = serde_json::json!({
            "type": "dense", "rows": 20, "cols": 6,
            "values": { "code": { "kind": "ternary", "exp": -2 }, "codes": vec![0; 120] }
        });
        w["values"]["codes"][17] = 2.into();
    });
    assert_eq!(e.tensor.as_deref(), Some("layers[0].w_x"), "{e}");
    assert!(
        e.to_string().contains("code 2 at index 17 is out of range"),
        "{e}"
    );

    let e = load_edited(d.path(), "codebook.json", |v| {
        *dense_w_x(v) = serde_json::json!({
            "type": "dense", "rows": 20, "cols": 6,
            "values": { "code": { "kind": "codebook", "width": 4, "frac": 3,
                                  "values": [0, 5, -9], "pow2": false },
                        "codes": vec![1; 120] }
        });
    });
    assert!(
        e.to_string()
            .contains("entry 2 = -9 does not fit its declared width of 4 bits"),
        "{e}"
    );

    let e = load_edited(d.path(), "pow2cb.json", |v| {
        *dense_w_x(v) = serde_json::json!({
            "type": "dense", "rows": 20, "cols": 6,
            "values": { "code": { "kind": "codebook", "width": 6, "frac": 3,
                                  "values": [0, 4, -3], "pow2": true },
                        "codes": vec![1; 120] }
        });
    });
    assert!(e.to_string().contains("not ±2^e"), "{e}");

    let e = load_edited(d.path(), "bias-range.json", |v| {
        let b = &mut v["model"]["layers"][0]["bias"];
        b["format"] = serde_json::json!({ "width": 8, "frac": 4 });
        b["values"] = serde_json::json!(vec![0; 20]);
        b["values"][3] = 300.into();
    });
    assert!(
        matches!(e.problem, Problem::OutOfRange { index: 3, .. }),
        "{e}"
    );
    assert_eq!(e.tensor.as_deref(), Some("layers[0].bias"));
}

#[test]
fn formats_outside_their_allowed_widths_and_overflowing_accumulators_are_rejected() {
    let d = tempfile::tempdir().expect("tempdir");
    let e = load_edited(d.path(), "width.json", |v| {
        v["model"]["layers"][0]["formats"]["hidden"] =
            serde_json::json!({ "width": 20, "frac": 10 });
    });
    assert_eq!(e.tensor.as_deref(), Some("layers[0].formats.hidden"), "{e}");
    assert!(e.to_string().contains("allowed 4..=16"), "{e}");
    let e = load_edited(d.path(), "acc.json", |v| {
        // A bias at 60 fraction bits pulls the gate accumulator past 62 bits.
        let b = &mut v["model"]["layers"][0]["bias"];
        b["format"] = serde_json::json!({ "width": 32, "frac": 60 });
    });
    assert!(e.to_string().contains("accumulator needs"), "{e}");
}

#[test]
fn saving_never_leaves_a_half_written_file() {
    let d = tempfile::tempdir().expect("tempdir");
    let good = sample(3, false);
    let p = d.path().join("model.json");
    good.save(&p).expect("save");
    let before = std::fs::read(&p).expect("read");
    // An invalid model is refused before anything is written.
    let mut bad = good.clone();
    bad.layers[0].hidden += 1;
    let e = bad.save(&p).expect_err("invalid");
    assert_eq!(e.file.as_deref(), Some(p.as_path()));
    assert_eq!(std::fs::read(&p).expect("read"), before);
    // A directory that does not exist: an error, and no stray file.
    let q = d.path().join("no/such/dir/model.json");
    assert!(matches!(
        good.save(&q).expect_err("no dir").problem,
        Problem::Io(_)
    ));
    let names: Vec<_> = std::fs::read_dir(d.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("model.json")]);
}

#[test]
fn float_models_reject_non_finite_values_and_bad_shapes() {
    let m = sample(4, false);
    let mut f = FloatModel::from_model(&m);
    f.validate().expect("valid");
    let mut r = FloatRunner::new(&f);
    r.step(&[0.0; 6]);
    f.layers[1].w_h.data[5] = f32::NAN;
    let e = f.validate().expect_err("NaN");
    assert!(
        matches!(e.problem, Problem::NonFinite { index: 5, .. }),
        "{e}"
    );
    assert_eq!(e.tensor.as_deref(), Some("layers[1].w_h"));
    let mut f = FloatModel::from_model(&m);
    f.layers[0].bias.pop();
    assert!(matches!(
        f.validate().expect_err("short").problem,
        Problem::Shape { .. }
    ));
}
