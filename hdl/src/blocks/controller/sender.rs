//! The controller's sending half: once the sequencer finishes a frame it
//! latches the class and the cycle count and sends the result packet, and
//! it answers `STATUS` and `READ_STATE` with theirs, through one output
//! register (`m_tdata`/`m_tvalid`/`m_tlast`) that takes a new word only
//! when it is empty or being taken, so back-pressure stalls the device
//! instead of losing a word. Logits and state values come from memory
//! reads, registered before the output mux, at most one every three (a
//! logit) or four (a state value) cycles. Its Verilog is in `verilog.rs`,
//! beside the receiver's, in the one module both halves make.

use super::{Controller, Regs};
use super::{IDLE, READ_WAIT, RESULT, RUN, SEND, STATE, STATUS};
use crate::blocks::state_reader::StateReader;
use crate::dynamic::{sext, DynVal};
use lstm_accel_spec::protocol::{self as p, header};

impl Controller {
    /// The last word index of the packet being sent.
    pub(super) fn last_word(&self) -> u32 {
        match self._r.kind {
            STATUS => p::STATUS_WORDS as u32,
            STATE => p::state_words(&self._lay) as u32,
            _ => (p::RESULT_FIXED_WORDS + self._lay.head.rows) as u32,
        }
    }

    /// Word `k` of the packet being sent comes from a memory read.
    pub(super) fn read_from_memory(&self, k: u32) -> bool {
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
    pub(super) fn state_wait(&self) -> u8 {
        let extra = StateReader::extra_read_latency(&self._lay) as u8;
        READ_WAIT + 1 + extra
    }

    /// The next word of the packet being sent is taken at this edge.
    pub(super) fn takes(&self) -> bool {
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

    /// The sending states' transitions at a clock edge, from `old` into
    /// `n`: a finished frame's result is latched and its packet begins; a
    /// packet's words pass the output register one by one.
    pub(super) fn send_edge(&self, old: &Regs, n: &mut Regs) {
        match old.state {
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
    }

    /// The output stream and the read ports the sender drives.
    pub(super) fn sender_outputs(&mut self) {
        let r = self._r;
        let s = self._s;
        self.m_tdata.next = DynVal(i64::from(r.m_data as i32));
        self.m_tvalid.next = r.m_valid;
        self.m_tlast.next = r.m_last;
        self.logit_addr.next = DynVal(sext(i64::from(r.laddr), s.logit_addr_bits));
        let reading = r.state == SEND && r.kind == STATE;
        self.reading.next = DynVal(i64::from(reading));
        self.sr_next.next = DynVal(i64::from(reading && r.k >= 1 && self.takes()));
    }
}
