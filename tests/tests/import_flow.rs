//! A float LSTM travels the whole software path: exported as a PyTorch
//! state dict (safetensors), imported, quantized with every encoding (one per
//! matrix), saved and loaded, then run by the bit-exact reference. Two
//! measures, printed and kept apart: what quantization costs (reference vs the
//! original float model) and what the fixed-point arithmetic costs (reference
//! vs the float twin of the quantized model).

use lstm_accel_compress::quantize::{quantize_model, QuantSpec};
use lstm_accel_compress::{MatrixSpec, ScalarSpec, Structure};
use lstm_accel_model::activation::Approx;
use lstm_accel_model::float::{FloatMatrix, FloatModel, FloatRunner};
use lstm_accel_model::import::{export_safetensors, import_safetensors, ImportNames};
use lstm_accel_model::model::Model;
use lstm_accel_model::reference::Reference;
use lstm_accel_model::trace::{Deviation, StepTrace};
use rand::{Rng, SeedableRng};

/// A float model with weights like a trained one's: Gaussian-ish, scaled by
/// 1/sqrt(fan_in), cell-clipped.
fn float_model(seed: u64) -> FloatModel {
    let mut r = rand::rngs::StdRng::seed_from_u64(seed);
    let mut mat = |rows: usize, cols: usize| {
        let s = 1.0 / (cols as f32).sqrt();
        let data = (0..rows * cols)
            .map(|_| (r.random::<f32>() + r.random::<f32>() + r.random::<f32>() - 1.5) * 2.0 * s)
            .collect();
        FloatMatrix::new(rows, cols, data)
    };
    let (n_in, h) = (24, 32);
    let layers = vec![
        lstm_accel_model::float::FloatLayer {
            hidden: h,
            w_x: mat(4 * h, n_in),
            w_h: mat(4 * h, 16),
            bias: vec![0.1; 4 * h],
            projection: Some(mat(16, h)),
            cell_clip: Some(4.0),
        },
        lstm_accel_model::float::FloatLayer {
            hidden: h,
            w_x: mat(4 * h, 16),
            w_h: mat(4 * h, h),
            bias: vec![-0.1; 4 * h],
            projection: None,
            cell_clip: Some(4.0),
        },
    ];
    let head = lstm_accel_model::float::FloatHead::Dense {
        w: mat(10, h),
        bias: vec![0.0; 10],
    };
    FloatModel {
        input_size: n_in,
        layers,
        head,
    }
}

fn spec(structure: Structure, scalar: ScalarSpec) -> MatrixSpec {
    MatrixSpec { structure, scalar }
}

#[test]
fn a_float_lstm_imported_and_quantized_with_every_encoding_runs_bit_exact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let st = dir.path().join("lstm.safetensors");
    let original = float_model(1);
    export_safetensors(&original, &st, &ImportNames::default()).expect("export");
    let imported = import_safetensors(&st, &ImportNames::default()).expect("import");
    assert_eq!(imported.layers[0].w_x, original.layers[0].w_x);

    let mut q = QuantSpec {
        data_width: 16,
        sigmoid: Approx::Lut {
            index_bits: 10,
            range_log2: 3,
        },
        tanh: Approx::Lut {
            index_bits: 10,
            range_log2: 3,
        },
        ..QuantSpec::default()
    };
    let o = &mut q.overrides;
    o.insert(
        "layers[0].w_x".into(),
        spec(
            Structure::BlockToeplitz { block: 8 },
            ScalarSpec::Pow2 { octaves: 6 },
        ),
    );
    o.insert(
        "layers[0].w_h".into(),
        spec(
            Structure::ToeplitzLike { block: 8, rank: 2 },
            ScalarSpec::Codebook {
                entries: 16,
                width: 8,
                pow2: false,
            },
        ),
    );
    o.insert(
        "layers[0].projection".into(),
        spec(
            Structure::LowRank { rank: 8 },
            ScalarSpec::Pow2 { octaves: 6 },
        ),
    );
    o.insert(
        "layers[1].w_x".into(),
        spec(Structure::BlockCirculant { block: 4 }, ScalarSpec::Ternary),
    );
    o.insert(
        "layers[1].w_h".into(),
        spec(
            Structure::Dense { per_row: false },
            ScalarSpec::Codebook {
                entries: 8,
                width: 6,
                pow2: true,
            },
        ),
    );
    let model = quantize_model(&imported, &q).expect("quantize");
    let path = dir.path().join("q.json");
    model.save(&path).expect("save");
    let model = Model::load(&path).expect("load");
    for l in &model.layers {
        println!("  {} | {}", l.w_x.describe(), l.w_h.describe());
    }

    let m = measure(&model, &original);
    m.print("every encoding");
    // 16-bit data and 1024-entry tables: the arithmetic is close to exact.
    assert!(
        m.arith.hidden < 0.02 && m.arith.cell < 0.05,
        "{:?}",
        m.arith
    );

    // A mild quantization (dense 16-entry codebooks, 16-bit data) must follow
    // the original far more closely than an unrelated model does; a wrong gate
    // order or tensor layout in import or quantization would not.
    let mild = QuantSpec {
        matrix: spec(
            Structure::Dense { per_row: true },
            ScalarSpec::Codebook {
                entries: 16,
                width: 10,
                pow2: false,
            },
        ),
        overrides: Default::default(),
        ..q
    };
    let model = quantize_model(&imported, &mild).expect("quantize");
    let m = measure(&model, &original);
    m.print("dense codebook-16");
    assert!(m.arith.hidden < 0.02, "{:?}", m.arith);
    assert!(
        m.quant.logits < 0.25 * f64::from(m.baseline),
        "{:?} vs unrelated {}",
        m.quant,
        m.baseline
    );
}

