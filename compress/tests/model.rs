//! Whole-model quantization: the result validates, the bit-exact reference
//! runs it, and its logits stay close to the float model's (the deviation is
//! printed per method).

mod common;

use common::{float_model, frames};
use lstm_accel_compress::{
    matrix_paths, quantize_model, quantize_model_calibrated, MatrixSpec, QuantSpec, ScalarSpec,
    Structure,
};
use lstm_accel_model::activation::Approx;
use lstm_accel_model::fixed::Format;
use lstm_accel_model::float::{FloatModel, FloatRunner};
use lstm_accel_model::model::{Head, Model};
use lstm_accel_model::reference::Reference;
use std::collections::BTreeMap;

fn logit_format(m: &Model) -> Format {
    match &m.head {
        Head::Dense(h) => h.logits,
        Head::LightRnn(h) => h.logits,
    }
}

/// Deviations of the reference's logits over a sequence of frames.
struct Stats {
    /// Max |logit| of the float model.
    scale: f64,
    /// Max |quantized - float model|.
    vs_float: f64,
    /// Root-mean-square |quantized - float model|.
    rms_float: f64,
    /// Max |quantized - float twin of the quantized model| (arithmetic only).
    vs_twin: f64,
    /// Fraction of frames where the decoded class agrees with the float model.
    agree: f64,
}

fn compare(f: &FloatModel, q: &Model, frames: &[Vec<f32>]) -> Stats {
    let twin = FloatModel::from_model(q);
    let mut reference = Reference::new(q).expect("the quantized model validates");
    let mut float = FloatRunner::new(f);
    let mut twin_run = FloatRunner::new(&twin);
    let fmt = logit_format(q);
    let mut s = Stats {
        scale: 0.0,
        vs_float: 0.0,
        rms_float: 0.0,
        vs_twin: 0.0,
        agree: 0.0,
    };
    let mut n = 0usize;
    for frame in frames {
        let raw = reference.quantize_frame(frame);
        let class = reference.step(&raw).expect("frame fits");
        // The twin reads the same quantized input the reference reads.
        let xq: Vec<f32> = raw
            .iter()
            .map(|&v| q.input.format.to_f64(i64::from(v)) as f32)
            .collect();
        let fc = float.step(frame);
        twin_run.step(&xq);
        for ((&a, &b), &c) in reference
            .logits()
            .iter()
            .zip(float.logits())
            .zip(twin_run.logits())
        {
            let a = fmt.to_f64(a);
            s.scale = s.scale.max(f64::from(b).abs());
            s.vs_float = s.vs_float.max((a - f64::from(b)).abs());
            s.rms_float += (a - f64::from(b)).powi(2);
            n += 1;
            s.vs_twin = s.vs_twin.max((a - f64::from(c)).abs());
        }
        s.agree += f64::from(u8::from(class == fc));
    }
    s.agree /= frames.len() as f64;
    s.rms_float = (s.rms_float / n.max(1) as f64).sqrt();
    s
}

fn sample(light_rnn: bool) -> FloatModel {
    float_model(11, 10, &[32, 24], &[None, Some(12)], 9, light_rnn, 1.0)
}

/// A fine activation table, so that the deviations measure the weights and
/// the data width rather than the activation approximation (the default
/// piecewise-linear one alone moves these logits by about 0.13).
const LUT: Approx = Approx::Lut {
    index_bits: 12,
    range_log2: 3,
};

fn spec(structure: Structure, scalar: ScalarSpec, width: u32) -> QuantSpec {
    QuantSpec {
        matrix: MatrixSpec { structure, scalar },
        data_width: width,
        sigmoid: LUT,
        tanh: LUT,
        ..QuantSpec::default()
    }
}

fn report(name: &str, f: &FloatModel, q: &Model, s: &Stats) {
    let float_bits = 32
        * f.layers
            .iter()
            .map(|l| {
                l.w_x.data.len()
                    + l.w_h.data.len()
                    + l.projection.as_ref().map_or(0, |p| p.data.len())
            })
            .sum::<usize>();
    println!(
        "{name:<38} weights {:>6} bits ({:>5.1}x smaller) | max|logit| {:.2} | dev vs float max {:.3} rms {:.3} | vs float twin {:.3} | class agreement {:.0}%",
        q.weight_bits().total(),
        float_bits as f64 / q.weight_bits().total() as f64,
        s.scale,
        s.vs_float,
        s.rms_float,
        s.vs_twin,
        100.0 * s.agree
    );
}

