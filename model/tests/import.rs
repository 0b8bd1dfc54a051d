//! PyTorch import: a state dict written here by hand lands where PyTorch puts
//! every value, runs like an independent f64 LSTM step, survives export and
//! import unchanged, and every bad file gets an error naming the file and the
//! tensor.

use lstm_accel_model::float::{FloatHead, FloatLayer, FloatMatrix, FloatModel, FloatRunner};
use lstm_accel_model::import::{export_safetensors, import_safetensors, HeadNames, ImportNames};
use lstm_accel_model::{ModelError, Problem};
use safetensors::tensor::TensorView;
use safetensors::Dtype;
use std::collections::BTreeMap;
use std::path::Path;

/// A state dict under construction: name -> (dtype, shape, values).
type Dict = BTreeMap<String, (Dtype, Vec<usize>, Vec<f64>)>;

/// Deterministic values in [-0.6, 0.6) from a 64-bit LCG.
fn values(seed: u64, n: usize) -> Vec<f64> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            // Round through f32 so the file holds exactly these values.
            f64::from((((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 1.2) as f32)
        })
        .collect()
}

const INPUT: usize = 5;
const H0: usize = 6;
const H1: usize = 4;
const PROJ1: usize = 3;
const CLASSES: usize = 7;

/// A 2-layer `nn.LSTM(5, 6)` + `nn.LSTM(6, 4, proj_size=3)` under `lstm.`
/// and an `nn.Linear(3, 7)` under `fc.`.
fn dict() -> Dict {
    let mut d = Dict::new();
    let mut add = |name: &str, shape: Vec<usize>, seed: u64| {
        let n = shape.iter().product();
        d.insert(name.to_string(), (Dtype::F32, shape, values(seed, n)));
    };
    add("lstm.weight_ih_l0", vec![4 * H0, INPUT], 1);
    add("lstm.weight_hh_l0", vec![4 * H0, H0], 2);
    add("lstm.bias_ih_l0", vec![4 * H0], 3);
    add("lstm.bias_hh_l0", vec![4 * H0], 4);
    add("lstm.weight_ih_l1", vec![4 * H1, H0], 5);
    add("lstm.weight_hh_l1", vec![4 * H1, PROJ1], 6);
    add("lstm.bias_ih_l1", vec![4 * H1], 7);
    add("lstm.bias_hh_l1", vec![4 * H1], 8);
    add("lstm.weight_hr_l1", vec![PROJ1, H1], 9);
    add("fc.weight", vec![CLASSES, PROJ1], 10);
    add("fc.bias", vec![CLASSES], 11);
    d
}

fn bytes_of(dtype: Dtype, v: &[f64]) -> Vec<u8> {
    match dtype {
        Dtype::F32 => v.iter().flat_map(|&x| (x as f32).to_le_bytes()).collect(),
        Dtype::F64 => v.iter().flat_map(|&x| x.to_le_bytes()).collect(),
        Dtype::I32 => v.iter().flat_map(|&x| (x as i32).to_le_bytes()).collect(),
        other => panic!("test writes no {other}"),
    }
}

fn write(dir: &Path, name: &str, d: &Dict) -> std::path::PathBuf {
    let bytes: Vec<(String, Vec<u8>)> = d
        .iter()
        .map(|(n, (dt, _, v))| (n.clone(), bytes_of(*dt, v)))
        .collect();
    let views: Vec<(String, TensorView)> = d
        .iter()
        .zip(&bytes)
        .map(|((n, (dt, shape, _)), (_, b))| {
            (
                n.clone(),
                TensorView::new(*dt, shape.clone(), b).expect("test tensor bytes match the shape"),
            )
        })
        .collect();
    let data = safetensors::serialize(views, None).expect("serializable");
    let path = dir.join(name);
    std::fs::write(&path, data).expect("temporary file is writable");
    path
}

