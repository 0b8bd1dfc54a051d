//! The receiving half of the UART bridge ([`lstm_accel_spec::link`]): bytes from the
//! UART become the accelerator's input stream, frame by frame, and only
//! frames that arrived whole with a good CRC get through.
//!
//! The parser always runs, so that the host's `ACK`s and `NAK`s for the
//! device's own frames are seen even while the accelerator holds up the
//! stream. It hunts for `SYNC`, reads kind, sequence and count, writes the
//! payload's words into a 255-word buffer and checks the CRC (CCITT-FALSE,
//! one byte per update, from `link::crc16_update`'s polynomial). A pause
//! longer than `GAP_BYTE_TIMES` inside a frame abandons it. A good data
//! frame:
//! - of the expected sequence, when the buffer is free: its words go out on
//!   `s_*` (`tlast` on the last word of a `DATA_END` frame), then the
//!   bridge answers `ACK(seq)` and expects the next sequence;
//! - of the previous sequence (its `ACK` was lost): `ACK(seq)` again;
//! - of another sequence: `NAK(expected)`;
//! - while the buffer is still being sent: dropped without an answer (the
//!   host sends it again after its time-out); its bytes never touch the
//!   buffer.
//!
//! A bad CRC is answered `NAK(expected)`. A host `ACK` or `NAK` pulses
//! `host_ack` / `host_nak` with its sequence for the transmitting half.
//! (`#[hdl_gen]` writes Rust's expressions into Verilog without adding
//! parentheses, and Verilog binds `==` tighter than `&` and `|`: every mixed
//! expression here is parenthesised.)
//!
//! Answers wait in `reply_*` until the transmitter takes them
//! (`reply_taken`); the forwarded frame's `ACK` takes precedence over an
//! answer from the parser in the same cycle, which is dropped (the host
//! asks again).

use super::crc16::Crc16Byte;
use lstm_accel_spec::link;
use rust_hdl::prelude::*;
use rust_hdl::widgets::dff::DFF;
use rust_hdl::widgets::dff_setup;
use rust_hdl::widgets::ramrom::ram::RAM;

