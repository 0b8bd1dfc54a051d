//! A register slice for a 32-bit AXI4-Stream (data, a user sideband,
//! valid, last; ready back): every output and the `ready` it gives upstream
//! come from registers, so no combinational path crosses it in either
//! direction, and it still moves one word per cycle.
//!
//! It is a two-entry skid buffer. The output register holds the word on
//! offer; `in_ready` is "the skid register is empty". A word taken while the
//! output is stalled waits in the skid register and moves to the output
//! when that drains. Words leave in the order they came, none is lost or
//! repeated, and a word taken at cycle t is on offer from cycle t + 1.
//!
//! The accelerator takes its input stream through one: its packet
//! decoder's handshake (the controller's state, the `ready` it gives, the
//! load's write enables) then shares no cycle with whatever drives the
//! stream, a pin, a DMA engine or the serial bridge's frame buffer (a block
//! RAM read, 5.8 ns from the clock on an ECP5 without its output register).
//! The user bits carry the word's header decode
//! ([`super::header_check`]), computed before the slice.
//! [`WordIn`] and [`WordOut`] carry the slice's fixed-width word to and from
//! the accelerator's signed stream word.

use super::header_check::HeaderBits;
use crate::dynamic::{sext, DynSig, DynVal};
use rust_hdl::prelude::*;
use rust_hdl::widgets::dff::DFF;
use rust_hdl::widgets::dff_setup;

/// The slice.
#[derive(LogicBlock, Default)]
pub struct StreamSlice {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset: both registers empty (their words are dropped).
    pub reset: Signal<In, Bit>,
    /// Upstream word.
    pub in_data: Signal<In, Bits<32>>,
    /// Upstream valid.
    pub in_valid: Signal<In, Bit>,
    /// Upstream last.
    pub in_last: Signal<In, Bit>,
    /// Upstream user bits, carried with their word.
    pub in_user: Signal<In, Bits<{ HeaderBits::WIDTH }>>,
    /// To upstream: a word offered now is taken.
    pub in_ready: Signal<Out, Bit>,
    /// Downstream word.
    pub out_data: Signal<Out, Bits<32>>,
    /// Downstream valid.
    pub out_valid: Signal<Out, Bit>,
    /// Downstream last.
    pub out_last: Signal<Out, Bit>,
    /// Downstream user bits.
    pub out_user: Signal<Out, Bits<{ HeaderBits::WIDTH }>>,
    /// From downstream: the word on offer is taken.
    pub out_ready: Signal<In, Bit>,
    data: DFF<Bits<32>>,
    valid: DFF<Bit>,
    last: DFF<Bit>,
    user: DFF<Bits<{ HeaderBits::WIDTH }>>,
    skid_data: DFF<Bits<32>>,
    skid_valid: DFF<Bit>,
    skid_last: DFF<Bit>,
    skid_user: DFF<Bits<{ HeaderBits::WIDTH }>>,
}

impl Logic for StreamSlice {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, data, valid, last, user, skid_data, skid_valid, skid_last, skid_user
        );
        self.in_ready.next = !self.skid_valid.q.val();
        self.out_data.next = self.data.q.val();
        self.out_valid.next = self.valid.q.val();
        self.out_last.next = self.last.q.val();
        self.out_user.next = self.user.q.val();
        if self.out_ready.val() | !self.valid.q.val() {
            // The output register is free this cycle: refill it, from the
            // skid register first (it holds the older word).
            if self.skid_valid.q.val() {
                self.data.d.next = self.skid_data.q.val();
                self.last.d.next = self.skid_last.q.val();
                self.user.d.next = self.skid_user.q.val();
                self.valid.d.next = true;
                self.skid_valid.d.next = false;
            } else {
                self.data.d.next = self.in_data.val();
                self.last.d.next = self.in_last.val();
                self.user.d.next = self.in_user.val();
                self.valid.d.next = self.in_valid.val();
            }
        } else if self.in_valid.val() & !self.skid_valid.q.val() {
            // The output is stalled: a word taken now waits.
            self.skid_data.d.next = self.in_data.val();
            self.skid_last.d.next = self.in_last.val();
            self.skid_user.d.next = self.in_user.val();
            self.skid_valid.d.next = true;
        }
        if self.reset.val() {
            self.valid.d.next = false;
            self.skid_valid.d.next = false;
        }
    }
}

/// A 32-bit word from a fixed-width signal to the accelerator's dynamic one.
#[derive(LogicBlock)]
pub struct WordIn {
    /// The word.
    pub x: Signal<In, Bits<32>>,
    /// The same bits, as the accelerator's signed stream word.
    pub y: DynSig<Out>,
}

impl Default for WordIn {
    fn default() -> Self {
        WordIn {
            x: Default::default(),
            y: DynSig::new(32),
        }
    }
}

impl Logic for WordIn {
    fn update(&mut self) {
        self.y.next = DynVal(sext(self.x.val().index() as i64, 32));
    }
    fn connect(&mut self) {
        self.y.connect();
    }
    fn hdl(&self) -> Verilog {
        Verilog::Custom("always @(*) y = x;\n".into())
    }
}

/// The accelerator's dynamic stream word (or flag) as fixed-width bits.
#[derive(LogicBlock)]
pub struct WordOut {
    /// The accelerator's signal.
    pub x: DynSig<In>,
    /// Its low 32 bits.
    pub y: Signal<Out, Bits<32>>,
}

impl WordOut {
    /// From a dynamic signal of `width` bits.
    pub fn new(width: usize) -> Self {
        WordOut {
            x: DynSig::new(width),
            y: Default::default(),
        }
    }
}

impl Logic for WordOut {
    fn update(&mut self) {
        self.y.next = ((self.x.val().0 as u64) & 0xffff_ffff).into();
    }
    fn connect(&mut self) {
        self.y.connect();
    }
    fn hdl(&self) -> Verilog {
        Verilog::Custom("always @(*) y = x;\n".into())
    }
}