fn f32s(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

#[test]
fn values_land_where_pytorch_puts_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dict();
    let path = write(dir.path(), "m.safetensors", &d);
    let m = import_safetensors(&path, &ImportNames::default()).unwrap();
    let t = |n: &str| &d[n].2;
    assert_eq!(m.input_size, INPUT);
    assert_eq!(m.layers.len(), 2);
    let l0 = &m.layers[0];
    assert_eq!((l0.hidden, l0.w_x.rows, l0.w_x.cols), (H0, 4 * H0, INPUT));
    assert_eq!(l0.w_x.data, f32s(t("lstm.weight_ih_l0")));
    assert_eq!(l0.w_h.data, f32s(t("lstm.weight_hh_l0")));
    assert!(l0.projection.is_none());
    let l1 = &m.layers[1];
    assert_eq!(
        (l1.hidden, l1.w_h.cols, l1.output_size()),
        (H1, PROJ1, PROJ1)
    );
    let p = l1.projection.as_ref().unwrap();
    assert_eq!((p.rows, p.cols), (PROJ1, H1));
    assert_eq!(p.data, f32s(t("lstm.weight_hr_l1")));
    // Row r of gate block q is PyTorch's row q*h + r: the order i, f, g, o is kept.
    for (k, l) in m.layers.iter().enumerate() {
        let bih = t(&format!("lstm.bias_ih_l{k}"));
        let bhh = t(&format!("lstm.bias_hh_l{k}"));
        for (gate, name) in ["i", "f", "g", "o"].iter().enumerate() {
            for r in 0..l.hidden {
                let j = gate * l.hidden + r;
                assert_eq!(
                    l.bias[j],
                    (bih[j] + bhh[j]) as f32,
                    "layer {k} gate {name} row {r}"
                );
            }
        }
    }
    match &m.head {
        FloatHead::Dense { w, bias } => {
            assert_eq!((w.rows, w.cols), (CLASSES, PROJ1));
            assert_eq!(w.data, f32s(t("fc.weight")));
            assert_eq!(bias, &f32s(t("fc.bias")));
        }
        other => panic!("expected a dense head, got {other:?}"),
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// PyTorch's LSTM step, written out with plain loops over the raw tensors.
struct Torch {
    d: Dict,
    h: Vec<Vec<f64>>,
    c: Vec<Vec<f64>>,
}

impl Torch {
    fn new(d: Dict) -> Self {
        Torch {
            d,
            h: vec![vec![0.0; H0], vec![0.0; PROJ1]],
            c: vec![vec![0.0; H0], vec![0.0; H1]],
        }
    }

    fn matvec(&self, name: &str, x: &[f64]) -> Vec<f64> {
        let (_, shape, w) = &self.d[name];
        assert_eq!(shape[1], x.len(), "{name}");
        (0..shape[0])
            .map(|r| (0..shape[1]).map(|c| w[r * shape[1] + c] * x[c]).sum())
            .collect()
    }

    fn step(&mut self, frame: &[f64]) -> Vec<f64> {
        let mut x = frame.to_vec();
        for k in 0..2 {
            let n = self.c[k].len();
            let a = self.matvec(&format!("lstm.weight_ih_l{k}"), &x);
            let b = self.matvec(&format!("lstm.weight_hh_l{k}"), &self.h[k]);
            let bih = &self.d[&format!("lstm.bias_ih_l{k}")].2;
            let bhh = &self.d[&format!("lstm.bias_hh_l{k}")].2;
            let z: Vec<f64> = (0..4 * n).map(|j| a[j] + bih[j] + b[j] + bhh[j]).collect();
            let mut h = vec![0.0; n];
            for j in 0..n {
                let i = sigmoid(z[j]);
                let f = sigmoid(z[n + j]);
                let g = z[2 * n + j].tanh();
                let o = sigmoid(z[3 * n + j]);
                self.c[k][j] = f * self.c[k][j] + i * g;
                h[j] = o * self.c[k][j].tanh();
            }
            let proj = format!("lstm.weight_hr_l{k}");
            if self.d.contains_key(&proj) {
                h = self.matvec(&proj, &h);
            }
            self.h[k] = h.clone();
            x = h;
        }
        let mut y = self.matvec("fc.weight", &x);
        for (v, b) in y.iter_mut().zip(&self.d["fc.bias"].2) {
            *v += b;
        }
        y
    }
}

#[test]
fn float_runner_matches_an_independent_lstm_step() {
    let dir = tempfile::tempdir().unwrap();
    let d = dict();
    let path = write(dir.path(), "m.safetensors", &d);
    let m = import_safetensors(&path, &ImportNames::default()).unwrap();
    let mut runner = FloatRunner::new(&m);
    let mut torch = Torch::new(d);
    let mut worst = 0f64;
    for t in 0..8 {
        let frame: Vec<f64> = values(100 + t, INPUT).iter().map(|v| v * 3.0).collect();
        let expect = torch.step(&frame);
        runner.step(&f32s(&frame));
        for (a, b) in runner.logits().iter().zip(&expect) {
            worst = worst.max((f64::from(*a) - b).abs());
        }
    }
    println!("float runner vs f64 LSTM: max |logit difference| = {worst:.2e}");
    assert!(worst < 1e-5, "max deviation {worst}");
}

#[test]
fn f64_tensors_are_read_and_rounded_to_f32() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = dict();
    for (_, (dt, _, _)) in d.iter_mut() {
        *dt = Dtype::F64;
    }
    let a = import_safetensors(
        &write(dir.path(), "a.safetensors", &dict()),
        &ImportNames::default(),
    )
    .unwrap();
    let b = import_safetensors(
        &write(dir.path(), "b.safetensors", &d),
        &ImportNames::default(),
    )
    .unwrap();
    assert_eq!(a, b);
    // A value f32 cannot hold exactly is rounded to the nearest f32.
    d.get_mut("fc.weight").unwrap().2[0] = 0.1;
    let c = import_safetensors(
        &write(dir.path(), "c.safetensors", &d),
        &ImportNames::default(),
    )
    .unwrap();
    match c.head {
        FloatHead::Dense { w, .. } => assert_eq!(w.data[0], 0.1f32),
        other => panic!("expected a dense head, got {other:?}"),
    }
}

#[test]
fn export_then_import_is_the_identity() {
    let dir = tempfile::tempdir().unwrap();
    let m = import_safetensors(
        &write(dir.path(), "m.safetensors", &dict()),
        &ImportNames::default(),
    )
    .unwrap();
    let out = dir.path().join("out.safetensors");
    export_safetensors(&m, &out, &ImportNames::default()).unwrap();
    assert_eq!(
        import_safetensors(&out, &ImportNames::default()).unwrap(),
        m
    );
    // Named prefixes, both ways.
    let names = ImportNames {
        lstm_prefix: Some("rnn.".into()),
        head: HeadNames::Dense {
            prefix: "out.".into(),
        },
    };
    export_safetensors(&m, &out, &names).unwrap();
    assert_eq!(import_safetensors(&out, &names).unwrap(), m);
    assert_eq!(
        import_safetensors(&out, &ImportNames::default()).unwrap(),
        m
    );
}

#[test]
fn lightrnn_head_round_trips_with_its_table() {
    let dir = tempfile::tempdir().unwrap();
    let mat = |rows, cols, seed| FloatMatrix::new(rows, cols, f32s(&values(seed, rows * cols)));
    let m = FloatModel {
        input_size: 3,
        layers: vec![FloatLayer {
            hidden: 2,
            w_x: mat(8, 3, 1),
            w_h: mat(8, 2, 2),
            bias: f32s(&values(3, 8)),
            projection: None,
            cell_clip: Some(3.25),
        }],
        head: FloatHead::LightRnn {
            row_w: mat(3, 2, 4),
            row_bias: f32s(&values(5, 3)),
            col_w: mat(2, 2, 6),
            col_bias: f32s(&values(7, 2)),
            table: vec![4, -1, 0, 2, 1, 3],
        },
    };
    let out = dir.path().join("light.safetensors");
    export_safetensors(&m, &out, &ImportNames::default()).unwrap();
    let names = ImportNames {
        lstm_prefix: None,
        head: HeadNames::LightRnn {
            row_prefix: "head_row.".into(),
            col_prefix: "head_col.".into(),
        },
    };
    assert_eq!(import_safetensors(&out, &names).unwrap(), m);
    // Without metadata every cell holds its row-major class.
    let mut d = Dict::new();
    for (n, l) in [
        ("lstm.weight_ih_l0", &m.layers[0].w_x),
        ("lstm.weight_hh_l0", &m.layers[0].w_h),
    ] {
        d.insert(
            n.into(),
            (
                Dtype::F32,
                vec![l.rows, l.cols],
                l.data.iter().map(|&x| f64::from(x)).collect(),
            ),
        );
    }
    for n in ["lstm.bias_ih_l0", "lstm.bias_hh_l0"] {
        d.insert(n.into(), (Dtype::F32, vec![8], vec![0.0; 8]));
    }
    for (q, rows) in [("head_row.", 3), ("head_col.", 2)] {
        d.insert(
            format!("{q}weight"),
            (Dtype::F32, vec![rows, 2], vec![0.5; rows * 2]),
        );
        d.insert(
            format!("{q}bias"),
            (Dtype::F32, vec![rows], vec![0.0; rows]),
        );
    }
    let plain = import_safetensors(&write(dir.path(), "plain.safetensors", &d), &names).unwrap();
    match plain.head {
        FloatHead::LightRnn { table, .. } => assert_eq!(table, vec![0, 1, 2, 3, 4, 5]),
        other => panic!("expected LightRNN, got {other:?}"),
    }
}

/// Imports `d` and returns the error, checking it names the file and `tensor`.
fn import_error(d: &Dict, tensor: &str, names: &ImportNames) -> ModelError {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = write(dir.path(), "bad.safetensors", d);
    check_error(&path, tensor, names)
}

fn check_error(path: &Path, tensor: &str, names: &ImportNames) -> ModelError {
    let e = import_safetensors(path, names).expect_err("must fail");
    println!("{e}");
    assert_eq!(e.file.as_deref(), Some(path), "{e}");
    assert_eq!(e.tensor.as_deref(), Some(tensor), "{e}");
    let text = e.to_string();
    assert!(
        text.contains(&path.display().to_string()) && text.contains(tensor),
        "{text}"
    );
    e
}

#[test]
fn truncated_file_names_the_cut_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "m.safetensors", &dict());
    let full = std::fs::read(&path).unwrap();
    // Cut inside the data: the last tensor in the data section is cut.
    std::fs::write(&path, &full[..full.len() - 10]).unwrap();
    let e = import_safetensors(&path, &ImportNames::default()).unwrap_err();
    assert!(matches!(e.problem, Problem::Truncated(_)), "{e}");
    assert_eq!(e.file.as_deref(), Some(path.as_path()));
    assert!(
        e.tensor.as_deref().is_some_and(|t| dict().contains_key(t)),
        "{e}"
    );
    // Cut inside the header.
    std::fs::write(&path, &full[..40]).unwrap();
    let e = check_error(&path, "header", &ImportNames::default());
    assert!(matches!(e.problem, Problem::Truncated(_)), "{e}");
    std::fs::write(&path, &full[..5]).unwrap();
    let e = check_error(&path, "header", &ImportNames::default());
    assert!(matches!(e.problem, Problem::Truncated(_)), "{e}");
    // Garbage instead of a header.
    let mut junk = full.clone();
    junk[8..16].copy_from_slice(b"not json");
    std::fs::write(&path, &junk).unwrap();
    let e = check_error(&path, "header", &ImportNames::default());
    assert!(matches!(e.problem, Problem::Malformed(_)), "{e}");
}

