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

use anyhow::Context;
use clap::Parser;
use lstm_accel_cli::engines::{self, Backend, EngineSetup};
use lstm_accel_cli::spec_cmd::{derive_spec, HwArgs};
use lstm_accel_cli::synth::{flow_for, Placement};
use lstm_accel_compress::{quantize_model, QuantSpec};
use lstm_accel_hdl::board::Board;
use lstm_accel_model::fixed::Format;
use lstm_accel_model::float::{FloatModel, FloatRunner};
use lstm_accel_model::import::{import_safetensors, ImportNames};
use lstm_accel_model::model::Head;
use lstm_accel_model::reference::Reference;
use lstm_accel_model::trace::StepTrace;
use lstm_accel_model::Model;
use lstm_accel_sim::StreamWord;
use lstm_accel_verify::icarus_check::stream_words;
use numpy::ndarray::{Array, IxDyn};
use numpy::{IntoPyArray, PyArrayDyn, PyReadonlyArrayDyn};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::path::{Path, PathBuf};

pyo3::create_exception!(
    lstm_accel,
    LstmAccelError,
    pyo3::exceptions::PyException,
    "An error of lstm-accel; the message is the tool's own (what was wrong and where)."
);

/// The Python exception of any error.
fn err(e: impl Into<anyhow::Error>) -> PyErr {
    LstmAccelError::new_err(format!("{:#}", e.into()))
}

/// A serde value as a Python object, through `json.loads`.
fn to_py<'py>(py: Python<'py>, v: &impl serde::Serialize) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(v).map_err(err)?;
    py.import("json")?.call_method1("loads", (text,))
}

