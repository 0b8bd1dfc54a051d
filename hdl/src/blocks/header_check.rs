//! The packet header's decode, computed from a stream word before the input
//! slice registers it: which kind of packet the word opens (a command, a
//! frame, a load of one of the design's memories, and which), and whether
//! it carries the payload length its opcode needs in this design (none for
//! `RESET`, `STATUS` and `READ_STATE`, the input size for `FRAME`, a whole
//! load for each memory). The slice carries these bits beside the word (as
//! the stream's `tuser`), so the controller's idle state branches on
//! registers: it used to compare a 24-bit length per opcode and decode the
//! opcode in the cycle that also enables its counters, which was ESE's 16 x
//! 64 critical path on the ECP5-85F (14.0 ns). Words that are not headers
//! get bits nobody reads.

use crate::dynamic::DynSig;
use lstm_accel_spec::layout::Layout;
use lstm_accel_spec::protocol as p;
use rust_hdl::prelude::*;
use std::fmt::Write;

/// What an opcode is in this design, and the length its header must carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpcodeRule {
    /// The opcode.
    pub op: u32,
    /// Payload words a header of it must carry.
    pub words: u32,
    /// What it opens.
    pub kind: OpcodeKind,
}

/// What an opcode opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpcodeKind {
    /// `RESET`, `STATUS` or `READ_STATE`: no payload.
    Command,
    /// A frame.
    Frame,
    /// A load of memory `target` (its bit in the loaded mask).
    Load {
        /// The memory.
        target: u8,
    },
}

/// The decode of one word, read as a header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeaderBits {
    /// Its length is the one its opcode needs.
    pub fits: bool,
    /// It opens a command.
    pub command: bool,
    /// It opens a frame.
    pub frame: bool,
    /// It opens a load.
    pub load: bool,
    /// The load's memory.
    pub target: u8,
    /// Its opcode needs one payload word.
    pub one: bool,
    /// It is `RESET` (the controller's idle state branches on this bit, not
    /// on an opcode compare in the cycle that enables its counters).
    pub reset: bool,
    /// It is `STATUS` (a command that is neither this nor `RESET` is
    /// `READ_STATE`).
    pub status: bool,
}

impl HeaderBits {
    /// Bits on the slice's user sideband.
    pub const WIDTH: usize = 10;
    /// Position of `fits` on the sideband.
    pub const FITS: usize = 0;
    /// Position of `command`.
    pub const COMMAND: usize = 1;
    /// Position of `frame`.
    pub const FRAME: usize = 2;
    /// Position of `load`.
    pub const LOAD: usize = 3;
    /// Lowest of the three positions of `target`.
    pub const TARGET: usize = 4;
    /// Position of `one`.
    pub const ONE: usize = 7;
    /// Position of `reset`.
    pub const RESET: usize = 8;
    /// Position of `status`.
    pub const STATUS: usize = 9;

    /// The bits as the sideband carries them.
    pub fn pack(self) -> u64 {
        u64::from(self.fits) << Self::FITS
            | u64::from(self.command) << Self::COMMAND
            | u64::from(self.frame) << Self::FRAME
            | u64::from(self.load) << Self::LOAD
            | u64::from(self.target & 7) << Self::TARGET
            | u64::from(self.one) << Self::ONE
            | u64::from(self.reset) << Self::RESET
            | u64::from(self.status) << Self::STATUS
    }

    /// The inverse of [`HeaderBits::pack`].
    pub fn unpack(v: u64) -> Self {
        let bit = |at: usize| v >> at & 1 != 0;
        HeaderBits {
            fits: bit(Self::FITS),
            command: bit(Self::COMMAND),
            frame: bit(Self::FRAME),
            load: bit(Self::LOAD),
            target: (v >> Self::TARGET & 7) as u8,
            one: bit(Self::ONE),
            reset: bit(Self::RESET),
            status: bit(Self::STATUS),
        }
    }