#[test]
fn wrong_shape_is_reported_with_expected_and_found() {
    let mut d = dict();
    d.insert(
        "lstm.weight_hh_l0".into(),
        (
            Dtype::F32,
            vec![4 * H0, H0 - 1],
            values(2, 4 * H0 * (H0 - 1)),
        ),
    );
    let e = import_error(&d, "lstm.weight_hh_l0", &ImportNames::default());
    match e.problem {
        Problem::Shape { expected, found } => {
            assert_eq!(expected, "[24, 6]");
            assert_eq!(found, "[24, 5]");
        }
        other => panic!("expected a shape error, got {other:?}"),
    }
    // The head must read the last layer's output (the projection).
    let mut d = dict();
    d.insert(
        "fc.weight".into(),
        (Dtype::F32, vec![CLASSES, H1], values(10, CLASSES * H1)),
    );
    let e = import_error(&d, "fc.weight", &ImportNames::default());
    assert!(matches!(e.problem, Problem::Shape { .. }), "{e}");
    // A gate matrix whose rows are not 4 * hidden.
    let mut d = dict();
    d.insert(
        "lstm.weight_ih_l0".into(),
        (Dtype::F32, vec![23, INPUT], values(1, 23 * INPUT)),
    );
    let e = import_error(&d, "lstm.weight_ih_l0", &ImportNames::default());
    assert!(matches!(e.problem, Problem::Shape { .. }), "{e}");
}

