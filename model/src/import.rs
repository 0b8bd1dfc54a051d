//! PyTorch import and export: a `state_dict` saved as safetensors, to and
//! from the float twin [`FloatModel`].
//!
//! The layout is PyTorch's `nn.LSTM` (optionally with `proj_size`) followed by
//! an `nn.Linear` head (or LightRNN's pair of `nn.Linear` heads). With the LSTM
//! prefix `p` (e.g. `lstm.`), layer `k` reads:
//! ```text
//! {p}weight_ih_l{k}  [4h, in]          -> FloatLayer.w_x   (gate rows i, f, g, o)
//! {p}weight_hh_l{k}  [4h, h or proj]   -> FloatLayer.w_h
//! {p}bias_ih_l{k}    [4h]  \
//! {p}bias_hh_l{k}    [4h]  /  summed  -> FloatLayer.bias  (in f64, rounded once)
//! {p}weight_hr_l{k}  [proj, h], optional -> FloatLayer.projection
//! ```
//! The head is `{q}weight` `[classes, features]` and `{q}bias` `[classes]`. Gate order
//! is kept as PyTorch stores it, which is the order [`FloatLayer`] uses.
//!
//! Rules: dtypes F32 and F64 are read (F64 is rounded to the nearest f32; a
//! finite F64 outside the f32 range is an error); layers must be numbered
//! contiguously from `l0`; every bias is required (an `nn.LSTM(bias=False)`
//! is exported with explicit zero biases); bidirectional weights (`_reverse`)
//! are refused. With [`HeadNames::Auto`] the head is the single `*weight`
//! tensor outside the LSTM (with its `*bias`); several candidates are an error
//! that lists them. A LightRNN head's cell table comes from the file's
//! metadata: `lightrnn_table` (a JSON list of `rows * cols` classes or -1), or
//! `lightrnn_classes` (a count `n`: class `i` at cell `i`, row-major, cells
//! from `n` on empty); without either, every cell holds a class
//! (`classes = rows * cols`, class `i` at row `i / cols`, column `i % cols`).
//!
//! Every error names the file and the tensor (the key in the file, or
//! `header` for the file's header) and what is wrong. Export writes the same
//! layout (`bias_ih` = the summed bias, `bias_hh` = 0, the LightRNN table as
//! `lightrnn_table` metadata, a layer's cell clipping as `cell_clip_l{k}`
//! metadata, which import reads back) atomically, so export then import is the
//! identity.

use crate::error::{ModelError, Problem, Result};
use crate::float::{FloatHead, FloatLayer, FloatMatrix, FloatModel};
use safetensors::tensor::{SafeTensorError, View};
use safetensors::{Dtype, SafeTensors};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// Prefix the export uses for the LSTM when none is given.
pub const DEFAULT_LSTM_PREFIX: &str = "lstm.";
/// Prefix the export uses for a dense head with [`HeadNames::Auto`].
pub const DEFAULT_HEAD_PREFIX: &str = "fc.";
/// Prefixes the export uses for a LightRNN head with [`HeadNames::Auto`].
pub const DEFAULT_LIGHTRNN_PREFIXES: (&str, &str) = ("head_row.", "head_col.");
/// Metadata key of a LightRNN cell table (JSON list of classes or -1).
pub const META_TABLE: &str = "lightrnn_table";
/// Metadata key prefix of layer `k`'s cell clipping (`cell_clip_l0`...), a
/// positive number; PyTorch's LSTM has none, so it is absent unless exported.
pub const META_CELL_CLIP: &str = "cell_clip_l";
/// Metadata key of a LightRNN class count (row-major table).
pub const META_CLASSES: &str = "lightrnn_classes";

/// Where the tensors are in the state dict.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportNames {
    /// Prefix of the `nn.LSTM` keys, e.g. `lstm.`; `None` detects it from the
    /// key that ends in `weight_ih_l0` (and exports with [`DEFAULT_LSTM_PREFIX`]).
    #[serde(default)]
    pub lstm_prefix: Option<String>,
    /// Where the head is.
    #[serde(default)]
    pub head: HeadNames,
}

