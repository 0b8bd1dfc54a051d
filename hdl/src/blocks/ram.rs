//! A simple dual-port RAM of run-time depth and width: one write port and
//! one registered read port on the same clock, read-first (a read of the
//! address being written returns the old word), zero at power-up (block RAM's
//! own power-up state; simulators get an initialisation Yosys skips). Written the
//! way Yosys infers block RAM on iCE40 (SB_RAM40_4K) and ECP5 (DP16KD); the
//! spec decides which memories are block RAM and how many blocks they take.
//!
//! The single-port form ([`Ram::single_port`]) is for memories the spec puts
//! in the iCE40 UP5K's SPRAM (SB_SPRAM256KA, 16K x 16, one port): one address,
//! the write address while writing and the read address otherwise, and the
//! SPRAM's no-change behaviour (a write cycle leaves the read register as it
//! was). The weights use it: they are written only while loading, when the
//! datapath reads none, so both forms compute the same.
//!
//! The banked form ([`Ram::banked`]) is for deep memories on ECP5: a memory
//! deeper than one block RAM becomes, in Yosys, a column of blocks whose
//! outputs meet in a multiplexer, and a large weight memory spreads its
//! blocks over the whole die, so a block's read (5.8 ns clock-to-output on an
//! ECP5 without its output register), the route across the die and the
//! multiplexer do not fit one 100 MHz cycle. Here each bank is one block-RAM
//! row deep (the last one full depth too: a shorter one would be built from
//! blocks of another shape, stacked behind a multiplexer), its read address
//! comes from a register of its own (so one address does not drive every
//! bank across the die in the cycle that computes it), its read goes
//! through two registers (the placer keeps the first near the block), and the
//! bank multiplexer has a register of its own: a word arrives
//! [`Ram::BANKED_READ_LATENCY`] cycles after its address. Writes are
//! registered before they fan out to the banks, so they land a cycle after
//! they are presented; a read (a cycle after its address, from the bank's
//! address register) returns every word written in the cycles before its
//! address was presented, and not one written in the same cycle.

use crate::dynamic::{sext, DynSig, DynVal};
use lstm_accel_spec::datapath;
use rust_hdl::prelude::*;
use std::collections::VecDeque;
use std::fmt::Write;

/// The form a RAM is generated in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RamForm {
    /// One write and one registered read port (block RAM).
    DualPort,
    /// One port, no change of the read register while writing (SPRAM).
    SinglePort,
    /// Banks of this many words, read in `BANKED_READ_LATENCY` cycles.
    Banked(usize),
}

/// The RAM.
#[derive(LogicBlock)]
pub struct Ram {
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
    /// The word at the read address of the previous cycle
    /// ([`Ram::read_latency`] cycles before).
    pub read_data: DynSig<Out>,
    _mem: Vec<i64>,
    _width: usize,
    _out: i64,
    _form: RamForm,
    /// The banked form's read pipeline, newest first.
    _pipe: VecDeque<i64>,
    /// The banked form's registered read address.
    _raddr: i64,
    /// The banked form's registered write: address and word.
    _write: Option<(i64, i64)>,
    /// The banked form's banks, or the memory with an output register, as
    /// ECP5 `DP16KD` instances with their output register, for synthesis.
    _dp16kd: bool,
    /// The dual-port form with a second read register (read latency 2).
    _out_reg: bool,
    /// Its first read register.
    _rd: i64,
}

impl Ram {
    /// Cycles from a read address to its word in the banked form.
    pub const BANKED_READ_LATENCY: usize = datapath::ram::BANKED_READ_LATENCY;

    /// Address signals are one bit wider than the largest address so that
    /// they stay non-negative as signed values.
    pub fn address_width(depth: usize) -> usize {
        datapath::ram::address_width(depth)
    }

    /// `depth` words of `width` bits.
    pub fn new(depth: usize, width: usize) -> Self {
        assert!(depth >= 1, "a RAM needs a word");
        let aw = Self::address_width(depth);
        Ram {
            clock: Signal::default(),
            write_enable: DynSig::new(2),
            write_address: DynSig::new(aw),
            write_data: DynSig::new(width),
            read_address: DynSig::new(aw),
            read_data: DynSig::new(width),
            _mem: vec![0; depth],
            _width: width,
            _out: 0,
            _form: RamForm::DualPort,
            _pipe: VecDeque::new(),
            _raddr: 0,
            _write: None,
            _dp16kd: false,
            _out_reg: false,
            _rd: 0,
        }
    }