#[test]
fn nan_and_overflow_are_reported_with_their_index() {
    let mut d = dict();
    d.get_mut("lstm.bias_hh_l1").unwrap().2[3] = f64::NAN;
    let e = import_error(&d, "lstm.bias_hh_l1", &ImportNames::default());
    assert!(
        matches!(e.problem, Problem::NonFinite { index: 3, .. }),
        "{e}"
    );
    let mut d = dict();
    let t = d.get_mut("fc.weight").unwrap();
    t.0 = Dtype::F64;
    t.2[5] = 1e300;
    let e = import_error(&d, "fc.weight", &ImportNames::default());
    assert!(
        matches!(e.problem, Problem::OutOfRange { index: 5, .. }),
        "{e}"
    );
}

#[test]
fn missing_tensors_are_named() {
    for name in ["lstm.bias_hh_l0", "lstm.weight_hh_l1", "fc.bias"] {
        let mut d = dict();
        d.remove(name);
        let e = import_error(&d, name, &ImportNames::default());
        assert!(e.to_string().contains("missing"), "{e}");
    }
    // Layers must be contiguous from l0.
    let mut d = dict();
    for n in ["weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"] {
        let v = d.remove(&format!("lstm.{n}_l1")).unwrap();
        d.insert(format!("lstm.{n}_l2"), v);
    }
    let e = import_error(&d, "lstm.weight_ih_l1", &ImportNames::default());
    assert!(e.to_string().contains("contiguous"), "{e}");
    // No LSTM at all.
    let mut d = Dict::new();
    d.insert("fc.weight".into(), (Dtype::F32, vec![2, 2], vec![0.0; 4]));
    import_error(&d, "weight_ih_l0", &ImportNames::default());
    // A named prefix that is not there.
    let names = ImportNames {
        lstm_prefix: Some("encoder.".into()),
        head: HeadNames::Auto,
    };
    import_error(&dict(), "encoder.weight_ih_l0", &names);
}

