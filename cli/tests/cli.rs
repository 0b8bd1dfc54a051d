//! The `lstm-accel` command line, end to end: every command runs, its JSON
//! parses and holds what it claims, and bad input ends with a clear error and
//! a non-zero exit.

mod common;

use common::{cli, json};

use lstm_accel_model::float::FloatModel;
use lstm_accel_model::import::{export_safetensors, ImportNames};
use lstm_accel_model::model::Model;
use lstm_accel_model::random::{self, ModelShape};
use lstm_accel_model::readout::Readout;
use serde_json::Value;
use std::path::Path;

#[test]
fn demo_cross_checks_the_reference_against_the_float_twin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = dir.path().join("demo.json");
    let m = m.to_str().expect("utf-8");
    let v = json(&[
        "demo",
        "--random",
        "--sequences",
        "4",
        "--frames",
        "10",
        "--json",
        "--save-model",
        m,
    ]);
    assert!(v["model_origin"]
        .as_str()
        .expect("origin")
        .contains("generated"));
    assert_eq!(v["reference_classes"].as_array().expect("classes").len(), 4);
    assert!(v["max_deviation"]["hidden"].as_f64().expect("dev") < 0.25);
    // The saved model is the one the demo ran.
    let model = Model::load(m).expect("demo model loads");
    assert_eq!(model.layers.len(), 2);
    let human = cli(&["demo", "--random", "--sequences", "2", "--frames", "5"]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("generated") && text.contains("fixed vs float"),
        "{text}"
    );
    // Random-model options need --random.
    let out = cli(&["demo", "--hidden", "32"]);
    assert!(!out.status.success());
}

/// The default demo: the shipped trained model hears all of the shipped
/// speech right, the design classifies the first recording exactly as the
/// reference, and the model file it saves trims, pools over time and takes
/// wav files through its front end.
#[test]
fn demo_classifies_the_shipped_speech_with_the_shipped_model() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = dir.path().join("digits.json");
    let m = m.to_str().expect("utf-8");
    let v = json(&["demo", "--sim-recordings", "1", "--json", "--save-model", m]);
    assert!(v["model_origin"]
        .as_str()
        .expect("origin")
        .contains("trained"));
    let recs = v["recordings"].as_array().expect("recordings");
    assert_eq!(recs.len(), 10);
    for (d, r) in recs.iter().enumerate() {
        assert_eq!(r["spoken"], d);
        // Trimmed to the word: 0.4 to 0.6 s of espeak-ng's speech.
        assert!(
            (30..=70).contains(&r["frames"].as_u64().expect("frames")),
            "{r}"
        );
    }
    assert_eq!(recs[0]["design_class"], recs[0]["reference_class"]);
    assert!(recs[1]["design_class"].is_null());
    assert_eq!(
        v["simulation"]["mismatches"].as_array().map(Vec::len),
        Some(0)
    );
    // Every synthetic digit is heard right (the voice is not a training
    // one), by the bit-exact reference the design equals.
    assert_eq!(v["reference_right"].as_u64(), Some(10), "{v}");
    let model = Model::load(m).expect("loads");
    let fe = model.input.front_end.as_ref().expect("a front end");
    assert!(fe.trim.is_some(), "the shipped model trims");
    assert_eq!(model.readout, Readout::Mean);
}

#[test]
fn info_and_reference_report_on_a_model_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("m.json");
    let mut r = random::rng(9);
    let model = random::model(&mut r, &ModelShape::ternary(13, &[16], 10, 8));
    model.save(&p).expect("save");
    let p = p.to_str().expect("utf-8");
    let v = json(&["info", "--model", p, "--json"]);
    assert_eq!(v["inputs"], 13);
    assert_eq!(v["classes"], 10);
    assert_eq!(v["weight_bits"].as_u64(), Some(model.weight_bits().total()));
    let t = dir.path().join("trace.json");
    let v = json(&[
        "reference",
        "--model",
        p,
        "--random",
        "3",
        "--frames",
        "4",
        "--json",
        "--trace",
        t.to_str().expect("utf-8"),
    ]);
    assert_eq!(v["frames"], 12);
    let trace: Value =
        serde_json::from_str(&std::fs::read_to_string(&t).expect("trace")).expect("json");
    assert_eq!(trace.as_array().expect("sequences").len(), 3);
    assert_eq!(
        trace[0][0]["layers"][0]["c"].as_array().expect("c").len(),
        16
    );
}