    /// `depth` words of `width` bits in the single-port, no-change form that
    /// Yosys maps to SPRAM (`ram_style = "huge"`).
    pub fn single_port(depth: usize, width: usize) -> Self {
        Ram {
            _form: RamForm::SinglePort,
            ..Self::new(depth, width)
        }
    }

    /// `depth` words of `width` bits in banks of `bank_depth` words (a
    /// power of two, at least 2; `depth` spans at least two banks), read in
    /// [`Ram::BANKED_READ_LATENCY`] cycles.
    pub fn banked(depth: usize, width: usize, bank_depth: usize) -> Self {
        assert!(bank_depth.is_power_of_two() && bank_depth >= 2 && depth > bank_depth);
        Ram {
            _form: RamForm::Banked(bank_depth),
            // The address register is the first cycle.
            _pipe: vec![0; Self::BANKED_READ_LATENCY - 1].into(),
            ..Self::new(depth, width)
        }
    }

    /// The banked form with each bank, in synthesis (Yosys defines
    /// `SYNTHESIS`), as ECP5 `DP16KD` blocks whose output register holds
    /// the bank's first read register: a block's read then leaves it 0.95 ns
    /// after the clock instead of 5.8, and the route to the next register
    /// has the rest of the cycle. Yosys's inference never uses that
    /// register, so the blocks are instantiated; simulators run the same
    /// registers in plain Verilog. Bank depths of 2048 words and more only
    /// (the 9-, 4-, 2- and 1-bit shapes, whose addresses need no byte
    /// enables); other forms and depths are unchanged.
    pub fn with_dp16kd(mut self) -> Self {
        self._dp16kd = match self._form {
            RamForm::Banked(bd) => Self::dp16kd_shape(bd, self._width).is_some(),
            RamForm::DualPort if self._out_reg => {
                Self::dp16kd_shape(self._mem.len(), self._width).is_some()
            }
            _ => false,
        };
        self
    }

    /// The dual-port form with a second register after the read (read
    /// latency 2): the register a block RAM has at its output, which
    /// [`Ram::with_dp16kd`] uses on ECP5. Other forms are unchanged.
    pub fn with_output_register(mut self) -> Self {
        self._out_reg = self._form == RamForm::DualPort;
        self
    }

    /// The `DP16KD` shape (depth of one block, data width) that holds a
    /// `depth x width` memory in one row of blocks, in the fewest blocks
    /// (the wider of two that tie).
    pub fn dp16kd_shape(depth: usize, width: usize) -> Option<(usize, usize)> {
        datapath::ram::dp16kd_shape(depth, width)
    }

    /// `DP16KD` blocks of a `depth x width` memory in that shape.
    pub fn dp16kd_blocks_for(depth: usize, width: usize) -> Option<u32> {
        datapath::ram::dp16kd_blocks_for(depth, width)
    }

    /// Whether the banks are `DP16KD` instances in synthesis.
    pub fn uses_dp16kd(&self) -> bool {
        self._dp16kd
    }

    /// The form.
    pub fn form(&self) -> RamForm {
        self._form
    }

    /// Cycles from a read address to its word.
    pub fn read_latency(&self) -> usize {
        match self._form {
            RamForm::Banked(_) => Self::BANKED_READ_LATENCY,
            _ if self._out_reg => 2,
            _ => 1,
        }
    }

    /// The word at `a` (zero past the end: the sequencer never reads there).
    fn word(&self, a: i64) -> i64 {
        usize::try_from(a)
            .ok()
            .and_then(|a| self._mem.get(a).copied())
            .unwrap_or(0)
    }

    fn store(&mut self, a: i64, word: i64) {
        if let Some(m) = usize::try_from(a).ok().and_then(|a| self._mem.get_mut(a)) {
            *m = word;
        }
    }

