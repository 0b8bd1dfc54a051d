//! The layout of the generated design: how the spec's memories are split
//! into banks and addressed, and the constants each layer's part of the
//! program uses, derived from the model by [`derive_layout`]. The sequencer,
//! the stream controller, the host's packer and the simulators all read it
//! from the spec.
//!
//! - Weight memory: one word per cycle of `lanes` codes, split into
//!   `weight_banks` banks of `lanes_per_bank` codes (at most 32 bits each), so
//!   that one 32-bit stream word fills one bank word; loaded bank-minor
//!   (stream word `k` goes to bank `k % banks`, address `k / banks`).
//! - Data memory: one bank per lane, `data_width` bits (the widest input or
//!   hidden format, values sign-extended). Element `j` of a vector lives in
//!   bank `j % lanes` at word `base + j / lanes`, so a read of one address gives
//!   the MAC array a whole word of the vector. Regions: the input frame, then per
//!   layer two output buffers (the recurrence reads y(t-1) from one while y(t)
//!   is written to the other; they swap every frame), and for a projected layer
//!   a scratch buffer for its h(t), which the projection reads to write y(t)
//!   (`y = h` without a projection).
//! - Bias and row-shift memories: one entry per row in program order (gate
//!   rows cell-major, gates i f g o, then the layer's projection rows, whose
//!   bias entries are zero; then the head's rows; a LightRNN head's row
//!   logits, then its column logits).
//! - Phases: the sequencer's program runs phase by phase, each phase one
//!   matrix pass with its own constants and rounding point, numbered
//!   ([`Phase`]): the layers `0..L`, the head `L`, a LightRNN head's columns
//!   `L + 1`, then the projections of the projected layers in layer order.
//!   Matrix ids are `2 * phase` (a layer's input matrix, the head, a
//!   projection) and `2 * phase + 1` (a layer's recurrent matrix).
//! - Codebook tables (models with codebook matrices only): per matrix id
//!   [`CODEBOOK_ENTRIES`]
//!   entries, each the lane code (sign and shift) of a codebook value; the
//!   weight memory holds the indices.
//! - Class table (LightRNN heads only): the `rows x cols` table of classes,
//!   row-major, -1 for an empty cell.
//! - Alignments: the left shift that brings a product term or a bias to the
//!   fraction of the exact sum it joins; the word shift is the matrix's
//!   alignment plus the row's own power-of-two scale.

use crate::blocks::ram::Ram;
use crate::spec::SpecError;
use lstm_accel_model::encoding::{Matrix, ScalarCode};
use lstm_accel_model::fixed::{unsigned_bits, Format};
use lstm_accel_model::model::{Head, Model};
use serde::{Deserialize, Serialize};

/// Widest stream word and weight bank word.
pub const STREAM_BITS: u32 = 32;

/// Entries of every matrix's codebook table (the model's largest codebook).
pub const CODEBOOK_ENTRIES: usize = lstm_accel_model::encoding::scalar::MAX_CODEBOOK;

/// One layer's constants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerLayout {
    /// Cells.
    pub hidden: usize,
    /// Data words of the layer's input vector.
    pub x_words: usize,
    /// Data words of its recurrent vector (the output y: h, or the
    /// projection).
    pub h_words: usize,
    /// Entries of the output vector (`hidden` without a projection).
    #[serde(default)]
    pub outputs: usize,
    /// Data-memory words of the two output buffers (`h_words` each).
    pub h_buffers: [usize; 2],
    /// First cell-memory address of the layer.
    pub cell_base: usize,
    /// First bias / row-shift entry of the layer.
    pub row_base: usize,
    /// Left shift of the input part's products into the gate sum.
    pub align_x: u32,
    /// Left shift of the recurrent part's products.
    pub align_h: u32,
    /// Left shift of the bias into the gate sum.
    pub align_bias: u32,
    /// Fraction of the exact gate sum.
    pub acc_frac: i32,
    /// Pre-activation format.
    pub preact: Format,
    /// The layer's projection `y = P h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projection: Option<ProjectionLayout>,
}

