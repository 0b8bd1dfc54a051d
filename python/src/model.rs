//! `lstm_accel.Model`: a compressed LSTM with the verbs of the package
//! (predict, trace, spec, generate, stream, simulate, synth), each calling
//! what the command of the same name calls.

use lstm_accel_cli::engines::{self, Backend, EngineSetup};
use lstm_accel_cli::spec_cmd::derive_spec;
use lstm_accel_cli::synth::{flow_for, Placement};
use lstm_accel_model::fixed::Format;
use lstm_accel_model::float::{FloatModel, FloatRunner};
use lstm_accel_model::reference::Reference;
use lstm_accel_model::trace::StepTrace;
use lstm_accel_model::Model;
use lstm_accel_sim::StreamWord;
use lstm_accel_spec::AcceleratorSpec;
use lstm_accel_verify::icarus_check::stream_words;
use numpy::PyArrayDyn;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::path::{Path, PathBuf};

use crate::bridge::*;
use crate::LstmAccelError;

/// A compressed LSTM: the accelerator's model and its float twin.
#[pyclass(name = "Model", module = "lstm_accel", frozen)]
pub(crate) struct PyModel {
    pub(crate) model: Model,
    /// The float network: as imported (state dict, ONNX), or the model
    /// file's decoded weights.
    pub(crate) float: FloatModel,
    pub(crate) source: String,
}

impl PyModel {
    /// The spec of the design for `lanes` and `rows`, and `x`'s sequences
    /// quantized by the model's input format: what a run of the design takes.
    fn design_and_frames<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        lanes: Option<&Bound<'py, PyAny>>,
        rows: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<(AcceleratorSpec, Vec<Vec<Vec<i32>>>)> {
        let hw = hw_args(lanes, rows, None, None)?
            .config_for(&self.model)
            .map_err(err)?;
        let spec = derive_spec(&self.model, &hw).map_err(err)?;
        let (seqs, _) = sequences(py, x, self.inputs())?;
        let reference = Reference::new(&self.model).map_err(err)?;
        let quantized = seqs
            .iter()
            .map(|s| s.iter().map(|f| reference.quantize_frame(f)).collect())
            .collect();
        Ok((spec, quantized))
    }
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
        let (spec, quantized) = self.design_and_frames(py, x, lanes, rows)?;
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
        let (spec, quantized) = self.design_and_frames(py, x, lanes, rows)?;
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