    /// One rising edge of the banked form.
    fn banked_edge(&mut self) {
        let word = self.word(self._raddr);
        self._raddr = self.read_address.val().0;
        self._pipe.pop_back();
        self._pipe.push_front(word);
        if let Some((a, d)) = self._write.take() {
            self.store(a, d);
        }
        if self.write_enable.val().0 != 0 {
            self._write = Some((
                self.write_address.val().0,
                sext(self.write_data.val().0, self._width),
            ));
        }
        self._out = self._pipe.back().copied().unwrap_or(0);
    }
}

impl Logic for Ram {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            if let RamForm::Banked(_) = self._form {
                self.banked_edge();
            } else {
                let writing = self.write_enable.val().0 != 0;
                // The single-port form keeps its read register while it
                // writes.
                if self._out_reg {
                    self._out = self._rd;
                    self._rd = self.word(self.read_address.val().0);
                } else if !(self._form == RamForm::SinglePort && writing) {
                    self._out = self.word(self.read_address.val().0);
                }
                if writing {
                    let d = sext(self.write_data.val().0, self._width);
                    self.store(self.write_address.val().0, d);
                }
            }
        }
        self.read_data.next = DynVal(self._out);
    }
    fn connect(&mut self) {
        self.read_data.connect();
    }
    fn hdl(&self) -> Verilog {
        if let RamForm::Banked(bank_depth) = self._form {
            return Verilog::Custom(self.banked_verilog(bank_depth));
        }
        let (style, port) = if self._form == RamForm::SinglePort {
            (
                "(* ram_style = \"huge\" *) ",
                format!(
                    "wire signed [{a1}:0] address = (write_enable != 0) ? write_address : read_address;

always @(posedge clock) begin
    if (write_enable != 0)
        mem[address] <= write_data;
    else
        read_data <= mem[address];
end
",
                    a1 = Self::address_width(self._mem.len()) - 1
                ),
            )
        } else if self._out_reg {
            (
                "",
                format!(
                    "{}reg signed [{w1}:0] rd;
initial rd = 0;
always @(posedge clock) begin
    if (write_enable != 0)
        mem[write_address] <= write_data;
    rd <= mem[read_address];
    read_data <= rd;
end
{}",
                    if self._dp16kd {
                        "`ifndef SYNTHESIS\n"
                    } else {
                        ""
                    },
                    if self._dp16kd {
                        format!("`else\n{}`endif\n", self.dp16kd_memory())
                    } else {
                        String::new()
                    },
                    w1 = self._width - 1,
                ),
            )
        } else {
            (
                "",
                "always @(posedge clock) begin
    if (write_enable != 0)
        mem[write_address] <= write_data;
    read_data <= mem[read_address];
end
"
                .to_string(),
            )
        };
        Verilog::Custom(format!(
            "{style}reg signed [{w1}:0] mem [0:{d1}];
integer k;

// Simulators start from zeros, as the native engine does; block RAM powers
// up at zero by itself, and Yosys would spend minutes turning a large
// initialisation loop into init data (it defines SYNTHESIS).
`ifndef SYNTHESIS
initial begin
    for (k = 0; k < {d}; k = k + 1)
        mem[k] = 0;
end
`endif
initial read_data = 0;

{port}",
            w1 = self._width - 1,
            d = self._mem.len(),
            d1 = self._mem.len() - 1
        ))
    }
}

impl Ram {
    /// The banks as `DP16KD` blocks (`q{b}`: the output register's word):
    /// port A writes the registered write, port B reads, both always
    /// enabled; the address sits in the top bits of `AD*` (the shapes used
    /// need no byte enables below it). Power-up contents are not set:
    /// every weight is loaded before a frame runs.
    fn dp16kd_banks(&self, bank_depth: usize) -> String {
        let w = self._width;
        let lb = bank_depth.trailing_zeros() as usize;
        let banks = self._mem.len().div_ceil(bank_depth);
        let mut s = String::from(
            "// Each bank's blocks with their output register (REGMODE_B = OUTREG),
// which Yosys's block-RAM inference leaves unused: 0.95 ns from the clock
// to the block's output instead of 5.8 on an ECP5 of speed grade 6.
",
        );
        let shape = Self::dp16kd_shape(bank_depth, w).unwrap_or((bank_depth, 9));
        for b in 0..banks {
            let _ = writeln!(
                s,
                "wire we{b} = wq_en && (wbank == {b});
wire signed [{w1}:0] q{b};",
                w1 = w - 1,
            );
            s.push_str(&dp16kd_blocks(
                &format!("bank{b}"),
                shape,
                w,
                &format!("we{b}"),
                ("wlow", lb),
                "wq_data",
                (&format!("rlow{b}"), lb),
                &format!("q{b}"),
            ));
        }
        s
    }

