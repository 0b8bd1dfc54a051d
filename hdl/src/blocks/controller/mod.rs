//! The stream controller: the device side of [`lstm_accel_spec::protocol`]. It parses
//! packets from the input stream, writes loads into the weight, bias and
//! row-shift memories and frames into the data memory, sweeps the state
//! memories to zero on `RESET`, starts the sequencer, and sends results and
//! status words on the output stream through one output register
//! (`m_tdata`/`m_tvalid`/`m_tlast`), which only takes a new word when it is
//! empty or being taken, so back-pressure stalls the device instead of
//! losing a word. It owns the write ports of the data and cell memories: the
//! stream's writes when idle, the datapath's h and c writes while a frame runs.
//!
//! A logit is read from the logit memory and registered in the two cycles
//! before it is sent (synchronous read, then a register that keeps the
//! memory's slow read apart from the output mux), so logits leave at most
//! one every three cycles. The values of a `STATE_REPLY` leave one every
//! four: they are read from the cell and data memories at the addresses the
//! state reader walks (`reading`, a register, hands it their read ports;
//! `sr_next` moves it on, a cycle later).
//!
//! A reset (conditioned by [`crate::blocks::reset_hold`]) returns it to idle and
//! clears its counters, takes no input word while it lasts, and keeps the
//! record of complete loads: the memories keep their contents, and a load
//! a reset cut short had already cleared its bit.
//!
//! Two halves share the state register: the receiver (`receiver.rs`:
//! parsing, loads, frames, the reset sweep, the memories' write ports) and
//! the sender (`sender.rs`: a frame's result, the status and state replies,
//! the output register); `verilog.rs` writes both as one module.

mod receiver;
mod sender;
mod verilog;

use crate::blocks::header_check::HeaderBits;
use crate::dynamic::DynSig;
use lstm_accel_spec::layout::{Layout, Widths};
use lstm_accel_spec::protocol as p;
use rust_hdl::prelude::*;

const IDLE: u8 = 0;
const LOAD: u8 = 1;
const FRAME: u8 = 2;
const DISCARD: u8 = 3;
const RUN: u8 = 4;
const CLEAR: u8 = 5;
const SEND: u8 = 6;

/// Cycles a `SEND` waits for a memory's value after moving its read
/// address: the synchronous read, then the register that holds the value
/// before the output mux (a block RAM's read is slow to leave it).
const READ_WAIT: u8 = 2;

/// The registers' power-up values, which reset restores (all but `loaded`).
const RESET_VALUES: &str =
    "state = IDLE; target = 0; remaining = 0; rem_one = 0; bank = 0; addr = 0; lane = 0; frames = 0; seq = 0;
    err_opcode = 0; err_length = 0; err_refused = 0; k = 0; laddr = 0; class_r = 0; cycles_r = 0;
    m_data = 0; kind = 0; lwait = 0; m_valid = 0; m_last = 0; start_r = 0; clear_r = 0; reading_w = 0;
    load_w = 0; load_b = 0; load_s = 0; load_t = 0;
    wr_w = 0; wr_b = 0; wr_s = 0; wr_t = 0; wr_table = 0; wr_codebook = 0; wr_addr = 0; wr_data = 0;";

/// What a `SEND` sends.
const RESULT: u8 = 0;
const STATUS: u8 = 1;
const STATE: u8 = 2;

/// The load path's write stage: a load word taken at one clock edge is
/// written to its memory in the cycle after it, so the write ports hang on
/// registers of their own, not on the stream's valid, whose fan-out to
/// every bank's enable and the controller's state was ESE 16 x 64's
/// critical path. A word's write always lands before anything reads it: a
/// frame's matrix work starts at least two words after a load's last. The
/// address and the word are registered at every edge (as the Verilog's
/// `wr_addr` and `wr_data`), the target and bank only with a load word.
#[derive(Clone, Copy, Debug, Default)]
struct LoadWrite {
    /// The memory and bank written this cycle, if any.
    to: Option<(u8, u32)>,
    addr: u32,
    data: i64,
}

#[derive(Clone, Copy, Debug, Default)]
struct Regs {
    /// The write stage's registers.
    write: LoadWrite,
    state: u8,
    target: u8,
    remaining: u32,
    /// `remaining == 1`, kept as a register: a 32-bit compare in front of
    /// every load and frame enable was ESE's 8 x 64 critical path.
    rem_one: bool,
    bank: u32,
    addr: u32,
    lane: u32,
    frames: u32,
    seq: u32,
    err_opcode: u32,
    err_length: u32,
    err_refused: u32,
    loaded: u32,
    kind: u8,
    k: u32,
    lwait: u8,
    laddr: u32,
    class: u32,
    cycles: u32,
    m_data: u32,
    m_valid: bool,
    m_last: bool,
    start: bool,
    clear: bool,
}

