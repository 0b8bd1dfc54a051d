//! From a quantized ONNX graph to exact codes: each weight that arrived
//! behind `DequantizeLinear` is given the accelerator code its integer
//! levels fit (levels in {-1, 0, 1}: ternary; zero or signed powers of two:
//! power of two; at most 15 distinct non-zero levels: a codebook), and
//! after quantization every such matrix is compared with the file's
//! dequantized values. A matrix whose scale is not a power of two, whose
//! levels fit no code, or that a user's spec gives another code is
//! snapped, and the report says which and by how much.

use crate::tensor::QuantOrigin;
use crate::OnnxImport;
use lstm_accel_compress::{quantize_model, MatrixSpec, QuantSpec, ScalarSpec, Structure};
use lstm_accel_model::encoding::scalar::{MAX_CODEBOOK, MAX_CODEBOOK_WIDTH};
use lstm_accel_model::error::ModelError;
use lstm_accel_model::float::{FloatHead, FloatMatrix, FloatModel};
use lstm_accel_model::Model;
use serde::Serialize;

/// What became of one weight matrix that the file quantized.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MatrixReport {
    /// Its path (`layers[0].w_x`, `head.w`).
    pub path: String,
    /// The `DequantizeLinear` node it came from.
    pub node: String,
    /// The code it was given, when its levels fit one (JSON of a
    /// [`ScalarSpec`]); `None` when the spec's code was used.
    pub inferred: Option<ScalarSpec>,
    /// Its codes decode to exactly the file's values.
    pub exact: bool,
    /// Largest |decoded - file| over its entries.
    pub max_abs_diff: f64,
    /// Why it is not exact, when it is not.
    pub reason: Option<String>,
}

/// Whether `x` is `2^e` for an integer `e`.
fn is_pow2(x: f64) -> bool {
    x > 0.0 && x.log2().fract() == 0.0
}

/// Fraction bits that hold `v` exactly (`v * 2^frac` an integer), if at
/// most 64 do.
fn frac_bits(v: f64) -> Option<i32> {
    (-64..=64).find(|&f| (v * 2f64.powi(f)).fract() == 0.0)
}

/// The code that holds a quantized weight's values exactly, if one does:
/// every scale must be a power of two; levels in {-1, 0, 1} are ternary,
/// zero and signed powers of two a power-of-two code, and at most 15
/// distinct non-zero values (levels times their scales) a codebook.
pub fn code_for(q: &QuantOrigin) -> Option<ScalarSpec> {
    if !q.scales.iter().all(|&s| is_pow2(s)) {
        return None;
    }
    let nonzero: Vec<i64> = q.levels.iter().copied().filter(|&l| l != 0).collect();
    if nonzero.iter().all(|l| l.abs() == 1) {
        return Some(ScalarSpec::Ternary);
    }
    if nonzero.iter().all(|l| l.unsigned_abs().is_power_of_two()) {
        // The exponents the whole matrix spans, scales included.
        let exps: Vec<i32> = q.values.iter().map(|v| v.abs().log2() as i32).collect();
        let (lo, hi) = (exps.iter().min()?, exps.iter().max()?);
        let span = (hi - lo + 1) as u32;
        if span <= lstm_accel_compress::scalar::MAX_OCTAVES {
            return Some(ScalarSpec::Pow2 { octaves: span });
        }
    }
    if q.values.len() < MAX_CODEBOOK {
        let frac = q.values.iter().map(|&v| frac_bits(v)).max()??;
        let max = q.values.iter().fold(0f64, |m, v| m.max(v.abs())) * 2f64.powi(frac);
        let width = max.log2().floor() as u32 + 2;
        if width <= MAX_CODEBOOK_WIDTH {
            return Some(ScalarSpec::Codebook {
                entries: q.values.len() + 1,
                width: width.max(2),
                pow2: false,
            });
        }
    }
    None
}

fn float_matrix<'a>(f: &'a FloatModel, path: &str) -> Option<&'a FloatMatrix> {
    if path == "head.w" {
        return match &f.head {
            FloatHead::Dense { w, .. } => Some(w),
            FloatHead::LightRnn { .. } => None,
        };
    }
    let rest = path.strip_prefix("layers[")?;
    let (k, m) = rest.split_once("].")?;
    let l = f.layers.get(k.parse::<usize>().ok()?)?;
    match m {
        "w_x" => Some(&l.w_x),
        "w_h" => Some(&l.w_h),
        _ => None,
    }
}

/// The spec an import is quantized with: `user`'s when given, else the
/// default with an inferred code for every quantized matrix whose levels
/// fit one.
pub fn spec_for(import: &OnnxImport, user: Option<&QuantSpec>) -> QuantSpec {
    if let Some(s) = user {
        return s.clone();
    }
    let mut spec = QuantSpec {
        name: import.name.clone(),
        ..QuantSpec::default()
    };
    for (path, q) in &import.quantized {
        if let Some(scalar) = code_for(q) {
            // A codebook is one table per matrix; the other codes take a
            // power-of-two scale per row, which per-row (per-axis) scales need.
            let per_row = !matches!(scalar, ScalarSpec::Codebook { .. });
            spec.overrides.insert(
                path.clone(),
                MatrixSpec {
                    structure: Structure::Dense { per_row },
                    scalar,
                },
            );
        }
    }
    spec
}

fn why_not_exact(q: &QuantOrigin, user_spec: bool) -> String {
    if let Some(s) = q.scales.iter().find(|s| !is_pow2(**s)) {
        return format!("scale {s} is not a power of two");
    }
    if user_spec {
        return "the given spec's code does not hold its levels".into();
    }
    match code_for(q) {
        None => format!(
            "its {} distinct non-zero values fit no code (ternary, power of two, or a codebook of at most {} non-zero entries of {MAX_CODEBOOK_WIDTH} bits)",
            q.values.len(),
            MAX_CODEBOOK - 1
        ),
        Some(_) => "the code's scale or range does not hold its levels".into(),
    }
}

/// Quantizes an import: the model, and what became of each matrix the file
/// had quantized.
pub fn quantize_import(
    import: &OnnxImport,
    user: Option<&QuantSpec>,
) -> Result<(Model, Vec<MatrixReport>), ModelError> {
    let spec = spec_for(import, user);
    let model = quantize_model(&import.model, &spec)?;
    let decoded = FloatModel::from_model(&model);
    let mut reports = Vec::new();
    for (path, q) in &import.quantized {
        let (Some(a), Some(b)) = (
            float_matrix(&import.model, path),
            float_matrix(&decoded, path),
        ) else {
            continue;
        };
        let max_abs_diff = a
            .data
            .iter()
            .zip(&b.data)
            .map(|(x, y)| f64::from((x - y).abs()))
            .fold(0.0, f64::max);
        let exact = max_abs_diff == 0.0;
        reports.push(MatrixReport {
            path: path.clone(),
            node: q.node.clone(),
            inferred: spec
                .overrides
                .get(path)
                .filter(|_| user.is_none())
                .map(|m| m.scalar.clone()),
            exact,
            max_abs_diff,
            reason: (!exact).then(|| why_not_exact(q, user.is_some())),
        });
    }
    Ok((model, reports))
}