#[test]
fn unsupported_dtype_is_named() {
    let mut d = dict();
    d.get_mut("fc.weight").unwrap().0 = Dtype::I32;
    let e = import_error(&d, "fc.weight", &ImportNames::default());
    assert!(e.to_string().contains("I32"), "{e}");
}

#[test]
fn ambiguous_head_lists_the_candidates() {
    let mut d = dict();
    d.insert("emb.weight".into(), (Dtype::F32, vec![3, 3], values(20, 9)));
    d.insert("emb.bias".into(), (Dtype::F32, vec![3], values(21, 3)));
    let e = import_error(&d, "head", &ImportNames::default());
    let text = e.to_string();
    assert!(
        text.contains("emb.weight") && text.contains("fc.weight"),
        "{text}"
    );
    // Naming the head resolves it.
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "two.safetensors", &d);
    let names = ImportNames {
        lstm_prefix: None,
        head: HeadNames::Dense {
            prefix: "fc.".into(),
        },
    };
    assert!(import_safetensors(&path, &names).is_ok());
}

#[test]
fn bidirectional_and_missing_file_are_refused() {
    let mut d = dict();
    d.insert(
        "lstm.weight_ih_l0_reverse".into(),
        (Dtype::F32, vec![4 * H0, INPUT], values(1, 4 * H0 * INPUT)),
    );
    let e = import_error(&d, "lstm.weight_ih_l0_reverse", &ImportNames::default());
    assert!(e.to_string().contains("bidirectional"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.safetensors");
    let e = import_safetensors(&path, &ImportNames::default()).unwrap_err();
    assert!(matches!(e.problem, Problem::Io(_)));
    assert_eq!(e.file.as_deref(), Some(path.as_path()));
}