#[test]
fn activations_report_every_form_with_its_exhaustive_error() {
    let v = json(&["activations", "--width", "8", "--json"]);
    let rows = v.as_array().expect("rows");
    assert_eq!(rows.len(), 3 * 6);
    for r in rows {
        let e = r["report"]["max_abs_error"].as_f64().expect("error");
        assert!(e > 0.0 && e < 0.3, "{r}");
        assert!(r["report"]["inputs"].as_u64().expect("inputs") >= 256);
    }
}

/// `lstm-accel import --json` of a state dict with a quantization spec.
fn import_json(st: &Path, out: &Path, spec: &Path) -> Value {
    json(&[
        "import",
        "--safetensors",
        st.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "--spec",
        spec.to_str().expect("utf-8"),
        "--json",
    ])
}

fn write_float_model(path: &Path) -> FloatModel {
    let mut r = random::rng(4);
    let m = random::model(&mut r, &ModelShape::ternary(12, &[8, 6], 5, 16));
    let f = FloatModel::from_model(&m);
    export_safetensors(&f, path, &ImportNames::default()).expect("export");
    f
}

#[test]
fn import_quantizes_a_safetensors_state_dict_into_a_model_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let st = dir.path().join("lstm.safetensors");
    write_float_model(&st);
    let spec = dir.path().join("spec.json");
    std::fs::write(
        &spec,
        r#"{ "data_width": 12,
             "matrix": { "structure": { "type": "dense", "per_row": true }, "scalar": { "kind": "pow2", "octaves": 4 } },
             "overrides": { "layers[1].w_h": { "structure": { "type": "block_circulant", "block": 3 }, "scalar": { "kind": "ternary" } } } }"#,
    )
    .expect("spec");
    let out = dir.path().join("q.json");
    let v = import_json(&st, &out, &spec);
    assert_eq!(v["inputs"], 12);
    let m = Model::load(&out).expect("imported model loads");
    assert!(
        m.layers[1]
            .w_h
            .describe()
            .starts_with("block-circulant k=3"),
        "{}",
        m.layers[1].w_h.describe()
    );
    assert!(
        m.layers[0].w_x.describe().contains("pow2"),
        "{}",
        m.layers[0].w_x.describe()
    );
}