#[test]
fn every_method_validates_runs_and_stays_close_to_float() {
    let f = sample(false);
    let xs = frames(12, 60, f.input_size);
    let cb = |entries, width, pow2| ScalarSpec::Codebook {
        entries,
        width,
        pow2,
    };
    let dense = || Structure::Dense { per_row: false };
    let per_row = || Structure::Dense { per_row: true };
    // (name, spec, bounds relative to max|logit| on the deviation from the
    // float model and from the quantized model's own float twin). The float
    // bounds are the measured deviations with about 30% margin: these random
    // weights have no structure and were not trained with their quantizer,
    // which is the pessimistic case (METHODS.md: quantize during training).
    // The twin bounds are the arithmetic tolerance: 12-bit data with a fine
    // activation table stays within 5%; 8-bit data and PWL within 35-40%.
    let cases = [
        (
            "default: per-row ternary 8b PWL",
            QuantSpec::default(),
            1.2,
            0.35,
        ),
        (
            "per-row ternary 8b",
            spec(per_row(), ScalarSpec::Ternary, 8),
            1.2,
            0.3,
        ),
        (
            "ternary 8b",
            spec(dense(), ScalarSpec::Ternary, 8),
            1.3,
            0.3,
        ),
        (
            "pow2 6 oct 8b",
            spec(dense(), ScalarSpec::Pow2 { octaves: 6 }, 8),
            0.75,
            0.4,
        ),
        (
            "pow2 6 oct 12b",
            spec(dense(), ScalarSpec::Pow2 { octaves: 6 }, 12),
            0.7,
            0.05,
        ),
        (
            "codebook 16 8b",
            spec(dense(), cb(16, 8, false), 8),
            0.6,
            0.35,
        ),
        (
            "codebook 16 12b",
            spec(dense(), cb(16, 8, false), 12),
            0.5,
            0.05,
        ),
        (
            "pow2 codebook 16 12b",
            spec(dense(), cb(16, 8, true), 12),
            0.7,
            0.05,
        ),
        (
            "block-circulant k4 cb16 12b",
            spec(Structure::BlockCirculant { block: 4 }, cb(16, 8, false), 12),
            1.4,
            0.05,
        ),
        (
            "block-toeplitz k4 cb16 12b",
            spec(Structure::BlockToeplitz { block: 4 }, cb(16, 8, false), 12),
            1.3,
            0.05,
        ),
        (
            "toeplitz-like k8 r2 cb16 12b",
            spec(
                Structure::ToeplitzLike { block: 8, rank: 2 },
                cb(16, 8, false),
                12,
            ),
            1.6,
            0.05,
        ),
        (
            "low rank 8 cb16 12b",
            spec(Structure::LowRank { rank: 8 }, cb(16, 8, false), 12),
            1.2,
            0.05,
        ),
    ];
    let mut failures = Vec::new();
    for (name, s, float_bound, twin_bound) in cases {
        let q = quantize_model(&f, &s).unwrap_or_else(|e| panic!("{name}: {e}"));
        q.validate().unwrap();
        let st = compare(&f, &q, &xs);
        report(name, &f, &q, &st);
        if st.vs_float > float_bound * st.scale {
            failures.push(format!(
                "{name}: deviation from float {} > {float_bound} x {}",
                st.vs_float, st.scale
            ));
        }
        if st.vs_twin > twin_bound * st.scale {
            failures.push(format!(
                "{name}: deviation from twin {} > {twin_bound} x {}",
                st.vs_twin, st.scale
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn overrides_mix_methods_per_matrix() {
    let f = sample(false);
    assert_eq!(
        matrix_paths(&f),
        [
            "layers[0].w_x",
            "layers[0].w_h",
            "layers[1].w_x",
            "layers[1].w_h",
            "layers[1].projection",
            "head.w"
        ]
    );
    // Lu et al.'s hybrid: structured lower layer, low-rank upper layer, and
    // a codebook head; written as a user would, in JSON.
    let s: QuantSpec = serde_json::from_str(
        r#"{
            "data_width": 12,
            "matrix": {"structure": {"type": "dense", "per_row": true}, "scalar": {"kind": "pow2", "octaves": 6}},
            "overrides": {
                "layers[0].w_x": {"structure": {"type": "toeplitz_like", "block": 5, "rank": 2},
                                  "scalar": {"kind": "codebook", "entries": 16, "width": 8}},
                "layers[0].w_h": {"structure": {"type": "block_circulant", "block": 8},
                                  "scalar": {"kind": "pow2", "octaves": 8}},
                "layers[1].projection": {"structure": {"type": "low_rank", "rank": 6},
                                  "scalar": {"kind": "codebook", "entries": 16, "width": 8}},
                "head.w": {"structure": {"type": "dense"}, "scalar": {"kind": "codebook", "entries": 16, "width": 8, "pow2": true}}
            },
            "sigmoid": {"kind": "lut", "index_bits": 8, "range_log2": 3}
        }"#,
    )
    .unwrap();
    let q = quantize_model(&f, &s).unwrap();
    let kinds: Vec<String> = q
        .layers
        .iter()
        .flat_map(|l| {
            let mut v = vec![l.w_x.describe(), l.w_h.describe()];
            v.extend(l.projection.as_ref().map(|p| p.w.describe()));
            v
        })
        .collect();
    println!("hybrid: {kinds:?}");
    assert!(kinds[0].starts_with("toeplitz-like") && kinds[1].starts_with("block-circulant"));
    assert!(kinds[4].starts_with("low-rank"));
    let st = compare(&f, &q, &frames(13, 40, f.input_size));
    report("hybrid (JSON overrides)", &f, &q, &st);
    assert!(st.vs_twin <= 0.25 * st.scale);
    // The spec survives a JSON round trip.
    let back: QuantSpec = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
    assert_eq!(back, s);
}

#[test]
fn lightrnn_head_and_stochastic_rounding() {
    let f = sample(true);
    let mut s = spec(
        Structure::Dense { per_row: true },
        ScalarSpec::Pow2 { octaves: 6 },
        10,
    );
    s.stochastic_seed = Some(3);
    let a = quantize_model(&f, &s).unwrap();
    assert_eq!(
        a,
        quantize_model(&f, &s).unwrap(),
        "seeded rounding is reproducible"
    );
    s.stochastic_seed = None;
    let b = quantize_model(&f, &s).unwrap();
    assert_ne!(a, b);
    // Stochastic rounding is unbiased but noisier than rounding to nearest
    // (Ott et al. use it during training, where the noise regularises).
    for (name, q, bound) in [
        ("LightRNN head, pow2 stochastic", &a, 1.1),
        ("LightRNN head, pow2 nearest", &b, 0.75),
    ] {
        assert!(matches!(q.head, Head::LightRnn(_)));
        let st = compare(&f, q, &frames(14, 40, f.input_size));
        report(name, &f, q, &st);
        assert!(st.vs_float <= bound * st.scale, "{name}: {}", st.vs_float);
        assert!(st.vs_twin <= 0.06 * st.scale, "{name}: {}", st.vs_twin);
    }
}

#[test]
fn calibration_narrows_the_logit_format() {
    let f = sample(false);
    let xs = frames(15, 50, f.input_size);
    let s = spec(
        Structure::Dense { per_row: false },
        ScalarSpec::Codebook {
            entries: 16,
            width: 8,
            pow2: false,
        },
        12,
    );
    let worst = quantize_model(&f, &s).unwrap();
    let cal = quantize_model_calibrated(&f, &s, &xs).unwrap();
    let (lw, lc) = (logit_format(&worst), logit_format(&cal));
    let pw = worst.layers[1].projection.as_ref().unwrap().format;
    let pc = cal.layers[1].projection.as_ref().unwrap().format;
    println!(
        "logits: worst case {lw}, calibrated {lc}; projection: worst case {pw}, calibrated {pc}"
    );
    assert!(lc.frac >= lw.frac && pc.frac >= pw.frac);
    let a = compare(&f, &worst, &xs);
    let b = compare(&f, &cal, &xs);
    report("codebook, worst-case formats", &f, &worst, &a);
    report("codebook, calibrated formats", &f, &cal, &b);
    assert!(b.vs_float <= 0.25 * b.scale);
}

#[test]
fn bad_specs_name_what_is_wrong() {
    let f = sample(false);
    let s = QuantSpec {
        overrides: BTreeMap::from([("layers[2].w_x".to_string(), MatrixSpec::default())]),
        ..QuantSpec::default()
    };
    let e = quantize_model(&f, &s).unwrap_err();
    assert_eq!(e.tensor.as_deref(), Some("overrides.layers[2].w_x"));
    assert!(e.to_string().contains("layers[1].projection"), "{e}");
    let s = QuantSpec {
        data_width: 3,
        ..QuantSpec::default()
    };
    let e = quantize_model(&f, &s).unwrap_err();
    assert_eq!(e.tensor.as_deref(), Some("data_width"));
    let s = spec(Structure::LowRank { rank: 40 }, ScalarSpec::Ternary, 8);
    let e = quantize_model(&f, &s).unwrap_err();
    println!("{e}");
    assert_eq!(e.tensor.as_deref(), Some("layers[0].w_x"));
    assert!(serde_json::from_str::<QuantSpec>(r#"{"data_widht": 8}"#).is_err());
}
