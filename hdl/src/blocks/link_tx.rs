//! The transmitting half of the UART bridge ([`lstm_accel_spec::link`]): the
//! accelerator's output stream becomes data frames, and the receiver's
//! answers become `ACK` / `NAK` frames, byte by byte into the UART.
//!
//! The accelerator's words fill a 255-word buffer until a packet's last
//! word or a full buffer closes the frame (`DATA_END` or `DATA`); then the
//! stream stalls (`m_tready` low) until the host acknowledges the frame's
//! sequence, so no word is lost or sent twice. The frame goes out again on
//! the host's `NAK`, or when no `ACK` came within `RESEND_BYTE_TIMES` (the
//! host drops a repeat it already has, and acknowledges it again). An `ACK`
//! that arrives while the frame is being sent again is left to that repeat.
//!
//! Between frames an answer of the receiver goes first, then the data frame.
//! A frame's bytes are `SYNC`, kind, sequence, count, the payload (least
//! significant byte first, read from the buffer a byte time ahead) and the
//! CRC-16/CCITT-FALSE of kind to payload, most significant byte first (each
//! byte folded in the cycle after it is sent, from a register: the CRC's
//! bytes leave many cycles later). Each byte reaches the UART from a
//! register, three cycles after its position is set: the buffer's read, the
//! payload byte's register, the byte's register (an ECP5 block RAM's read
//! without its output register leaves little of a 100 MHz cycle).
//! (Every mixed expression is parenthesised: `#[hdl_gen]` writes Rust's
//! expressions into Verilog as they are, and Verilog binds `==` tighter than
//! `&` and `|`.)

use super::crc16::Crc16Byte;
use lstm_accel_spec::link;
use rust_hdl::prelude::*;
use rust_hdl::widgets::dff::DFF;
use rust_hdl::widgets::dff_setup;
use rust_hdl::widgets::ramrom::ram::RAM;

/// The transmitter.
#[derive(LogicBlock)]
pub struct LinkTx {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset: the buffer empty, sequence 0, nothing being sent
    /// (a frame cut short fails its CRC at the host), the resend count
    /// cleared.
    pub reset: Signal<In, Bit>,
    /// The accelerator's output word.
    pub m_tdata: Signal<In, Bits<32>>,
    /// A word is offered.
    pub m_tvalid: Signal<In, Bit>,
    /// The word closes a packet.
    pub m_tlast: Signal<In, Bit>,
    /// The bridge takes the word.
    pub m_tready: Signal<Out, Bit>,
    /// An answer of the receiver waits.
    pub reply_valid: Signal<In, Bit>,
    /// Its kind.
    pub reply_kind: Signal<In, Bits<8>>,
    /// Its sequence.
    pub reply_seq: Signal<In, Bits<8>>,
    /// The answer is taken (one cycle).
    pub reply_taken: Signal<Out, Bit>,
    /// One cycle: the host acknowledged frame `host_seq`.
    pub host_ack: Signal<In, Bit>,
    /// One cycle: the host asked for the frame again.
    pub host_nak: Signal<In, Bit>,
    /// The sequence of the host's answer.
    pub host_seq: Signal<In, Bits<8>>,
    /// A byte for the UART.
    pub tx_data: Signal<Out, Bits<8>>,
    /// `tx_data` is offered.
    pub tx_valid: Signal<Out, Bit>,
    /// The UART takes the byte.
    pub tx_ready: Signal<In, Bit>,
    /// Data frames sent again (wraps).
    pub resends: Signal<Out, Bits<16>>,
    /// Words in the buffer.
    wcount: DFF<Bits<8>>,
    /// The buffer holds a closed frame.
    full: DFF<Bit>,
    /// It closes a packet.
    closes: DFF<Bit>,
    /// Its sequence.
    tx_seq: DFF<Bits<8>>,
    /// It was sent and waits for its `ACK`.
    sent: DFF<Bit>,
    /// Send it again.
    again: DFF<Bit>,
    /// Clocks since it was sent.
    timer: DFF<Bits<28>>,
    /// A frame is going out.
    busy: DFF<Bit>,
    /// The frame going out is the data frame.
    is_data: DFF<Bit>,
    f_kind: DFF<Bits<8>>,
    f_seq: DFF<Bits<8>>,
    f_count: DFF<Bits<8>>,
    /// Position of the byte being offered.
    pos: DFF<Bits<11>>,
    /// The byte at `pos` is valid: a cycle after `pos` moved, so that a
    /// payload byte's buffer read has arrived.
    shown: DFF<Bit>,
    /// The payload byte at `pos`, registered from the buffer's read
    /// (`shown2`: it is the current one).
    word_q: DFF<Bits<8>>,
    shown2: DFF<Bit>,
    /// The byte at `pos`, registered (`staged`: it is the current one).
    byte_q: DFF<Bits<8>>,
    staged: DFF<Bit>,
    crc: DFF<Bits<16>>,
    rs: DFF<Bits<16>>,
    buffer: RAM<Bits<32>, 8>,
    /// The byte at `pos`.
    out_byte: Signal<Local, Bits<8>>,
    frame_byte: Signal<Local, Bits<8>>,
    word_byte: Signal<Local, Bits<8>>,
    /// Position of the first CRC byte.
    crc_at: Signal<Local, Bits<11>>,
    /// The running CRC with the byte just sent.
    crc_step: Crc16Byte,
    /// The byte just sent, and whether it is still to be folded in.
    sent_byte: DFF<Bits<8>>,
    fold: DFF<Bit>,
    resend_limit: Constant<Bits<28>>,
    c_sync: Constant<Bits<8>>,
    c_data: Constant<Bits<8>>,
    c_end: Constant<Bits<8>>,
}