struct Measured {
    arith: Deviation,
    quant: Deviation,
    baseline: f32,
    agree: usize,
    sequences: usize,
}

impl Measured {
    fn print(&self, what: &str) {
        let (a, q) = (self.arith, self.quant);
        println!(
            "{what}: fixed vs float twin (arithmetic only): hidden {:.4}, cell {:.4}, logits {:.4}",
            a.hidden, a.cell, a.logits
        );
        println!(
            "{what}: fixed vs original float model (quantization + arithmetic): hidden {:.4}, cell {:.4}, logits {:.4}; {}/{} classes agree; an unrelated model differs by {:.4} in the logits",
            q.hidden, q.cell, q.logits, self.agree, self.sequences, self.baseline
        );
    }
}

/// Runs the quantized model, its float twin, the original float model and an
/// unrelated float model on the same random frames.
fn measure(model: &Model, original: &FloatModel) -> Measured {
    let twin = FloatModel::from_model(model);
    let unrelated = float_model(2);
    let mut reference = Reference::new(model).expect("valid");
    let mut run_original = FloatRunner::new(original);
    let mut run_twin = FloatRunner::new(&twin);
    let mut run_unrelated = FloatRunner::new(&unrelated);
    let mut r = rand::rngs::StdRng::seed_from_u64(5);
    let mut m = Measured {
        arith: Deviation::default(),
        quant: Deviation::default(),
        baseline: 0.0,
        agree: 0,
        sequences: 12,
    };
    for _ in 0..m.sequences {
        reference.reset();
        run_original.reset();
        run_twin.reset();
        run_unrelated.reset();
        for _ in 0..30 {
            let x: Vec<f32> = (0..24).map(|_| r.random_range(-1.5f32..1.5)).collect();
            let raw = reference.quantize_frame(&x);
            let xq: Vec<f32> = raw
                .iter()
                .map(|&v| model.input.format.to_f64(i64::from(v)) as f32)
                .collect();
            let mut a = StepTrace::default();
            reference.step_traced(&raw, &mut a).expect("valid frame");
            let mut b = StepTrace::default();
            run_twin.step_traced(&xq, &mut b);
            let mut c = StepTrace::default();
            run_original.step_traced(&x, &mut c);
            run_unrelated.step(&x);
            m.arith = m.arith.max(Deviation::of_step(model, &a, &b));
            m.quant = m.quant.max(Deviation::of_step(model, &a, &c));
            let far = run_unrelated
                .logits()
                .iter()
                .zip(run_original.logits())
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            m.baseline = m.baseline.max(far);
        }
        m.agree += usize::from(reference.class() == run_original.class());
    }
    m
}
