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
//! A reset (conditioned by [`super::reset_hold`]) returns it to idle and
//! clears its counters, takes no input word while it lasts, and keeps the
//! record of complete loads: the memories keep their contents, and a load
//! a reset cut short had already cleared its bit.

use crate::blocks::header_check::HeaderBits;
use crate::blocks::state_reader::StateReader;
use crate::dynamic::{sext, DynSig, DynVal};
use crate::verilog::{initial_block, reset_clause};
use lstm_accel_spec::layout::{Layout, Widths};
use lstm_accel_spec::protocol::{self as p, header};
use rust_hdl::prelude::*;
use std::fmt::Write;

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
    m_data = 0; kind = 0; lwait = 0; m_valid = 0; m_last = 0; start_r = 0; clear_r = 0; reading_w = 0;";

/// What a `SEND` sends.
const RESULT: u8 = 0;
const STATUS: u8 = 1;
const STATE: u8 = 2;

#[derive(Clone, Copy, Debug, Default)]
struct Regs {
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

    /// Whether an input word is taken this cycle: never during reset
    /// (upstream waits, nothing is lost).
    fn ready(&self) -> bool {
        self.running.val() && matches!(self._r.state, IDLE | LOAD | FRAME | DISCARD)
    }

    /// The last word index of the packet being sent.
    fn last_word(&self) -> u32 {
        match self._r.kind {
            STATUS => p::STATUS_WORDS as u32,
            STATE => p::state_words(&self._lay) as u32,
            _ => (p::RESULT_FIXED_WORDS + self._lay.head.rows) as u32,
        }
    }

    /// Word `k` of the packet being sent comes from a memory read.
    fn read_from_memory(&self, k: u32) -> bool {
        match self._r.kind {
            RESULT => k > p::RESULT_FIXED_WORDS as u32,
            STATE => k >= 1,
            _ => false,
        }
    }

    /// Cycles a `SEND` of the state waits for each value after taking the
    /// one before: the state reader moves a cycle after the take, then
    /// the read as for any memory, and the state reader's registered
    /// fan-out and lane select where the design has them.
    fn state_wait(&self) -> u8 {
        let extra = StateReader::extra_read_latency(&self._lay) as u8;
        READ_WAIT + 1 + extra
    }

    /// The next word of the packet being sent is taken at this edge.
    fn takes(&self) -> bool {
        let r = &self._r;
        let free = !r.m_valid || self.m_tready.val();
        r.state == SEND
            && r.k <= self.last_word()
            && free
            && !(self.read_from_memory(r.k) && r.lwait > 0)
    }

    /// Word `k` of the packet being sent.
    fn word(&self, k: u32) -> u32 {
        let r = &self._r;
        if r.kind == STATE {
            return match k {
                0 => header(p::STATE_REPLY, p::state_words(&self._lay)),
                _ if self.sr_is_h.val().0 != 0 => self.h_read.val().0 as u32,
                _ => self.c_read.val().0 as u32,
            };
        }
        if r.kind == STATUS {
            match k {
                0 => header(p::STATUS_REPLY, p::STATUS_WORDS),
                1 => r.frames,
                2 => r.err_opcode,
                3 => r.err_length,
                4 => r.err_refused,
                5 => r.loaded,
                6 => self._signature,
                _ => 0,
            }
        } else {
            match k {
                0 => header(p::RESULT, p::RESULT_FIXED_WORDS + self._lay.head.rows),
                1 => r.seq,
                2 => r.class,
                3 => r.cycles,
                _ => self.logit_data.val().0 as u32,
            }
        }
    }

