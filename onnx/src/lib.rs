//! ONNX import: a graph of standard `LSTM` nodes (opset 7 and later, with
//! opset 14's `layout`; stacked; forward; zero initial state) and a dense
//! head (`Gemm`, or `MatMul` with an `Add` of a constant) into the float
//! twin ([`FloatModel`]), and from there into the accelerator's model
//! format. Weights may be float initializers or sit behind
//! `DequantizeLinear` (and `QuantizeLinear`), as Brevitas and ONNX
//! Runtime's quantizer export them; [`quant`] then gives them the exact
//! code their integer levels fit.
//!
//! The protobuf is read by `onnx-protobuf`; every error names the file and
//! the node or initializer at fault.
//!
//! Dependencies: the model, and the compressor for the quantized import.

mod error;
mod graph;
pub mod quant;
mod tensor;

pub use error::{OnnxError, Result};
pub use quant::{quantize_import, MatrixReport};
pub use tensor::QuantOrigin;

use error::Located;
use lstm_accel_model::float::FloatModel;
use onnx_protobuf::{Message, ModelProto};
use std::collections::BTreeMap;
use std::path::Path;

/// The oldest opset whose `LSTM` the importer reads.
pub const MIN_OPSET: i64 = 7;

/// What an ONNX file held.
#[derive(Clone, Debug)]
pub struct OnnxImport {
    /// The graph's name (or the file's stem).
    pub name: String,
    /// The default domain's opset.
    pub opset: i64,
    /// The float twin.
    pub model: FloatModel,
    /// Matrices that were quantized in the file, by path.
    pub quantized: BTreeMap<String, QuantOrigin>,
    /// The LSTM nodes, bottom first.
    pub lstm_nodes: Vec<String>,
    /// The head's node.
    pub head_node: String,
}

/// Reads an ONNX file.
pub fn import_onnx(path: &Path) -> Result<OnnxImport> {
    let bytes = std::fs::read(path)
        .map_err(|e| Located::file(format!("cannot read: {e}")).in_file(path))?;
    import_onnx_bytes(&bytes, path)
}

/// Reads an ONNX model from `bytes`; `path` names it in errors.
pub fn import_onnx_bytes(bytes: &[u8], path: &Path) -> Result<OnnxImport> {
    let m = ModelProto::parse_from_bytes(bytes)
        .map_err(|e| Located::file(format!("not an ONNX model (protobuf: {e})")).in_file(path))?;
    let opset = m
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map(|o| o.version)
        .ok_or_else(|| {
            Located::file("the model imports no opset of the standard domain").in_file(path)
        })?;
    if opset < MIN_OPSET {
        return Err(Located::file(format!(
            "opset {opset} is older than {MIN_OPSET}, the first the importer reads"
        ))
        .in_file(path));
    }
    let g = m
        .graph
        .as_ref()
        .ok_or_else(|| Located::file("the model has no graph").in_file(path))?;
    let read = graph::read(g).map_err(|e| e.in_file(path))?;
    let name = if g.name.is_empty() {
        path.file_stem()
            .map_or("onnx".into(), |s| s.to_string_lossy().into_owned())
    } else {
        g.name.clone()
    };
    Ok(OnnxImport {
        name,
        opset,
        model: read.model,
        quantized: read.quantized,
        lstm_nodes: read.lstm_nodes,
        head_node: read.head_node,
    })
}
