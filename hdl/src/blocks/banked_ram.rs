//! A deep RAM split into banks, with a pipelined read: the same ports and
//! write behaviour as [`Ram`](super::ram::Ram), but the word at a read
//! address arrives [`BankedRam::READ_LATENCY`] cycles later instead of one.
//!
//! Why: a memory deeper than one block RAM becomes, in Yosys, a column of
//! blocks whose outputs meet in a multiplexer. A large weight memory spreads
//! its blocks over the whole die, so a block's read (5.8 ns clock-to-output
//! on an ECP5 without its output register), the route across the die and
//! the multiplexer do not fit one 100 MHz cycle. Here each bank is one
//! block-RAM row deep, its read is registered next to it (stage 2), and the
//! bank multiplexer has a register of its own (stage 3).
//!
//! Writes are registered before they reach the banks (a cycle later than
//! presented): the write port fans out to every bank across the die too.
//! Bank `b` holds addresses `b * bank_depth ..`; a read returns the word as
//! it was at the cycle the address was presented, which includes the writes
//! presented two or more cycles before it.

use crate::blocks::ram::Ram;
use crate::dynamic::{sext, DynSig, DynVal};
use rust_hdl::prelude::*;
use std::collections::VecDeque;
use std::fmt::Write;

/// The banked RAM.
#[derive(LogicBlock)]
pub struct BankedRam {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Nonzero: write `write_data` to `write_address`.
    pub write_enable: DynSig<In>,
    /// Write address.
    pub write_address: DynSig<In>,
    /// Word written.
    pub write_data: DynSig<In>,
    /// Read address.
    pub read_address: DynSig<In>,
    /// The word at the read address of `READ_LATENCY` cycles before.
    pub read_data: DynSig<Out>,
    _mem: Vec<i64>,
    _width: usize,
    _bank_depth: usize,
    _pipe: VecDeque<i64>,
    /// The registered write: address and word.
    _write: Option<(i64, i64)>,
}

impl BankedRam {
    /// Cycles from a read address to its word.
    pub const READ_LATENCY: usize = 4;

    /// `depth` words of `width` bits in banks of `bank_depth` words (a
    /// power of two, at least 2; `depth` spans at least two banks).
    pub fn new(depth: usize, width: usize, bank_depth: usize) -> Self {
        assert!(bank_depth.is_power_of_two() && bank_depth >= 2 && depth > bank_depth);
        let aw = Ram::address_width(depth);
        BankedRam {
            clock: Signal::default(),
            write_enable: DynSig::new(2),
            write_address: DynSig::new(aw),
            write_data: DynSig::new(width),
            read_address: DynSig::new(aw),
            read_data: DynSig::new(width),
            _mem: vec![0; depth],
            _width: width,
            _bank_depth: bank_depth,
            _pipe: vec![0; Self::READ_LATENCY].into(),
            _write: None,
        }
    }

    /// Banks.
    pub fn banks(&self) -> usize {
        self._mem.len().div_ceil(self._bank_depth)
    }
}

impl Logic for BankedRam {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            let n = self._mem.len();
            let ra = self.read_address.val().0;
            let word = if (0..n as i64).contains(&ra) {
                self._mem[ra as usize]
            } else {
                0
            };
            self._pipe.pop_back();
            self._pipe.push_front(word);
            if let Some((wa, d)) = self._write.take() {
                if (0..n as i64).contains(&wa) {
                    self._mem[wa as usize] = d;
                }
            }
            if self.write_enable.val().0 != 0 {
                self._write = Some((
                    self.write_address.val().0,
                    sext(self.write_data.val().0, self._width),
                ));
            }
        }
        self.read_data.next = DynVal(self._pipe.back().copied().unwrap_or(0));
    }
    fn connect(&mut self) {
        self.read_data.connect();
    }
    fn hdl(&self) -> Verilog {
        let w1 = self._width - 1;
        let depth = self._mem.len();
        let bd = self._bank_depth;
        let lb = bd.trailing_zeros() as usize;
        let banks = self.banks();
        let aw = Ram::address_width(depth);
        // The bank is the address's bits above the word's (the top one is
        // the always-zero sign bit of the address signal).
        let sb = aw - lb;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "// Simulators start from zeros, as the native engine does; block RAM powers
// up at zero by itself.
integer k;
reg [{sb1}:0] sel1, sel2, sel3;
reg wq_en;
reg signed [{a1}:0] wq_addr;
reg signed [{w1}:0] wq_data;
initial begin
    sel1 = 0;
    sel2 = 0;
    sel3 = 0;
    read_data = 0;
    wq_en = 0;
    wq_addr = 0;
    wq_data = 0;
end",
            sb1 = sb - 1,
            a1 = aw - 1,
        );
        for b in 0..banks {
            // Every bank full depth, the last too: a shorter one would be
            // built from blocks of another shape, stacked, with a
            // multiplexer between them and its register.
            let d = bd;
            let _ = writeln!(
                s,
                "reg signed [{w1}:0] mem{b} [0:{d1}];
reg signed [{w1}:0] rd{b}, q{b}, p{b};
`ifndef SYNTHESIS
initial begin
    for (k = 0; k < {d}; k = k + 1)
        mem{b}[k] = 0;
end
`endif
initial begin
    rd{b} = 0;
    q{b} = 0;
    p{b} = 0;
end",
                d1 = d - 1
            );
        }
        let _ = writeln!(
            s,
            "wire [{lb1}:0] wlow = wq_addr[{lb1}:0];
wire [{sb1}:0] wbank = wq_addr[{a1}:{lb}];
wire [{lb1}:0] rlow = read_address[{lb1}:0];
wire [{sb1}:0] rbank = read_address[{a1}:{lb}];",
            lb1 = lb - 1,
            sb1 = sb - 1,
            a1 = aw - 1,
        );
        s.push_str("\nalways @(posedge clock) begin\n    wq_en <= (write_enable != 0);\n    wq_addr <= write_address;\n    wq_data <= write_data;\n");
        for b in 0..banks {
            let _ = writeln!(
                s,
                "    if (wq_en && wbank == {b})\n        mem{b}[wlow] <= wq_data;\n    rd{b} <= mem{b}[rlow];\n    q{b} <= rd{b};\n    p{b} <= q{b};"
            );
        }
        let _ = writeln!(
            s,
            "    sel1 <= rbank;\n    sel2 <= sel1;\n    sel3 <= sel2;\n    case (sel3)"
        );
        for b in 0..banks {
            let _ = writeln!(s, "        {b}: read_data <= p{b};");
        }
        s.push_str("        default: read_data <= 0;\n    endcase\nend\n");
        Verilog::Custom(s)
    }
}
