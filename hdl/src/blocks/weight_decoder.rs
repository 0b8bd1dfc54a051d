//! The weight decoder: the weight banks' words become the MAC lanes' codes.
//! Bank `b` holds lanes `b * per_word ..` in slots of `slot_bits` bits from
//! bit 0 up (the layout's packing). A lane code is sign and magnitude
//! (`ShiftAddLane`: magnitude 0 is zero, `m` a shift by `m - 1`), `lane_bits`
//! wide:
//! - a ternary or power-of-two slot already is one (sign in its top bit); it
//!   is re-encoded from `slot_bits` to `lane_bits` (sign moved up);
//! - a codebook slot is an index: the lane code is entry `index` of the
//!   current matrix's table (`CODEBOOK_ENTRIES` entries per matrix id, loaded
//!   with `LOAD_CODEBOOKS`), each the sign and shift of a power-of-two
//!   codebook value, so the lanes stay shift-add.
//!
//! With `values` (multiplier lanes, for codebooks whose entries are not all
//! powers of two) every output is instead the weight's raw value,
//! `lane_bits` wide and signed: a sign-magnitude slot becomes
//! `±2^(magnitude - 1)` (0 for magnitude 0), a codebook index its table
//! entry, which then holds the codebook value itself.
//!
//! `matrix` (the sequencer's id of the matrix whose word is on the bank
//! outputs) picks the table. The decode is combinational; table writes are
//! clocked.
//!
//! A structured word (`mode` nonzero: a block-Toeplitz or block-circulant
//! matrix, see `layout::ConvMode`) takes its slots from the tap word instead:
//! lane `i`'s slot is the tap word's slot `ConvMode::slot(lanes, i, window)`,
//! the block code of the lane's entry in its row; it is then decoded like
//! any slot. A skew-circulant block (a Toeplitz-like matrix's first pass)
//! negates the codes that wrap around (`ConvMode::negated`): their sign bit
//! flips, so its codes must be sign-magnitude (ternary or power-of-two).

use crate::blocks::shift_add_lane::max_shift;
use crate::dynamic::{sext, DynSig, DynVal};
use crate::verilog::lit;
use lstm_accel_model::encoding::ScalarCode;
use lstm_accel_spec::layout::{ConvMode, CODEBOOK_ENTRIES};
use rust_hdl::prelude::*;
use std::fmt::Write;

/// Sizes of a decoder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightDecoderShape {
    /// Lanes.
    pub lanes: usize,
    /// Bits of a memory slot.
    pub slot_bits: usize,
    /// Slots per bank word.
    pub per_word: usize,
    /// Bits of a lane code (with `values`, of a weight value).
    pub lane_bits: usize,
    /// Output weight values for multiplier lanes instead of lane codes.
    pub values: bool,
    /// Per matrix id: its slots are codebook indices.
    pub codebooks: Vec<bool>,
    /// Bits of a matrix id.
    pub matrix_bits: usize,
    /// Bits of a table write address (`id * CODEBOOK_ENTRIES + index`).
    pub addr_bits: usize,
    /// The structured modes (mode `i + 1`).
    pub modes: Vec<ConvMode>,
    /// Slots of a tap word.
    pub tap_slots: usize,
    /// Slots per tap bank word.
    pub tap_per_word: usize,
    /// Bits of a mode.
    pub mode_bits: usize,
    /// Bits of a window.
    pub window_bits: usize,
    /// The decoder's row engine's place in a row group: its row is this
    /// many rows past the window's (`a - b0` of the group's first row).
    pub row_offset: i64,
    /// Row engines: the windows the sequencer issues step by them when a
    /// word covers whole blocks ([`ConvMode::issues`]), and the decoder
    /// decodes those only.
    pub engines: usize,
}

