//! The LightRNN decoder: the class of a two-component head (Li et al.).
//! The head's logits arrive in row order: `rows` row logits, then `cols`
//! column logits. The row logits go to an arg-max unit (`row_valid`
//! gates it), whose index `best_row` is final before the first column logit
//! comes. Each column logit `c` reads the class table at `best_row * cols +
//! c` as it arrives; a cycle later, with the table's word, it joins the
//! column arg-max only if that cell is occupied (entry >= 0). After the last
//! column the table is read at the best column: `decoded` is that entry.
//!
//! This is `lstm_accel_model::trace::lightrnn_decode`: the first maximum in
//! each search (a strictly greater value replaces the best), column 0 when
//! the row has no occupied cell, and the table's entry (which may be -1) as
//! the class. Cycles and memory grow with `rows + cols`, not with their
//! product: the table is the only `rows x cols` memory, one entry per class.
//!
//! Timing: `decoded` holds the class `LATENCY` cycles after the last column
//! logit (a table read for that column, the compare, a table read for the
//! best column).

use crate::dynamic::{sext, DynSig, DynVal};
use rust_hdl::prelude::*;

/// Sizes of a decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LightRnnShape {
    /// Table rows (row logits).
    pub rows: usize,
    /// Table columns (column logits).
    pub cols: usize,
    /// Bits of a logit.
    pub logit_width: usize,
    /// Bits of a logit's row index.
    pub row_bits: usize,
    /// Bits of the row arg-max's index.
    pub best_bits: usize,
    /// Bits of a table address.
    pub table_addr_bits: usize,
    /// Bits of a table entry (signed).
    pub class_width: usize,
}

#[derive(Clone, Copy, Debug, Default)]
struct Regs {
    d_valid: bool,
    d_logit: i64,
    d_col: i64,
    have: bool,
    best: i64,
    best_col: i64,
}

/// The decoder.
#[derive(LogicBlock)]
pub struct LightRnnDecoder {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// A logit.
    pub logit: DynSig<In>,
    /// Nonzero: `logit` is valid.
    pub valid: DynSig<In>,
    /// Its row in the head (row logits first).
    pub row: DynSig<In>,
    /// The row arg-max's index.
    pub best_row: DynSig<In>,
    /// The class table's read word.
    pub table_data: DynSig<In>,
    /// Nonzero: `logit` is a row logit (the row arg-max's `valid`).
    pub row_valid: DynSig<Out>,
    /// The class table's read address.
    pub table_addr: DynSig<Out>,
    /// The class (`class` is a reserved word in SystemVerilog).
    pub decoded: DynSig<Out>,
    _s: LightRnnShape,
    _r: Regs,
}

impl LightRnnDecoder {
    /// Cycles from the last column logit to the class.
    pub const LATENCY: usize = lstm_accel_spec::datapath::LIGHTRNN_DECODER_LATENCY;

    /// A decoder of `shape`.
    pub fn new(shape: LightRnnShape) -> Self {
        LightRnnDecoder {
            clock: Signal::default(),
            logit: DynSig::new(shape.logit_width),
            valid: DynSig::new(2),
            row: DynSig::new(shape.row_bits),
            best_row: DynSig::new(shape.best_bits),
            table_data: DynSig::new(shape.class_width),
            row_valid: DynSig::new(2),
            table_addr: DynSig::new(shape.table_addr_bits),
            decoded: DynSig::new(shape.class_width),
            _s: shape,
            _r: Regs::default(),
        }
    }
}

impl Logic for LightRnnDecoder {
    fn update(&mut self) {
        let s = self._s;
        let (rows, cols) = (s.rows as i64, s.cols as i64);
        let valid = self.valid.val().0 != 0;
        let row = self.row.val().0;
        let is_col = valid && row >= rows;
        if self.clock.pos_edge() {
            let old = self._r;
            let r = &mut self._r;
            r.d_valid = is_col;
            r.d_logit = self.logit.val().0;
            r.d_col = row - rows;
            if valid && row == 0 {
                // A new frame's head.
                r.have = false;
                r.best_col = 0;
            } else if old.d_valid
                && self.table_data.val().0 >= 0
                && (!old.have || old.d_logit > old.best)
            {
                r.have = true;
                r.best = old.d_logit;
                r.best_col = old.d_col;
            }
        }
        let r = self._r;
        let base = self.best_row.val().0 * cols;
        let addr = if is_col {
            base + row - rows
        } else {
            base + r.best_col
        };
        self.row_valid.next = DynVal(i64::from(valid && row < rows));
        self.table_addr.next = DynVal(sext(addr, s.table_addr_bits));
        self.decoded.next = self.table_data.val();
    }
    fn connect(&mut self) {
        self.row_valid.connect();
        self.table_addr.connect();
        self.decoded.connect();
    }
    fn hdl(&self) -> Verilog {
        let s = self._s;
        let lw = s.logit_width;
        Verilog::Custom(format!(
            "reg d_valid, have;
reg signed [{l1}:0] d_logit, best;
reg signed [31:0] d_col, best_col;
wire is_col = (valid != 0) && (row >= {rows});
wire signed [31:0] base = best_row * {cols};

initial begin
    d_valid = 0; have = 0; d_logit = 0; best = 0; d_col = 0; best_col = 0;
end

always @(posedge clock) begin
    d_valid <= is_col;
    d_logit <= logit;
    d_col <= row - {rows};
    if ((valid != 0) && (row == 0)) begin
        have <= 0;
        best_col <= 0;
    end else if (d_valid && (table_data >= 0) && (!have || (d_logit > best))) begin
        have <= 1;
        best <= d_logit;
        best_col <= d_col;
    end
end

always @(*) begin
    row_valid = ((valid != 0) && (row < {rows})) ? 2'sd1 : 2'sd0;
    table_addr = is_col ? (base + row - {rows}) : (base + best_col);
    decoded = table_data;
end
",
            l1 = lw - 1,
            rows = s.rows,
            cols = s.cols,
        ))
    }
}
