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
//!   ([`Phase`], [`Layout::phases`]): the layers `0..L`, the head `L`, a
//!   LightRNN head's columns `L + 1`, then per layer its factor passes and
//!   its projection, then the head's factor passes. They run in program
//!   order ([`Layout::program`]): per layer the factor passes `V x` and
//!   `V y(t-1)` of low-rank matrices, the gate rows, the projection's factor
//!   pass and the projection; then the head's factor pass, the head, the
//!   columns' factor pass and the columns. Matrix ids are `2 * phase` (a
//!   layer's input matrix, the head, a projection, a factor `V`) and
//!   `2 * phase + 1` (a layer's recurrent matrix); a low-rank matrix's `U`
//!   has the id of the matrix it stands for.
//! - Block-Toeplitz and block-circulant matrices (k x k blocks, the lanes a
//!   multiple or a divisor of k): no weight words; their block codes (2k-1 or
//!   k per block) live in the tap memory, one tap word per block row and MAC
//!   word (the `L / k` blocks a word covers when k divides L; one block, read
//!   for `k / L` words, when L divides k). Row `a` of a block row reads the
//!   same tap words as every other row of it; the weight decoder picks each
//!   lane's code out of the word by the window `a - b0` (`b0` the word's
//!   first column in its block): Toeplitz `t[a - b + k - 1]`, circulant
//!   `c[(a - b) mod k]`, `b` the lane's column in the block. Tap memory is
//!   `(2k-1)/k^2` (or `1/k`) of the dense words, and every product is still a
//!   shift-add lane's.
//! - Low-rank matrices `U V`: the factor pass writes the exact `t = V v`
//!   (no rounding, at `v`'s fraction plus `V`'s, as wide as its bound) to a
//!   scratch buffer in the data memory, and the rows of `U` read `t` there
//!   instead of `v`; the data memory is as wide as the widest `t`.
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
use crate::schedule::Pass;
use crate::spec::SpecError;
use lstm_accel_model::encoding::{Dense, Matrix, ScalarCode};
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
    /// A low-rank input matrix's factor pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x_factor: Option<FactorLayout>,
    /// A low-rank recurrent matrix's factor pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub h_factor: Option<FactorLayout>,
    /// A structured input matrix's taps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x_conv: Option<ConvLayout>,
    /// A structured recurrent matrix's taps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub h_conv: Option<ConvLayout>,
}

impl LayerLayout {
    /// Data words a gate row reads: its input part (x, or a low-rank input
    /// matrix's t) and its recurrent part (y, or t).
    pub fn row_parts(&self) -> (usize, usize) {
        (
            self.x_factor.as_ref().map_or(self.x_words, |f| f.t_words()),
            self.h_factor.as_ref().map_or(self.h_words, |f| f.t_words()),
        )
    }
}

/// The factor pass of a low-rank matrix `U V`: `t = V v`, exact, written to
/// a scratch buffer that `U`'s rows read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FactorLayout {
    /// Its phase index.
    pub phase: usize,
    /// The rank (rows of `V`, entries of `t`).
    pub rank: usize,
    /// Data words of the vector `v` it reads.
    pub words: usize,
    /// Data-memory word of the scratch buffer for `t`.
    pub scratch: usize,
    /// First bias / row-shift entry (zero biases).
    pub row_base: usize,
    /// Format of `t`: exact (its fraction is the sum's).
    pub format: Format,
    /// Lanes (to count `t`'s words).
    pub lanes: usize,
}

impl FactorLayout {
    /// Data words of `t`.
    pub fn t_words(&self) -> usize {
        self.rank.div_ceil(self.lanes)
    }
}

/// A block-Toeplitz or block-circulant matrix's place in the tap memory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvLayout {
    /// Its mode (1-based index into [`Layout::conv_modes`]).
    pub mode: usize,
    /// Block size k.
    pub block: usize,
    /// Toeplitz (2k-1 codes per block) or circulant (k).
    pub toeplitz: bool,
    /// First tap word.
    pub taps_base: usize,
    /// Tap words per block row.
    pub block_row_words: usize,
    /// MAC words per tap word (`k / L` when the lanes divide k, else 1).
    pub words_per_tap: usize,
}

/// A block structure the weight decoder's windows serve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvMode {
    /// Block size k.
    pub block: usize,
    /// Toeplitz (else circulant).
    pub toeplitz: bool,
}