/// The decoder.
#[derive(LogicBlock)]
pub struct WeightDecoder {
    /// Clock (table writes).
    pub clock: Signal<In, Clock>,
    /// Bank words.
    pub words: Vec<DynSig<In>>,
    /// The matrix whose word is on `words`.
    pub matrix: DynSig<In>,
    /// Tap bank words (designs with structured matrices).
    pub taps: Vec<DynSig<In>>,
    /// The word's structured mode (0: dense).
    pub mode: DynSig<In>,
    /// The word's window.
    pub window: DynSig<In>,
    /// Table write enable (present when a matrix is a codebook).
    pub table_we: Vec<DynSig<In>>,
    /// Table write address.
    pub table_addr: DynSig<In>,
    /// Table write data (a lane code).
    pub table_data: DynSig<In>,
    /// Lane codes, lane order.
    pub codes: Vec<DynSig<Out>>,
    _s: WeightDecoderShape,
    _codec: ScalarCode,
    _tables: Vec<[i64; CODEBOOK_ENTRIES]>,
    // The inputs the outputs were last decoded from: settling calls
    // `update` many times per cycle, and the words change once at most.
    _last_words: Vec<i64>,
    _last_matrix: i64,
    _decoded: bool,
    /// Per structured mode, the windows the sequencer issues.
    _issued: Vec<Vec<i64>>,
}

impl WeightDecoder {
    /// A decoder of `shape`.
    pub fn new(shape: WeightDecoderShape) -> Self {
        let s = &shape;
        let words = s.lanes.div_ceil(s.per_word);
        WeightDecoder {
            clock: Signal::default(),
            words: (0..words)
                .map(|b| DynSig::new((s.lanes - b * s.per_word).min(s.per_word) * s.slot_bits))
                .collect(),
            matrix: DynSig::new(s.matrix_bits),
            taps: (0..s.tap_slots.div_ceil(s.tap_per_word))
                .map(|b| {
                    DynSig::new(
                        (s.tap_slots - b * s.tap_per_word).min(s.tap_per_word) * s.slot_bits,
                    )
                })
                .collect(),
            mode: DynSig::new(s.mode_bits),
            window: DynSig::new(s.window_bits),
            table_we: (0..usize::from(s.codebooks.iter().any(|&c| c)))
                .map(|_| DynSig::new(2))
                .collect(),
            table_addr: DynSig::new(s.addr_bits),
            table_data: DynSig::new(s.lane_bits),
            codes: (0..s.lanes).map(|_| DynSig::new(s.lane_bits)).collect(),
            // Sign and magnitude up to the slot's largest shift.
            _codec: ScalarCode::Pow2 {
                emin: 0,
                emax: max_shift(s.slot_bits) as i32,
            },
            _tables: vec![[0; CODEBOOK_ENTRIES]; s.codebooks.len()],
            _last_words: vec![0; words + s.tap_slots.div_ceil(s.tap_per_word) + 2],
            _last_matrix: 0,
            _decoded: false,
            _issued: s
                .modes
                .iter()
                .map(|c| c.issued_windows(s.lanes, s.engines))
                .collect(),
            _s: shape,
        }
    }

    /// The lane code of memory slot `slot` (its bit pattern) in matrix `m`.
    fn decode(&self, m: usize, slot: u64) -> i64 {
        let s = &self._s;
        if s.codebooks.get(m).copied().unwrap_or(false) {
            self._tables[m][slot as usize % CODEBOOK_ENTRIES]
        } else {
            // The model's sign-magnitude codec, as `ShiftAddLane` decodes it.
            let code = self._codec.from_stored_in(slot as u32, s.slot_bits as u32);
            if s.values {
                self._codec.raw(code)
            } else {
                sext(
                    i64::from(self._codec.stored_in(code, s.lane_bits as u32)),
                    s.lane_bits,
                )
            }
        }
    }
}