    /// The memory with its output register as `DP16KD` blocks (the
    /// dual-port form with [`Ram::with_output_register`]).
    fn dp16kd_memory(&self) -> String {
        let shape = Self::dp16kd_shape(self._mem.len(), self._width).unwrap_or((2048, 9));
        let aw = (Self::address_width(self._mem.len()) - 1).max(1);
        format!(
            "// The block's output register (REGMODE_B = OUTREG) holds the second read
// register: 0.95 ns from the clock to the block's output instead of 5.8.
// (Unsigned copies of the addresses: Yosys 0.70 re-reads a module that
// wires a signed signal to a primitive, and loses it after flattening.)
wire signed [{w1}:0] dob_word;
wire wen = (write_enable != 0);
wire [{a1}:0] wa_u = write_address[{a1}:0];
wire [{a1}:0] ra_u = read_address[{a1}:0];
{}always @(*) read_data = dob_word;
",
            dp16kd_blocks(
                "block",
                shape,
                self._width,
                "wen",
                ("wa_u", aw),
                "write_data",
                ("ra_u", aw),
                "dob_word",
            ),
            w1 = self._width - 1,
            a1 = aw - 1,
        )
    }

    /// The banked form's Verilog: per bank a memory one block-RAM row deep,
    /// its read register (the block's own) and two more, then the registered
    /// bank multiplexer; the write port registered once.
    fn banked_verilog(&self, bank_depth: usize) -> String {
        let w1 = self._width - 1;
        let depth = self._mem.len();
        let bd = bank_depth;
        let lb = bd.trailing_zeros() as usize;
        let banks = depth.div_ceil(bd);
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
reg [{sb1}:0] sel0, sel1, sel2, sel3;
reg wq_en;
reg signed [{a1}:0] wq_addr;
reg signed [{w1}:0] wq_data;
initial begin
    sel0 = 0;
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
        let _ = writeln!(
            s,
            "wire [{lb1}:0] wlow = wq_addr[{lb1}:0];
wire [{sb1}:0] wbank = wq_addr[{a1}:{lb}];
wire [{sb1}:0] rbank = read_address[{a1}:{lb}];",
            lb1 = lb - 1,
            sb1 = sb - 1,
            a1 = aw - 1,
        );
        // Each bank's copy of the read address (kept: Yosys would merge
        // copies of one input back into one register).
        for b in 0..banks {
            let _ = writeln!(
                s,
                "reg [{lb1}:0] rlow{b};
initial rlow{b} = 0;
(* keep *) always @(posedge clock) rlow{b} <= read_address[{lb1}:0];",
                lb1 = lb - 1,
            );
        }
        if self._dp16kd {
            s.push_str("`ifdef SYNTHESIS\n");
            s.push_str(&self.dp16kd_banks(bank_depth));
            s.push_str("`else\n");
        }
        for b in 0..banks {
            // Every bank full depth, the last too: a shorter one would be
            // built from blocks of another shape, stacked, with a
            // multiplexer between them and its register.
            let d = bd;
            let _ = writeln!(
                s,
                "reg signed [{w1}:0] mem{b} [0:{d1}];
reg signed [{w1}:0] rd{b}, q{b};
`ifndef SYNTHESIS
initial begin
    for (k = 0; k < {d}; k = k + 1)
        mem{b}[k] = 0;
end
`endif
initial begin
    rd{b} = 0;
    q{b} = 0;
end
always @(posedge clock) begin
    if (wq_en && wbank == {b})
        mem{b}[wlow] <= wq_data;
    rd{b} <= mem{b}[rlow{b}];
    q{b} <= rd{b};
end",
                d1 = d - 1
            );
        }
        if self._dp16kd {
            s.push_str("`endif\n");
        }
        for b in 0..banks {
            let _ = writeln!(s, "reg signed [{w1}:0] p{b};\ninitial p{b} = 0;");
        }

        s.push_str("\nalways @(posedge clock) begin\n    wq_en <= (write_enable != 0);\n    wq_addr <= write_address;\n    wq_data <= write_data;\n");
        for b in 0..banks {
            let _ = writeln!(s, "    p{b} <= q{b};");
        }
        let _ = writeln!(
            s,
            "    sel0 <= rbank;\n    sel1 <= sel0;\n    sel2 <= sel1;\n    sel3 <= sel2;\n    case (sel3)"
        );
        for b in 0..banks {
            let _ = writeln!(s, "        {b}: read_data <= p{b};");
        }
        s.push_str("        default: read_data <= 0;\n    endcase\nend\n");
        s
    }
}