/// Where the output head's tensors are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HeadNames {
    /// A dense head: the only `*weight`/`*bias` pair outside the LSTM.
    #[default]
    Auto,
    /// A dense `nn.Linear` head at `{prefix}weight`, `{prefix}bias`.
    Dense {
        /// Key prefix, e.g. `fc.`.
        prefix: String,
    },
    /// LightRNN: a row and a column `nn.Linear`.
    LightRnn {
        /// Key prefix of the row classifier.
        row_prefix: String,
        /// Key prefix of the column classifier.
        col_prefix: String,
    },
}

/// A tensor read from the file: its shape and values (in f64).
struct Tensor {
    shape: Vec<usize>,
    data: Vec<f64>,
}

fn shape_str(s: &[usize]) -> String {
    let parts: Vec<String> = s.iter().map(ToString::to_string).collect();
    format!("[{}]", parts.join(", "))
}

/// The opened file.
struct Reader<'a> {
    file: &'a Path,
    st: SafeTensors<'a>,
    meta: HashMap<String, String>,
}

impl<'a> Reader<'a> {
    fn open(file: &'a Path, bytes: &'a [u8]) -> Result<Reader<'a>> {
        let err = |p: Problem| ModelError::at("header", p).in_file(file);
        if bytes.len() < 8 {
            return Err(err(Problem::Truncated(format!(
                "the file has {} bytes; the header length alone needs 8",
                bytes.len()
            ))));
        }
        let mut len = [0u8; 8];
        len.copy_from_slice(&bytes[..8]);
        let n = u64::from_le_bytes(len);
        if n.saturating_add(8) > bytes.len() as u64 {
            return Err(err(Problem::Truncated(format!(
                "the header declares {n} bytes but only {} follow",
                bytes.len() - 8
            ))));
        }
        let (_, metadata) =
            SafeTensors::read_metadata(bytes).map_err(|e| read_error(file, bytes, e))?;
        let meta = metadata.metadata().clone().unwrap_or_default();
        let st = SafeTensors::deserialize(bytes).map_err(|e| read_error(file, bytes, e))?;
        Ok(Reader { file, st, meta })
    }

    fn err(&self, tensor: &str, p: Problem) -> ModelError {
        ModelError::at(tensor, p).in_file(self.file)
    }

    fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.st.names().into_iter().map(str::to_string).collect();
        v.sort();
        v
    }

    fn has(&self, name: &str) -> bool {
        self.st.tensor(name).is_ok()
    }

    fn missing(&self, name: &str) -> ModelError {
        let names = self.names();
        let shown: Vec<&str> = names.iter().take(16).map(String::as_str).collect();
        let more = if names.len() > 16 { ", ..." } else { "" };
        self.err(
            name,
            Problem::Malformed(format!(
                "tensor is missing; the file has {} tensors: {}{more}",
                names.len(),
                shown.join(", ")
            )),
        )
    }

    /// Reads a tensor: dtype F32 or F64, every value finite and within f32.
    fn load(&self, name: &str) -> Result<Tensor> {
        let view = self.st.tensor(name).map_err(|_| self.missing(name))?;
        let bytes = view.data();
        let data: Vec<f64> = match view.dtype() {
            Dtype::F32 => bytes
                .chunks_exact(4)
                .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
            Dtype::F64 => bytes
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect(),
            other => {
                return Err(self.err(
                    name,
                    Problem::Invalid(format!(
                        "dtype {other} is not supported; expected F32 or F64"
                    )),
                ))
            }
        };
        for (index, &value) in data.iter().enumerate() {
            if !value.is_finite() {
                return Err(self.err(name, Problem::NonFinite { index, value }));
            }
            if value.abs() > f64::from(f32::MAX) {
                return Err(self.err(
                    name,
                    Problem::OutOfRange {
                        index,
                        value: format!("{value:e}"),
                        allowed: "finite f32 values".into(),
                    },
                ));
            }
        }
        Ok(Tensor {
            shape: view.shape().to_vec(),
            data,
        })
    }

    /// Reads a tensor whose shape must be `expected`; `None` dimensions take
    /// any nonzero size. `describe` is the expected shape in words.
    fn load_shaped(
        &self,
        name: &str,
        expected: &[Option<usize>],
        describe: &str,
    ) -> Result<Tensor> {
        let t = self.load(name)?;
        let ok = t.shape.len() == expected.len()
            && t.shape
                .iter()
                .zip(expected)
                .all(|(&d, e)| d > 0 && e.is_none_or(|e| e == d));
        if !ok {
            return Err(self.err(
                name,
                Problem::Shape {
                    expected: describe.to_string(),
                    found: shape_str(&t.shape),
                },
            ));
        }
        Ok(t)
    }

    fn matrix(
        &self,
        name: &str,
        rows: Option<usize>,
        cols: Option<usize>,
        describe: &str,
    ) -> Result<FloatMatrix> {
        let t = self.load_shaped(name, &[rows, cols], describe)?;
        Ok(FloatMatrix::new(t.shape[0], t.shape[1], to_f32(&t.data)))
    }

    fn vector(&self, name: &str, len: usize) -> Result<Vec<f64>> {
        Ok(self
            .load_shaped(name, &[Some(len)], &format!("[{len}]"))?
            .data)
    }
}

fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

/// Maps a safetensors error; a file shorter than its header says is reported
/// as truncated, naming the first tensor whose data is cut.
fn read_error(file: &Path, bytes: &[u8], e: SafeTensorError) -> ModelError {
    let at = |t: &str, p: Problem| ModelError::at(t, p).in_file(file);
    if let SafeTensorError::MetadataIncompleteBuffer = e {
        let mut len = [0u8; 8];
        len.copy_from_slice(&bytes[..8]);
        let n = u64::from_le_bytes(len) as usize;
        let available = bytes.len() - 8 - n;
        let header: serde_json::Value = std::str::from_utf8(&bytes[8..8 + n])
            .ok()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
        let mut cut: Vec<(u64, u64, String)> = header
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(name, info)| {
                let off = info.get("data_offsets")?.as_array()?;
                Some((off.first()?.as_u64()?, off.get(1)?.as_u64()?, name.clone()))
            })
            .filter(|(_, end, _)| *end > available as u64)
            .collect();
        cut.sort();
        if let Some((start, end, name)) = cut.first() {
            return at(
                name,
                Problem::Truncated(format!(
                    "its data is at bytes {start}..{end} of the data section, which has only {available} bytes"
                )),
            );
        }
        return at(
            "header",
            Problem::Malformed(
                "the data section is longer than the tensors the header declares".into(),
            ),
        );
    }
    at("header", Problem::Malformed(e.to_string()))
}