/// A projected layer's projection phase: `P h(t)` from the scratch buffer,
/// rounded to the projection format, written to the layer's output buffer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectionLayout {
    /// Its phase index.
    pub phase: usize,
    /// Rows (the output vector's entries).
    pub rows: usize,
    /// Data words of h (weight words per row).
    pub words: usize,
    /// Data-memory word of the scratch buffer h(t) is written to.
    pub scratch: usize,
    /// First bias / row-shift entry (zero biases).
    pub row_base: usize,
    /// Left shift of the products into the exact sum.
    pub align: u32,
    /// Fraction of the exact sum.
    pub acc_frac: i32,
    /// Format of y.
    pub format: Format,
}

/// A phase of the sequencer's program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// A layer's gate rows.
    Layer(usize),
    /// The head (a LightRNN head's row logits).
    Head,
    /// A LightRNN head's column logits.
    Columns,
    /// A layer's projection.
    Projection(usize),
}

/// The column part of a LightRNN head: its logits follow the row logits,
/// computed from the same features with their own alignments and fraction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LightRnnLayout {
    /// Table rows (row logits, the first ones of the head).
    pub rows: usize,
    /// Table columns (column logits, after the row logits).
    pub cols: usize,
    /// Left shift of the column products.
    pub align: u32,
    /// Left shift of the column bias.
    pub align_bias: u32,
    /// Fraction of the exact column-logit sum.
    pub acc_frac: i32,
    /// Bits of a table entry (a class or -1, signed).
    pub class_width: u32,
}

/// The head's constants (of its row part for a LightRNN head).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadLayout {
    /// Logits (row and column logits for a LightRNN head).
    pub rows: usize,
    /// Data words of the feature vector.
    pub words: usize,
    /// First bias entry.
    pub row_base: usize,
    /// Left shift of the products.
    pub align: u32,
    /// Left shift of the bias.
    pub align_bias: u32,
    /// Fraction of the exact logit sum.
    pub acc_frac: i32,
    /// Logit format.
    pub logits: Format,
    /// The column part and class table of a LightRNN head.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub light_rnn: Option<LightRnnLayout>,
}

impl HeadLayout {
    /// Logits of the first head phase: all of a dense head's, a LightRNN
    /// head's row logits.
    pub fn first_rows(&self) -> usize {
        self.light_rnn.as_ref().map_or(self.rows, |l| l.rows)
    }
}

/// Banks, regions and constants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    /// Lanes.
    pub lanes: usize,
    /// Bits of a weight code slot in memory.
    pub code_bits: u32,
    /// Bits of a lane's code (sign and magnitude): the memory slot's, or
    /// wider where a codebook's shifts need it.
    #[serde(default)]
    pub lane_code_bits: u32,
    /// Per matrix id: its codes are codebook indices.
    #[serde(default)]
    pub codebooks: Vec<bool>,
    /// The lanes multiply by weight values (a codebook's entries are not all
    /// powers of two); `lane_code_bits` is then the values' width.
    #[serde(default)]
    pub lane_values: bool,
    /// Codes per weight bank word.
    pub lanes_per_bank: usize,
    /// Weight banks.
    pub weight_banks: usize,
    /// Weight words (addresses of every bank).
    pub weight_words: usize,
    /// Bits of a data-memory bank word.
    pub data_width: u32,
    /// Words of every data bank.
    pub data_words: usize,
    /// Input frame values.
    pub input_size: usize,
    /// Input frame words (region at address 0).
    pub input_words: usize,
    /// Input format.
    pub input: Format,
    /// Cell-memory words.
    pub cells: usize,
    /// Bits of a cell-memory word.
    pub cell_width: u32,
    /// Bias / row-shift entries.
    pub rows: usize,
    /// Bits of a bias-memory word.
    pub bias_width: u32,
    /// Whether any matrix has per-row scales (a row-shift memory exists).
    pub row_shifts: bool,
    /// Bits of one row shift (the entry holds the input part's, then the
    /// recurrent part's).
    pub row_shift_bits: u32,
    /// Bits of the exact-sum accumulator (widest over layers and head).
    pub acc_width: u32,
    /// Per layer.
    pub layers: Vec<LayerLayout>,
    /// The head.
    pub head: HeadLayout,
}