/// The receiver.
#[derive(LogicBlock)]
pub struct LinkRx {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset: hunting for `SYNC`, expecting sequence 0, the
    /// buffer free, no answer pending, the error count cleared.
    pub reset: Signal<In, Bit>,
    /// A byte from the UART.
    pub in_byte: Signal<In, Bits<8>>,
    /// `in_byte` is new this cycle.
    pub in_valid: Signal<In, Bit>,
    /// Stream to the accelerator.
    pub s_tdata: Signal<Out, Bits<32>>,
    /// A word is offered.
    pub s_tvalid: Signal<Out, Bit>,
    /// The word closes a packet.
    pub s_tlast: Signal<Out, Bit>,
    /// The accelerator takes the word.
    pub s_tready: Signal<In, Bit>,
    /// An answer waits for the transmitter.
    pub reply_valid: Signal<Out, Bit>,
    /// Its kind (`D_ACK` or `D_NAK`).
    pub reply_kind: Signal<Out, Bits<8>>,
    /// Its sequence.
    pub reply_seq: Signal<Out, Bits<8>>,
    /// The transmitter took the answer.
    pub reply_taken: Signal<In, Bit>,
    /// One cycle: the host acknowledged the device's frame `host_seq`.
    pub host_ack: Signal<Out, Bit>,
    /// One cycle: the host asked for the device's frame again.
    pub host_nak: Signal<Out, Bit>,
    /// The sequence of the host's `ACK` / `NAK`.
    pub host_seq: Signal<Out, Bits<8>>,
    /// Frames dropped for a bad CRC or a gap (wraps).
    pub errors: Signal<Out, Bits<16>>,
    /// 0 hunting for `SYNC`, then 1 kind, 2 sequence, 3 count, 4 payload,
    /// 5 and 6 the CRC's bytes (literals: `#[hdl_gen]` names no constants).
    state: DFF<Bits<3>>,
    kind: DFF<Bits<8>>,
    seq: DFF<Bits<8>>,
    count: DFF<Bits<8>>,
    /// Payload bytes so far.
    nbytes: DFF<Bits<10>>,
    /// The word being assembled, least significant byte first.
    word: DFF<Bits<32>>,
    crc: DFF<Bits<16>>,
    crc_hi: DFF<Bits<8>>,
    /// This frame may write the buffer (it was free when the frame began).
    take: DFF<Bit>,
    /// Clocks since the last byte of a frame.
    gap: DFF<Bits<24>>,
    expected: DFF<Bits<8>>,
    /// The buffer's frame: being sent, its length, kind and sequence.
    sending: DFF<Bit>,
    /// The word at the buffer's output is valid (one read cycle passed).
    shown: DFF<Bit>,
    fwd: DFF<Bits<8>>,
    fwd_count: DFF<Bits<8>>,
    fwd_end: DFF<Bit>,
    fwd_seq: DFF<Bits<8>>,
    reply_v: DFF<Bit>,
    reply_k: DFF<Bits<8>>,
    reply_s: DFF<Bits<8>>,
    ack_p: DFF<Bit>,
    nak_p: DFF<Bit>,
    hseq: DFF<Bits<8>>,
    errs: DFF<Bits<16>>,
    buffer: RAM<Bits<32>, 8>,
    /// The running CRC with the current byte.
    crc_step: Crc16Byte,
    /// The frame's good data can be taken.
    good: Signal<Local, Bit>,
    /// The sequence before the expected one.
    previous: Signal<Local, Bits<8>>,
    gap_limit: Constant<Bits<24>>,
    c_h_data: Constant<Bits<8>>,
    c_h_end: Constant<Bits<8>>,
    c_h_ack: Constant<Bits<8>>,
    c_h_nak: Constant<Bits<8>>,
    c_d_ack: Constant<Bits<8>>,
    c_d_nak: Constant<Bits<8>>,
    c_sync: Constant<Bits<8>>,
}

impl LinkRx {
    /// A receiver whose UART has `clocks_per_bit` clocks per bit (for the
    /// gap time-out).
    pub fn new(clocks_per_bit: u64) -> Self {
        let gap = link::GAP_BYTE_TIMES * 10 * clocks_per_bit;
        assert!(
            gap < 1 << 24,
            "clocks per bit too large for the gap counter"
        );
        LinkRx {
            clock: Default::default(),
            reset: Default::default(),
            in_byte: Default::default(),
            in_valid: Default::default(),
            s_tdata: Default::default(),
            s_tvalid: Default::default(),
            s_tlast: Default::default(),
            s_tready: Default::default(),
            reply_valid: Default::default(),
            reply_kind: Default::default(),
            reply_seq: Default::default(),
            reply_taken: Default::default(),
            host_ack: Default::default(),
            host_nak: Default::default(),
            host_seq: Default::default(),
            errors: Default::default(),
            state: Default::default(),
            kind: Default::default(),
            seq: Default::default(),
            count: Default::default(),
            nbytes: Default::default(),
            word: Default::default(),
            crc: Default::default(),
            crc_hi: Default::default(),
            take: Default::default(),
            gap: Default::default(),
            expected: Default::default(),
            sending: Default::default(),
            shown: Default::default(),
            fwd: Default::default(),
            fwd_count: Default::default(),
            fwd_end: Default::default(),
            fwd_seq: Default::default(),
            reply_v: Default::default(),
            reply_k: Default::default(),
            reply_s: Default::default(),
            ack_p: Default::default(),
            nak_p: Default::default(),
            hseq: Default::default(),
            errs: Default::default(),
            buffer: RAM::default(),
            crc_step: Default::default(),
            good: Default::default(),
            previous: Default::default(),
            gap_limit: Constant::new(gap.into()),
            c_h_data: Constant::new(u64::from(link::H_DATA).into()),
            c_h_end: Constant::new(u64::from(link::H_DATA_END).into()),
            c_h_ack: Constant::new(u64::from(link::H_ACK).into()),
            c_h_nak: Constant::new(u64::from(link::H_NAK).into()),
            c_d_ack: Constant::new(u64::from(link::D_ACK).into()),
            c_d_nak: Constant::new(u64::from(link::D_NAK).into()),
            c_sync: Constant::new(u64::from(link::SYNC).into()),
        }
    }
}

