//! The accelerator spec: how a model runs on the hardware. Derived from a
//! model and a hardware configuration, validated, serialisable; the Verilog
//! generator, the simulators, the host's weight packer and the reports all
//! read it and none re-derives a width, an address or a cycle count.
//!
//! Weight memory: one word per cycle feeds the MAC arrays, `lanes` codes of
//! `code_bits` each per row engine ([`HwConfig::rows`]; with several the
//! rows below run in row groups, see the layout). Words are stored in the order the MAC array reads them,
//! so the sequencer only increments an address: per layer, cell-major, gates
//! i, f, g, o, each row its input words (`ceil(input / lanes)`) then its
//! recurrent words (`ceil(recurrent / lanes)`), a row's last word padded with
//! zero codes; then the layer's projection rows; then the head's rows. A
//! low-rank matrix's factor pass (`V`'s rows) comes before the rows that read
//! its intermediate, and those rows hold `U`'s codes (see the layout's
//! program order, [`Layout::program`]).

pub use crate::error::SpecError;
use crate::fmax_estimate::ClockEstimate;
pub use crate::hw_config::{HwConfig, WEIGHT_BANK_DEPTH};
use crate::layout::{code_matrices, codebook_lane_bits, derive_layout, Layout};
use crate::logic_estimate::{LogicEstimate, LogicTerms};
use crate::schedule::{schedule, Pass, Pipeline, Schedule};
use lstm_accel_model::activation::Function;
use lstm_accel_model::encoding::{Dense, Matrix, ScalarCode};
use lstm_accel_model::model::{Datapath, Head, Model};
use serde::{Deserialize, Serialize};

/// Version of the serialised spec.
pub const SPEC_VERSION: u32 = 1;

/// Where a memory is placed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// Block RAM.
    BlockRam,
    /// Single-port RAM (iCE40 UP5K).
    Spram,
    /// Logic: flip-flops and LUTs, or distributed RAM on ECP5 (small
    /// memories; see `Target::in_block_ram`).
    Logic,
}

/// One memory of the design.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Memory {
    /// Name, e.g. `weights`.
    pub name: String,
    /// Words.
    pub depth: usize,
    /// Bits per word.
    pub width: u32,
    /// Placement.
    pub placement: Placement,
    /// Blocks occupied (block RAMs or SPRAMs; 0 in logic).
    pub blocks: u32,
}

impl Memory {
    /// depth x width.
    pub fn bits(&self) -> u64 {
        self.depth as u64 * u64::from(self.width)
    }
}

/// Where one matrix lives in weight memory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatrixMap {
    /// Tensor path, e.g. `layers[0].w_x`.
    pub tensor: String,
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Weight words per row.
    pub words_per_row: usize,
    /// Bits of one code.
    pub code_bits: u32,
    /// Fraction bits of the weights (alignment shift into the accumulator).
    pub frac: i32,
    /// Whether rows have their own power-of-two scale (row shift memory).
    pub per_row_scale: bool,
}

/// One layer's part of the spec.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerSpec {
    /// Cells.
    pub hidden: usize,
    /// First weight word of the layer.
    pub weight_base: usize,
    /// Weight words of one gate row (input part + recurrent part).
    pub row_words: usize,
    /// Input matrix.
    pub w_x: MatrixMap,
    /// Recurrent matrix.
    pub w_h: MatrixMap,
    /// Projection matrix and its first weight word.
    pub projection: Option<(MatrixMap, usize)>,
    /// The gate unit that updates the layer's cells: layers of the same
    /// cell arithmetic share one, since only one layer's cells are in
    /// flight at a time ([`gate_units_of_layers`]).
    #[serde(default)]
    pub gate_unit: usize,
}

/// The head's part of the spec.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadSpec {
    /// First weight word.
    pub weight_base: usize,
    /// Logit rows (LightRNN: rows then columns).
    pub rows: usize,
    /// The matrices (LightRNN: row matrix then column matrix).
    pub matrices: Vec<MatrixMap>,
}

