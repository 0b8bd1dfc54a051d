//! Between Python and the tool: errors as `LstmAccelError`, reports as
//! dicts (through `json.loads`), input arrays as sequences of frames,
//! logits as numpy arrays, and keyword arguments as the command line's own
//! hardware arguments.

use anyhow::Context;
use clap::Parser;
use lstm_accel_cli::spec_cmd::HwArgs;
use lstm_accel_compress::QuantSpec;
use lstm_accel_hdl::board::Board;
use lstm_accel_model::fixed::Format;
use lstm_accel_model::model::Head;
use lstm_accel_model::Model;
use numpy::ndarray::{Array, IxDyn};
use numpy::{IntoPyArray, PyArrayDyn, PyReadonlyArrayDyn};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;

use crate::LstmAccelError;

/// The Python exception of any error.
pub(crate) fn err(e: impl Into<anyhow::Error>) -> PyErr {
    LstmAccelError::new_err(format!("{:#}", e.into()))
}

/// A serde value as a Python object, through `json.loads`.
pub(crate) fn to_py<'py>(
    py: Python<'py>,
    v: &impl serde::Serialize,
) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(v).map_err(err)?;
    py.import("json")?.call_method1("loads", (text,))
}

/// A quantization spec given as a dict, a JSON string or a path to a JSON
/// file.
pub(crate) fn quant_spec(
    py: Python<'_>,
    spec: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<QuantSpec>> {
    let Some(s) = spec else {
        return Ok(None);
    };
    let text: String = if s.is_instance_of::<PyDict>() {
        py.import("json")?.call_method1("dumps", (s,))?.extract()?
    } else {
        let p: PathBuf = s.extract().map_err(|_| {
            LstmAccelError::new_err("quant_spec: give a dict, or the path of a JSON file")
        })?;
        std::fs::read_to_string(&p)
            .with_context(|| format!("reading {}", p.display()))
            .map_err(err)?
    };
    serde_json::from_str(&text)
        .context("quant_spec is not a valid quantization spec (the fields of QuantSpec)")
        .map(Some)
        .map_err(err)
}

/// The sequences of `x` (`[timesteps, inputs]` or `[batch, timesteps,
/// inputs]`, anything numpy turns into floats), and whether it was batched.
pub(crate) fn sequences(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    inputs: usize,
) -> PyResult<(Vec<Vec<Vec<f32>>>, bool)> {
    let a = py
        .import("numpy")?
        .call_method1("ascontiguousarray", (x, "float64"))?;
    let a: PyReadonlyArrayDyn<f64> = a.extract()?;
    let v = a.as_array();
    let shape = v.shape().to_vec();
    let (batch, steps, n, batched) = match shape.as_slice() {
        [t, n] => (1, *t, *n, false),
        [b, t, n] => (*b, *t, *n, true),
        _ => {
            return Err(LstmAccelError::new_err(format!(
                "x has shape {shape:?}; give [timesteps, {inputs}] or [batch, timesteps, {inputs}]"
            )))
        }
    };
    if n != inputs {
        return Err(LstmAccelError::new_err(format!(
            "x has {n} inputs per timestep (shape {shape:?}); the model takes {inputs}"
        )));
    }
    let flat: Vec<f32> = v.iter().map(|&f| f as f32).collect();
    let seqs = (0..batch)
        .map(|b| {
            (0..steps)
                .map(|t| flat[(b * steps + t) * n..(b * steps + t + 1) * n].to_vec())
                .collect()
        })
        .collect();
    Ok((seqs, batched))
}

/// `rows` (per sequence, per timestep) as a numpy array, without the batch
/// axis unless `batched`.
pub(crate) fn array<'py>(
    py: Python<'py>,
    rows: Vec<Vec<Vec<f64>>>,
    batched: bool,
) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
    let b = rows.len();
    let t = rows.first().map_or(0, Vec::len);
    let c = rows.first().and_then(|s| s.first()).map_or(0, Vec::len);
    let data: Vec<f64> = rows.into_iter().flatten().flatten().collect();
    let shape = if batched { vec![b, t, c] } else { vec![t, c] };
    let a = Array::from_shape_vec(IxDyn(&shape), data).map_err(err)?;
    Ok(a.into_pyarray(py))
}

/// The logits' format.
pub(crate) fn logits_format(m: &Model) -> Format {
    match &m.head {
        Head::Dense(h) => h.logits,
        Head::LightRnn(h) => h.logits,
    }
}

/// A hardware configuration from keyword arguments, through the command
/// line's own parser (so `lanes="auto"` and every check are the same).
#[derive(Parser)]
pub(crate) struct HwCli {
    #[command(flatten)]
    hw: HwArgs,
}

pub(crate) fn hw_args(
    lanes: Option<&Bound<'_, PyAny>>,
    rows: Option<&Bound<'_, PyAny>>,
    target: Option<&str>,
    clock_mhz: Option<f64>,
) -> PyResult<HwArgs> {
    let mut args = vec!["lstm_accel".to_string()];
    for (flag, v) in [("--lanes", lanes), ("--rows", rows)] {
        if let Some(v) = v {
            args.push(flag.into());
            args.push(v.str()?.to_string());
        }
    }
    if let Some(t) = target {
        args.extend(["--target".into(), t.into()]);
    }
    if let Some(c) = clock_mhz {
        args.extend(["--clock-mhz".into(), c.to_string()]);
    }
    HwCli::try_parse_from(args)
        .map(|c| c.hw)
        .map_err(|e| LstmAccelError::new_err(e.to_string()))
}

pub(crate) fn parse_board(board: Option<&str>) -> PyResult<Option<Board>> {
    board
        .map(str::parse::<Board>)
        .transpose()
        .map_err(|e| LstmAccelError::new_err(e.to_string()))
}