/// `DP16KD` blocks named `{name}_{i}` of `shape` (from [`datapath::ram::DP16KD_SHAPES`])
/// holding a memory `width` bits wide: port A writes `data` at `waddr` (its
/// low `bits`) when `we`, port B reads at `raddr` into the output
/// register, whose word drives the wire `out`. Both ports are always
/// enabled; an 18-bit port writes both its bytes.
#[allow(clippy::too_many_arguments)]
fn dp16kd_blocks(
    name: &str,
    (depth, dw): (usize, usize),
    width: usize,
    we: &str,
    (waddr, wbits): (&str, usize),
    data: &str,
    (raddr, rbits): (&str, usize),
    out: &str,
) -> String {
    let low = 14 - depth.trailing_zeros() as usize;
    let blocks = width.div_ceil(dw);
    let address = |port: char, signal: &str, bits: usize| -> String {
        (0..14)
            .map(|k| {
                if dw == 18 && k < 2 && port == 'A' {
                    // The byte enables of the write.
                    format!(".AD{port}{k}(1'b1)")
                } else if k < low || k - low >= bits {
                    format!(".AD{port}{k}(1'b0)")
                } else {
                    format!(".AD{port}{k}({signal}[{}])", k - low)
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut s = format!(
        "wire [{n1}:0] {name}_do;
wire [{n1}:0] {name}_di = {{{{{pad}{{1'b0}}}}, {data}}};
assign {out} = {name}_do[{w1}:0];
",
        n1 = blocks * dw - 1,
        pad = blocks * dw - width,
        w1 = width - 1,
    );
    for i in 0..blocks {
        let di = (0..18)
            .map(|j| {
                if j < dw {
                    format!(".DIA{j}({name}_di[{}])", i * dw + j)
                } else {
                    format!(".DIA{j}(1'b0)")
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        let dob = (0..dw)
            .map(|j| format!(".DOB{j}({name}_do[{}])", i * dw + j))
            .collect::<Vec<_>>()
            .join(", ");
        let dib = (0..18)
            .map(|j| format!(".DIB{j}(1'b0)"))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            s,
            "DP16KD #(.DATA_WIDTH_A({dw}), .DATA_WIDTH_B({dw}), .REGMODE_A(\"NOREG\"), .REGMODE_B(\"OUTREG\"),
    .RESETMODE(\"SYNC\"), .ASYNC_RESET_RELEASE(\"SYNC\"), .CSDECODE_A(\"0b000\"), .CSDECODE_B(\"0b000\"),
    .WRITEMODE_A(\"NORMAL\"), .WRITEMODE_B(\"NORMAL\"), .GSR(\"DISABLED\")) {name}_{i} (
    .CLKA(clock), .CEA(1'b1), .OCEA(1'b1), .WEA({we}), .RSTA(1'b0), .CSA0(1'b0), .CSA1(1'b0), .CSA2(1'b0),
    {ada},
    {di},
    .CLKB(clock), .CEB(1'b1), .OCEB(1'b1), .WEB(1'b0), .RSTB(1'b0), .CSB0(1'b0), .CSB1(1'b0), .CSB2(1'b0),
    {adb},
    {dib},
    {dob});",
            ada = address('A', waddr, wbits),
            adb = address('B', raddr, rbits),
        );
    }
    s
}