/// Resource estimate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// Bits of every memory.
    pub memory_bits: u64,
    /// Bits of the weight memory (codes plus padding).
    pub weight_memory_bits: u64,
    /// Block RAMs used / available.
    pub bram_blocks: (u32, u32),
    /// SPRAMs used / available.
    pub spram_blocks: (u32, u32),
    /// Multiply-accumulates per frame (every matrix dense).
    pub macs_per_frame: u64,
    /// `macs_per_frame / (rows * lanes)`: the bound no schedule beats.
    pub ideal_cycles: f64,
    /// `cycles_per_frame / ideal_cycles`.
    pub efficiency_ratio: f64,
    /// Latency of one frame at the target clock, microseconds.
    pub frame_latency_us: f64,
    /// Logic cells and flip-flops (an estimate, see
    /// [`crate::logic_estimate`]).
    #[serde(default)]
    pub logic: LogicEstimate,
    /// The clock the design is expected to reach and its latency per frame
    /// there (an estimate, see [`crate::fmax_estimate`]); none on the
    /// generic target.
    #[serde(default)]
    pub clock: Option<ClockEstimate>,
}

/// Everything about the accelerator, derived from model + configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AcceleratorSpec {
    /// Format version of this document.
    pub version: u32,
    /// Model name.
    pub model: String,
    /// The configuration.
    pub hw: HwConfig,
    /// Accumulator widths and formats (from the model).
    pub datapath: Datapath,
    /// Width of one weight code in memory.
    pub code_bits: u32,
    /// Width of one weight word (`rows * lanes * code_bits`: every row
    /// engine's codes, engine 0 in the low bits).
    pub word_bits: u32,
    /// Per layer.
    pub layers: Vec<LayerSpec>,
    /// The head.
    pub head: HeadSpec,
    /// Banks, regions and per-layer constants of the generated design.
    pub layout: Layout,
    /// Every memory.
    pub memories: Vec<Memory>,
    /// Pipeline depths.
    pub pipeline: Pipeline,
    /// The frame's schedule.
    pub schedule: Schedule,
    /// Resources and performance.
    pub estimate: Estimate,
}

/// Widest lane code (sign and magnitude) the shift-add lanes take.
const MAX_LANE_CODE_BITS: u32 = 5;

fn supported_dense(tensor: &str, d: &Dense) -> Result<(), SpecError> {
    supported_code(tensor, &d.values.code)
}

fn supported_code(tensor: &str, code: &ScalarCode) -> Result<(), SpecError> {
    match code {
        ScalarCode::Ternary { .. } | ScalarCode::Pow2 { .. } => Ok(()),
        ScalarCode::Codebook { pow2: true, width, .. }
            if codebook_lane_bits(*width) <= MAX_LANE_CODE_BITS =>
        {
            Ok(())
        }
        ScalarCode::Codebook { pow2: true, width, .. } => Err(SpecError::Unsupported {
            tensor: tensor.into(),
            encoding: format!(
                "a power-of-two codebook of {width}-bit entries (shifts up to {}; the lanes shift by at most 14)",
                width - 1
            ),
        }),
        // Any other codebook runs on multiplier lanes.
        ScalarCode::Codebook { pow2: false, .. } => Ok(()),
    }
}

fn supported(tensor: &str, m: &Matrix) -> Result<(), SpecError> {
    match m {
        Matrix::Dense(d) => supported_dense(tensor, d),
        Matrix::LowRank(lr) => {
            supported_dense(&format!("{tensor}.u"), &lr.u)?;
            supported_dense(&format!("{tensor}.v"), &lr.v)
        }
        // Block divisibility by the lanes is checked by the layout.
        Matrix::BlockToeplitz(b) | Matrix::BlockCirculant(b) => {
            supported_code(tensor, &b.values.code)
        }
        Matrix::ToeplitzLike(t) => {
            supported_code(&format!("{tensor}.g"), &t.g.code)?;
            supported_code(&format!("{tensor}.h"), &t.h.code)
        }
    }
}