impl Logic for WeightDecoder {
    fn update(&mut self) {
        if self.clock.pos_edge() && self.table_we.first().is_some_and(|w| w.val().0 != 0) {
            let a = self.table_addr.val().0 as usize;
            let (id, i) = (a / CODEBOOK_ENTRIES, a % CODEBOOK_ENTRIES);
            if let Some(t) = self._tables.get_mut(id) {
                t[i] = sext(self.table_data.val().0, self._s.lane_bits);
            }
            self._decoded = false;
        }
        let matrix = self.matrix.val().0;
        let inputs = || {
            self.words
                .iter()
                .chain(&self.taps)
                .chain([&self.mode, &self.window])
                .map(|w| w.val().0)
        };
        let unchanged = self._decoded
            && matrix == self._last_matrix
            && inputs().zip(&self._last_words).all(|(w, &l)| w == l);
        if unchanged {
            return;
        }
        let inputs = self
            .words
            .iter()
            .chain(&self.taps)
            .chain([&self.mode, &self.window]);
        for (l, w) in self._last_words.iter_mut().zip(inputs) {
            *l = w.val().0;
        }
        self._last_matrix = matrix;
        self._decoded = true;
        let (pw, tw, fb) = (self._s.per_word, self._s.tap_per_word, self._s.slot_bits);
        let m = matrix.max(0) as usize;
        let mode = self.mode.val().0;
        // The structured mode's index (none: a dense word).
        let mi = usize::try_from(mode - 1)
            .ok()
            .filter(|&i| i < self._s.modes.len());
        let conv = mi.map(|i| self._s.modes[i]);
        // The group's window as the decoder decodes it (a window the
        // sequencer does not issue gives zero slots), then this engine's.
        let decoded =
            mi.and_then(|i| ConvMode::decoded_window(&self._issued[i], self.window.val().0));
        let window = decoded.unwrap_or(0) + self._s.row_offset;
        let lanes = self._s.lanes;
        for i in 0..self.codes.len() {
            let (bank, at) = match conv {
                Some(_) if decoded.is_none() => (None, 0),
                Some(c) => {
                    let j = c.slot(lanes, i, window);
                    (self.taps.get(j / tw), j % tw)
                }
                None => (self.words.get(i / pw), i % pw),
            };
            let w = bank.map_or(0, |b| b.val().0) as u64;
            let mut slot = (w >> (at * fb)) & ((1 << fb) - 1);
            // A skew block's wrapped codes are negated: the sign bit of a
            // nonzero code flips.
            if decoded.is_some()
                && conv.is_some_and(|c| c.negated(lanes, i, window))
                && slot & ((1 << (fb - 1)) - 1) != 0
            {
                slot ^= 1 << (fb - 1);
            }
            let code = self.decode(m, slot);
            self.codes[i].next = DynVal(code);
        }
    }
    fn connect(&mut self) {
        for c in &mut self.codes {
            c.connect();
        }
    }
    fn hdl(&self) -> Verilog {
        Verilog::Custom(self.verilog())
    }
}

