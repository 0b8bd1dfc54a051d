//! The controller's receiving half: it parses the input stream's packets
//! (each header's decode comes registered with the word, [`HeaderBits`]),
//! counts what is wrong with them, writes loads into the weight, bias,
//! row-shift, class-table, codebook and tap memories and frames into the
//! data memory, sweeps the state memories to zero on `RESET`, and starts
//! the sequencer. It owns the write ports of the data and cell memories:
//! the stream's writes when idle, the datapath's h and c writes while a
//! frame runs. Its Verilog is in `verilog.rs`, beside the sender's, in the
//! one module both halves make.

use super::{Controller, LoadWrite, Regs};
use super::{CLEAR, DISCARD, FRAME, IDLE, LOAD, READ_WAIT, RUN, SEND, STATE, STATUS};
use crate::blocks::header_check::HeaderBits;
use crate::dynamic::{sext, DynVal};
use lstm_accel_spec::protocol as p;

/// How a payload word left its packet.
enum Payload {
    /// More words follow, as the header said.
    More,
    /// The last word, where the header said.
    Complete,
    /// The last word, before the header's count (counted as an error).
    Short,
    /// The header's count is reached but the packet goes on (counted; the
    /// rest is discarded).
    Long,
}

/// Counts one payload word of a load or a frame down from the header's
/// length: the same for both, whose packets end the same way.
fn count_payload(old: &Regs, n: &mut Regs, last: bool) -> Payload {
    n.remaining = old.remaining - 1;
    n.rem_one = old.remaining == 2;
    match (last, old.rem_one) {
        (true, true) => Payload::Complete,
        (false, false) => Payload::More,
        (true, false) => {
            n.err_length = old.err_length.wrapping_add(1);
            Payload::Short
        }
        (false, true) => {
            n.err_length = old.err_length.wrapping_add(1);
            n.state = DISCARD;
            Payload::Long
        }
    }
}

impl Controller {
    /// Whether an input word is taken this cycle: never during reset
    /// (upstream waits, nothing is lost).
    pub(super) fn ready(&self) -> bool {
        self.running.val() && matches!(self._r.state, IDLE | LOAD | FRAME | DISCARD)
    }

    /// The write stage at this edge: the address and the word, and the
    /// memory and bank when a load word is taken; it reaches its memory a
    /// cycle later ([`LoadWrite`]).
    pub(super) fn load_write(&self, old: &Regs) -> LoadWrite {
        let loading = old.state == LOAD && self.s_tvalid.val() && self.ready();
        LoadWrite {
            to: loading.then_some((old.target, old.bank)),
            addr: old.addr,
            data: self.s_tdata.val().0,
        }
    }

    /// The receiving states' transitions at a clock edge, from `old` into
    /// `n`: a header opens a command, a load or a frame (or is counted as
    /// an error and its packet discarded); load and frame words go to
    /// their memories; a reset sweep counts through the state memories.
    pub(super) fn receive_edge(&self, old: &Regs, n: &mut Regs) {
        let lay = &self._lay;
        let accept = self.s_tvalid.val() && self.ready();
        let last = self.s_tlast.val();
        let data = self.s_tdata.val().0 as u32;
        let lanes = lay.lanes as u32;
        match old.state {
            IDLE if accept => {
                // The header was decoded before the slice (`s_user`).
                let (_, len) = p::parse_header(data);
                let h = HeaderBits::unpack(self.s_user.val().index() as u64);
                let skip = if last { IDLE } else { DISCARD };
                if h.command {
                    if h.fits && last {
                        if h.reset {
                            n.state = CLEAR;
                            n.addr = 0;
                            n.clear = true;
                        } else {
                            n.state = SEND;
                            n.kind = if h.status { STATUS } else { STATE };
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
                if old.bank + 1 < p::load_banks(lay, old.target) {
                    n.bank = old.bank + 1;
                } else {
                    n.bank = 0;
                    n.addr = old.addr + 1;
                }
                match count_payload(old, n, last) {
                    Payload::Complete => {
                        n.loaded = old.loaded | (1 << old.target);
                        n.state = IDLE;
                    }
                    Payload::Short => n.state = IDLE,
                    Payload::Long | Payload::More => {}
                }
            }
            FRAME if accept => {
                if old.lane + 1 < lanes {
                    n.lane = old.lane + 1;
                } else {
                    n.lane = 0;
                    n.addr = old.addr + 1;
                }
                match count_payload(old, n, last) {
                    Payload::Complete => {
                        n.state = RUN;
                        n.start = true;
                    }
                    Payload::Short => n.state = IDLE,
                    Payload::Long | Payload::More => {}
                }
            }
            DISCARD if accept && last => n.state = IDLE,
            CLEAR => {
                n.addr = old.addr + 1;
                if old.addr + 1 >= p::clear_cycles(lay) as u32 {
                    n.state = IDLE;
                }
            }
            _ => {}
        }
    }

    /// The stream's handshake and the memories' write ports.
    pub(super) fn receiver_outputs(&mut self) {
        let r = self._r;
        let s = self._s;
        let ready = self.ready();
        let accept = self.s_tvalid.val() && ready;
        let data = self.s_tdata.val();
        self.s_tready.next = ready;
        let w = r.write;
        self.load_addr.next = DynVal(sext(i64::from(w.addr), s.load_addr_bits));
        self.load_data.next = DynVal(sext(w.data, 32));
        let writes = |t: u8, b: usize| w.to == Some((t, b as u32));
        for (b, we) in self.weight_we.iter_mut().enumerate() {
            we.next = DynVal(i64::from(writes(p::target::WEIGHTS, b)));
        }
        for (b, we) in self.bias_we.iter_mut().enumerate() {
            we.next = DynVal(i64::from(writes(p::target::BIASES, b)));
        }
        for (b, we) in self.shift_we.iter_mut().enumerate() {
            we.next = DynVal(i64::from(writes(p::target::ROW_SHIFTS, b)));
        }
        for we in &mut self.table_we {
            we.next = DynVal(i64::from(writes(p::target::CLASS_TABLE, 0)));
        }
        for we in &mut self.codebook_we {
            we.next = DynVal(i64::from(writes(p::target::CODEBOOKS, 0)));
        }
        for (b, we) in self.tap_we.iter_mut().enumerate() {
            we.next = DynVal(i64::from(writes(p::target::TAPS, b)));
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
        self.start.next = DynVal(i64::from(r.start));
        self.clear.next = DynVal(i64::from(r.clear));
    }
}