impl LinkTx {
    /// A transmitter whose UART has `clocks_per_bit` clocks per bit (for
    /// the resend time-out).
    pub fn new(clocks_per_bit: u64) -> Self {
        let limit = link::RESEND_BYTE_TIMES * 10 * clocks_per_bit;
        assert!(
            limit < 1 << 28,
            "clocks per bit too large for the resend timer"
        );
        LinkTx {
            clock: Default::default(),
            reset: Default::default(),
            m_tdata: Default::default(),
            m_tvalid: Default::default(),
            m_tlast: Default::default(),
            m_tready: Default::default(),
            reply_valid: Default::default(),
            reply_kind: Default::default(),
            reply_seq: Default::default(),
            reply_taken: Default::default(),
            host_ack: Default::default(),
            host_nak: Default::default(),
            host_seq: Default::default(),
            tx_data: Default::default(),
            tx_valid: Default::default(),
            tx_ready: Default::default(),
            resends: Default::default(),
            wcount: Default::default(),
            full: Default::default(),
            closes: Default::default(),
            tx_seq: Default::default(),
            sent: Default::default(),
            again: Default::default(),
            timer: Default::default(),
            busy: Default::default(),
            is_data: Default::default(),
            f_kind: Default::default(),
            f_seq: Default::default(),
            f_count: Default::default(),
            pos: Default::default(),
            shown: Default::default(),
            word_q: Default::default(),
            shown2: Default::default(),
            byte_q: Default::default(),
            staged: Default::default(),
            crc: Default::default(),
            rs: Default::default(),
            buffer: RAM::default(),
            out_byte: Default::default(),
            frame_byte: Default::default(),
            word_byte: Default::default(),
            crc_at: Default::default(),
            crc_step: Default::default(),
            sent_byte: Default::default(),
            fold: Default::default(),
            resend_limit: Constant::new(limit.into()),
            c_sync: Constant::new(u64::from(link::SYNC).into()),
            c_data: Constant::new(u64::from(link::D_DATA).into()),
            c_end: Constant::new(u64::from(link::D_DATA_END).into()),
        }
    }
}