#[test]
fn bad_input_ends_with_a_clear_error_and_nothing_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("cut.json");
    let mut r = random::rng(2);
    let model = random::model(&mut r, &ModelShape::ternary(4, &[3], 2, 8));
    let text = model.to_json().expect("json");
    std::fs::write(&p, &text[..text.len() / 2]).expect("write");
    let out = cli(&["info", "--model", p.to_str().expect("utf-8")]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cut.json") && err.contains("truncated"),
        "{err}"
    );

    // A corrupt state dict: no model file appears.
    let st = dir.path().join("bad.safetensors");
    std::fs::write(&st, b"\x08\x00\x00\x00\x00\x00\x00\x00{\"a\":").expect("write");
    let q = dir.path().join("q.json");
    let out = cli(&[
        "import",
        "--safetensors",
        st.to_str().expect("utf-8"),
        "--out",
        q.to_str().expect("utf-8"),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.safetensors"), "{err}");
    assert!(!q.exists());
}

#[test]
fn spec_reports_cycles_memories_and_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("m.json");
    let mut r = random::rng(12);
    random::model(&mut r, &ModelShape::ternary(40, &[64, 64], 10, 8))
        .save(&p)
        .expect("save");
    let p = p.to_str().expect("utf-8");
    let out = dir.path().join("spec.json");
    let v = json(&[
        "spec",
        "--model",
        p,
        "--lanes",
        "16",
        "--target",
        "ice40-up5k",
        "--json",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(v["hw"]["lanes"], 16);
    assert!(v["schedule"]["cycles_per_frame"].as_u64().expect("cycles") > 3000);
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("spec")).expect("json");
    assert_eq!(written, v);
    let bad = cli(&["spec", "--model", p, "--target", "ice40-hx9k"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown target 'ice40-hx9k'"));
    let bad = cli(&["spec", "--model", p, "--lanes", "0"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("lanes = 0"));
    // With the activation tables of the layers' shared gate unit (five, of
    // up to 1024 entries) the memories of 16 lanes do not fit the UP5K's
    // block RAM; the error names the tables' blocks and the lane count that
    // fits.
    let mut m = Model::load(Path::new(p)).expect("loads");
    m.sigmoid = lstm_accel_model::activation::Approx::Lut {
        index_bits: 10,
        range_log2: 3,
    };
    m.tanh = m.sigmoid;
    let tables = dir.path().join("tables.json");
    m.save(&tables).expect("save");
    let t = tables.to_str().expect("utf-8");
    let bad = cli(&[
        "spec",
        "--model",
        t,
        "--lanes",
        "16",
        "--target",
        "ice40-up5k",
    ]);
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success());
    assert!(err.contains("(activation tables: "), "{err}");
    assert!(err.contains("the memories fit with --lanes 8"), "{err}");
    let ok = cli(&[
        "spec",
        "--model",
        t,
        "--lanes",
        "8",
        "--target",
        "ice40-up5k",
    ]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

#[test]
fn the_readme_hybrid_spec_imports_a_projected_lstm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let st = dir.path().join("lstmp.safetensors");
    let mut r = random::rng(6);
    let mut shape = ModelShape::ternary(20, &[32, 16], 10, 16);
    shape.projection = vec![Some(24), None];
    let f = FloatModel::from_model(&random::model(&mut r, &shape));
    export_safetensors(&f, &st, &ImportNames::default()).expect("export");
    let spec = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/examples/hybrid.quant.json"
    );
    let out = dir.path().join("hybrid.json");
    let v = import_json(&st, &out, Path::new(spec));
    assert_eq!(v["inputs"], 20);
    let m = Model::load(&out).expect("loads");
    assert!(m.layers[0]
        .w_x
        .describe()
        .starts_with("toeplitz-like k=8 r=2"));
    let p = m.layers[0].projection.as_ref().expect("projection");
    assert!(
        p.w.describe().starts_with("low-rank r=16"),
        "{}",
        p.w.describe()
    );
    // The generated design runs it: the Toeplitz-like matrix in two chained
    // passes, the low-rank projection through its exact intermediate.
    let v = json(&[
        "simulate",
        "--model",
        out.to_str().expect("utf-8"),
        "--lanes",
        "8",
        "--backend",
        "native",
        "--random",
        "3",
        "--read-state",
        "--json",
    ]);
    assert_eq!(v["mismatches"].as_array().expect("list").len(), 0, "{v}");
    let predicted = v["predicted_cycles_per_frame"].clone();
    let measured = v["measured_cycles_per_frame"].as_array().expect("cycles");
    assert!(measured.iter().all(|c| *c == predicted), "{v}");
}

#[test]
fn generate_and_simulate_in_both_engines_with_state_read_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mp = dir.path().join("m.json");
    let mut r = random::rng(5);
    random::model(&mut r, &ModelShape::ternary(6, &[5, 3], 4, 10))
        .save(&mp)
        .expect("save");
    let m = mp.to_str().expect("utf-8");
    let out = dir.path().join("gen");
    let g = json(&[
        "generate",
        "--model",
        m,
        "--lanes",
        "2",
        "--out",
        out.to_str().expect("utf-8"),
        "--json",
    ]);
    let predicted = g["predicted_cycles_per_frame"].as_u64().expect("cycles");
    for f in ["accelerator.v", "spec.json", "weights.hex", "biases.hex"] {
        assert!(out.join(f).is_file(), "{f} written");
    }
    let cache = dir.path().join("cache");
    let vcd = dir.path().join("wave.vcd");
    let icarus_vcd = dir.path().join("icarus.vcd");
    for backend in ["native", "verilator", "icarus"] {
        let mut args = vec![
            "simulate",
            "--model",
            m,
            "--lanes",
            "2",
            "--backend",
            backend,
            "--random",
            "4",
            "--sequences",
            "2",
            "--read-state",
            "--stalls",
            "--json",
            "--verilator-cache",
            cache.to_str().expect("utf-8"),
        ];
        if backend == "verilator" {
            args.extend(["--vcd", vcd.to_str().expect("utf-8")]);
        }
        if backend == "icarus" {
            args.extend(["--vcd", icarus_vcd.to_str().expect("utf-8")]);
        }
        let v = json(&args);
        assert_eq!(v["backend"], backend);
        if backend == "icarus" {
            // The test bench's own word count agrees.
            let t = &v["testbench"];
            assert_eq!(t["mismatched_words"], 0, "{t}");
            assert_eq!(t["words_sent"], t["words_offered"], "{t}");
            assert_eq!(t["words_received"], t["words_expected"], "{t}");
        }
        assert_eq!(v["frames"], 8);
        assert_eq!(v["state_read"], true);
        assert_eq!(v["mismatches"].as_array().expect("list").len(), 0);
        assert_eq!(v["predicted_cycles_per_frame"].as_u64(), Some(predicted));
        assert_eq!(
            v["measured_cycles_per_frame"],
            serde_json::json!([predicted, predicted])
        );
    }
    let wave = std::fs::read_to_string(&vcd).expect("waveform written");
    assert!(wave.contains("$var") && wave.contains("s_tdata"));
    let wave = std::fs::read_to_string(&icarus_vcd).expect("Icarus waveform written");
    assert!(wave.contains("$var") && wave.contains("s_tdata"));
    // A configuration the spec plans but the generator does not build is
    // refused with what is wrong, and nothing is written; so is one the
    // spec refuses, named by its flags.
    let hw = dir.path().join("hw.json");
    std::fs::write(
        &hw,
        r#"{"lanes": 2, "gate_units": 2, "activation_units": 5, "clock_mhz": 100, "target": "generic"}"#,
    )
    .expect("write");
    let refused = dir.path().join("refused");
    for (extra, what) in [
        (vec![], "gate_units = 2"),
        (
            vec!["--activation-units", "3", "--rows", "2"],
            "activation_units = 3 with 2 row engines",
        ),
    ] {
        let mut args = vec![
            "generate",
            "--model",
            m,
            "--hw",
            hw.to_str().expect("utf-8"),
            "--out",
            refused.to_str().expect("utf-8"),
        ];
        args.extend(extra);
        let out = cli(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(err.contains(what), "{err}");
        assert!(!refused.exists());
    }
}

#[test]
fn simulate_runs_wav_files_through_the_models_front_end() {
    use lstm_accel_audio::AudioInput;
    use lstm_accel_model::frontend::FrontEnd;
    use lstm_accel_model::reference::Reference;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut fe = FrontEnd::speech_8k(Some(13));
    // Rough MFCC statistics of speech-level signals, so the features use
    // the input format's range.
    fe.mean = vec![-20.0; 13];
    fe.std = vec![8.0; 13];
    let mut r = random::rng(8);
    let mut model = random::model(&mut r, &ModelShape::ternary(13, &[8, 6], 5, 10));
    model.input.front_end = Some(fe);
    let mp = dir.path().join("m.json");
    model.save(&mp).expect("save");
    // Two recordings: a falling chirp at 16 kHz (resampled), a two-tone at 8 kHz.
    let write = |name: &str, rate: u32, f: &dyn Fn(f32) -> f32, seconds: f32| {
        let p = dir.path().join(name);
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&p, spec).expect("create");
        for i in 0..(rate as f32 * seconds) as usize {
            let v = f(i as f32 / rate as f32);
            w.write_sample((v * 20000.0) as i16).expect("write");
        }
        w.finalize().expect("finalize");
        p
    };
    let tau = std::f32::consts::TAU;
    let chirp = write(
        "chirp.wav",
        16000,
        &|t| (tau * (1500.0 - 800.0 * t) * t).sin(),
        0.6,
    );
    let tones = write(
        "tones.wav",
        8000,
        &|t| 0.5 * (tau * 300.0 * t).sin() + 0.3 * (tau * 2100.0 * t).sin(),
        0.4,
    );
    // What the reference says after each file's last frame.
    let input = AudioInput::new(&model).expect("front end");
    let expect: Vec<(usize, u64)> = [&chirp, &tones]
        .iter()
        .map(|p| {
            let frames = input.frames_of_file(p).expect("frames");
            let mut reference = Reference::new(&model).expect("reference");
            let mut class = 0;
            for f in &frames {
                class = reference.step(f).expect("step");
            }
            (frames.len(), class as u64)
        })
        .collect();
    assert_eq!(expect.iter().map(|e| e.0).collect::<Vec<_>>(), [58, 38]);
    let cache = dir.path().join("cache");
    for backend in ["native", "verilator"] {
        let v = json(&[
            "simulate",
            "--model",
            mp.to_str().expect("utf-8"),
            "--lanes",
            "4",
            "--backend",
            backend,
            "--verilator-cache",
            cache.to_str().expect("utf-8"),
            "--read-state",
            "--json",
            "--wav",
            chirp.to_str().expect("utf-8"),
            tones.to_str().expect("utf-8"),
        ]);
        assert_eq!(v["mismatches"].as_array().expect("list").len(), 0);
        assert_eq!(v["frames"], 96);
        let u = v["utterances"].as_array().expect("utterances");
        for (i, (frames, class)) in expect.iter().enumerate() {
            assert_eq!(u[i]["frames"].as_u64(), Some(*frames as u64));
            assert_eq!(u[i]["class"].as_u64(), Some(*class), "{backend}");
        }
    }
    // A model without a front end cannot take audio, and says so.
    let plain = dir.path().join("plain.json");
    let mut p = model.clone();
    p.input.front_end = None;
    p.save(&plain).expect("save");
    let out = cli(&[
        "simulate",
        "--model",
        plain.to_str().expect("utf-8"),
        "--wav",
        chirp.to_str().expect("utf-8"),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no audio front end"));
}

/// Lu et al.'s hybrid as a model file: block-Toeplitz and block-circulant
/// matrices, low-rank ones and a shared projection. `spec` reports the tap
/// memory, `generate` writes its image, and `simulate` runs the model in both
/// engines with no mismatch and the predicted cycles.
#[test]
fn a_hybrid_structured_low_rank_projected_model_runs_from_the_command_line() {
    use lstm_accel_model::encoding::Matrix;
    use lstm_accel_model::random::{MatrixKind, ScalarKind};
    let dir = tempfile::tempdir().expect("tempdir");
    let mp = dir.path().join("hybrid.json");
    let mut r = random::rng(31);
    let shape = ModelShape {
        projection: vec![None, Some(6)],
        matrix_kinds: vec![
            MatrixKind::BlockToeplitz,
            MatrixKind::BlockCirculant,
            MatrixKind::LowRank,
        ],
        scalar_kinds: vec![ScalarKind::Ternary],
        ..ModelShape::ternary(8, &[8, 8], 4, 8)
    };
    // Block sizes that suit two lanes (1, or even).
    let m = loop {
        let m = random::model(&mut r, &shape);
        let ms = m.matrices();
        let fits = ms.iter().all(|(_, x)| match x {
            Matrix::BlockToeplitz(b) | Matrix::BlockCirculant(b) => {
                b.block == 1 || b.block % 2 == 0
            }
            _ => true,
        });
        let structured = ms
            .iter()
            .any(|(_, x)| matches!(x, Matrix::BlockToeplitz(_) | Matrix::BlockCirculant(_)));
        let low_rank = ms.iter().any(|(_, x)| matches!(x, Matrix::LowRank(_)));
        if fits && structured && low_rank {
            break m;
        }
    };
    m.save(&mp).expect("save");
    let mpath = mp.to_str().expect("utf-8");
    let s = json(&["spec", "--model", mpath, "--lanes", "2", "--json"]);
    let memories = s["memories"].as_array().expect("memories");
    assert!(memories.iter().any(|x| x["name"] == "taps"), "{s}");
    let out = dir.path().join("gen");
    json(&[
        "generate",
        "--model",
        mpath,
        "--lanes",
        "2",
        "--out",
        out.to_str().expect("utf-8"),
        "--json",
    ]);
    assert!(out.join("taps.hex").is_file(), "the tap image is written");
    let cache = dir.path().join("cache");
    for backend in ["native", "verilator"] {
        let v = json(&[
            "simulate",
            "--model",
            mpath,
            "--lanes",
            "2",
            "--backend",
            backend,
            "--random",
            "5",
            "--read-state",
            "--json",
            "--verilator-cache",
            cache.to_str().expect("utf-8"),
        ]);
        assert_eq!(v["mismatches"].as_array().expect("list").len(), 0, "{v}");
        let predicted = v["predicted_cycles_per_frame"].clone();
        assert!(
            v["measured_cycles_per_frame"]
                .as_array()
                .expect("cycles")
                .iter()
                .all(|c| *c == predicted),
            "{v}"
        );
    }
}