impl Logic for LinkRx {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, state, kind, seq, count, nbytes, word, crc, crc_hi, take, gap, expected,
            sending, shown, fwd, fwd_count, fwd_end, fwd_seq, reply_v, reply_k, reply_s, ack_p,
            nak_p, hseq, errs
        );
        self.buffer.read_clock.next = self.clock.val();
        self.buffer.write_clock.next = self.clock.val();
        self.buffer.write_enable.next = false;
        self.buffer.write_address.next = bit_cast::<8, 10>(self.nbytes.q.val() >> 2);
        self.buffer.write_data.next =
            (self.word.q.val() >> 8) | (bit_cast::<32, 8>(self.in_byte.val()) << 24);
        self.buffer.read_address.next = self.fwd.q.val();
        self.ack_p.d.next = false;
        self.nak_p.d.next = false;
        // A reply the transmitter takes now is done; one set below, later
        // in this cycle, stands.
        if self.reply_taken.val() & self.reply_v.q.val() {
            self.reply_v.d.next = false;
        }
        // CRC-16/CCITT-FALSE of the running value and this byte.
        self.crc_step.crc.next = self.crc.q.val();
        self.crc_step.data.next = self.in_byte.val();
        self.good.next = false;
        // An 8-bit register: the sequence before the expected one, wrapping.
        self.previous.next = self.expected.q.val() - 1;
        // The parser.
        if self.state.q.val() != 0 {
            self.gap.d.next = self.gap.q.val() + 1;
            if self.gap.q.val() == self.gap_limit.val() {
                self.state.d.next = 0.into();
                self.errs.d.next = self.errs.q.val() + 1;
            }
        }
        if self.in_valid.val() {
            self.gap.d.next = 0.into();
            if self.state.q.val() == 0 {
                if self.in_byte.val() == self.c_sync.val() {
                    self.state.d.next = 1.into();
                    self.crc.d.next = 0xffff.into();
                    self.take.d.next = !self.sending.q.val();
                }
            } else if self.state.q.val() == 1 {
                self.kind.d.next = self.in_byte.val();
                self.crc.d.next = self.crc_step.out.val();
                self.state.d.next = 2.into();
            } else if self.state.q.val() == 2 {
                self.seq.d.next = self.in_byte.val();
                self.crc.d.next = self.crc_step.out.val();
                self.state.d.next = 3.into();
            } else if self.state.q.val() == 3 {
                self.count.d.next = self.in_byte.val();
                self.crc.d.next = self.crc_step.out.val();
                self.nbytes.d.next = 0.into();
                if self.in_byte.val() == 0 {
                    self.state.d.next = 5.into();
                } else {
                    self.state.d.next = 4.into();
                }
            } else if self.state.q.val() == 4 {
                self.crc.d.next = self.crc_step.out.val();
                self.word.d.next =
                    (self.word.q.val() >> 8) | (bit_cast::<32, 8>(self.in_byte.val()) << 24);
                // A word's fourth byte: the whole word into the buffer, if
                // this frame may write it.
                if self.take.q.val() & ((self.nbytes.q.val() & 3) == 3) {
                    self.buffer.write_enable.next = true;
                }
                self.nbytes.d.next = self.nbytes.q.val() + 1;
                if self.nbytes.q.val() + 1 == bit_cast::<10, 8>(self.count.q.val()) << 2 {
                    self.state.d.next = 5.into();
                }
            } else if self.state.q.val() == 5 {
                self.crc_hi.d.next = self.in_byte.val();
                self.state.d.next = 6.into();
            } else {
                self.state.d.next = 0.into();
                if ((bit_cast::<16, 8>(self.crc_hi.q.val()) << 8)
                    | bit_cast::<16, 8>(self.in_byte.val()))
                    != self.crc.q.val()
                {
                    self.errs.d.next = self.errs.q.val() + 1;
                    self.reply_v.d.next = true;
                    self.reply_k.d.next = self.c_d_nak.val();
                    self.reply_s.d.next = self.expected.q.val();
                } else if self.kind.q.val() == self.c_h_ack.val() {
                    self.ack_p.d.next = true;
                    self.hseq.d.next = self.seq.q.val();
                } else if self.kind.q.val() == self.c_h_nak.val() {
                    self.nak_p.d.next = true;
                    self.hseq.d.next = self.seq.q.val();
                } else if ((self.kind.q.val() == self.c_h_data.val())
                    | (self.kind.q.val() == self.c_h_end.val()))
                    & (self.take.q.val() & !self.sending.q.val())
                {
                    if self.seq.q.val() == self.expected.q.val() {
                        self.good.next = true;
                    } else if self.seq.q.val() == self.previous.val() {
                        self.reply_v.d.next = true;
                        self.reply_k.d.next = self.c_d_ack.val();
                        self.reply_s.d.next = self.seq.q.val();
                    } else {
                        self.reply_v.d.next = true;
                        self.reply_k.d.next = self.c_d_nak.val();
                        self.reply_s.d.next = self.expected.q.val();
                    }
                }
            }
        }
        // The forwarder.
        if self.good.val() {
            self.expected.d.next = self.expected.q.val() + 1;
            self.fwd_seq.d.next = self.seq.q.val();
            self.fwd_end.d.next = self.kind.q.val() == self.c_h_end.val();
            self.fwd.d.next = 0.into();
            self.fwd_count.d.next = self.count.q.val();
            self.shown.d.next = false;
            if self.count.q.val() == 0 {
                self.reply_v.d.next = true;
                self.reply_k.d.next = self.c_d_ack.val();
                self.reply_s.d.next = self.seq.q.val();
            } else {
                self.sending.d.next = true;
            }
        }
        self.s_tvalid.next = false;
        self.s_tlast.next = false;
        self.s_tdata.next = self.buffer.read_data.val();
        if self.sending.q.val() {
            // The buffer's read follows `fwd`; its word shows a cycle later.
            self.shown.d.next = true;
            if self.shown.q.val() {
                self.s_tvalid.next = true;
                self.s_tlast.next =
                    self.fwd_end.q.val() & (self.fwd.q.val() + 1 == self.fwd_count.q.val());
                if self.s_tready.val() {
                    self.shown.d.next = false;
                    self.fwd.d.next = self.fwd.q.val() + 1;
                    if self.fwd.q.val() + 1 == self.fwd_count.q.val() {
                        self.sending.d.next = false;
                        self.reply_v.d.next = true;
                        self.reply_k.d.next = self.c_d_ack.val();
                        self.reply_s.d.next = self.fwd_seq.q.val();
                    }
                }
            }
        }
        if self.reset.val() {
            self.state.d.next = 0.into();
            self.take.d.next = false;
            self.gap.d.next = 0.into();
            self.expected.d.next = 0.into();
            self.sending.d.next = false;
            self.shown.d.next = false;
            self.reply_v.d.next = false;
            self.ack_p.d.next = false;
            self.nak_p.d.next = false;
            self.errs.d.next = 0.into();
        }
        self.reply_valid.next = self.reply_v.q.val();
        self.reply_kind.next = self.reply_k.q.val();
        self.reply_seq.next = self.reply_s.q.val();
        self.host_ack.next = self.ack_p.q.val();
        self.host_nak.next = self.nak_p.q.val();
        self.host_seq.next = self.hseq.q.val();
        self.errors.next = self.errs.q.val();
    }
}
