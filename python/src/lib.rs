//! The `lstm_accel` Python package: the verbs an hls4ml user knows, on
//! this tool's models. `convert` reads a model file, a PyTorch state dict
//! (safetensors) or an ONNX graph into a [`PyModel`]; the model predicts
//! with the bit-exact reference (`predict`) or its float twin
//! (`predict_float`), traces every gate, cell and hidden value (`trace`),
//! derives its accelerator spec (`spec`), writes the accelerator
//! (`generate`), runs it cycle-accurately with the cross-check
//! (`simulate`) and through the open FPGA flow (`synth`). Each verb calls
//! the same function as the command of the same name, so a notebook and a
//! shell get the same files and reports; reports come back as dicts, arrays
//! as numpy arrays, and every error as `lstm_accel.LstmAccelError` with the
//! Rust message.
//!
//! Dependencies: the command line's library and the crates it shares types
//! with; nothing depends on this crate.

mod bridge;
mod model;

use lstm_accel_compress::quantize_model;
use lstm_accel_model::float::FloatModel;
use lstm_accel_model::import::{import_safetensors, ImportNames};
use lstm_accel_model::Model;
use pyo3::prelude::*;
use std::path::PathBuf;

use bridge::*;
use model::PyModel;

pyo3::create_exception!(
    lstm_accel,
    LstmAccelError,
    pyo3::exceptions::PyException,
    "An error of lstm-accel; the message is the tool's own (what was wrong and where)."
);

/// Reads a model: a model file (`.json`), a PyTorch state dict
/// (`.safetensors`) or an ONNX graph (`.onnx`), by extension; the last two
/// are quantized by `quant_spec` (a dict, or the path of a JSON file; the
/// default is dense per-row ternary with 8-bit data, and an ONNX graph's
/// DequantizeLinear weights keep their exact codes).
#[pyfunction]
#[pyo3(signature = (path, quant_spec=None))]
fn convert(
    py: Python<'_>,
    path: PathBuf,
    quant_spec: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyModel> {
    let spec = self::quant_spec(py, quant_spec)?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let source = path.display().to_string();
    let (model, float) = match ext.as_str() {
        "json" => {
            if spec.is_some() {
                return Err(LstmAccelError::new_err(format!(
                    "{source} is already quantized; quant_spec applies to .safetensors and .onnx"
                )));
            }
            let m = Model::load(&path).map_err(err)?;
            let f = FloatModel::from_model(&m);
            (m, f)
        }
        "safetensors" => {
            let f = import_safetensors(&path, &ImportNames::default()).map_err(err)?;
            let m = quantize_model(&f, &spec.unwrap_or_default()).map_err(err)?;
            (m, f)
        }
        "onnx" => {
            let imp = lstm_accel_onnx::import_onnx(&path).map_err(err)?;
            let (m, _) = lstm_accel_onnx::quantize_import(&imp, spec.as_ref()).map_err(err)?;
            (m, imp.model)
        }
        _ => {
            return Err(LstmAccelError::new_err(format!(
                "{source}: give a .json model file, a .safetensors state dict or an .onnx graph"
            )))
        }
    };
    Ok(PyModel {
        model,
        float,
        source,
    })
}

/// The module.
#[pymodule]
fn lstm_accel(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(convert, m)?)?;
    m.add_class::<PyModel>()?;
    m.add("LstmAccelError", m.py().get_type::<LstmAccelError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
