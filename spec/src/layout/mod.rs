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
//! - Row engines (`engines` > 1): the engines compute a row group at once,
//!   engine `e` the group's row `e` ([`Layout::groups`]): a layer runs its
//!   cells in groups of `engines`, gates i f g o of the group's cells, each
//!   engine on one cell. Program order is then that of row groups, and
//!   every per-row memory has a bank per engine: a weight word holds every
//!   engine's codes (engine 0's banks first), the bias and row-shift
//!   memories a bank per engine, loaded bank-minor like the weights. The
//!   data and tap words are broadcast to every engine (the rows of a
//!   group lie in one block row of a structured matrix, whose window each
//!   engine offsets by its place in the group).
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
//! - Toeplitz-like matrices (displacement rank r; the lanes divide k): a
//!   factor pass of skew-circulant block rows (one per block row, block
//!   column and rank term, reading that block column of the vector only:
//!   `data_stride`) writes every `u = Z-1(h) x_bj` exactly, then the matrix's
//!   rows run block-circulant over g, each reading its block row's part of u.
//!   Vector regions are padded to whole blocks so the last block reads zeros.
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

use crate::hw_config::one;
use lstm_accel_model::fixed::Format;
use serde::{Deserialize, Serialize};

mod derive;
mod program;
mod widths;

pub use derive::{code_matrices, derive_layout, matrices_by_id, IdMatrix};
pub use widths::{codebook_lane_bits, Widths};

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
            self.x_factor
                .as_ref()
                .map_or(self.x_words, |f| f.read_words),
            self.h_factor
                .as_ref()
                .map_or(self.h_words, |f| f.read_words),
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
    /// A Toeplitz-like matrix's first pass: its rows are skew-circulant
    /// block rows (`words` words each, of one block column of `v`), from
    /// the tap memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conv: Option<ConvLayout>,
    /// Words of `t` a row of the matrix reads (all of `t` for a low-rank
    /// matrix, its block row's part for a Toeplitz-like one).
    #[serde(default)]
    pub read_words: usize,
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
    /// Rows whose data start past the phase's base (Toeplitz-like): the
    /// offset steps by `data_stride` words every `data_period` block rows
    /// and returns to 0 after `data_wrap` steps (0: never).
    #[serde(default)]
    pub data_stride: usize,
    /// See `data_stride`.
    #[serde(default)]
    pub data_period: usize,
    /// See `data_stride`.
    #[serde(default)]
    pub data_wrap: usize,
}

/// A block structure the weight decoder's windows serve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvMode {
    /// Block size k.
    pub block: usize,
    /// Toeplitz (else circulant).
    pub toeplitz: bool,
    /// Skew-circulant (a Toeplitz-like matrix's first pass): circulant with
    /// the codes that wrap around negated.
    #[serde(default)]
    pub skew: bool,
}

impl ConvMode {
    /// Whether lane `lane`'s code is negated for window `s` (a skew
    /// block's wrapped codes).
    pub fn negated(&self, lanes: usize, lane: usize, s: i64) -> bool {
        let b = if self.block <= lanes {
            lane % self.block
        } else {
            lane
        };
        self.skew && s < b as i64
    }

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

    /// Whether the sequencer issues window `s` (of a row group's first
    /// row) with `lanes` lanes and `engines` row engines. A row group
    /// starts at a multiple of `engines` in its block row (the engines
    /// divide the block), so when a word covers whole blocks
    /// (`block <= lanes`, the word starting at a block's first column) the
    /// windows step by `engines`; a narrower word's windows also move with
    /// its place in the block, and any of [`ConvMode::windows`] occurs.
    pub fn issues(&self, lanes: usize, engines: usize, s: i64) -> bool {
        self.windows(lanes).contains(&s)
            && (self.block > lanes || s.rem_euclid(engines.max(1) as i64) == 0)
    }

    /// The windows the sequencer issues ([`ConvMode::issues`]).
    pub fn issued_windows(&self, lanes: usize, engines: usize) -> Vec<i64> {
        self.windows(lanes)
            .filter(|&s| self.issues(lanes, engines, s))
            .collect()
    }

    /// The window a weight decoder decodes when the sequencer's is `s`,
    /// given the `issued` windows ([`ConvMode::issued_windows`]): `s`
    /// itself if issued, none (a zero slot) if not; and when only one
    /// window is issued, that one whatever `s` is, so that the decoder's
    /// lanes are wired to their taps with no choice to make (the form the
    /// generated Verilog takes).
    pub fn decoded_window(issued: &[i64], s: i64) -> Option<i64> {
        match issued {
            [only] => Some(*only),
            _ => issued.contains(&s).then_some(s),
        }
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
        self.factor.as_ref().map_or(self.words, |f| f.read_words)
    }

    /// Data words a column row reads.
    pub fn col_words(&self) -> usize {
        self.light_rnn
            .as_ref()
            .and_then(|l| l.factor.as_ref())
            .map_or(self.words, |f| f.read_words)
    }
}

/// Banks, regions and constants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    /// Lanes of one row engine.
    pub lanes: usize,
    /// Row engines (see [`Layout::groups`]).
    #[serde(default = "one")]
    pub engines: usize,
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
    /// Weight banks: `weight_banks / engines` per row engine, engine 0's
    /// first.
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
    /// Code slots per tap bank word (at most one stream word): the width
    /// that packs the tap memory into the fewest block RAMs of the target.
    #[serde(default)]
    pub tap_slots_per_bank: usize,
    /// Tap banks (of `tap_slots_per_bank` slots, the last one partial).
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
    /// Bias / row-shift entries of one bank (every row engine has a bank;
    /// an entry holds a row group's row for that engine).
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
        let per = self.tap_slots_per_bank;
        let slots = (self.tap_slots - b * per).min(per);
        slots as u32 * self.code_bits
    }

    /// Bits of weight bank `b` (bank `b % (weight_banks / engines)` of
    /// row engine `b / (weight_banks / engines)`).
    pub fn bank_bits(&self, b: usize) -> u32 {
        let b = b % self.engine_banks();
        let lanes = (self.lanes - b * self.lanes_per_bank).min(self.lanes_per_bank);
        lanes as u32 * self.code_bits
    }

    /// Weight banks of one row engine.
    pub fn engine_banks(&self) -> usize {
        self.lanes.div_ceil(self.lanes_per_bank)
    }

    /// Row groups of `rows` rows: the row engines compute a group at once,
    /// engine `e` row `g * engines + e` of group `g` (for a layer, cell
    /// `g * engines + e` of each gate); the last group's rows past `rows`
    /// are padding that computes nothing kept.
    pub fn groups(&self, rows: usize) -> usize {
        rows.div_ceil(self.engines.max(1))
    }

    /// Cycles the sequencer spends on one row group of a pass whose rows
    /// are `words` weight words: the words, and with several row engines
    /// at least as many cycles as the result queue takes to hand the
    /// previous group's results on one by one (a cell, of four rows, per
    /// cycle; one value per cycle otherwise) when the pass has more than
    /// one group.
    pub fn row_span(&self, words: usize, cells: bool, groups: usize) -> usize {
        let e = self.engines.max(1);
        if e == 1 || groups <= 1 {
            return words;
        }
        let min = if cells { e.div_ceil(4) } else { e };
        words.max(min)
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
