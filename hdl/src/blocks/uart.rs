//! A UART (8 data bits, no parity, one stop bit, least significant bit
//! first), the line a USB serial cable gives a board. Both halves run on
//! the design's clock with `clocks_per_bit` clocks per bit (the clock over
//! the baud rate, at least 4), and are one `#[hdl_gen]` description each,
//! so the native engine and the Verilog run the same logic.
//!
//! - [`UartTx`] takes a byte when `valid && ready` and sends the start bit,
//!   the eight data bits and the stop bit, each `clocks_per_bit` cycles
//!   long; the line idles high.
//! - [`UartRx`] synchronises the line through two registers, waits for a
//!   low level, checks it is still low half a bit later (a shorter glitch is
//!   no start bit), samples each data bit in its middle and then the stop
//!   bit: high, and `valid` shows the byte for one cycle; low, and
//!   `frame_error` pulses instead (line noise or a wrong baud rate). It is
//!   ready for the next start bit from the middle of the stop bit on.

use rust_hdl::prelude::*;
use rust_hdl::widgets::dff::DFF;
use rust_hdl::widgets::dff_setup;
use rust_hdl::widgets::dff_with_init::DFFWithInit;

/// The transmitter.
#[derive(LogicBlock)]
pub struct UartTx {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset: the line idles from the next cycle (a byte cut
    /// short ends as a framing error at the far end).
    pub reset: Signal<In, Bit>,
    /// The byte to send.
    pub data: Signal<In, Bits<8>>,
    /// A byte is offered.
    pub valid: Signal<In, Bit>,
    /// The transmitter takes a byte at this edge if `valid`.
    pub ready: Signal<Out, Bit>,
    /// The serial line.
    pub tx: Signal<Out, Bit>,
    /// The frame being sent, least significant bit on the line.
    frame: DFF<Bits<10>>,
    /// Bits of the frame still to send (0: idle).
    left: DFF<Bits<4>>,
    /// Clocks left in the current bit.
    count: DFF<Bits<16>>,
    /// Clocks per bit, less one.
    period: Constant<Bits<16>>,
}

/// The smallest clocks per bit the receiver's sampling allows.
pub const MIN_CLOCKS_PER_BIT: u64 = 4;

impl UartTx {
    /// A transmitter with `clocks_per_bit` clocks per bit (at least
    /// [`MIN_CLOCKS_PER_BIT`], below 65,536).
    pub fn new(clocks_per_bit: u64) -> Self {
        assert!((MIN_CLOCKS_PER_BIT..65_536).contains(&clocks_per_bit));
        UartTx {
            clock: Default::default(),
            reset: Default::default(),
            data: Default::default(),
            valid: Default::default(),
            ready: Default::default(),
            tx: Default::default(),
            frame: Default::default(),
            left: Default::default(),
            count: Default::default(),
            period: Constant::new((clocks_per_bit - 1).into()),
        }
    }
}

impl Logic for UartTx {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, frame, left, count);
        self.ready.next = self.left.q.val() == 0;
        self.tx.next = true;
        if self.left.q.val() == 0 {
            if self.valid.val() {
                // Stop bit, the byte, start bit (sent first).
                self.frame.d.next = (bit_cast::<10, 8>(self.data.val()) << 1) | 0x200;
                self.left.d.next = 10.into();
                self.count.d.next = self.period.val();
            }
        } else {
            self.tx.next = self.frame.q.val().get_bit(0);
            if self.count.q.val() == 0 {
                self.frame.d.next = self.frame.q.val() >> 1;
                self.left.d.next = self.left.q.val() - 1;
                self.count.d.next = self.period.val();
            } else {
                self.count.d.next = self.count.q.val() - 1;
            }
        }
        if self.reset.val() {
            self.left.d.next = 0.into();
        }
    }
}