impl Layout {
    /// Matrix ids: two per phase (see the module documentation).
    pub fn matrix_ids(&self) -> usize {
        2 * self.phase_count()
    }

    /// Phases of the program.
    pub fn phase_count(&self) -> usize {
        self.layers.len()
            + 1
            + usize::from(self.head.light_rnn.is_some())
            + self
                .layers
                .iter()
                .filter(|l| l.projection.is_some())
                .count()
    }

    /// What phase `p` runs.
    pub fn phase(&self, p: usize) -> Phase {
        let nl = self.layers.len();
        if p < nl {
            return Phase::Layer(p);
        }
        if p == nl {
            return Phase::Head;
        }
        if p == nl + 1 && self.head.light_rnn.is_some() {
            return Phase::Columns;
        }
        self.layers
            .iter()
            .position(|l| l.projection.as_ref().is_some_and(|x| x.phase == p))
            .map_or(Phase::Head, Phase::Projection)
    }

    /// The phase after layer `l`'s last write: its projection, the next
    /// layer or the head.
    pub fn after_layer(&self, l: usize) -> usize {
        match &self.layers[l].projection {
            Some(p) => p.phase,
            None => l + 1,
        }
    }

    /// Where layer `l` writes its h(t) in a frame of parity `p`: the output
    /// buffer, or a projected layer's scratch buffer.
    pub fn h_target(&self, l: usize, p: usize) -> usize {
        match &self.layers[l].projection {
            Some(x) => x.scratch,
            None => self.h_write_base(l, p),
        }
    }

    /// Whether any matrix is a codebook (the design has codebook tables).
    pub fn has_codebooks(&self) -> bool {
        self.codebooks.iter().any(|&c| c)
    }

    /// Stream words of one full weight load.
    pub fn weight_stream_words(&self) -> usize {
        self.weight_words * self.weight_banks
    }

    /// Bits of weight bank `b`.
    pub fn bank_bits(&self, b: usize) -> u32 {
        let lanes = (self.lanes - b * self.lanes_per_bank).min(self.lanes_per_bank);
        lanes as u32 * self.code_bits
    }

    /// The data-memory word layer `l` reads its input from in a frame of
    /// parity `p` (0 or 1): the input frame, or the h buffer the previous
    /// layer writes in this frame.
    pub fn x_base(&self, l: usize, p: usize) -> usize {
        match l {
            0 => 0,
            _ => self.layers[l - 1].h_buffers[1 - p],
        }
    }

    /// The h buffer layer `l` reads h(t-1) from in a frame of parity `p`.
    pub fn h_read_base(&self, l: usize, p: usize) -> usize {
        self.layers[l].h_buffers[p]
    }

    /// The h buffer layer `l` writes h(t) to in a frame of parity `p`.
    pub fn h_write_base(&self, l: usize, p: usize) -> usize {
        self.layers[l].h_buffers[1 - p]
    }

    /// Where the head reads its features in a frame of parity `p`.
    pub fn head_base(&self, p: usize) -> usize {
        match self.layers.len() {
            0 => 0,
            n => self.layers[n - 1].h_buffers[1 - p],
        }
    }
}