    /// Verilog wires `h_fits`, `h_command`, `h_frame`, `h_load`, `h_one`,
    /// `h_reset`, `h_status` and `h_target` taken from the sideband signal
    /// `user`.
    pub fn verilog_fields(user: &str) -> String {
        format!(
            "wire h_fits = {user}[{}], h_command = {user}[{}], h_frame = {user}[{}], h_load = {user}[{}], h_one = {user}[{}];
wire h_reset = {user}[{}], h_status = {user}[{}];
wire [2:0] h_target = {user}[{}:{}];",
            Self::FITS,
            Self::COMMAND,
            Self::FRAME,
            Self::LOAD,
            Self::ONE,
            Self::RESET,
            Self::STATUS,
            Self::TARGET + 2,
            Self::TARGET
        )
    }
}

/// Every opcode the design takes.
pub fn opcode_rules(lay: &Layout) -> Vec<OpcodeRule> {
    let command = |op| OpcodeRule {
        op,
        words: 0,
        kind: OpcodeKind::Command,
    };
    let mut v = vec![
        command(p::RESET),
        command(p::STATUS),
        command(p::READ_STATE),
        OpcodeRule {
            op: p::FRAME,
            words: lay.input_size as u32,
            kind: OpcodeKind::Frame,
        },
    ];
    v.extend(
        p::loads(lay)
            .into_iter()
            .map(|(op, target, words)| OpcodeRule {
                op,
                words,
                kind: OpcodeKind::Load { target },
            }),
    );
    v
}

/// The decode of `word` under the design's rules: all zero for an opcode
/// the design does not take.
pub fn header_bits(rules: &[OpcodeRule], word: u32) -> HeaderBits {
    let (op, len) = p::parse_header(word);
    let Some(rule) = rules.iter().find(|r| r.op == op) else {
        return HeaderBits::default();
    };
    let (command, frame, target) = match rule.kind {
        OpcodeKind::Command => (true, false, None),
        OpcodeKind::Frame => (false, true, None),
        OpcodeKind::Load { target } => (false, false, Some(target)),
    };
    HeaderBits {
        fits: rule.words as usize == len,
        command,
        frame,
        load: target.is_some(),
        target: target.unwrap_or(0),
        one: rule.words == 1,
        reset: rule.op == p::RESET,
        status: rule.op == p::STATUS,
    }
}

/// The decode.
#[derive(LogicBlock)]
pub struct HeaderCheck {
    /// The stream word.
    pub word: DynSig<In>,
    /// Its [`HeaderBits`], packed.
    pub bits: Signal<Out, Bits<{ HeaderBits::WIDTH }>>,
    _rules: Vec<OpcodeRule>,
}

impl HeaderCheck {
    /// The decode of a layout's opcodes.
    pub fn new(lay: &Layout) -> Self {
        HeaderCheck {
            word: DynSig::new(32),
            bits: Signal::default(),
            _rules: opcode_rules(lay),
        }
    }
}

impl Logic for HeaderCheck {
    fn update(&mut self) {
        let b = header_bits(&self._rules, self.word.val().0 as u32);
        self.bits.next = b.pack().into();
    }
    fn connect(&mut self) {
        self.bits.connect();
    }
    fn hdl(&self) -> Verilog {
        let w = HeaderBits::WIDTH;
        let mut s = String::from("always @(*) begin\n    case (word[31:24])\n");
        for r in &self._rules {
            // A length the field cannot hold never fits.
            let fits = if r.words > 0x00ff_ffff {
                "1'b0".to_string()
            } else {
                format!("(word[23:0] == 24'd{})", r.words)
            };
            // Every bit but `fits` is a constant of the opcode.
            let fixed = HeaderBits {
                fits: false,
                ..header_bits(&self._rules, p::header(r.op, r.words as usize))
            };
            let _ = writeln!(
                s,
                "        8'h{:02x}: bits = {w}'d{} | ({{{}'d0, {fits}}} << {});",
                r.op,
                fixed.pack(),
                w - 1,
                HeaderBits::FITS
            );
        }
        let _ = writeln!(s, "        default: bits = {w}'d0;\n    endcase\nend");
        Verilog::Custom(s)
    }
}