/// A quantization spec given as a dict, a JSON string or a path to a JSON
/// file.
fn quant_spec(py: Python<'_>, spec: Option<&Bound<'_, PyAny>>) -> PyResult<Option<QuantSpec>> {
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
fn sequences(
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
fn array<'py>(
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
fn logits_format(m: &Model) -> Format {
    match &m.head {
        Head::Dense(h) => h.logits,
        Head::LightRnn(h) => h.logits,
    }
}

/// A hardware configuration from keyword arguments, through the command
/// line's own parser (so `lanes="auto"` and every check are the same).
#[derive(Parser)]
struct HwCli {
    #[command(flatten)]
    hw: HwArgs,
}

fn hw_args(
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

fn parse_board(board: Option<&str>) -> PyResult<Option<Board>> {
    board
        .map(str::parse::<Board>)
        .transpose()
        .map_err(|e| LstmAccelError::new_err(e.to_string()))
}

/// A compressed LSTM: the accelerator's model and its float twin.
#[pyclass(name = "Model", module = "lstm_accel", frozen)]
struct PyModel {
    model: Model,
    /// The float network: as imported (state dict, ONNX), or the model
    /// file's decoded weights.
    float: FloatModel,
    source: String,
}

#[pymethods]
impl PyModel {
    /// The model's name.
    #[getter]
    fn name(&self) -> String {
        self.model.name.clone()
    }

    /// Inputs per timestep.
    #[getter]
    fn inputs(&self) -> usize {
        self.model.input.size
    }

    /// Classes of the head.
    #[getter]
    fn classes(&self) -> usize {
        self.model.head.classes()
    }

    fn __repr__(&self) -> String {
        let cells: Vec<String> = self
            .model
            .layers
            .iter()
            .map(|l| l.hidden.to_string())
            .collect();
        format!(
            "lstm_accel.Model({:?}: {} inputs, layers of {} cells, {} classes, from {})",
            self.model.name,
            self.inputs(),
            cells.join(", "),
            self.classes(),
            self.source
        )
    }

    /// Layers, encodings, weight bits and accumulator widths, as `lstm-accel
    /// info --json` gives them.
    fn info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &lstm_accel_cli::report::summarize(&self.model))
    }

    /// Writes the model file.
    fn save(&self, path: PathBuf) -> PyResult<()> {
        self.model.save(&path).map_err(err)
    }

    /// The bit-exact reference's logits of every timestep, as floats:
    /// `x` is `[timesteps, inputs]` or `[batch, timesteps, inputs]`,
    /// quantized by the model's input format; each sequence starts from zero
    /// state.
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
        let (seqs, batched) = sequences(py, x, self.inputs())?;
        let format = logits_format(&self.model);
        let mut reference = Reference::new(&self.model).map_err(err)?;
        let mut out = Vec::with_capacity(seqs.len());
        for s in &seqs {
            reference.reset();
            let mut steps = Vec::with_capacity(s.len());
            for frame in s {
                let q = reference.quantize_frame(frame);
                reference.step(&q).map_err(err)?;
                steps.push(
                    reference
                        .logits()
                        .iter()
                        .map(|&v| format.to_f64(v))
                        .collect(),
                );
            }
            out.push(steps);
        }
        array(py, out, batched)
    }

    /// The float twin's logits, in the shapes of `predict`: the network in
    /// f32 arithmetic as the imported file holds it (for a model file, its
    /// decoded weights and biases).
    fn predict_float<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
        let (seqs, batched) = sequences(py, x, self.inputs())?;
        let mut out = Vec::with_capacity(seqs.len());
        for s in &seqs {
            let mut run = FloatRunner::new(&self.float);
            out.push(
                s.iter()
                    .map(|frame| {
                        run.step(frame);
                        run.logits().iter().map(|&v| f64::from(v)).collect()
                    })
                    .collect(),
            );
        }
        array(py, out, batched)
    }

    /// Every timestep of the bit-exact reference on one sequence `x`
    /// (`[timesteps, inputs]`), as floats: per layer `preact` and `gates`
    /// (`[timesteps, 4 * cells]`, gate order i, f, g, o), `c` and `h`
    /// (`[timesteps, cells]`), and `y` for a projected layer; `logits` and
    /// `classes`.
    fn trace<'py>(&self, py: Python<'py>, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
        let (seqs, batched) = sequences(py, x, self.inputs())?;
        if batched {
            return Err(LstmAccelError::new_err(
                "trace takes one sequence, [timesteps, inputs]",
            ));
        }
        let mut reference = Reference::new(&self.model).map_err(err)?;
        let mut steps: Vec<StepTrace<i64>> = Vec::new();
        for frame in &seqs[0] {
            let q = reference.quantize_frame(frame);
            let mut t = StepTrace::default();
            reference.step_traced(&q, &mut t).map_err(err)?;
            steps.push(t);
        }
        let series =
            |f: &dyn Fn(&StepTrace<i64>) -> Vec<f64>| -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
                array(py, vec![steps.iter().map(f).collect()], false)
            };
        let layers = PyList::empty(py);
        for (k, l) in self.model.layers.iter().enumerate() {
            let d = PyDict::new(py);
            let fm = l.formats;
            let conv = |v: &[i64], f: Format| v.iter().map(|&x| f.to_f64(x)).collect::<Vec<f64>>();
            d.set_item("preact", series(&|s| conv(&s.layers[k].preact, fm.preact))?)?;
            d.set_item("gates", series(&|s| conv(&s.layers[k].act, fm.gate))?)?;
            d.set_item("c", series(&|s| conv(&s.layers[k].c, fm.cell))?)?;
            d.set_item("h", series(&|s| conv(&s.layers[k].h, fm.hidden))?)?;
            if l.projection.is_some() {
                let pf = l.output_format();
                d.set_item(
                    "y",
                    series(&|s| conv(s.layers[k].y.as_deref().unwrap_or(&[]), pf))?,
                )?;
            }
            layers.append(d)?;
        }
        let out = PyDict::new(py);
        out.set_item("layers", layers)?;
        let lf = logits_format(&self.model);
        out.set_item(
            "logits",
            series(&|s| s.logits.iter().map(|&v| lf.to_f64(v)).collect())?,
        )?;
        out.set_item(
            "classes",
            steps.iter().map(|s| s.class).collect::<Vec<usize>>(),
        )?;
        Ok(out)
    }

    /// The accelerator spec (memory map, schedule, predicted cycles per
    /// frame, resource and clock estimate) as `lstm-accel spec --json`
    /// gives it; `lanes` and `rows` take counts or `"auto"`.
    #[pyo3(signature = (lanes=None, rows=None, target=None, clock_mhz=None))]
    fn spec<'py>(
        &self,
        py: Python<'py>,
        lanes: Option<&Bound<'py, PyAny>>,
        rows: Option<&Bound<'py, PyAny>>,
        target: Option<&str>,
        clock_mhz: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let hw = hw_args(lanes, rows, target, clock_mhz)?
            .config_for(&self.model)
            .map_err(err)?;
        let spec = derive_spec(&self.model, &hw).map_err(err)?;
        let d = to_py(py, &spec)?;
        d.set_item("cycles_per_frame", spec.cycles_per_frame())?;
        Ok(d)
    }

    /// Writes the accelerator into `dir` (Verilog, spec, memory images,
    /// FuseSoC core; with `board`, its top and constraints), as `lstm-accel
    /// generate` does; returns the files and the predicted cycles.
    #[pyo3(signature = (dir, lanes=None, rows=None, target=None, clock_mhz=None, board=None))]
    #[allow(clippy::too_many_arguments)]
    fn generate<'py>(
        &self,
        py: Python<'py>,
        dir: PathBuf,
        lanes: Option<&Bound<'py, PyAny>>,
        rows: Option<&Bound<'py, PyAny>>,
        target: Option<&str>,
        clock_mhz: Option<f64>,
        board: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let hw = hw_args(lanes, rows, target, clock_mhz)?
            .config_for(&self.model)
            .map_err(err)?;
        let board = parse_board(board)?;
        let rep = lstm_accel_cli::generate::generate_files(&self.model, &hw, &dir, board, 115_200)
            .map_err(err)?;
        to_py(py, &rep)
    }

    /// Runs the generated design cycle-accurately in `engine` (`native`,
    /// `verilator` or `icarus`) on `x` (shapes of `predict`) and
    /// cross-checks every class, logit and cycle count against the
    /// reference; returns the report (`mismatches` empty when they agree).
    /// With `check=True` (the default) a mismatch raises.
    #[pyo3(signature = (x, engine="native", lanes=None, rows=None, read_state=false, check=true))]
    #[allow(clippy::too_many_arguments)]
    fn simulate<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        engine: &str,
        lanes: Option<&Bound<'py, PyAny>>,
        rows: Option<&Bound<'py, PyAny>>,
        read_state: bool,
        check: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let backend = <Backend as clap::ValueEnum>::from_str(engine, true).map_err(|_| {
            LstmAccelError::new_err(format!(
                "engine '{engine}': give native, verilator or icarus"
            ))
        })?;
        let hw = hw_args(lanes, rows, None, None)?
            .config_for(&self.model)
            .map_err(err)?;
        let spec = derive_spec(&self.model, &hw).map_err(err)?;
        let (seqs, _) = sequences(py, x, self.inputs())?;
        let reference = Reference::new(&self.model).map_err(err)?;
        let quantized: Vec<Vec<Vec<i32>>> = seqs
            .iter()
            .map(|s| s.iter().map(|f| reference.quantize_frame(f)).collect())
            .collect();
        let setup = EngineSetup {
            backend,
            read_state,
            threads: 1,
            ..EngineSetup::native(false)
        };
        let model = &self.model;
        let report = py
            .detach(|| engines::simulate(model, &spec, &quantized, &setup))
            .map_err(err)?;
        if check && !report.check.mismatches.is_empty() {
            return Err(LstmAccelError::new_err(format!(
                "the {engine} engine differs from the reference in {} places; the first: {:?}",
                report.check.mismatches.len(),
                report.check.mismatches[0]
            )));
        }
        to_py(py, &report)
    }

    /// The stream of a cross-check on `x` (shapes of `predict`), for a test
    /// bench of the user's own: `input` holds the packets the host sends
    /// from power-up (weight loads, frames, state reads, status) and
    /// `expected` the packets the design must answer, each a list of 32-bit
    /// words whose last has `tlast`. The design is `generate`'s for the same
    /// `lanes` and `rows`.
    #[pyo3(signature = (x, lanes=None, rows=None, read_state=false))]
    fn stream<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        lanes: Option<&Bound<'py, PyAny>>,
        rows: Option<&Bound<'py, PyAny>>,
        read_state: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let hw = hw_args(lanes, rows, None, None)?
            .config_for(&self.model)
            .map_err(err)?;
        let spec = derive_spec(&self.model, &hw).map_err(err)?;
        let (seqs, _) = sequences(py, x, self.inputs())?;
        let reference = Reference::new(&self.model).map_err(err)?;
        let quantized: Vec<Vec<Vec<i32>>> = seqs
            .iter()
            .map(|s| s.iter().map(|f| reference.quantize_frame(f)).collect())
            .collect();
        let (input, expected) =
            stream_words(&self.model, &spec, &quantized, read_state).map_err(err)?;
        let split = |words: &[StreamWord]| -> Vec<Vec<u32>> {
            words
                .split_inclusive(|w| w.last)
                .map(|p| p.iter().map(|w| w.data).collect())
                .collect()
        };
        let d = PyDict::new(py);
        d.set_item("input", split(&input))?;
        d.set_item("expected", split(&expected))?;
        Ok(d)
    }

    /// Synthesises the accelerator with Yosys and nextpnr for `target`
    /// (`ice40-up5k`, `ice40-hx8k`, `ecp5-25k`, `ecp5-85k`) in `out`, as
    /// `lstm-accel synth` does, and returns its report (resources, Fmax,
    /// critical path). With `board` (`icebreaker`, `ulx3s`) the design is
    /// the board's: the accelerator behind its UART bridge, with the
    /// board's pins, PLL and part (the bare accelerator's stream ports need
    /// more pins than an iCE40 UP5K has).
    #[pyo3(signature = (target="ecp5-85k", out="synth", lanes=None, rows=None, clock_mhz=None, board=None, seed=1))]
    #[allow(clippy::too_many_arguments)]
    fn synth<'py>(
        &self,
        py: Python<'py>,
        target: &str,
        out: &str,
        lanes: Option<&Bound<'py, PyAny>>,
        rows: Option<&Bound<'py, PyAny>>,
        clock_mhz: Option<f64>,
        board: Option<&str>,
        seed: u32,
    ) -> PyResult<Bound<'py, PyAny>> {
        let hw = hw_args(lanes, rows, Some(target), clock_mhz)?
            .config_for(&self.model)
            .map_err(err)?;
        let board = parse_board(board)?;
        let model = &self.model;
        let placement = Placement {
            seed,
            ..Placement::default()
        };
        let out = Path::new(out);
        let rep = py
            .detach(|| flow_for(model, hw, board, 115_200, placement, out, false))
            .map_err(err)?;
        to_py(py, &rep)
    }
}

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