impl WeightDecoder {
    fn verilog(&self) -> String {
        let s = &self._s;
        let (pw, tw, fb, lb) = (s.per_word, s.tap_per_word, s.slot_bits, s.lane_bits);
        let ids: Vec<usize> = (0..s.codebooks.len()).filter(|&m| s.codebooks[m]).collect();
        let mut v = String::new();
        // Slot `i` of a bus of `per`-slot words.
        let slot_of = |bus: &str, per: usize, i: usize| {
            let lo = (i % per) * fb;
            format!("{bus}${}[{}:{lo}]", i / per, lo + fb - 1)
        };
        if s.modes.is_empty() {
            for i in 0..s.lanes {
                let _ = writeln!(
                    v,
                    "wire [{}:0] slot_{i} = {};",
                    fb - 1,
                    slot_of("words", pw, i)
                );
            }
        } else {
            // A structured word's slots come from the tap word by window.
            for i in 0..s.lanes {
                let _ = writeln!(v, "reg [{}:0] slot_{i};", fb - 1);
            }
            v.push_str("always @(*) begin\n");
            for i in 0..s.lanes {
                let _ = writeln!(v, "    case (mode)");
                for (mi, c) in s.modes.iter().enumerate() {
                    let _ = writeln!(
                        v,
                        "        {}: case (window)",
                        lit(mi as i64 + 1, s.mode_bits)
                    );
                    let issued = &self._issued[mi];
                    // One window: the lanes are wired to their taps.
                    let single = issued.len() == 1;
                    for &w in issued {
                        // The window of the group's first row; this
                        // engine's row is `row_offset` rows on.
                        let own = w + s.row_offset;
                        let j = c.slot(s.lanes, i, own);
                        let code = if c.negated(s.lanes, i, own) {
                            // A skew block's wrapped code, negated.
                            let lo = (j % tw) * fb;
                            format!(
                                "{{taps${b}[{hi}] ^ (|taps${b}[{m}:{lo}]), taps${b}[{m}:{lo}]}}",
                                b = j / tw,
                                hi = lo + fb - 1,
                                m = lo + fb - 2
                            )
                        } else {
                            slot_of("taps", tw, j)
                        };
                        let arm = if single {
                            "default".to_string()
                        } else {
                            lit(w, s.window_bits)
                        };
                        let _ = writeln!(v, "            {arm}: slot_{i} = {code};");
                    }
                    if !single {
                        let _ = writeln!(v, "            default: slot_{i} = 0;");
                    }
                    let _ = writeln!(v, "        endcase");
                }
                let _ = writeln!(
                    v,
                    "        default: slot_{i} = {};\n    endcase",
                    slot_of("words", pw, i)
                );
            }
            v.push_str("end\n");
        }
        if ids.is_empty() {
            v.push_str("always @(*) begin\n");
            for i in 0..s.lanes {
                let _ = writeln!(
                    v,
                    "    codes${i} = {};",
                    passthrough(&format!("slot_{i}"), fb, lb, s.values)
                );
            }
            v.push_str("end\n");
            return v;
        }
        // The tables, one register per entry of each codebook matrix.
        for &m in &ids {
            for e in 0..CODEBOOK_ENTRIES {
                let _ = writeln!(v, "reg [{}:0] t{m}_{e};", lb - 1);
            }
        }
        v.push_str("initial begin\n");
        for &m in &ids {
            for e in 0..CODEBOOK_ENTRIES {
                let _ = writeln!(v, "    t{m}_{e} = 0;");
            }
        }
        v.push_str("end\n\nalways @(posedge clock) begin\n    if (table_we$0 != 0) begin\n        case (table_addr)\n");
        for &m in &ids {
            for e in 0..CODEBOOK_ENTRIES {
                let _ = writeln!(
                    v,
                    "            {}: t{m}_{e} <= table_data;",
                    m * CODEBOOK_ENTRIES + e
                );
            }
        }
        v.push_str("            default: ;\n        endcase\n    end\nend\n\n");
        // The current matrix's table, then one lookup per lane.
        let _ = writeln!(
            v,
            "reg is_codebook;\nreg [{}:0] {};",
            lb - 1,
            (0..CODEBOOK_ENTRIES)
                .map(|e| format!("cur_{e}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        v.push_str("always @(*) begin\n    case (matrix)\n");
        for &m in &ids {
            let _ = write!(v, "        {m}: begin is_codebook = 1;");
            for e in 0..CODEBOOK_ENTRIES {
                let _ = write!(v, " cur_{e} = t{m}_{e};");
            }
            v.push_str(" end\n");
        }
        v.push_str("        default: begin is_codebook = 0;");
        for e in 0..CODEBOOK_ENTRIES {
            let _ = write!(v, " cur_{e} = 0;");
        }
        v.push_str(" end\n    endcase\nend\n\n");
        for i in 0..s.lanes {
            let _ = writeln!(v, "reg [{}:0] looked_{i};", lb - 1);
        }
        v.push_str("always @(*) begin\n");
        for i in 0..s.lanes {
            let _ = writeln!(v, "    case (slot_{i})");
            for e in 0..CODEBOOK_ENTRIES.min(1 << fb) {
                let _ = writeln!(v, "        {e}: looked_{i} = cur_{e};");
            }
            let _ = writeln!(
                v,
                "        default: looked_{i} = 0;\n    endcase\n    codes${i} = is_codebook ? looked_{i} : {};",
                passthrough(&format!("slot_{i}"), fb, lb, s.values)
            );
        }
        v.push_str("end\n");
        v
    }
}

/// The lane output of a sign-magnitude slot: its weight value, or the slot
/// re-encoded.
fn passthrough(slot: &str, slot_bits: usize, lane_bits: usize, values: bool) -> String {
    if values {
        // ±2^(m-1): a one shifted into a signed lane-wide word.
        let one = format!("{lane_bits}'sd1");
        format!(
            "({slot}[{m}:0] == 0) ? {lane_bits}'sd0 : ({slot}[{s}] ? -({one} <<< ({slot}[{m}:0] - 1)) : ({one} <<< ({slot}[{m}:0] - 1)))",
            m = slot_bits - 2,
            s = slot_bits - 1
        )
    } else {
        reencode(slot, slot_bits, lane_bits)
    }
}

/// A `slot_bits` sign-magnitude slot as a `lane_bits` one (sign moved up).
fn reencode(slot: &str, slot_bits: usize, lane_bits: usize) -> String {
    if slot_bits == lane_bits {
        slot.to_string()
    } else {
        format!(
            "{{{slot}[{}], {}'d0, {slot}[{}:0]}}",
            slot_bits - 1,
            lane_bits - slot_bits,
            slot_bits - 2
        )
    }
}
