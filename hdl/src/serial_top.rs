//! The accelerator behind a serial line: a UART, the link's receiving and
//! transmitting halves ([`lstm_accel_spec::link`]), a register slice and the
//! accelerator, so that a board's only connection to its host can be a USB
//! serial cable. `rx` and `tx` are the line (idle high); `busy` shows a
//! frame running, `link_error` that a frame was dropped (bad CRC, a gap, or
//! a low stop bit), for LEDs; `reset` starts everything over (see
//! [`crate::blocks::reset_hold`]). Board tops add the clock (and PLL) and
//! pins.

use crate::accelerator::Accelerator;
use crate::blocks::link_rx::LinkRx;
use crate::blocks::link_tx::LinkTx;
use crate::blocks::reset_hold::ResetHold;
use crate::blocks::stream_slice::{WordIn, WordOut};
use crate::blocks::uart::{UartRx, UartTx};
use lstm_accel_model::Model;
use lstm_accel_spec::spec::AcceleratorSpec;
use rust_hdl::prelude::*;
use rust_hdl::widgets::dff::DFF;
use rust_hdl::widgets::dff_setup;

/// Cycles the UART and the link stay in reset after the request ends.
const SERIAL_RESET_HOLD: u64 = 16;

/// The accelerator with its serial bridge.
#[derive(LogicBlock)]
pub struct SerialAccelerator {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Reset request (asynchronous, any length; a board's button or its
    /// PLL not locked): the UART, the link and the accelerator start over,
    /// each frame in flight dropped; loaded weights stay usable.
    pub reset: Signal<In, Bit>,
    /// Serial line from the host.
    pub rx: Signal<In, Bit>,
    /// Serial line to the host.
    pub tx: Signal<Out, Bit>,
    /// A frame runs.
    pub busy: Signal<Out, Bit>,
    /// A frame was dropped since power-up.
    pub link_error: Signal<Out, Bit>,
    reset_hold: ResetHold,
    receiver: UartRx,
    link_in: LinkRx,
    word_in: WordIn,
    accel: Accelerator,
    word_out: WordOut,
    busy_out: WordOut,
    link_out: LinkTx,
    sender: UartTx,
    error_seen: DFF<Bit>,
}

impl SerialAccelerator {
    /// The design for `spec` with a UART of `clocks_per_bit` clocks per bit
    /// (the clock over the baud rate).
    pub fn new(
        model: &Model,
        spec: &AcceleratorSpec,
        clocks_per_bit: u64,
    ) -> Result<Self, lstm_accel_spec::SpecError> {
        Ok(SerialAccelerator {
            clock: Default::default(),
            reset: Default::default(),
            rx: Default::default(),
            tx: Default::default(),
            busy: Default::default(),
            link_error: Default::default(),
            // The accelerator holds its own reset longer, for its datapath
            // to drain; meanwhile it takes no word (back-pressure, nothing
            // is lost).
            reset_hold: ResetHold::new(SERIAL_RESET_HOLD),
            receiver: UartRx::new(clocks_per_bit),
            link_in: LinkRx::new(clocks_per_bit),
            word_in: WordIn::default(),
            accel: Accelerator::new(model, spec)?,
            word_out: WordOut::new(32),
            busy_out: WordOut::new(2),
            link_out: LinkTx::new(clocks_per_bit),
            sender: UartTx::new(clocks_per_bit),
            error_seen: Default::default(),
        })
    }
}

impl Logic for SerialAccelerator {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, error_seen);
        self.reset_hold.clock.next = self.clock.val();
        self.receiver.clock.next = self.clock.val();
        self.link_in.clock.next = self.clock.val();
        self.accel.clock.next = self.clock.val();
        self.link_out.clock.next = self.clock.val();
        self.sender.clock.next = self.clock.val();
        // Reset.
        self.reset_hold.request.next = self.reset.val();
        self.receiver.reset.next = self.reset_hold.reset.val();
        self.link_in.reset.next = self.reset_hold.reset.val();
        self.accel.reset.next = self.reset_hold.reset.val();
        self.link_out.reset.next = self.reset_hold.reset.val();
        self.sender.reset.next = self.reset_hold.reset.val();
        // Line to bytes to frames to the accelerator's input stream.
        self.receiver.rx.next = self.rx.val();
        self.link_in.in_byte.next = self.receiver.data.val();
        self.link_in.in_valid.next = self.receiver.valid.val();
        // The accelerator's input register slice keeps the receiver's
        // frame-buffer read apart from its packet decoder.
        self.word_in.x.next = self.link_in.s_tdata.val();
        self.accel.s_tdata.next = self.word_in.y.val();
        self.accel.s_tvalid.next = self.link_in.s_tvalid.val();
        self.accel.s_tlast.next = self.link_in.s_tlast.val();
        self.link_in.s_tready.next = self.accel.s_tready.val();
        // Its output stream and the receiver's answers to frames to bytes.
        self.word_out.x.next = self.accel.m_tdata.val();
        self.link_out.m_tdata.next = self.word_out.y.val();
        self.link_out.m_tvalid.next = self.accel.m_tvalid.val();
        self.link_out.m_tlast.next = self.accel.m_tlast.val();
        self.accel.m_tready.next = self.link_out.m_tready.val();
        self.link_out.reply_valid.next = self.link_in.reply_valid.val();
        self.link_out.reply_kind.next = self.link_in.reply_kind.val();
        self.link_out.reply_seq.next = self.link_in.reply_seq.val();
        self.link_in.reply_taken.next = self.link_out.reply_taken.val();
        self.link_out.host_ack.next = self.link_in.host_ack.val();
        self.link_out.host_nak.next = self.link_in.host_nak.val();
        self.link_out.host_seq.next = self.link_in.host_seq.val();
        self.sender.data.next = self.link_out.tx_data.val();
        self.sender.valid.next = self.link_out.tx_valid.val();
        self.link_out.tx_ready.next = self.sender.ready.val();
        self.tx.next = self.sender.tx.val();
        // Status for LEDs.
        self.busy_out.x.next = self.accel.busy.val();
        self.busy.next = self.busy_out.y.val().any();
        if self.receiver.frame_error.val() | (self.link_in.errors.val() != 0) {
            self.error_seen.d.next = true;
        }
        if self.reset_hold.reset.val() {
            self.error_seen.d.next = false;
        }
        self.link_error.next = self.error_seen.q.val();
    }
}

/// The Verilog of the serial design for `spec` (top module `top`).
pub fn serial_verilog(
    model: &Model,
    spec: &AcceleratorSpec,
    clocks_per_bit: u64,
) -> Result<String, lstm_accel_spec::SpecError> {
    let mut t = SerialAccelerator::new(model, spec, clocks_per_bit)?;
    t.connect_all();
    Ok(generate_verilog(&t))
}