fn map(tensor: String, m: &Matrix, lanes: usize) -> Result<MatrixMap, SpecError> {
    supported(&tensor, m)?;
    let codes = code_matrices(m);
    let code_bits = match m {
        Matrix::BlockToeplitz(b) | Matrix::BlockCirculant(b) => b.values.code.code_bits(),
        Matrix::ToeplitzLike(t) => t.g.code.code_bits().max(t.h.code.code_bits()),
        _ => codes
            .iter()
            .map(|d| d.values.code.code_bits())
            .max()
            .unwrap_or(0),
    };
    let per_row_scale = codes.iter().any(|d| d.row_exp.is_some());
    // A low-rank matrix's rows are U's: they read the rank-r intermediate.
    // A Toeplitz-like matrix's rows read their block row's part of u.
    let read = match m {
        Matrix::LowRank(lr) => lr.rank(),
        Matrix::ToeplitzLike(t) => t.cols.div_ceil(t.block) * t.rank * t.block,
        _ => m.cols(),
    };
    Ok(MatrixMap {
        rows: m.rows(),
        cols: m.cols(),
        words_per_row: read.div_ceil(lanes),
        code_bits,
        frac: m.frac(),
        per_row_scale,
        tensor,
    })
}

impl AcceleratorSpec {
    /// Derives and validates the spec.
    pub fn new(model: &Model, hw: &HwConfig) -> Result<AcceleratorSpec, SpecError> {
        hw.validate()?;
        model.validate()?;
        let lanes = hw.lanes;
        let mut layers = Vec::new();
        let gate_units = gate_units_of_layers(model);
        for (i, l) in model.layers.iter().enumerate() {
            let w_x = map(format!("layers[{i}].w_x"), &l.w_x, lanes)?;
            let w_h = map(format!("layers[{i}].w_h"), &l.w_h, lanes)?;
            let projection = match &l.projection {
                Some(p) => Some((map(format!("layers[{i}].projection"), &p.w, lanes)?, 0)),
                None => None,
            };
            layers.push(LayerSpec {
                hidden: l.hidden,
                weight_base: 0,
                row_words: w_x.words_per_row + w_h.words_per_row,
                w_x,
                w_h,
                projection,
                gate_unit: gate_units[i],
            });
        }
        let matrices = match &model.head {
            Head::Dense(h) => vec![map("head.w".into(), &h.w, lanes)?],
            // Row logits, then column logits (read from the same features).
            Head::LightRnn(h) => vec![
                map("head.row_w".into(), &h.row_w, lanes)?,
                map("head.col_w".into(), &h.col_w, lanes)?,
            ],
        };
        let mut head = HeadSpec {
            weight_base: 0,
            rows: matrices.iter().map(|m| m.rows).sum(),
            matrices,
        };
        let all_maps = || {
            layers
                .iter()
                .flat_map(|l| {
                    [&l.w_x, &l.w_h]
                        .into_iter()
                        .chain(l.projection.as_ref().map(|(m, _)| m))
                })
                .chain(head.matrices.iter())
        };
        // At least a sign and a magnitude bit (a 2-entry codebook's index
        // alone would be 1 bit).
        let code_bits = all_maps().map(|m| m.code_bits).max().unwrap_or(2).max(2);
        // Multiply-accumulates as the hardware runs them: a low-rank
        // matrix's two factors, a structured matrix's every entry.
        let macs: u64 = model
            .matrices()
            .into_iter()
            .map(|(_, m)| match m {
                Matrix::BlockToeplitz(_) | Matrix::BlockCirculant(_) => {
                    (m.rows() * m.cols()) as u64
                }
                // Both passes: u = Z-1(h) x per block pair and rank, then
                // the rows over u.
                Matrix::ToeplitzLike(t) => {
                    let (br, bc, k) = (t.rows.div_ceil(t.block), t.cols.div_ceil(t.block), t.block);
                    (br * bc * t.rank * k * k + t.rows * bc * t.rank * k) as u64
                }
                _ => code_matrices(m)
                    .iter()
                    .map(|d| (d.rows * d.cols) as u64)
                    .sum(),
            })
            .sum();
        // One weight word feeds every row engine: `lanes` codes each.
        let word_bits = code_bits * (lanes * hw.rows) as u32;
        // ECP5 designs give the activations a second output register.
        let ecp5 = hw.target.is_ecp5();
        let mut pipeline = Pipeline::new(lanes, hw.rows, hw.activation_units, ecp5);
        let mut layout = derive_layout(model, hw.target, lanes, hw.rows, code_bits, 0)?;
        // Weight words in program order: every pass's dense rows.
        let passes = layout.passes();
        let mut base = 0usize;
        for (pass, ph) in passes.iter().zip(layout.program()) {
            match *pass {
                Pass::Layer { layer, .. } => layers[layer].weight_base = base,
                Pass::Projection { layer, .. } => {
                    if let Some((_, at)) = layers[layer].projection.as_mut() {
                        *at = base;
                    }
                }
                Pass::Head { first_row: 0, .. } => head.weight_base = base,
                _ => {}
            }
            base += layout.weight_words_of(ph);
        }
        // At least one word: a model whose matrices are all structured
        // still has a (zero) weight memory to load.
        layout.weight_words = base.max(1);
        let banking = hw.weight_banking(layout.weight_words);
        if banking.is_some() {
            pipeline.weight_read_extra = (crate::datapath::ram::BANKED_READ_LATENCY - 1) as u64;
        }
        let tap_banking = hw.tap_banking(layout.tap_words);
        if layout.tap_banks > 0 {
            if tap_banking.is_some() {
                pipeline.tap_read_extra = (crate::datapath::ram::BANKED_READ_LATENCY - 1) as u64;
            } else if ecp5 {
                pipeline.tap_read_extra = 1;
            }
        }
        pipeline.mac_latency += pipeline.read_extra();
        let sched = schedule(&passes, hw.rows, hw.gate_units, pipeline);
        if hw.activation_units < 5 && sched.gate_waits > 0 {
            return Err(SpecError::Config(format!(
                "activation_units = {}: {} cells of a frame would reach the gate unit less than {} cycles after the one before, which it does not buffer (use activation_units = 5, or fewer lanes)",
                hw.activation_units, sched.gate_waits, pipeline.cell_interval
            )));
        }
        let memories = memories(
            hw,
            &layout,
            &activation_tables(model, &gate_units, hw.activation_units)?,
            banking,
            tap_banking,
        )?;
        let ideal = macs as f64 / (lanes * hw.rows) as f64;
        let res = hw.target.resources();
        let count = |p: Placement| {
            memories
                .iter()
                .filter(|m| m.placement == p)
                .map(|m| m.blocks)
                .sum()
        };
        let logic = LogicEstimate::new(&LogicTerms::of(&layout), res.luts);
        let bram_blocks = (count(Placement::BlockRam), res.bram_blocks);
        let clock = ClockEstimate::new(
            hw.target,
            f64::from(bram_blocks.0) / f64::from(bram_blocks.1.max(1)),
            hw.clock_mhz,
            sched.cycles_per_frame,
        );
        let estimate = Estimate {
            memory_bits: memories.iter().map(Memory::bits).sum(),
            weight_memory_bits: base as u64 * u64::from(word_bits)
                + layout.tap_words as u64 * u64::from(layout.tap_slots as u32 * code_bits),
            bram_blocks,
            spram_blocks: (count(Placement::Spram), res.spram_blocks),
            macs_per_frame: macs,
            ideal_cycles: ideal,
            efficiency_ratio: sched.cycles_per_frame as f64 / ideal,
            frame_latency_us: sched.cycles_per_frame as f64 / hw.clock_mhz,
            logic,
            clock,
        };
        Ok(AcceleratorSpec {
            version: SPEC_VERSION,
            model: model.name.clone(),
            hw: hw.clone(),
            datapath: model.datapath(),
            code_bits,
            word_bits,
            layers,
            head,
            layout,
            memories,
            pipeline,
            schedule: sched,
            estimate,
        })
    }