/// The receiver.
#[derive(LogicBlock)]
pub struct UartRx {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset: back to waiting for a start bit.
    pub reset: Signal<In, Bit>,
    /// The serial line (asynchronous).
    pub rx: Signal<In, Bit>,
    /// The last byte received.
    pub data: Signal<Out, Bits<8>>,
    /// High for one cycle when a byte has arrived.
    pub valid: Signal<Out, Bit>,
    /// High for one cycle when a frame ended with a low stop bit.
    pub frame_error: Signal<Out, Bit>,
    /// Two synchronising registers; the line idles high.
    sync0: DFFWithInit<Bit>,
    sync1: DFFWithInit<Bit>,
    /// 0 idle, 1 start bit, 2 data bits, 3 stop bit.
    state: DFF<Bits<2>>,
    /// Clocks to the next sample.
    count: DFF<Bits<16>>,
    /// Data bits taken.
    bits: DFF<Bits<3>>,
    shift: DFF<Bits<8>>,
    held: DFF<Bits<8>>,
    got: DFF<Bit>,
    bad: DFF<Bit>,
    /// Clocks per bit, less one.
    period: Constant<Bits<16>>,
    /// Half of that: the start bit's middle.
    half: Constant<Bits<16>>,
}

impl UartRx {
    /// A receiver with `clocks_per_bit` clocks per bit (at least
    /// [`MIN_CLOCKS_PER_BIT`], below 65,536).
    pub fn new(clocks_per_bit: u64) -> Self {
        assert!((MIN_CLOCKS_PER_BIT..65_536).contains(&clocks_per_bit));
        UartRx {
            clock: Default::default(),
            reset: Default::default(),
            rx: Default::default(),
            data: Default::default(),
            valid: Default::default(),
            frame_error: Default::default(),
            sync0: DFFWithInit::new(true),
            sync1: DFFWithInit::new(true),
            state: Default::default(),
            count: Default::default(),
            bits: Default::default(),
            shift: Default::default(),
            held: Default::default(),
            got: Default::default(),
            bad: Default::default(),
            period: Constant::new((clocks_per_bit - 1).into()),
            // The first sample falls in the start bit's middle, counted from
            // the cycle the synchronised line is seen low.
            half: Constant::new((clocks_per_bit / 2 - 1).into()),
        }
    }
}

impl Logic for UartRx {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, sync0, sync1, state, count, bits, shift, held, got, bad);
        self.sync0.d.next = self.rx.val();
        self.sync1.d.next = self.sync0.q.val();
        self.got.d.next = false;
        self.bad.d.next = false;
        if self.state.q.val() == 0 {
            if !self.sync1.q.val() {
                self.state.d.next = 1.into();
                self.count.d.next = self.half.val();
            }
        } else if self.count.q.val() != 0 {
            self.count.d.next = self.count.q.val() - 1;
        } else if self.state.q.val() == 1 {
            // Still low in the middle: a start bit; high: a glitch.
            if self.sync1.q.val() {
                self.state.d.next = 0.into();
            } else {
                self.state.d.next = 2.into();
                self.count.d.next = self.period.val();
                self.bits.d.next = 0.into();
            }
        } else if self.state.q.val() == 2 {
            if self.sync1.q.val() {
                self.shift.d.next = (self.shift.q.val() >> 1) | 0x80;
            } else {
                self.shift.d.next = self.shift.q.val() >> 1;
            }
            self.count.d.next = self.period.val();
            if self.bits.q.val() == 7 {
                self.state.d.next = 3.into();
            } else {
                self.bits.d.next = self.bits.q.val() + 1;
            }
        } else {
            self.state.d.next = 0.into();
            if self.sync1.q.val() {
                self.held.d.next = self.shift.q.val();
                self.got.d.next = true;
            } else {
                self.bad.d.next = true;
            }
        }
        if self.reset.val() {
            self.state.d.next = 0.into();
            self.got.d.next = false;
            self.bad.d.next = false;
        }
        self.data.next = self.held.q.val();
        self.valid.next = self.got.q.val();
        self.frame_error.next = self.bad.q.val();
    }
}