    /// The design's loadable memories: (opcode, target index = bit of the
    /// loaded mask, stream words of a whole load).
    pub(crate) fn loads(lay: &Layout) -> Vec<(u32, u8, u32)> {
        let mut v = vec![
            (p::LOAD_WEIGHTS, 0, lay.weight_stream_words() as u32),
            (p::LOAD_BIASES, 1, (lay.rows * lay.engines.max(1)) as u32),
        ];
        if lay.row_shifts {
            v.push((
                p::LOAD_ROW_SHIFTS,
                2,
                (lay.rows * lay.engines.max(1)) as u32,
            ));
        }
        if let Some(l) = &lay.head.light_rnn {
            v.push((p::LOAD_CLASS_TABLE, 3, (l.rows * l.cols) as u32));
        }
        if lay.has_codebooks() {
            v.push((
                p::LOAD_CODEBOOKS,
                4,
                (lay.matrix_ids() * lstm_accel_spec::layout::CODEBOOK_ENTRIES) as u32,
            ));
        }
        if lay.tap_words > 0 {
            v.push((p::LOAD_TAPS, 5, lay.tap_stream_words() as u32));
        }
        v
    }

    fn edge(&mut self) {
        let old = self._r;
        let mut n = old;
        let lay = &self._lay;
        let accept = self.s_tvalid.val() && self.ready();
        let last = self.s_tlast.val();
        let data = self.s_tdata.val().0 as u32;
        let lanes = lay.lanes as u32;
        n.start = false;
        n.clear = false;
        match old.state {
            IDLE if accept => {
                // The header was decoded before the slice (`s_user`).
                let (op, len) = p::parse_header(data);
                let h = HeaderBits::unpack(self.s_user.val().index() as u64);
                let skip = if last { IDLE } else { DISCARD };
                if h.command {
                    if h.fits && last {
                        if op == p::RESET {
                            n.state = CLEAR;
                            n.addr = 0;
                            n.clear = true;
                        } else {
                            n.state = SEND;
                            n.kind = if op == p::STATUS { STATUS } else { STATE };
                            n.k = 0;
                            n.lwait = READ_WAIT;
                        }
                    } else {
                        n.err_length = old.err_length.wrapping_add(1);
                        n.state = skip;
                    }
                } else if h.frame {
                    if old.loaded != p::loaded_mask(lay) {
                        n.err_refused = old.err_refused.wrapping_add(1);
                        n.state = skip;
                    } else if h.fits && !last {
                        n.state = FRAME;
                        n.remaining = len as u32;
                        n.rem_one = h.one;
                        n.lane = 0;
                        n.addr = 0;
                    } else {
                        n.err_length = old.err_length.wrapping_add(1);
                        n.state = skip;
                    }
                } else if h.load {
                    if h.fits && !last {
                        n.state = LOAD;
                        n.target = h.target;
                        n.remaining = len as u32;
                        n.rem_one = h.one;
                        n.bank = 0;
                        n.addr = 0;
                        n.loaded = old.loaded & !(1 << h.target);
                    } else {
                        n.err_length = old.err_length.wrapping_add(1);
                        n.state = skip;
                    }
                } else {
                    n.err_opcode = old.err_opcode.wrapping_add(1);
                    n.state = skip;
                }
            }
            LOAD if accept => {
                // Weight and tap words are one stream word per bank; bias
                // and row-shift entries one per row engine's bank.
                let banks = match old.target {
                    0 => lay.weight_banks,
                    5 => lay.tap_banks,
                    1 | 2 => lay.engines.max(1),
                    _ => 1,
                } as u32;
                if old.bank + 1 < banks {
                    n.bank = old.bank + 1;
                } else {
                    n.bank = 0;
                    n.addr = old.addr + 1;
                }
                n.remaining = old.remaining - 1;
                n.rem_one = old.remaining == 2;
                if last {
                    if old.rem_one {
                        n.loaded = old.loaded | (1 << old.target);
                    } else {
                        n.err_length = old.err_length.wrapping_add(1);
                    }
                    n.state = IDLE;
                } else if old.rem_one {
                    n.err_length = old.err_length.wrapping_add(1);
                    n.state = DISCARD;
                }
            }
            FRAME if accept => {
                if old.lane + 1 < lanes {
                    n.lane = old.lane + 1;
                } else {
                    n.lane = 0;
                    n.addr = old.addr + 1;
                }
                n.remaining = old.remaining - 1;
                n.rem_one = old.remaining == 2;
                if last {
                    if old.rem_one {
                        n.state = RUN;
                        n.start = true;
                    } else {
                        n.err_length = old.err_length.wrapping_add(1);
                        n.state = IDLE;
                    }
                } else if old.rem_one {
                    n.err_length = old.err_length.wrapping_add(1);
                    n.state = DISCARD;
                }
            }
            DISCARD if accept && last => n.state = IDLE,
            RUN if self.seq_done.val().0 != 0 => {
                n.class = self.seq_decoded.val().0 as u32;
                n.cycles = self.seq_cycles.val().0 as u32;
                n.seq = old.frames;
                n.frames = old.frames.wrapping_add(1);
                n.state = SEND;
                n.kind = RESULT;
                n.k = 0;
                n.laddr = 0;
                n.lwait = READ_WAIT;
            }
            CLEAR => {
                n.addr = old.addr + 1;
                if old.addr + 1 >= p::clear_cycles(lay) as u32 {
                    n.state = IDLE;
                }
            }
            SEND => {
                if old.m_valid && self.m_tready.val() {
                    n.m_valid = false;
                }
                n.lwait = old.lwait.saturating_sub(1);
                let last_k = self.last_word();
                if self.takes() {
                    n.m_data = self.word(old.k);
                    n.m_valid = true;
                    n.m_last = old.k == last_k;
                    n.k = old.k + 1;
                    if self.read_from_memory(old.k) {
                        n.lwait = if old.kind == STATE {
                            self.state_wait()
                        } else {
                            READ_WAIT
                        };
                        if old.kind == RESULT {
                            n.laddr = old.laddr + 1;
                        }
                    }
                }
                if old.k > last_k {
                    n.state = IDLE;
                }
            }
            _ => {}
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
        let r = self._r;
        let s = self._s;
        let ready = self.ready();
        let accept = self.s_tvalid.val() && ready;
        let data = self.s_tdata.val();
        self.s_tready.next = ready;
        self.m_tdata.next = DynVal(i64::from(r.m_data as i32));
        self.m_tvalid.next = r.m_valid;
        self.m_tlast.next = r.m_last;
        self.load_addr.next = DynVal(sext(i64::from(r.addr), s.load_addr_bits));
        self.load_data.next = data;
        let loading = r.state == LOAD && accept;
        for (b, we) in self.weight_we.iter_mut().enumerate() {
            we.next = DynVal(i64::from(loading && r.target == 0 && r.bank == b as u32));
        }
        for (b, we) in self.bias_we.iter_mut().enumerate() {
            we.next = DynVal(i64::from(loading && r.target == 1 && r.bank == b as u32));
        }
        for (b, we) in self.shift_we.iter_mut().enumerate() {
            we.next = DynVal(i64::from(loading && r.target == 2 && r.bank == b as u32));
        }
        for we in &mut self.table_we {
            we.next = DynVal(i64::from(loading && r.target == 3));
        }
        for we in &mut self.codebook_we {
            we.next = DynVal(i64::from(loading && r.target == 4));
        }
        for (b, we) in self.tap_we.iter_mut().enumerate() {
            we.next = DynVal(i64::from(loading && r.target == 5 && r.bank == b as u32));
        }
        let framing = r.state == FRAME && accept;
        let clearing = r.state == CLEAR;
        let (addr, value) = if framing {
            (i64::from(r.addr), data.0)
        } else if clearing {
            (i64::from(r.addr), 0)
        } else {
            (self.h_word.val().0, self.h_data.val().0)
        };
        let h_we = self.h_we.val().0 != 0;
        let h_lane = self.h_lane.val().0;
        for (k, we) in self.data_we.iter_mut().enumerate() {
            let on = if framing {
                r.lane == k as u32
            } else {
                clearing || (h_we && h_lane == k as i64)
            };
            we.next = DynVal(i64::from(on));
        }
        self.data_addr.next = DynVal(sext(addr, s.data_addr_bits));
        self.data_data.next = DynVal(sext(value, self._lay.data_width as usize));
        if clearing {
            self.cell_we.next = DynVal(1);
            self.cell_addr.next = DynVal(sext(i64::from(r.addr), s.cell_addr_bits));
            self.cell_data.next = DynVal(0);
        } else {
            self.cell_we.next = DynVal(i64::from(self.c_we.val().0 != 0));
            self.cell_addr.next = self.c_addr.val();
            self.cell_data.next = self.c_data.val();
        }
        self.logit_addr.next = DynVal(sext(i64::from(r.laddr), s.logit_addr_bits));
        self.start.next = DynVal(i64::from(r.start));
        self.clear.next = DynVal(i64::from(r.clear));
        let reading = r.state == SEND && r.kind == STATE;
        self.reading.next = DynVal(i64::from(reading));
        self.sr_next.next = DynVal(i64::from(reading && r.k >= 1 && self.takes()));
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

impl Controller {
    fn verilog(&self) -> String {
        let lay = &self._lay;
        let rows = lay.head.rows;
        let mut v = String::new();
        let _ = writeln!(
            v,
            "localparam IDLE = 3'd0, LOAD = 3'd1, FRAME = 3'd2, DISCARD = 3'd3, RUN = 3'd4, CLEAR = 3'd5, SEND = 3'd6;
reg [2:0] state;
reg [2:0] target;
reg [31:0] remaining, frames, seq, err_opcode, err_length, err_refused, loaded, laddr, class_r, cycles_r, m_data;
// remaining == 1, as a register (see `Regs::rem_one`).
reg rem_one;
reg [{k1}:0] k;
// Counters as wide as what they count: the load path's compares stay short.
reg [{bank1}:0] bank;
reg [{lane1}:0] lane;
reg [{addr1}:0] addr;
reg [1:0] kind;
reg [2:0] lwait;
reg m_valid, m_last, start_r, clear_r;
reg [31:0] word;
// No word is taken during reset: upstream waits (nothing is lost).
wire ready = running && ((state == IDLE) || (state == LOAD) || (state == FRAME) || (state == DISCARD));
wire accept = s_tvalid && ready;
wire [31:0] din = s_tdata;
wire [7:0] op = din[31:24];
wire [23:0] len = din[23:0];
// The header's decode, registered with the word (`HeaderBits`).
{header_fields}
wire [{k1}:0] last_k = (kind == 2'd1) ? {status_words} : ((kind == 2'd2) ? {state_words} : {result_last});
wire from_memory = (kind == 2'd0) ? (k > {fixed}) : ((kind == 2'd2) && (k >= 1));
wire free = !m_valid || m_tready;
wire takes = (state == SEND) && (k <= last_k) && free && !(from_memory && lwait != 0);
// `state == SEND && kind == STATE` as a register of its own, set and
// cleared on the transitions into and out of that state: it selects the
// read ports of the data and cell memories, and from a flip-flop the
// select reaches them in time.
reg reading_w;
wire signed [31:0] logit_in = logit_data;
wire signed [31:0] c_in = c_read;
wire signed [31:0] h_in = h_read;
// The memories' read data, registered before the output mux.
reg signed [31:0] logit_ext, c_ext, h_ext;
always @(posedge clock) begin
    logit_ext <= logit_in; c_ext <= c_in; h_ext <= h_in;
end

{initial}
always @(*) begin
    if (kind == 2'd2) begin
        if (k == 0) word = 32'h{state_header:08x};
        else word = (sr_is_h != 0) ? h_ext : c_ext;
    end else if (kind == 2'd1) case (k)
        0: word = 32'h{status_header:08x};
        1: word = frames;
        2: word = err_opcode;
        3: word = err_length;
        4: word = err_refused;
        5: word = loaded;
        6: word = 32'h{signature:08x};
        default: word = 0;
    endcase else case (k)
        0: word = 32'h{result_header:08x};
        1: word = seq;
        2: word = class_r;
        3: word = cycles_r;
        default: word = logit_ext;
    endcase
end
",
            initial = initial_block(&format!("{RESET_VALUES} loaded = 0;")),
            header_fields = HeaderBits::verilog_fields("s_user"),
            status_words = p::STATUS_WORDS,
            state_words = p::state_words(lay),
            state_header = header(p::STATE_REPLY, p::state_words(lay)),
            result_last = p::RESULT_FIXED_WORDS + rows,
            fixed = p::RESULT_FIXED_WORDS,
            status_header = header(p::STATUS_REPLY, p::STATUS_WORDS),
            signature = self._signature,
            result_header = header(p::RESULT, p::RESULT_FIXED_WORDS + rows),
            bank1 = bits_for(lay.weight_banks.max(lay.tap_banks).max(lay.engines)),
            // `k` passes the last word by one.
            k1 = bits_for(
                (p::RESULT_FIXED_WORDS + rows)
                    .max(p::STATUS_WORDS)
                    .max(p::state_words(lay))
                    + 1
            ),
            lane1 = bits_for(lay.lanes),
            addr1 = bits_for(
                p::clear_cycles(lay)
                    .max(1 << self._s.load_addr_bits)
                    .max(1 << self._s.data_addr_bits)
            ),
        );
        // Outputs.
        let _ = writeln!(
            v,
            "wire loading = (state == LOAD) && accept;
wire framing = (state == FRAME) && accept;
wire clearing = (state == CLEAR);
always @(*) begin
    s_tready = ready;
    m_tdata = m_data;
    m_tvalid = m_valid;
    m_tlast = m_last;
    load_addr = addr;
    load_data = s_tdata;
    data_addr = (framing || clearing) ? addr : h_word;
    data_data = framing ? s_tdata : (clearing ? 0 : h_data);
    cell_we = (clearing || c_we != 0) ? 2'sd1 : 2'sd0;
    cell_addr = clearing ? addr : c_addr;
    cell_data = clearing ? 0 : c_data;
    logit_addr = laddr;
    start = {{1'b0, start_r}};
    clear = {{1'b0, clear_r}};
    reading = {{1'b0, reading_w}};
    sr_next = (reading_w && k >= 1 && takes) ? 2'sd1 : 2'sd0;"
        );
        for b in 0..lay.weight_banks {
            let _ = writeln!(
                v,
                "    weight_we${b} = (loading && target == 3'd0 && bank == {b}) ? 2'sd1 : 2'sd0;"
            );
        }
        let engines = lay.engines.max(1);
        for b in 0..engines {
            let _ = writeln!(
                v,
                "    bias_we${b} = (loading && target == 3'd1 && bank == {b}) ? 2'sd1 : 2'sd0;"
            );
            if lay.row_shifts {
                let _ = writeln!(
                    v,
                    "    shift_we${b} = (loading && target == 3'd2 && bank == {b}) ? 2'sd1 : 2'sd0;"
                );
            }
        }
        if lay.head.light_rnn.is_some() {
            v.push_str("    table_we$0 = (loading && target == 3'd3) ? 2'sd1 : 2'sd0;\n");
        }
        if lay.has_codebooks() {
            v.push_str("    codebook_we$0 = (loading && target == 3'd4) ? 2'sd1 : 2'sd0;\n");
        }
        for b in 0..lay.tap_banks {
            let _ = writeln!(
                v,
                "    tap_we${b} = (loading && target == 3'd5 && bank == {b}) ? 2'sd1 : 2'sd0;"
            );
        }
        for k in 0..lay.lanes {
            let _ = writeln!(
                v,
                "    data_we${k} = (framing ? (lane == {k}) : (clearing || (h_we != 0 && h_lane == {k}))) ? 2'sd1 : 2'sd0;"
            );
        }
        v.push_str("end\n");
        let _ = writeln!(
            v,
            "
always @(posedge clock) begin
    start_r <= 0;
    clear_r <= 0;
    if (state != SEND && m_valid && m_tready)
        m_valid <= 0;
    case (state)
    IDLE: if (accept) begin
        if (h_command) begin
            if (h_fits && s_tlast) begin
                if (op == 8'h{reset:02x}) begin
                    state <= CLEAR; addr <= 0; clear_r <= 1;
                end else begin
                    state <= SEND; kind <= (op == 8'h{status_op:02x}) ? 2'd1 : 2'd2; k <= 0; lwait <= 3'd{read_wait};
                    reading_w <= (op == 8'h{read_state:02x});
                end
            end else begin
                err_length <= err_length + 1; state <= s_tlast ? IDLE : DISCARD;
            end
        end else if (h_frame) begin
            if (loaded != {need})
                begin err_refused <= err_refused + 1; state <= s_tlast ? IDLE : DISCARD; end
            else if (h_fits && !s_tlast) begin
                state <= FRAME; remaining <= len; rem_one <= h_one; lane <= 0; addr <= 0;
            end else begin
                err_length <= err_length + 1; state <= s_tlast ? IDLE : DISCARD;
            end
        end else if (h_load) begin
            if (h_fits && !s_tlast) begin
                state <= LOAD; target <= h_target; remaining <= len; rem_one <= h_one; bank <= 0; addr <= 0;
                loaded <= loaded & ~(32'd1 << h_target);
            end else begin
                err_length <= err_length + 1; state <= s_tlast ? IDLE : DISCARD;
            end
        end else begin
            err_opcode <= err_opcode + 1; state <= s_tlast ? IDLE : DISCARD;
        end
    end
    LOAD: if (accept) begin
        if ((target == 3'd0 && bank + 1 < {banks}){tap_banks}{engine_banks})
            bank <= bank + 1;
        else begin
            bank <= 0; addr <= addr + 1;
        end
        remaining <= remaining - 1;
        rem_one <= (remaining == 2);
        if (s_tlast) begin
            if (rem_one)
                loaded <= loaded | (32'd1 << target);
            else
                err_length <= err_length + 1;
            state <= IDLE;
        end else if (rem_one) begin
            err_length <= err_length + 1; state <= DISCARD;
        end
    end
    FRAME: if (accept) begin
        if (lane + 1 < {lanes})
            lane <= lane + 1;
        else begin
            lane <= 0; addr <= addr + 1;
        end
        remaining <= remaining - 1;
        rem_one <= (remaining == 2);
        if (s_tlast) begin
            if (rem_one) begin
                state <= RUN; start_r <= 1;
            end else begin
                err_length <= err_length + 1; state <= IDLE;
            end
        end else if (rem_one) begin
            err_length <= err_length + 1; state <= DISCARD;
        end
    end
    DISCARD: if (accept && s_tlast)
        state <= IDLE;
    RUN: if (seq_done != 0) begin
        class_r <= seq_decoded;
        cycles_r <= seq_cycles[31:0];
        seq <= frames;
        frames <= frames + 1;
        state <= SEND; kind <= 2'd0; k <= 0; laddr <= 0; lwait <= 3'd{read_wait};
    end
    CLEAR: begin
        addr <= addr + 1;
        if (addr + 1 >= {clear})
            state <= IDLE;
    end
    SEND: begin
        if (m_valid && m_tready)
            m_valid <= 0;
        if (lwait != 0)
            lwait <= lwait - 1;
        if (takes) begin
            m_data <= word;
            m_valid <= 1;
            m_last <= (k == last_k);
            k <= k + 1;
            if (from_memory) begin
                lwait <= (kind == 2'd2) ? 3'd{state_wait} : 3'd{read_wait};
                if (kind == 2'd0)
                    laddr <= laddr + 1;
            end
        end
        if (k > last_k) begin
            state <= IDLE;
            reading_w <= 0;
        end
    end
    default: ;
    endcase
end",
            reset = p::RESET,
            status_op = p::STATUS,
            read_state = p::READ_STATE,
            need = p::loaded_mask(lay),
            banks = lay.weight_banks,
            tap_banks = if lay.tap_banks > 0 {
                format!(" || (target == 3'd5 && bank + 1 < {})", lay.tap_banks)
            } else {
                String::new()
            },
            engine_banks = if lay.engines > 1 {
                format!(
                    " || ((target == 3'd1 || target == 3'd2) && bank + 1 < {})",
                    lay.engines
                )
            } else {
                String::new()
            },
            lanes = lay.lanes,
            clear = p::clear_cycles(lay),
            read_wait = READ_WAIT,
            state_wait = self.state_wait(),
        );
        // Reset's clause ends the block that assigns the registers.
        assert!(v.ends_with("endcase\nend\n"));
        v.truncate(v.len() - "end\n".len());
        v.push_str(&reset_clause(RESET_VALUES));
        v.push_str("end\n");
        v
    }
}

/// The top bit index of a counter that reaches `n` (one bit to spare).
fn bits_for(n: usize) -> usize {
    (usize::BITS - n.leading_zeros()) as usize
}