impl Logic for LinkTx {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, wcount, full, closes, tx_seq, sent, again, timer, busy, is_data, f_kind,
            f_seq, f_count, pos, shown, word_q, shown2, byte_q, staged, crc, rs, sent_byte, fold
        );
        self.buffer.read_clock.next = self.clock.val();
        self.buffer.write_clock.next = self.clock.val();
        self.buffer.write_address.next = self.wcount.q.val();
        self.buffer.write_data.next = self.m_tdata.val();
        self.buffer.write_enable.next = false;
        // Payload bytes 4.. read word (pos - 4) / 4.
        self.buffer.read_address.next = bit_cast::<8, 11>((self.pos.q.val() - 4) >> 2);
        self.reply_taken.next = false;
        // Collect the accelerator's words.
        self.m_tready.next = !self.full.q.val();
        if self.m_tvalid.val() & !self.full.q.val() {
            self.buffer.write_enable.next = true;
            self.wcount.d.next = self.wcount.q.val() + 1;
            if self.m_tlast.val() | (self.wcount.q.val() == 254) {
                self.full.d.next = true;
                self.closes.d.next = self.m_tlast.val();
            }
        }
        // The host's answers to the data frame.
        if self.full.q.val() & self.sent.q.val() & !(self.busy.q.val() & self.is_data.q.val()) {
            if self.host_ack.val() & (self.host_seq.val() == self.tx_seq.q.val()) {
                self.full.d.next = false;
                self.sent.d.next = false;
                self.again.d.next = false;
                self.wcount.d.next = 0.into();
                self.tx_seq.d.next = self.tx_seq.q.val() + 1;
            }
            if self.host_nak.val() {
                self.again.d.next = true;
            }
            self.timer.d.next = self.timer.q.val() + 1;
            if self.timer.q.val() == self.resend_limit.val() {
                self.again.d.next = true;
                self.timer.d.next = 0.into();
            }
        }
        // The byte at `pos`.
        self.crc_at.next = (bit_cast::<11, 8>(self.f_count.q.val()) << 2) + 4;
        // Header and CRC bytes come from registers; payload bytes from the
        // buffer's read, through a 4-way select only (the buffer's block-RAM
        // clock-to-output leaves little of the cycle).
        if self.pos.q.val() == 0 {
            self.frame_byte.next = self.c_sync.val();
        } else if self.pos.q.val() == 1 {
            self.frame_byte.next = self.f_kind.q.val();
        } else if self.pos.q.val() == 2 {
            self.frame_byte.next = self.f_seq.q.val();
        } else if self.pos.q.val() == 3 {
            self.frame_byte.next = self.f_count.q.val();
        } else if self.pos.q.val() == self.crc_at.val() {
            self.frame_byte.next = self.crc.q.val().get_bits::<8>(8);
        } else {
            self.frame_byte.next = self.crc.q.val().get_bits::<8>(0);
        }
        if (self.pos.q.val() & 3) == 0 {
            self.word_byte.next = self.buffer.read_data.val().get_bits::<8>(0);
        } else if (self.pos.q.val() & 3) == 1 {
            self.word_byte.next = self.buffer.read_data.val().get_bits::<8>(8);
        } else if (self.pos.q.val() & 3) == 2 {
            self.word_byte.next = self.buffer.read_data.val().get_bits::<8>(16);
        } else {
            self.word_byte.next = self.buffer.read_data.val().get_bits::<8>(24);
        }
        self.word_q.d.next = self.word_byte.val();
        if (self.pos.q.val() > 3) & (self.pos.q.val() < self.crc_at.val()) {
            self.out_byte.next = self.word_q.q.val();
        } else {
            self.out_byte.next = self.frame_byte.val();
        }
        // CRC-16/CCITT-FALSE of the running value and the byte.
        // A byte sent is folded into the CRC in the next cycle, from a
        // register (the CRC bytes go out many cycles later).
        self.crc_step.crc.next = self.crc.q.val();
        self.crc_step.data.next = self.sent_byte.q.val();
        self.fold.d.next = false;
        if self.fold.q.val() {
            self.crc.d.next = self.crc_step.out.val();
        }
        // The byte goes to the UART from a register: the buffer's block-RAM
        // read and the byte select would otherwise reach the UART's shift
        // register in one cycle.
        self.byte_q.d.next = self.out_byte.val();
        self.tx_valid.next = self.busy.q.val() & self.staged.q.val();
        self.tx_data.next = self.byte_q.q.val();
        self.shown.d.next = self.busy.q.val();
        self.shown2.d.next = self.busy.q.val() & self.shown.q.val();
        self.staged.d.next = self.busy.q.val() & self.shown2.q.val();
        if self.busy.q.val() {
            if self.tx_ready.val() & self.staged.q.val() {
                self.shown.d.next = false;
                self.shown2.d.next = false;
                self.staged.d.next = false;
                self.pos.d.next = self.pos.q.val() + 1;
                if (self.pos.q.val() != 0) & (self.pos.q.val() < self.crc_at.val()) {
                    self.sent_byte.d.next = self.byte_q.q.val();
                    self.fold.d.next = true;
                }
                if self.pos.q.val() == self.crc_at.val() + 1 {
                    self.busy.d.next = false;
                }
            }
        } else if self.reply_valid.val() {
            // An answer first.
            self.reply_taken.next = true;
            self.busy.d.next = true;
            self.is_data.d.next = false;
            self.f_kind.d.next = self.reply_kind.val();
            self.f_seq.d.next = self.reply_seq.val();
            self.f_count.d.next = 0.into();
            self.pos.d.next = 0.into();
            self.shown.d.next = false;
            self.shown2.d.next = false;
            self.staged.d.next = false;
            self.crc.d.next = 0xffff.into();
        } else if self.full.q.val() & (!self.sent.q.val() | self.again.q.val()) {
            self.busy.d.next = true;
            self.is_data.d.next = true;
            if self.closes.q.val() {
                self.f_kind.d.next = self.c_end.val();
            } else {
                self.f_kind.d.next = self.c_data.val();
            }
            self.f_seq.d.next = self.tx_seq.q.val();
            self.f_count.d.next = self.wcount.q.val();
            self.pos.d.next = 0.into();
            self.shown.d.next = false;
            self.shown2.d.next = false;
            self.staged.d.next = false;
            self.crc.d.next = 0xffff.into();
            self.sent.d.next = true;
            self.again.d.next = false;
            self.timer.d.next = 0.into();
            if self.sent.q.val() {
                self.rs.d.next = self.rs.q.val() + 1;
            }
        }
        if self.reset.val() {
            self.wcount.d.next = 0.into();
            self.full.d.next = false;
            self.closes.d.next = false;
            self.tx_seq.d.next = 0.into();
            self.sent.d.next = false;
            self.again.d.next = false;
            self.timer.d.next = 0.into();
            self.busy.d.next = false;
            self.shown.d.next = false;
            self.shown2.d.next = false;
            self.staged.d.next = false;
            self.fold.d.next = false;
            self.rs.d.next = 0.into();
        }
        self.resends.next = self.rs.q.val();
    }
}