impl ConvMode {
    /// Codes per block.
    pub fn params(&self) -> usize {
        if self.toeplitz {
            2 * self.block - 1
        } else {
            self.block
        }
    }

    /// Slot of lane `lane`'s code in a tap word for window `s` (`a - b0`),
    /// with `lanes` lanes.
    pub fn slot(&self, lanes: usize, lane: usize, s: i64) -> usize {
        let k = self.block;
        let (g, b) = if k <= lanes {
            (lane / k, lane % k)
        } else {
            (0, lane)
        };
        let d = s - b as i64;
        let i = if self.toeplitz {
            d + k as i64 - 1
        } else {
            d.rem_euclid(k as i64)
        };
        g * self.params() + i.clamp(0, self.params() as i64 - 1) as usize
    }

    /// The windows `a - b0` a row can have with `lanes` lanes.
    pub fn windows(&self, lanes: usize) -> std::ops::RangeInclusive<i64> {
        let k = self.block as i64;
        if self.block <= lanes {
            0..=k - 1
        } else {
            -(k - 1)..=k - 1
        }
    }
}

/// A projected layer's projection phase: `P h(t)` from the scratch buffer,
/// rounded to the projection format, written to the layer's output buffer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectionLayout {
    /// Its phase index.
    pub phase: usize,
    /// Rows (the output vector's entries).
    pub rows: usize,
    /// Data words of h.
    pub words: usize,
    /// A low-rank projection's factor pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<FactorLayout>,
    /// A structured projection's taps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conv: Option<ConvLayout>,
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
    /// The factor pass of a low-rank matrix.
    Factor(FactorOf),
}