/// The controller.
#[derive(LogicBlock)]
pub struct Controller {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset: back to idle with every counter cleared, except
    /// the record of which memories hold a complete load (their contents
    /// survive a reset, and a load cut short by one never counts).
    pub reset: Signal<In, Bit>,
    /// Out of reset: `!reset`, from a register of its own
    /// (`ResetHold::running`). The input handshake reads it instead of
    /// `reset`, whose register drives every control block and is slow to
    /// reach so many loads; `s_tready` then depends on two nearby registers.
    pub running: Signal<In, Bit>,
    /// Input stream data.
    pub s_tdata: DynSig<In>,
    /// Input stream valid.
    pub s_tvalid: Signal<In, Bit>,
    /// Input stream last word of a packet.
    pub s_tlast: Signal<In, Bit>,
    /// Input stream user bits: the word's decode as a header
    /// ([`HeaderBits`], registered with the word by the input slice).
    pub s_user: Signal<In, Bits<{ HeaderBits::WIDTH }>>,
    /// Input stream ready.
    pub s_tready: Signal<Out, Bit>,
    /// Output stream data.
    pub m_tdata: DynSig<Out>,
    /// Output stream valid.
    pub m_tvalid: Signal<Out, Bit>,
    /// Output stream last word of a packet.
    pub m_tlast: Signal<Out, Bit>,
    /// Output stream ready.
    pub m_tready: Signal<In, Bit>,
    /// The sequencer finished a frame.
    pub seq_done: DynSig<In>,
    /// Its class.
    pub seq_decoded: DynSig<In>,
    /// Its cycle count.
    pub seq_cycles: DynSig<In>,
    /// The datapath writes an h.
    pub h_we: DynSig<In>,
    /// Its bank.
    pub h_lane: DynSig<In>,
    /// Its word.
    pub h_word: DynSig<In>,
    /// Its value.
    pub h_data: DynSig<In>,
    /// The datapath writes a cell state.
    pub c_we: DynSig<In>,
    /// Its address.
    pub c_addr: DynSig<In>,
    /// Its value.
    pub c_data: DynSig<In>,
    /// The logit memory's word.
    pub logit_data: DynSig<In>,
    /// The state reader's value is an h (else a cell state).
    pub sr_is_h: DynSig<In>,
    /// The cell memory's read word.
    pub c_read: DynSig<In>,
    /// The data memory's read word, from the state reader's bank.
    pub h_read: DynSig<In>,
    /// Load address.
    pub load_addr: DynSig<Out>,
    /// Load data.
    pub load_data: DynSig<Out>,
    /// Write enable per weight bank.
    pub weight_we: Vec<DynSig<Out>>,
    /// Bias write enable per row engine's bank.
    pub bias_we: Vec<DynSig<Out>>,
    /// Row-shift write enable per row engine's bank (when the design has
    /// row shifts).
    pub shift_we: Vec<DynSig<Out>>,
    /// Class-table write enable (when the head is a LightRNN one).
    pub table_we: Vec<DynSig<Out>>,
    /// Codebook-table write enable (when a matrix is a codebook).
    pub codebook_we: Vec<DynSig<Out>>,
    /// Tap-memory write enable per bank (structured matrices).
    pub tap_we: Vec<DynSig<Out>>,
    /// Data-memory write enable per bank.
    pub data_we: Vec<DynSig<Out>>,
    /// Data-memory write address.
    pub data_addr: DynSig<Out>,
    /// Data-memory write data.
    pub data_data: DynSig<Out>,
    /// Cell-memory write enable.
    pub cell_we: DynSig<Out>,
    /// Cell-memory write address.
    pub cell_addr: DynSig<Out>,
    /// Cell-memory write data.
    pub cell_data: DynSig<Out>,
    /// Logit-memory read address.
    pub logit_addr: DynSig<Out>,
    /// Start the sequencer.
    pub start: DynSig<Out>,
    /// The state was cleared.
    pub clear: DynSig<Out>,
    /// Nonzero while a state packet is sent: the state reader drives the
    /// read addresses of the cell and data memories.
    pub reading: DynSig<Out>,
    /// Nonzero: the state value is sent in this cycle.
    pub sr_next: DynSig<Out>,
    _lay: Layout,
    _s: Widths,
    _r: Regs,
    _signature: u32,
}