    /// Gate units the design instantiates (see [`gate_units_of_layers`]).
    pub fn gate_units_instanced(&self) -> usize {
        self.layers
            .iter()
            .map(|l| l.gate_unit + 1)
            .max()
            .unwrap_or(0)
    }

    /// Where the memory called `name` is placed (`None`: no such memory).
    pub fn placement_of(&self, name: &str) -> Option<Placement> {
        self.memories
            .iter()
            .find(|m| m.name == name)
            .map(|m| m.placement)
    }

    /// Predicted cycles per frame.
    pub fn cycles_per_frame(&self) -> u64 {
        self.schedule.cycles_per_frame
    }
}

/// The gate unit of each layer: the first layer of each distinct cell
/// arithmetic (the formats of its pre-activations, gates, cell and hidden
/// output, and its exact cell accumulator) gets the next unit, and a later
/// layer with the same arithmetic uses that unit again. The layers of a
/// time step run one after another, so a shared unit is never asked for
/// two layers' cells at once; on a small part the unit, with its five
/// activations, is a large share of the logic (on the iCE40 UP5K about
/// 940 LUTs and 670 carries with piecewise-linear activations).
pub fn gate_units_of_layers(model: &Model) -> Vec<usize> {
    let dp = model.datapath();
    let mut keys = Vec::new();
    model
        .layers
        .iter()
        .zip(&dp.layers)
        .map(|(l, d)| {
            let key = (l.formats, d.cell);
            keys.iter().position(|k| *k == key).unwrap_or_else(|| {
                keys.push(key);
                keys.len() - 1
            })
        })
        .collect()
}