/// Splits an `nn.LSTM` key (after the prefix) into (layer, reverse), e.g.
/// `weight_hh_l1_reverse` -> (1, true).
fn lstm_key(rest: &str) -> Option<(usize, bool)> {
    let rest = rest
        .strip_prefix("weight_")
        .or_else(|| rest.strip_prefix("bias_"))?;
    let rest = ["ih_l", "hh_l", "hr_l"]
        .iter()
        .find_map(|p| rest.strip_prefix(p))?;
    let (digits, reverse) = match rest.strip_suffix("_reverse") {
        Some(d) => (d, true),
        None => (rest, false),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((digits.parse().ok()?, reverse))
}

fn detect_prefix(r: &Reader) -> Result<String> {
    let found: Vec<String> = r
        .names()
        .into_iter()
        .filter_map(|n| n.strip_suffix("weight_ih_l0").map(str::to_string))
        .collect();
    match found.as_slice() {
        [p] => Ok(p.clone()),
        [] => Err(r.err(
            "weight_ih_l0",
            Problem::Malformed(format!(
                "no tensor ends in `weight_ih_l0`: not an nn.LSTM state dict? (tensors: {})",
                r.names().join(", ")
            )),
        )),
        many => Err(r.err(
            "weight_ih_l0",
            Problem::Invalid(format!(
                "several LSTMs in the file (prefixes {}); name one with lstm_prefix",
                many.iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        )),
    }
}

/// Reads layers `l0, l1, ...` under `p`, checking they are contiguous.
fn read_layers(r: &Reader, p: &str) -> Result<(usize, Vec<FloatLayer>)> {
    let mut indices = BTreeSet::new();
    for name in r.names() {
        if let Some((k, reverse)) = name.strip_prefix(p).and_then(lstm_key) {
            if reverse {
                return Err(r.err(
                    &name,
                    Problem::Invalid("bidirectional LSTMs are not supported".into()),
                ));
            }
            indices.insert(k);
        }
    }
    let count = indices.len();
    if let Some(k) = (0..count).find(|k| !indices.contains(k)) {
        let last = indices.iter().next_back().copied().unwrap_or(0);
        return Err(r.err(
            &format!("{p}weight_ih_l{k}"),
            Problem::Malformed(format!(
                "layers must be numbered contiguously from l0: layer l{last} exists but l{k} does not"
            )),
        ));
    }
    let mut input_size = 0;
    let mut n_in: Option<usize> = None;
    let mut layers = Vec::with_capacity(count);
    for k in 0..count {
        let key = |s: &str| format!("{p}{s}_l{k}");
        let in_desc = n_in.map_or("input_size".to_string(), |n| n.to_string());
        let w_x = r.matrix(
            &key("weight_ih"),
            None,
            n_in,
            &format!("[4*hidden, {in_desc}]"),
        )?;
        if w_x.rows % 4 != 0 {
            return Err(r.err(
                &key("weight_ih"),
                Problem::Shape {
                    expected: format!("[4*hidden, {in_desc}] (rows a multiple of 4)"),
                    found: shape_str(&[w_x.rows, w_x.cols]),
                },
            ));
        }
        if k == 0 {
            input_size = w_x.cols;
        }
        let h = w_x.rows / 4;
        let projection = if r.has(&key("weight_hr")) {
            Some(r.matrix(
                &key("weight_hr"),
                None,
                Some(h),
                &format!("[proj_size, {h}]"),
            )?)
        } else {
            None
        };
        let out = projection.as_ref().map_or(h, |m| m.rows);
        let w_h = r.matrix(
            &key("weight_hh"),
            Some(4 * h),
            Some(out),
            &shape_str(&[4 * h, out]),
        )?;
        let b_ih = r.vector(&key("bias_ih"), 4 * h)?;
        let b_hh = r.vector(&key("bias_hh"), 4 * h)?;
        let bias = b_ih
            .iter()
            .zip(&b_hh)
            .map(|(a, b)| (a + b) as f32)
            .collect();
        layers.push(FloatLayer {
            hidden: h,
            w_x,
            w_h,
            bias,
            projection,
            cell_clip: cell_clip(r, k)?,
        });
        n_in = Some(out);
    }
    Ok((input_size, layers))
}

/// Layer `k`'s cell clipping from the metadata, if any.
fn cell_clip(r: &Reader, k: usize) -> Result<Option<f32>> {
    let key = format!("{META_CELL_CLIP}{k}");
    let Some(text) = r.meta.get(&key) else {
        return Ok(None);
    };
    match text.trim().parse::<f32>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(Some(v)),
        _ => Err(r.err(
            &format!("__metadata__.{key}"),
            Problem::Malformed(format!("`{text}` is not a positive cell clip")),
        )),
    }
}

/// A `nn.Linear` at `q`: weight [rows, features] and bias [rows].
fn read_linear(r: &Reader, q: &str, features: usize) -> Result<(FloatMatrix, Vec<f32>)> {
    let name = format!("{q}weight");
    let w = r.matrix(
        &name,
        None,
        Some(features),
        &format!("[classes, {features}]"),
    )?;
    let b = r.vector(&format!("{q}bias"), w.rows)?;
    Ok((w, to_f32(&b)))
}

fn auto_head_prefix(r: &Reader, lstm: &str) -> Result<String> {
    let candidates: Vec<String> = r
        .names()
        .into_iter()
        .filter(|n| {
            let in_lstm = match n.strip_prefix(lstm) {
                Some(rest) => !lstm.is_empty() || lstm_key(rest).is_some(),
                None => false,
            };
            !in_lstm && n.ends_with("weight")
        })
        .collect();
    match candidates.as_slice() {
        [one] => Ok(one.trim_end_matches("weight").to_string()),
        _ => Err(r.err(
            "head",
            Problem::Invalid(format!(
                "cannot tell the output layer: expected exactly one `*weight` tensor outside the LSTM \
                 `{lstm}`, found {} ({}); name it with HeadNames::Dense or HeadNames::LightRnn",
                candidates.len(),
                if candidates.is_empty() { "none".to_string() } else { candidates.join(", ") }
            )),
        )),
    }
}

fn lightrnn_table(r: &Reader, rows: usize, cols: usize) -> Result<Vec<i32>> {
    let cells = rows * cols;
    let table: Vec<i32> = if let Some(text) = r.meta.get(META_TABLE) {
        serde_json::from_str(text).map_err(|e| {
            r.err(
                &format!("__metadata__.{META_TABLE}"),
                Problem::Malformed(e.to_string()),
            )
        })?
    } else if let Some(text) = r.meta.get(META_CLASSES) {
        let n: usize = text.trim().parse().map_err(|_| {
            r.err(
                &format!("__metadata__.{META_CLASSES}"),
                Problem::Malformed(format!("`{text}` is not a class count")),
            )
        })?;
        if n == 0 || n > cells {
            return Err(r.err(
                &format!("__metadata__.{META_CLASSES}"),
                Problem::OutOfRange {
                    index: 0,
                    value: n.to_string(),
                    allowed: format!("1..={cells} (rows {rows} x cols {cols})"),
                },
            ));
        }
        (0..cells)
            .map(|i| if i < n { i as i32 } else { -1 })
            .collect()
    } else {
        (0..cells as i32).collect()
    };
    let name = format!("__metadata__.{META_TABLE}");
    if table.len() != cells {
        return Err(r.err(
            &name,
            Problem::Shape {
                expected: format!("[{cells}] ({rows} rows x {cols} cols)"),
                found: format!("[{}]", table.len()),
            },
        ));
    }
    if let Some(i) = table
        .iter()
        .position(|&c| c < -1 || c as i64 >= cells as i64)
    {
        return Err(r.err(
            &name,
            Problem::OutOfRange {
                index: i,
                value: table[i].to_string(),
                allowed: format!("-1 (empty) or a class 0..{cells}"),
            },
        ));
    }
    Ok(table)
}

/// Reads a PyTorch state dict saved as safetensors into a validated
/// [`FloatModel`]. See the module documentation for the layout.
pub fn import_safetensors(path: &Path, names: &ImportNames) -> Result<FloatModel> {
    let bytes = std::fs::read(path).map_err(|e| ModelError {
        file: Some(path.into()),
        tensor: None,
        problem: Problem::Io(e),
    })?;
    import_safetensors_bytes(path, &bytes, names)
}

/// [`import_safetensors`] of a file's bytes already read; `path` names the
/// file in errors.
pub fn import_safetensors_bytes(
    path: &Path,
    bytes: &[u8],
    names: &ImportNames,
) -> Result<FloatModel> {
    let r = Reader::open(path, bytes)?;
    let prefix = match &names.lstm_prefix {
        Some(p) => p.clone(),
        None => detect_prefix(&r)?,
    };
    if !r.has(&format!("{prefix}weight_ih_l0")) {
        return Err(r.missing(&format!("{prefix}weight_ih_l0")));
    }
    let (input_size, layers) = read_layers(&r, &prefix)?;
    let features = layers.last().map_or(input_size, FloatLayer::output_size);
    let head = match &names.head {
        HeadNames::Auto => {
            let q = auto_head_prefix(&r, &prefix)?;
            let (w, bias) = read_linear(&r, &q, features)?;
            FloatHead::Dense { w, bias }
        }
        HeadNames::Dense { prefix: q } => {
            let (w, bias) = read_linear(&r, q, features)?;
            FloatHead::Dense { w, bias }
        }
        HeadNames::LightRnn {
            row_prefix,
            col_prefix,
        } => {
            let (row_w, row_bias) = read_linear(&r, row_prefix, features)?;
            let (col_w, col_bias) = read_linear(&r, col_prefix, features)?;
            let table = lightrnn_table(&r, row_w.rows, col_w.rows)?;
            FloatHead::LightRnn {
                row_w,
                row_bias,
                col_w,
                col_bias,
                table,
            }
        }
    };
    let model = FloatModel {
        input_size,
        layers,
        head,
    };
    model.validate().map_err(|e| e.in_file(path))?;
    Ok(model)
}

/// An owned little-endian f32 tensor for the writer.
struct OwnedF32 {
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl OwnedF32 {
    fn new(shape: Vec<usize>, values: &[f32]) -> Self {
        OwnedF32 {
            shape,
            bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }

    fn matrix(m: &FloatMatrix) -> Self {
        Self::new(vec![m.rows, m.cols], &m.data)
    }
}

impl View for &OwnedF32 {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// Writes `model` as a PyTorch-style state dict in safetensors (F32), with
/// the names `names` gives (defaults: [`DEFAULT_LSTM_PREFIX`],
/// [`DEFAULT_HEAD_PREFIX`], [`DEFAULT_LIGHTRNN_PREFIXES`]). The file is
/// written atomically. [`import_safetensors`] with the same names reads back
/// an equal model.
pub fn export_safetensors(model: &FloatModel, path: &Path, names: &ImportNames) -> Result<()> {
    model.validate().map_err(|e| e.in_file(path))?;
    let p = names.lstm_prefix.as_deref().unwrap_or(DEFAULT_LSTM_PREFIX);
    let mut tensors: Vec<(String, OwnedF32)> = Vec::new();
    for (k, l) in model.layers.iter().enumerate() {
        let key = |s: &str| format!("{p}{s}_l{k}");
        tensors.push((key("weight_ih"), OwnedF32::matrix(&l.w_x)));
        tensors.push((key("weight_hh"), OwnedF32::matrix(&l.w_h)));
        tensors.push((key("bias_ih"), OwnedF32::new(vec![l.bias.len()], &l.bias)));
        tensors.push((
            key("bias_hh"),
            OwnedF32::new(vec![l.bias.len()], &vec![0.0; l.bias.len()]),
        ));
        if let Some(pr) = &l.projection {
            tensors.push((key("weight_hr"), OwnedF32::matrix(pr)));
        }
    }
    let mut meta = HashMap::new();
    for (k, l) in model.layers.iter().enumerate() {
        if let Some(clip) = l.cell_clip {
            meta.insert(format!("{META_CELL_CLIP}{k}"), clip.to_string());
        }
    }
    let head_err = |msg: &str| ModelError::invalid("head", msg).in_file(path);
    match (&model.head, &names.head) {
        (FloatHead::Dense { w, bias }, HeadNames::Auto | HeadNames::Dense { .. }) => {
            let q = match &names.head {
                HeadNames::Dense { prefix } => prefix.as_str(),
                _ => DEFAULT_HEAD_PREFIX,
            };
            tensors.push((format!("{q}weight"), OwnedF32::matrix(w)));
            tensors.push((format!("{q}bias"), OwnedF32::new(vec![bias.len()], bias)));
        }
        (
            FloatHead::LightRnn {
                row_w,
                row_bias,
                col_w,
                col_bias,
                table,
            },
            HeadNames::Auto | HeadNames::LightRnn { .. },
        ) => {
            let (rq, cq) = match &names.head {
                HeadNames::LightRnn {
                    row_prefix,
                    col_prefix,
                } => (row_prefix.as_str(), col_prefix.as_str()),
                _ => DEFAULT_LIGHTRNN_PREFIXES,
            };
            tensors.push((format!("{rq}weight"), OwnedF32::matrix(row_w)));
            tensors.push((
                format!("{rq}bias"),
                OwnedF32::new(vec![row_bias.len()], row_bias),
            ));
            tensors.push((format!("{cq}weight"), OwnedF32::matrix(col_w)));
            tensors.push((
                format!("{cq}bias"),
                OwnedF32::new(vec![col_bias.len()], col_bias),
            ));
            let text = serde_json::to_string(table).map_err(|e| head_err(&e.to_string()))?;
            meta.insert(META_TABLE.to_string(), text);
        }
        (FloatHead::Dense { .. }, HeadNames::LightRnn { .. }) => {
            return Err(head_err(
                "the model has a dense head but LightRNN head names were given",
            ))
        }
        (FloatHead::LightRnn { .. }, HeadNames::Dense { .. }) => {
            return Err(head_err(
                "the model has a LightRNN head but dense head names were given",
            ))
        }
    }
    let views = tensors.iter().map(|(n, t)| (n.as_str(), t));
    let bytes = safetensors::serialize(views, (!meta.is_empty()).then_some(meta))
        .map_err(|e| ModelError::at("header", Problem::Malformed(e.to_string())).in_file(path))?;
    crate::io::write_atomic(path, &bytes).map_err(|e| ModelError {
        file: Some(path.into()),
        tensor: None,
        problem: Problem::Io(e),
    })
}