/// The widths of the design's control and address signals, derived once
/// from the layout and read by every block that carries them. Addresses are
/// [`Ram::address_width`] wide, so they stay non-negative as signed signals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Widths {
    /// A weight-memory address.
    pub weight_addr_bits: usize,
    /// A data-memory address.
    pub data_addr_bits: usize,
    /// A bias / row-shift address.
    pub row_addr_bits: usize,
    /// A cell-memory address.
    pub cell_addr_bits: usize,
    /// A logit-memory address.
    pub logit_addr_bits: usize,
    /// A class-table address (LightRNN heads).
    pub table_addr_bits: usize,
    /// A matrix id.
    pub matrix_bits: usize,
    /// The load address (weights, biases, row shifts, class table).
    pub load_addr_bits: usize,
    /// A lane index.
    pub lane_bits: usize,
    /// A MAC or bias shift (the widest alignment plus the widest row shift).
    pub shift_bits: usize,
    /// The phase index (a layer, the head, a LightRNN head's columns).
    pub phase_bits: usize,
    /// The class (the arg-max's index over the logits, or a LightRNN
    /// table entry, signed).
    pub class_bits: usize,
    /// The widest pre-activation or logit.
    pub value_width: usize,
}

impl Layout {
    /// The widths of the design's control and address signals.
    pub fn widths(&self) -> Widths {
        let aw = |n: usize| Ram::address_width(n.max(1));
        let max_row_shift = if self.row_shifts {
            (1u64 << self.row_shift_bits) - 1
        } else {
            0
        };
        let max_shift = self
            .layers
            .iter()
            .flat_map(|l| [l.align_x, l.align_h, l.align_bias])
            .chain([self.head.align, self.head.align_bias])
            .chain(
                self.layers
                    .iter()
                    .filter_map(|l| l.projection.as_ref().map(|p| p.align)),
            )
            .chain(
                self.head
                    .light_rnn
                    .iter()
                    .flat_map(|l| [l.align, l.align_bias]),
            )
            .map(u64::from)
            .max()
            .unwrap_or(0)
            + max_row_shift;
        let (weight_addr_bits, row_addr_bits) = (aw(self.weight_words), aw(self.rows));
        let table_addr_bits = aw(self.head.light_rnn.as_ref().map_or(1, |l| l.rows * l.cols));
        Widths {
            weight_addr_bits,
            data_addr_bits: aw(self.data_words),
            row_addr_bits,
            cell_addr_bits: aw(self.cells),
            logit_addr_bits: aw(self.head.rows),
            table_addr_bits,
            matrix_bits: aw(self.matrix_ids()),
            load_addr_bits: weight_addr_bits
                .max(row_addr_bits)
                .max(table_addr_bits)
                .max(aw(self.matrix_ids() * CODEBOOK_ENTRIES)),
            lane_bits: aw(self.lanes),
            shift_bits: (64 - max_shift.leading_zeros()) as usize + 1,
            phase_bits: aw(self.phase_count()),
            class_bits: match &self.head.light_rnn {
                Some(l) => l.class_width as usize,
                None => aw(self.head.rows),
            },
            value_width: self
                .layers
                .iter()
                .map(|l| l.preact.width)
                .chain(
                    self.layers
                        .iter()
                        .filter_map(|l| l.projection.as_ref().map(|p| p.format.width)),
                )
                .chain([self.head.logits.width])
                .max()
                .unwrap_or(16) as usize,
        }
    }
}

/// Bits of the lane code a power-of-two codebook of `width`-bit entries
/// needs: a sign and a magnitude up to `width` (the entry `-2^(width-1)` is
/// a shift by `width - 1`).
pub fn codebook_lane_bits(width: u32) -> u32 {
    1 + (32 - width.leading_zeros())
}

/// Largest row shift a row-shift entry holds.
const ROW_SHIFT_BITS: u32 = 5;

fn align(acc_frac: i32, frac: i32, what: &str) -> Result<u32, SpecError> {
    u32::try_from(acc_frac - frac).map_err(|_| {
        SpecError::Config(format!(
            "{what}: fraction {frac} is finer than its sum's {acc_frac} (the model's datapath is inconsistent)"
        ))
    })
}