/// The low-rank matrix a factor pass belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FactorOf {
    /// Layer `l`'s input matrix.
    LayerX(usize),
    /// Layer `l`'s recurrent matrix.
    LayerH(usize),
    /// Layer `l`'s projection.
    Projection(usize),
    /// The head (a LightRNN head's row matrix).
    Head,
    /// A LightRNN head's column matrix.
    Columns,
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
    /// A low-rank column matrix's factor pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<FactorLayout>,
    /// A structured column matrix's taps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conv: Option<ConvLayout>,
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
    /// A low-rank head matrix's factor pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<FactorLayout>,
    /// A structured head matrix's taps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conv: Option<ConvLayout>,
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

    /// Data words a row of the first head phase reads (features, or t).
    pub fn row_words(&self) -> usize {
        self.factor.as_ref().map_or(self.words, |f| f.t_words())
    }

    /// Data words a column row reads.
    pub fn col_words(&self) -> usize {
        self.light_rnn
            .as_ref()
            .and_then(|l| l.factor.as_ref())
            .map_or(self.words, |f| f.t_words())
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
    /// The block structures of the structured matrices (mode `i + 1`).
    #[serde(default)]
    pub conv_modes: Vec<ConvMode>,
    /// Tap words (0 without structured matrices).
    #[serde(default)]
    pub tap_words: usize,
    /// Code slots per tap word.
    #[serde(default)]
    pub tap_slots: usize,
    /// Tap banks (of `lanes_per_bank` slots, the last one partial).
    #[serde(default)]
    pub tap_banks: usize,
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
        self.phases().len()
    }

    /// Every phase, by index: the layers, the head, a LightRNN head's
    /// columns, then per layer its factor passes and projection, then the
    /// head's factor passes.
    pub fn phases(&self) -> Vec<Phase> {
        let mut v: Vec<Phase> = (0..self.layers.len()).map(Phase::Layer).collect();
        v.push(Phase::Head);
        if self.head.light_rnn.is_some() {
            v.push(Phase::Columns);
        }
        for (l, x) in self.layers.iter().enumerate() {
            if x.x_factor.is_some() {
                v.push(Phase::Factor(FactorOf::LayerX(l)));
            }
            if x.h_factor.is_some() {
                v.push(Phase::Factor(FactorOf::LayerH(l)));
            }
            if let Some(p) = &x.projection {
                if p.factor.is_some() {
                    v.push(Phase::Factor(FactorOf::Projection(l)));
                }
                v.push(Phase::Projection(l));
            }
        }
        if self.head.factor.is_some() {
            v.push(Phase::Factor(FactorOf::Head));
        }
        if self
            .head
            .light_rnn
            .as_ref()
            .is_some_and(|c| c.factor.is_some())
        {
            v.push(Phase::Factor(FactorOf::Columns));
        }
        v
    }

    /// What phase `p` runs.
    pub fn phase(&self, p: usize) -> Phase {
        self.phases().get(p).copied().unwrap_or(Phase::Head)
    }

    /// The index of a phase.
    pub fn phase_index(&self, phase: Phase) -> usize {
        self.phases()
            .iter()
            .position(|&x| x == phase)
            .unwrap_or(self.layers.len())
    }

    /// The factor pass of a low-rank matrix, if it is one.
    pub fn factor(&self, of: FactorOf) -> Option<&FactorLayout> {
        match of {
            FactorOf::LayerX(l) => self.layers[l].x_factor.as_ref(),
            FactorOf::LayerH(l) => self.layers[l].h_factor.as_ref(),
            FactorOf::Projection(l) => self.layers[l]
                .projection
                .as_ref()
                .and_then(|p| p.factor.as_ref()),
            FactorOf::Head => self.head.factor.as_ref(),
            FactorOf::Columns => self.head.light_rnn.as_ref().and_then(|c| c.factor.as_ref()),
        }
    }

    /// Phase indices in the order they run.
    pub fn program(&self) -> Vec<usize> {
        let mut v = Vec::new();
        let f = |v: &mut Vec<usize>, of| {
            if self.factor(of).is_some() {
                v.push(self.phase_index(Phase::Factor(of)));
            }
        };
        for (l, x) in self.layers.iter().enumerate() {
            f(&mut v, FactorOf::LayerX(l));
            f(&mut v, FactorOf::LayerH(l));
            v.push(l);
            if x.projection.is_some() {
                f(&mut v, FactorOf::Projection(l));
                v.push(self.phase_index(Phase::Projection(l)));
            }
        }
        f(&mut v, FactorOf::Head);
        v.push(self.layers.len());
        if self.head.light_rnn.is_some() {
            f(&mut v, FactorOf::Columns);
            v.push(self.layers.len() + 1);
        }
        v
    }

    /// The program's passes in the order they run, for the schedule.
    pub fn passes(&self) -> Vec<Pass> {
        let head = &self.head;
        self.program()
            .into_iter()
            .map(|ph| match self.phase(ph) {
                Phase::Layer(l) => {
                    let x = &self.layers[l];
                    let (xw, hw) = x.row_parts();
                    Pass::Layer {
                        layer: l,
                        hidden: x.hidden,
                        row_words: (xw + hw) as u64,
                    }
                }
                Phase::Factor(of) => {
                    let f = self.factor(of);
                    Pass::Factor {
                        phase: ph,
                        rows: f.map_or(0, |f| f.rank),
                        words: f.map_or(0, |f| f.words) as u64,
                    }
                }
                Phase::Projection(l) => {
                    let j = self.layers[l].projection.as_ref();
                    let words = j.map_or(0, |j| j.factor.as_ref().map_or(j.words, |f| f.t_words()));
                    Pass::Projection {
                        layer: l,
                        rows: j.map_or(0, |j| j.rows),
                        words: words as u64,
                    }
                }
                Phase::Head => Pass::Head {
                    first_row: 0,
                    rows: head.first_rows(),
                    words: head.row_words() as u64,
                },
                Phase::Columns => Pass::Head {
                    first_row: head.first_rows(),
                    rows: head.light_rnn.as_ref().map_or(0, |c| c.cols),
                    words: head.col_words() as u64,
                },
            })
            .collect()
    }

    /// Weight words of phase `ph`: every row's dense words (a structured
    /// matrix's codes are in the tap memory).
    pub fn weight_words_of(&self, ph: usize) -> usize {
        let head = &self.head;
        match self.phase(ph) {
            Phase::Layer(l) => {
                let x = &self.layers[l];
                let (xw, hw) = x.row_parts();
                let dense = |c: &Option<ConvLayout>, w: usize| if c.is_some() { 0 } else { w };
                4 * x.hidden * (dense(&x.x_conv, xw) + dense(&x.h_conv, hw))
            }
            Phase::Factor(of) => self.factor(of).map_or(0, |f| f.rank * f.words),
            Phase::Projection(l) => self.layers[l].projection.as_ref().map_or(0, |j| {
                if j.conv.is_some() {
                    0
                } else {
                    j.rows * j.factor.as_ref().map_or(j.words, |f| f.t_words())
                }
            }),
            Phase::Head if head.conv.is_none() => head.first_rows() * head.row_words(),
            Phase::Columns => head.light_rnn.as_ref().map_or(0, |c| {
                if c.conv.is_some() {
                    0
                } else {
                    c.cols * head.col_words()
                }
            }),
            Phase::Head => 0,
        }
    }

    /// Every factor pass.
    pub fn factors(&self) -> Vec<&FactorLayout> {
        self.layers
            .iter()
            .flat_map(|l| {
                [
                    l.x_factor.as_ref(),
                    l.h_factor.as_ref(),
                    l.projection.as_ref().and_then(|p| p.factor.as_ref()),
                ]
            })
            .chain([
                self.head.factor.as_ref(),
                self.head.light_rnn.as_ref().and_then(|c| c.factor.as_ref()),
            ])
            .flatten()
            .collect()
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

    /// Stream words of one full tap load.
    pub fn tap_stream_words(&self) -> usize {
        self.tap_words * self.tap_banks
    }

    /// Bits of tap bank `b`.
    pub fn tap_bank_bits(&self, b: usize) -> u32 {
        let slots = (self.tap_slots - b * self.lanes_per_bank).min(self.lanes_per_bank);
        slots as u32 * self.code_bits
    }

    /// Every structured part's taps.
    pub fn convs(&self) -> Vec<&ConvLayout> {
        self.layers
            .iter()
            .flat_map(|l| {
                [
                    l.x_conv.as_ref(),
                    l.h_conv.as_ref(),
                    l.projection.as_ref().and_then(|p| p.conv.as_ref()),
                ]
            })
            .chain([
                self.head.conv.as_ref(),
                self.head.light_rnn.as_ref().and_then(|c| c.conv.as_ref()),
            ])
            .flatten()
            .collect()
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
    /// A tap-memory address.
    pub tap_addr_bits: usize,
    /// A window `a - b0` (signed).
    pub window_bits: usize,
    /// A structured mode (0 dense).
    pub mode_bits: usize,
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
                .max(aw(self.tap_words))
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
            tap_addr_bits: aw(self.tap_words),
            window_bits: aw(self.conv_modes.iter().map(|m| m.block).max().unwrap_or(1)) + 1,
            mode_bits: aw(self.conv_modes.len() + 1),
            value_width: self
                .layers
                .iter()
                .map(|l| l.preact.width)
                .chain(
                    self.layers
                        .iter()
                        .filter_map(|l| l.projection.as_ref().map(|p| p.format.width)),
                )
                .chain(self.factors().iter().map(|f| f.format.width))
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

/// Widest exact intermediate `t = V x` of a low-rank matrix.
const MAX_FACTOR_BITS: u32 = 32;

/// Largest row shift a row-shift entry holds.
const ROW_SHIFT_BITS: u32 = 5;

fn align(acc_frac: i32, frac: i32, what: &str) -> Result<u32, SpecError> {
    u32::try_from(acc_frac - frac).map_err(|_| {
        SpecError::Config(format!(
            "{what}: fraction {frac} is finer than its sum's {acc_frac} (the model's datapath is inconsistent)"
        ))
    })
}

/// The dense code matrices of a matrix as the hardware holds them: a dense
/// matrix itself; a low-rank one's `U`, then its `V`.
pub fn code_matrices(m: &Matrix) -> Vec<&Dense> {
    match m {
        Matrix::Dense(d) => vec![d],
        Matrix::LowRank(lr) => vec![&lr.u, &lr.v],
        _ => Vec::new(),
    }
}

/// The phase numbering of [`Layout::phases`], computed from the model: the
/// phase of every factor pass and projection, in the order they are numbered.
struct PhaseCounter {
    next: usize,
}

impl PhaseCounter {
    fn take(&mut self) -> usize {
        self.next += 1;
        self.next - 1
    }
}

/// A code matrix with its matrix id.
#[derive(Clone, Debug)]
pub struct IdMatrix<'a> {
    /// Matrix id.
    pub id: usize,
    /// Tensor path.
    pub name: String,
    /// Its scalar code.
    pub code: &'a ScalarCode,
    /// The matrix, when it is dense (row scales).
    pub dense: Option<&'a Dense>,
}

impl<'a> IdMatrix<'a> {
    fn dense(id: usize, name: String, d: &'a Dense) -> Self {
        IdMatrix {
            id,
            name,
            code: &d.values.code,
            dense: Some(d),
        }
    }
}

/// The model's dense code matrices with their ids as the sequencer numbers
/// them (see [`Layout::matrix_ids`]) and their tensor paths: a low-rank
/// matrix's `U` (`<tensor>.u`) has the matrix's id, its `V` (`<tensor>.v`)
/// its factor pass's.
pub fn matrices_by_id(model: &Model) -> Vec<IdMatrix<'_>> {
    let nl = model.layers.len();
    let light = matches!(model.head, Head::LightRnn(_));
    let mut ph = PhaseCounter {
        next: nl + 1 + usize::from(light),
    };
    let mut v = Vec::new();
    fn add<'a>(
        v: &mut Vec<IdMatrix<'a>>,
        ph: &mut PhaseCounter,
        id: Option<usize>,
        name: String,
        m: &'a Matrix,
    ) -> Option<usize> {
        match m {
            Matrix::LowRank(lr) => {
                let f = ph.take();
                v.push(IdMatrix::dense(2 * f, format!("{name}.v"), &lr.v));
                if let Some(id) = id {
                    v.push(IdMatrix::dense(id, format!("{name}.u"), &lr.u));
                }
                Some(f)
            }
            Matrix::Dense(d) => {
                if let Some(id) = id {
                    v.push(IdMatrix::dense(id, name, d));
                }
                None
            }
            Matrix::BlockToeplitz(b) | Matrix::BlockCirculant(b) => {
                if let Some(id) = id {
                    v.push(IdMatrix {
                        id,
                        name,
                        code: &b.values.code,
                        dense: None,
                    });
                }
                None
            }
            _ => None,
        }
    }
    let mut heads = Vec::new();
    for (l, x) in model.layers.iter().enumerate() {
        add(
            &mut v,
            &mut ph,
            Some(2 * l),
            format!("layers[{l}].w_x"),
            &x.w_x,
        );
        add(
            &mut v,
            &mut ph,
            Some(2 * l + 1),
            format!("layers[{l}].w_h"),
            &x.w_h,
        );
        if let Some(p) = &x.projection {
            // The factor pass is numbered before the projection's own phase.
            let name = format!("layers[{l}].projection");
            match &p.w {
                Matrix::LowRank(lr) => {
                    let f = ph.take();
                    let own = ph.take();
                    v.push(IdMatrix::dense(2 * f, format!("{name}.v"), &lr.v));
                    v.push(IdMatrix::dense(2 * own, format!("{name}.u"), &lr.u));
                }
                m => {
                    let own = ph.take();
                    add(&mut v, &mut ph, Some(2 * own), name, m);
                }
            }
        }
    }
    let names = match &model.head {
        Head::Dense(_) => vec!["head.w"],
        Head::LightRnn(_) => vec!["head.row_w", "head.col_w"],
    };
    for (i, (m, name)) in model.head.matrices().into_iter().zip(names).enumerate() {
        heads.push((2 * nl + 2 * i, name, m));
    }
    for (id, name, m) in heads {
        add(&mut v, &mut ph, Some(id), name.to_string(), m);
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
    let nl = model.layers.len();
    let light = usize::from(matches!(model.head, Head::LightRnn(_)));
    let ids = matrices_by_id(model);
    let mut codebooks = vec![false; ids.iter().map(|x| x.id + 2).max().unwrap_or(0)];
    let mut lane_code_bits = code_bits;
    // With a codebook that is not all powers of two the lanes multiply: every
    // lane input is then a weight value, as wide as the widest weight.
    let mut lane_values = false;
    let mut value_bits = 2u32;
    let mut max_row_shift = 0u32;
    let mut row_shifts = false;
    for m in &ids {
        value_bits = value_bits.max(unsigned_bits(m.code.max_abs_raw()) + 1);
        if let ScalarCode::Codebook { width, pow2, .. } = *m.code {
            codebooks[m.id] = true;
            lane_values |= !pow2;
            lane_code_bits = lane_code_bits.max(codebook_lane_bits(width));
        }
        if let Some(d) = m.dense {
            row_shifts |= d.row_exp.is_some();
            for r in 0..d.rows {
                max_row_shift = max_row_shift.max(d.row_shift(r));
            }
        }
    }
    if lane_values {
        lane_code_bits = value_bits;
    }
    if max_row_shift >= 1 << ROW_SHIFT_BITS {
        return Err(SpecError::Config(format!(
            "a row scale spans {max_row_shift} powers of two, the row-shift memory holds at most {}",
            (1 << ROW_SHIFT_BITS) - 1
        )));
    }
    let input_words = model.input.size.div_ceil(lanes);
    let mut next = input_words;
    let (mut cell_base, mut row) = (0usize, 0usize);
    let mut ph = PhaseCounter {
        next: nl + 1 + light,
    };
    // A factor pass of `m` (if low-rank) reading a vector of format `v` in
    // `words` words: its phase, scratch buffer and rows.
    let factor = |m: &Matrix,
                  v: Format,
                  words: usize,
                  tensor: &str,
                  (ph, next, row): (&mut PhaseCounter, &mut usize, &mut usize)|
     -> Result<Option<FactorLayout>, SpecError> {
        let Matrix::LowRank(lr) = m else {
            return Ok(None);
        };
        let bound = lr.mid_row_bound() * v.max_abs_raw();
        let width = 128 - bound.leading_zeros() + 1;
        if width > MAX_FACTOR_BITS {
            return Err(SpecError::Config(format!(
                "{tensor}: the exact intermediate V x needs {width} bits, the data memory holds at most {MAX_FACTOR_BITS}"
            )));
        }
        let f = FactorLayout {
            phase: ph.take(),
            rank: lr.rank(),
            words,
            scratch: *next,
            row_base: *row,
            format: Format::new(width, v.frac + lr.v.frac()),
            lanes,
        };
        *next += f.t_words();
        *row += f.rank;
        Ok(Some(f))
    };
    // The taps of a structured matrix: its place in the tap memory.
    let mut modes: Vec<ConvMode> = Vec::new();
    let (mut taps, mut tap_slots) = (0usize, 0usize);
    let mut conv = |m: &Matrix, tensor: &str| -> Result<Option<ConvLayout>, SpecError> {
        let (b, toeplitz) = match m {
            Matrix::BlockToeplitz(b) => (b, true),
            Matrix::BlockCirculant(b) => (b, false),
            _ => return Ok(None),
        };
        let k = b.block;
        if k % lanes != 0 && lanes % k != 0 {
            return Err(SpecError::Unsupported {
                tensor: tensor.into(),
                encoding: format!(
                    "{} with {k}x{k} blocks on {lanes} lanes (the lanes must divide the block size or be a multiple of it)",
                    m.describe()
                ),
            });
        }
        let mode = ConvMode { block: k, toeplitz };
        let index = match modes.iter().position(|&x| x == mode) {
            Some(i) => i,
            None => {
                modes.push(mode);
                modes.len() - 1
            }
        };
        let (groups, block_row_words, words_per_tap) = if k <= lanes {
            (lanes / k, b.cols.div_ceil(lanes), 1)
        } else {
            (1, b.cols.div_ceil(k), k / lanes)
        };
        tap_slots = tap_slots.max(groups * mode.params());
        let c = ConvLayout {
            mode: index + 1,
            block: k,
            toeplitz,
            taps_base: taps,
            block_row_words,
            words_per_tap,
        };
        taps += b.rows.div_ceil(k) * block_row_words;
        Ok(Some(c))
    };
    let mut layers = Vec::with_capacity(nl);
    let mut x_words = input_words;
    let mut x_fmt = model.input.format;
    for (i, (l, d)) in model.layers.iter().zip(&dp.layers).enumerate() {
        let outputs = l.output_size();
        let h_words = outputs.div_ceil(lanes);
        let at = |what: &str| format!("layers[{i}].{what}");
        let h_buffers = [next, next + h_words];
        next += 2 * h_words;
        let x_factor = factor(
            &l.w_x,
            x_fmt,
            x_words,
            &at("w_x"),
            (&mut ph, &mut next, &mut row),
        )?;
        let h_factor = factor(
            &l.w_h,
            l.output_format(),
            h_words,
            &at("w_h"),
            (&mut ph, &mut next, &mut row),
        )?;
        let row_base = row;
        row += 4 * l.hidden;
        let projection = match (&l.projection, d.projection) {
            (Some(p), Some(acc)) => {
                let words = l.hidden.div_ceil(lanes);
                let scratch = next;
                next += words;
                let pf = factor(
                    &p.w,
                    l.formats.hidden,
                    words,
                    &at("projection"),
                    (&mut ph, &mut next, &mut row),
                )?;
                let x = ProjectionLayout {
                    conv: conv(&p.w, &at("projection"))?,
                    phase: ph.take(),
                    rows: outputs,
                    words,
                    factor: pf,
                    scratch,
                    row_base: row,
                    align: align(
                        acc.frac,
                        l.formats.hidden.frac + p.w.frac(),
                        &at("projection"),
                    )?,
                    acc_frac: acc.frac,
                    format: p.format,
                };
                row += outputs;
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
            x_factor,
            h_factor,
            x_conv: conv(&l.w_x, &at("w_x"))?,
            h_conv: conv(&l.w_h, &at("w_h"))?,
        });
        cell_base += l.hidden;
        x_words = h_words;
        x_fmt = l.output_format();
    }
    let feat = model.feature_format();
    let feat_words = model.feature_size().div_ceil(lanes);
    let head = match &model.head {
        Head::Dense(h) => {
            let acc = dp.head[0];
            let f = factor(
                &h.w,
                feat,
                feat_words,
                "head.w",
                (&mut ph, &mut next, &mut row),
            )?;
            let row_base = row;
            row += h.w.rows();
            HeadLayout {
                rows: h.w.rows(),
                words: feat_words,
                row_base,
                align: align(acc.frac, feat.frac + h.w.frac(), "head.w")?,
                align_bias: align(acc.frac, h.bias.format.frac, "head.bias")?,
                acc_frac: acc.frac,
                logits: h.logits,
                factor: f,
                conv: conv(&h.w, "head.w")?,
                light_rnn: None,
            }
        }
        Head::LightRnn(h) => {
            let (racc, cacc) = (dp.head[0], dp.head[1]);
            let cells = h.table.len();
            let f = factor(
                &h.row_w,
                feat,
                feat_words,
                "head.row_w",
                (&mut ph, &mut next, &mut row),
            )?;
            let row_base = row;
            row += h.rows();
            let cf = factor(
                &h.col_w,
                feat,
                feat_words,
                "head.col_w",
                (&mut ph, &mut next, &mut row),
            )?;
            row += h.cols();
            HeadLayout {
                rows: h.rows() + h.cols(),
                words: feat_words,
                row_base,
                align: align(racc.frac, feat.frac + h.row_w.frac(), "head.row_w")?,
                align_bias: align(racc.frac, h.row_bias.format.frac, "head.row_bias")?,
                acc_frac: racc.frac,
                logits: h.logits,
                factor: f,
                conv: conv(&h.row_w, "head.row_w")?,
                light_rnn: Some(LightRnnLayout {
                    rows: h.rows(),
                    cols: h.cols(),
                    align: align(cacc.frac, feat.frac + h.col_w.frac(), "head.col_w")?,
                    align_bias: align(cacc.frac, h.col_bias.format.frac, "head.col_bias")?,
                    acc_frac: cacc.frac,
                    // Classes 0..cells and -1, signed.
                    class_width: Ram::address_width(cells) as u32,
                    factor: cf,
                    conv: conv(&h.col_w, "head.col_w")?,
                }),
            }
        }
    };
    let factor_bits = |h: &HeadLayout, ls: &[LayerLayout]| -> Vec<u32> {
        ls.iter()
            .flat_map(|l| {
                [
                    l.x_factor.as_ref(),
                    l.h_factor.as_ref(),
                    l.projection.as_ref().and_then(|p| p.factor.as_ref()),
                ]
            })
            .chain([
                h.factor.as_ref(),
                h.light_rnn.as_ref().and_then(|c| c.factor.as_ref()),
            ])
            .flatten()
            .map(|f| f.format.width)
            .collect()
    };
    let t_bits = factor_bits(&head, &layers);
    // One flag per matrix id: two per phase.
    codebooks.resize(2 * ph.next, false);
    let data_width = model
        .layers
        .iter()
        .flat_map(|l| [l.output_format().width, l.formats.hidden.width])
        .chain([model.input.format.width])
        .chain(t_bits.iter().copied())
        .max()
        .unwrap_or(16);
    let acc_width = dp
        .layers
        .iter()
        .flat_map(|d| [Some(d.gate.bits), d.projection.map(|p| p.bits)])
        .flatten()
        .chain(dp.head.iter().map(|a| a.bits))
        .chain(t_bits.iter().copied())
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
        conv_modes: modes,
        tap_words: taps,
        tap_slots,
        tap_banks: tap_slots.div_ceil(lanes_per_bank),
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
        rows: row,
        bias_width,
        row_shifts,
        row_shift_bits: ROW_SHIFT_BITS,
        acc_width,
        layers,
        head,
    })
}