/// The ROMs of the table-form activation units, as (name, entries, width):
/// per gate unit (`units`: [`gate_units_of_layers`]) its three sigmoids, its tanh
/// and the cell's tanh, named as in the design (`act_i[0]` is gate unit 0's
/// input gate); with fewer than five activation blocks the sigmoids share
/// one or two tables, named after their first gates (`act_i`, `act_f`).
/// Piecewise forms have none.
fn activation_tables(
    model: &Model,
    units: &[usize],
    activation_units: usize,
) -> Result<Vec<(String, usize, u32)>, SpecError> {
    let blocks = crate::datapath::gate_unit::block_gates(activation_units);
    let mut v = Vec::new();
    for (i, l) in model.layers.iter().enumerate() {
        if units[..i].contains(&units[i]) {
            continue;
        }
        let (layer, i) = (i, units[i]);
        let f = l.formats;
        for (gate, func, input) in [
            ("i", Function::Sigmoid, f.preact),
            ("f", Function::Sigmoid, f.preact),
            ("g", Function::Tanh, f.preact),
            ("o", Function::Sigmoid, f.preact),
            ("c", Function::Tanh, f.cell),
        ]
        .into_iter()
        .enumerate()
        .filter(|(g, _)| blocks.contains(g))
        .map(|(_, t)| t)
        {
            let unit = model.activation(func, input, f.gate).map_err(|e| {
                SpecError::Config(format!("layers[{layer}] activation of gate {gate}: {e}"))
            })?;
            if let Some(t) = unit.table() {
                v.push((format!("act_{gate}[{i}]"), t.len(), unit.output().width));
            }
        }
    }
    Ok(v)
}

