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

use crate::dynamic::{sext, DynSig, DynVal};
use rust_hdl::prelude::*;

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
    /// The word at the read address of the previous cycle.
    pub read_data: DynSig<Out>,
    _mem: Vec<i64>,
    _width: usize,
    _out: i64,
    _single_port: bool,
}

impl Ram {
    /// Address signals are one bit wider than the largest address so that
    /// they stay non-negative as signed values.
    pub fn address_width(depth: usize) -> usize {
        (usize::BITS - depth.saturating_sub(1).leading_zeros()) as usize + 1
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
            _single_port: false,
        }
    }

    /// `depth` words of `width` bits in the single-port, no-change form that
    /// Yosys maps to SPRAM (`ram_style = "huge"`).
    pub fn single_port(depth: usize, width: usize) -> Self {
        Ram {
            _single_port: true,
            ..Self::new(depth, width)
        }
    }

    /// Whether this is the single-port (SPRAM) form.
    pub fn is_single_port(&self) -> bool {
        self._single_port
    }
}

impl Logic for Ram {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            let n = self._mem.len();
            let ra = self.read_address.val().0;
            let writing = self.write_enable.val().0 != 0;
            // An address past the end reads zero in both engines' terms: the
            // sequencer never issues one. The single-port form keeps its
            // read register while it writes.
            if !(self._single_port && writing) {
                self._out = if (0..n as i64).contains(&ra) {
                    self._mem[ra as usize]
                } else {
                    0
                };
            }
            let wa = self.write_address.val().0;
            if writing && (0..n as i64).contains(&wa) {
                self._mem[wa as usize] = sext(self.write_data.val().0, self._width);
            }
        }
        self.read_data.next = DynVal(self._out);
    }
    fn connect(&mut self) {
        self.read_data.connect();
    }
    fn hdl(&self) -> Verilog {
        let (style, port) = if self._single_port {
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