/// The model's matrices with their ids as the sequencer numbers them (see
/// [`Layout::matrix_ids`]) and their tensor paths.
pub fn matrices_by_id(model: &Model) -> Vec<(usize, String, &Matrix)> {
    let nl = model.layers.len();
    let mut v = Vec::new();
    let mut phase = nl + 1 + usize::from(matches!(model.head, Head::LightRnn(_)));
    for (l, x) in model.layers.iter().enumerate() {
        v.push((2 * l, format!("layers[{l}].w_x"), &x.w_x));
        v.push((2 * l + 1, format!("layers[{l}].w_h"), &x.w_h));
        if let Some(p) = &x.projection {
            v.push((2 * phase, format!("layers[{l}].projection"), &p.w));
            phase += 1;
        }
    }
    let head = model.head.matrices();
    let names = match &model.head {
        Head::Dense(_) => vec!["head.w"],
        Head::LightRnn(_) => vec!["head.row_w", "head.col_w"],
    };
    for (i, (m, name)) in head.into_iter().zip(names).enumerate() {
        v.push((2 * nl + 2 * i, name.to_string(), m));
    }
    v
}

/// Banks, regions and per-layer constants of `model`'s design with
/// `lanes` lanes, `code_bits`-bit weight slots and `weight_words` weight
/// words.
pub fn derive_layout(
    model: &Model,
    lanes: usize,
    code_bits: u32,
    weight_words: usize,
) -> Result<Layout, SpecError> {
    let dp = model.datapath();
    let lanes_per_bank = (STREAM_BITS / code_bits) as usize;
    // Matrix ids as the sequencer numbers them (see `Layout::matrix_ids`).
    let nl = model.layers.len();
    let nproj = model
        .layers
        .iter()
        .filter(|l| l.projection.is_some())
        .count();
    let light = usize::from(matches!(model.head, Head::LightRnn(_)));
    let mut codebooks = vec![false; 2 * (nl + 1 + light + nproj)];
    let mut lane_code_bits = code_bits;
    let ids = matrices_by_id(model);
    // With a codebook that is not all powers of two the lanes multiply: every
    // lane input is then a weight value, as wide as the widest weight.
    let mut lane_values = false;
    let mut value_bits = 2u32;
    for (id, _, m) in ids {
        if let Matrix::Dense(d) = m {
            value_bits = value_bits.max(unsigned_bits(d.values.code.max_abs_raw()) + 1);
            if let ScalarCode::Codebook { width, pow2, .. } = d.values.code {
                codebooks[id] = true;
                lane_values |= !pow2;
                lane_code_bits = lane_code_bits.max(codebook_lane_bits(width));
            }
        }
    }
    if lane_values {
        lane_code_bits = value_bits;
    }
    let input_words = model.input.size.div_ceil(lanes);
    let mut next = input_words;
    let (mut cell_base, mut row_base) = (0usize, 0usize);
    let mut layers = Vec::with_capacity(model.layers.len());
    let mut x_words = input_words;
    let per_row = |m: &Matrix| matches!(m, Matrix::Dense(d) if d.row_exp.is_some());
    let mut max_row_shift = 0u32;
    let mut proj_phase = nl + 1 + light;
    for (i, (l, d)) in model.layers.iter().zip(&dp.layers).enumerate() {
        let outputs = l.output_size();
        let h_words = outputs.div_ceil(lanes);
        let at = |what: &str| format!("layers[{i}].{what}");
        let h_buffers = [next, next + h_words];
        next += 2 * h_words;
        let projection = match (&l.projection, d.projection) {
            (Some(p), Some(acc)) => {
                let words = l.hidden.div_ceil(lanes);
                let x = ProjectionLayout {
                    phase: proj_phase,
                    rows: outputs,
                    words,
                    scratch: next,
                    row_base: row_base + 4 * l.hidden,
                    align: align(
                        acc.frac,
                        l.formats.hidden.frac + p.w.frac(),
                        &at("projection"),
                    )?,
                    acc_frac: acc.frac,
                    format: p.format,
                };
                proj_phase += 1;
                next += words;
                Some(x)
            }
            _ => None,
        };
        layers.push(LayerLayout {
            hidden: l.hidden,
            x_words,
            h_words,
            outputs,
            h_buffers,
            cell_base,
            row_base,
            align_x: align(d.gate.frac, d.input.frac + l.w_x.frac(), &at("w_x"))?,
            align_h: align(d.gate.frac, d.recurrent.frac + l.w_h.frac(), &at("w_h"))?,
            align_bias: align(d.gate.frac, l.bias.format.frac, &at("bias"))?,
            acc_frac: d.gate.frac,
            preact: l.formats.preact,
            projection,
        });
        cell_base += l.hidden;
        row_base += 4 * l.hidden + if l.projection.is_some() { outputs } else { 0 };
        x_words = h_words;
    }
    for (_, m) in model.matrices() {
        if let Matrix::Dense(dm) = m {
            for r in 0..dm.rows {
                max_row_shift = max_row_shift.max(dm.row_shift(r));
            }
        }
    }
    if max_row_shift >= 1 << ROW_SHIFT_BITS {
        return Err(SpecError::Config(format!(
            "a row scale spans {max_row_shift} powers of two, the row-shift memory holds at most {}",
            (1 << ROW_SHIFT_BITS) - 1
        )));
    }
    let head = match &model.head {
        Head::Dense(h) => {
            let acc = dp.head[0];
            let feat = model.feature_format();
            HeadLayout {
                rows: h.w.rows(),
                words: model.feature_size().div_ceil(lanes),
                row_base,
                align: align(acc.frac, feat.frac + h.w.frac(), "head.w")?,
                align_bias: align(acc.frac, h.bias.format.frac, "head.bias")?,
                acc_frac: acc.frac,
                logits: h.logits,
                light_rnn: None,
            }
        }
        Head::LightRnn(h) => {
            let (row, col) = (dp.head[0], dp.head[1]);
            let feat = model.feature_format();
            let cells = h.table.len();
            HeadLayout {
                rows: h.rows() + h.cols(),
                words: model.feature_size().div_ceil(lanes),
                row_base,
                align: align(row.frac, feat.frac + h.row_w.frac(), "head.row_w")?,
                align_bias: align(row.frac, h.row_bias.format.frac, "head.row_bias")?,
                acc_frac: row.frac,
                logits: h.logits,
                light_rnn: Some(LightRnnLayout {
                    rows: h.rows(),
                    cols: h.cols(),
                    align: align(col.frac, feat.frac + h.col_w.frac(), "head.col_w")?,
                    align_bias: align(col.frac, h.col_bias.format.frac, "head.col_bias")?,
                    acc_frac: col.frac,
                    // Classes 0..cells and -1, signed.
                    class_width: Ram::address_width(cells) as u32,
                }),
            }
        }
    };
    let data_width = model
        .layers
        .iter()
        .flat_map(|l| [l.output_format().width, l.formats.hidden.width])
        .chain([model.input.format.width])
        .max()
        .unwrap_or(16);
    let acc_width = dp
        .layers
        .iter()
        .flat_map(|d| [Some(d.gate.bits), d.projection.map(|p| p.bits)])
        .flatten()
        .chain(dp.head.iter().map(|a| a.bits))
        .max()
        .unwrap_or(16);
    let bias_width = model
        .layers
        .iter()
        .map(|l| l.bias.format.width)
        .chain(match &model.head {
            Head::Dense(h) => vec![h.bias.format.width],
            Head::LightRnn(h) => vec![h.row_bias.format.width, h.col_bias.format.width],
        })
        .max()
        .unwrap_or(16);
    Ok(Layout {
        lanes,
        code_bits,
        lane_code_bits,
        codebooks,
        lane_values,
        lanes_per_bank,
        weight_banks: lanes.div_ceil(lanes_per_bank),
        weight_words,
        data_width,
        data_words: next,
        input_size: model.input.size,
        input_words,
        input: model.input.format,
        cells: cell_base,
        cell_width: model
            .layers
            .iter()
            .map(|l| l.formats.cell.width)
            .max()
            .unwrap_or(16),
        rows: row_base + head.rows,
        bias_width,
        row_shifts: model.matrices().into_iter().any(|(_, m)| per_row(m)),
        row_shift_bits: ROW_SHIFT_BITS,
        acc_width,
        layers,
        head,
    })
}