impl Controller {
    /// A controller for a layout.
    pub fn new(lay: &Layout) -> Self {
        let s = lay.widths();
        Controller {
            clock: Signal::default(),
            reset: Signal::default(),
            running: Signal::default(),
            s_tdata: DynSig::new(32),
            s_tvalid: Signal::default(),
            s_tlast: Signal::default(),
            s_user: Signal::default(),
            s_tready: Signal::default(),
            m_tdata: DynSig::new(32),
            m_tvalid: Signal::default(),
            m_tlast: Signal::default(),
            m_tready: Signal::default(),
            seq_done: DynSig::new(2),
            seq_decoded: DynSig::new(s.class_bits),
            seq_cycles: DynSig::new(33),
            h_we: DynSig::new(2),
            h_lane: DynSig::new(s.lane_bits),
            h_word: DynSig::new(s.data_addr_bits),
            h_data: DynSig::new(lay.data_width as usize),
            c_we: DynSig::new(2),
            c_addr: DynSig::new(s.cell_addr_bits),
            c_data: DynSig::new(lay.cell_width as usize),
            logit_data: DynSig::new(lay.head.logits.width as usize),
            sr_is_h: DynSig::new(2),
            c_read: DynSig::new(lay.cell_width as usize),
            h_read: DynSig::new(lay.data_width as usize),
            load_addr: DynSig::new(s.load_addr_bits),
            load_data: DynSig::new(32),
            weight_we: (0..lay.weight_banks).map(|_| DynSig::new(2)).collect(),
            bias_we: (0..lay.engines.max(1)).map(|_| DynSig::new(2)).collect(),
            shift_we: (0..crate::blocks::sequencer::Sequencer::row_shift_ports(lay))
                .map(|_| DynSig::new(2))
                .collect(),
            table_we: lay.head.light_rnn.iter().map(|_| DynSig::new(2)).collect(),
            codebook_we: (0..usize::from(lay.has_codebooks()))
                .map(|_| DynSig::new(2))
                .collect(),
            tap_we: (0..lay.tap_banks).map(|_| DynSig::new(2)).collect(),
            data_we: (0..lay.lanes).map(|_| DynSig::new(2)).collect(),
            data_addr: DynSig::new(s.data_addr_bits),
            data_data: DynSig::new(lay.data_width as usize),
            cell_we: DynSig::new(2),
            cell_addr: DynSig::new(s.cell_addr_bits),
            cell_data: DynSig::new(lay.cell_width as usize),
            logit_addr: DynSig::new(s.logit_addr_bits),
            start: DynSig::new(2),
            clear: DynSig::new(2),
            reading: DynSig::new(2),
            sr_next: DynSig::new(2),
            _signature: p::signature(lay),
            _lay: lay.clone(),
            _s: s,
            _r: Regs::default(),
        }
    }

    fn edge(&mut self) {
        let old = self._r;
        let mut n = old;
        n.start = false;
        n.clear = false;
        n.write = self.load_write(&old);
        match old.state {
            RUN | SEND => self.send_edge(&old, &mut n),
            _ => self.receive_edge(&old, &mut n),
        }
        if old.state != SEND && old.m_valid && self.m_tready.val() {
            n.m_valid = false;
        }
        if self.reset.val() {
            n = Regs {
                loaded: n.loaded,
                ..Regs::default()
            };
        }
        self._r = n;
    }

    fn outputs(&mut self) {
        self.receiver_outputs();
        self.sender_outputs();
    }
}

impl Logic for Controller {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            self.edge();
        }
        self.outputs();
    }
    fn connect(&mut self) {
        self.s_tready.connect();
        self.m_tvalid.connect();
        self.m_tlast.connect();
        for o in [
            &mut self.m_tdata,
            &mut self.load_addr,
            &mut self.load_data,
            &mut self.data_addr,
            &mut self.data_data,
            &mut self.cell_we,
            &mut self.cell_addr,
            &mut self.cell_data,
            &mut self.logit_addr,
            &mut self.start,
            &mut self.clear,
            &mut self.reading,
            &mut self.sr_next,
        ] {
            o.connect();
        }
        for o in self
            .weight_we
            .iter_mut()
            .chain(self.bias_we.iter_mut())
            .chain(self.shift_we.iter_mut())
            .chain(self.table_we.iter_mut())
            .chain(self.codebook_we.iter_mut())
            .chain(self.tap_we.iter_mut())
            .chain(self.data_we.iter_mut())
        {
            o.connect();
        }
    }
    fn hdl(&self) -> Verilog {
        Verilog::Custom(self.verilog())
    }
}