/// Every memory of the generated design, placed; the weights go to SPRAM
/// when block RAM is short and the part has SPRAM. A memory of several
/// banks counts the blocks of each bank.
fn memories(
    hw: &HwConfig,
    lay: &Layout,
    activation_tables: &[(String, usize, u32)],
    weight_banking: Option<usize>,
    tap_banking: Option<usize>,
) -> Result<Vec<Memory>, SpecError> {
    let t = hw.target;
    // Each bank is its own memory in the Verilog, mapped on its own.
    let place_as = |name: &str, banks: &[u32], depth: usize, rom: bool| {
        let width: u32 = banks.iter().sum();
        let blocks: u32 = banks
            .iter()
            .filter(|&&w| t.in_block_ram(depth, w, rom))
            .map(|&w| t.bram_blocks_for(depth, w))
            .sum();
        Memory {
            name: name.into(),
            depth,
            width,
            placement: if blocks > 0 {
                Placement::BlockRam
            } else {
                Placement::Logic
            },
            blocks,
        }
    };
    let place = |name: &str, banks: &[u32], depth: usize| place_as(name, banks, depth, false);
    let weight_banks: Vec<u32> = (0..lay.weight_banks).map(|b| lay.bank_bits(b)).collect();
    let mut v = vec![place("weights", &weight_banks, lay.weight_words)];
    // On ECP5 the banked weights and a row-shift memory in block RAM are
    // `DP16KD` instances (their output register), of the RAM's own shapes.
    let ecp5 = t.is_ecp5();
    let blocks_of = |depth: usize, w: u32| {
        let inst = ecp5
            .then(|| crate::datapath::ram::dp16kd_blocks_for(depth, w as usize))
            .flatten();
        inst.unwrap_or_else(|| t.bram_blocks_for(depth, w))
    };
    // Each bank of the banked form is its own memory, all full depth.
    let banked_blocks = |widths: &[u32], words: usize, bd: usize| {
        words.div_ceil(bd) as u32 * widths.iter().map(|&w| blocks_of(bd, w)).sum::<u32>()
    };
    if let Some(bd) = weight_banking {
        v[0].blocks = banked_blocks(&weight_banks, lay.weight_words, bd);
    }
    if lay.tap_words > 0 {
        let tap_banks: Vec<u32> = (0..lay.tap_banks).map(|b| lay.tap_bank_bits(b)).collect();
        let mut taps = place("taps", &tap_banks, lay.tap_words);
        if let (Some(bd), Placement::BlockRam) = (tap_banking, taps.placement) {
            taps.blocks = banked_blocks(&tap_banks, lay.tap_words, bd);
        }
        v.push(taps);
    }
    // Bias and row-shift memories: a bank per row engine, every bank read
    // at the same address.
    let engines = lay.engines.max(1);
    if lay.row_shifts {
        let mut m = place(
            "row_shifts",
            &vec![2 * lay.row_shift_bits; engines],
            lay.rows,
        );
        if m.placement == Placement::BlockRam {
            m.blocks = engines as u32 * blocks_of(lay.rows, 2 * lay.row_shift_bits);
        }
        v.push(m);
    }
    v.push(place("biases", &vec![lay.bias_width; engines], lay.rows));
    v.push(place("cells", &[lay.cell_width], lay.cells));
    v.push(place(
        "data",
        &vec![lay.data_width; lay.lanes],
        lay.data_words,
    ));
    v.push(place("logits", &[lay.head.logits.width], lay.head.rows));
    if let Some(l) = &lay.head.light_rnn {
        v.push(place("class_table", &[l.class_width], l.rows * l.cols));
    }
    for (name, entries, width) in activation_tables {
        let mut m = place_as(name, &[*width], *entries, true);
        // On ECP5 a table in block RAM is `DP16KD` blocks of 18-bit words
        // (`ActivationBlock::with_dp16kd`).
        if ecp5 && m.placement == Placement::BlockRam && *entries <= 1024 {
            m.blocks = blocks_of(*entries, *width);
        }
        v.push(m);
    }
    let codebooks = lay.codebooks.iter().filter(|&&c| c).count();
    if codebooks > 0 {
        // Registers: every lane reads every entry of the current table;
        // each row engine's weight decoder holds its own copy.
        v.push(Memory {
            name: "codebooks".into(),
            depth: engines * codebooks * crate::layout::CODEBOOK_ENTRIES,
            width: lay.lane_code_bits,
            placement: Placement::Logic,
            blocks: 0,
        });
    }
    let res = t.resources();
    let used: u32 = v.iter().map(|m| m.blocks).sum();
    if used > res.bram_blocks {
        let w = &v[0];
        let spram: u32 = weight_banks
            .iter()
            .map(|&b| t.spram_blocks_for(w.depth, b))
            .sum();
        if res.spram_blocks > 0 && spram <= res.spram_blocks && used - w.blocks <= res.bram_blocks {
            v[0].placement = Placement::Spram;
            v[0].blocks = spram;
        } else {
            return Err(SpecError::DoesNotFit {
                what: format!(
                    "the memories ({} kbit, {} of them weights)",
                    v.iter().map(Memory::bits).sum::<u64>() / 1024,
                    v[0].bits() / 1024
                ),
                target: t,
                needed: u64::from(used),
                available: u64::from(res.bram_blocks),
                unit: format!("block RAMs of {} bits", res.bram_bits),
                detail: if res.spram_blocks > 0 {
                    format!(
                        "; with the weights in {spram} of its {} SPRAMs the other memories still need {} block RAMs (activation tables: {})",
                        res.spram_blocks,
                        used - w.blocks,
                        v.iter()
                            .filter(|m| m.name.starts_with("act_"))
                            .map(|m| m.blocks)
                            .sum::<u32>()
                    )
                } else {
                    " and no SPRAM".to_string()
                },
            });
        }
    }
    Ok(v)
}
