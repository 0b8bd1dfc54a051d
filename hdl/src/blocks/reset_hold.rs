//! The reset conditioner: turns a reset request (a board's button, a
//! PLL's missing lock, a host's reset line; asynchronous to the clock, of any
//! length) into the synchronous `reset` the control blocks take, held for
//! `hold` cycles after the request ends.
//!
//! The request passes two synchronising registers (a button is not timed
//! against the clock), then a down-counter reloads to `hold` while it is
//! high; `reset` is a register, high while the synchronised request or the
//! counter is. So `reset` rises 3 cycles after the request and stays high at
//! least `hold + 1` cycles. The accelerator holds it for as long as a word
//! issued before the reset can take to leave its datapath: the datapath's
//! pipelines have no reset of their own, they drain while the controller
//! and the sequencer are held idle, and nothing from before the reset
//! reaches them afterwards.
//!
//! At power-up every register is 0: the design starts out of reset, from
//! its registers' initial values.

use rust_hdl::prelude::*;

/// The conditioner.
#[derive(LogicBlock)]
pub struct ResetHold {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// The request (asynchronous).
    pub request: Signal<In, Bit>,
    /// The conditioned reset.
    pub reset: Signal<Out, Bit>,
    /// `!reset`, from a register of its own: for a timing-critical reader
    /// (the stream controller's `s_tready`), so that it does not wait on
    /// `reset`'s net, which reaches every control block. (Synthesis keeps
    /// both registers: their inputs differ.)
    pub running: Signal<Out, Bit>,
    _hold: u64,
    _sync: [bool; 2],
    _left: u64,
    _held: bool,
}

impl ResetHold {
    /// A conditioner that holds `reset` `hold` cycles after the request
    /// ends (at least 1).
    pub fn new(hold: u64) -> Self {
        ResetHold {
            clock: Default::default(),
            request: Default::default(),
            reset: Default::default(),
            running: Default::default(),
            _hold: hold.max(1),
            _sync: [false; 2],
            _left: 0,
            _held: false,
        }
    }

    /// Cycles from the request's first cycle to `reset` high.
    pub const LATENCY: u64 = 3;

    /// Bits of the counter.
    fn counter_bits(&self) -> u64 {
        u64::from(64 - self._hold.leading_zeros())
    }
}

impl Logic for ResetHold {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            let synced = self._sync[1];
            self._held = synced || self._left != 0;
            self._left = if synced {
                self._hold
            } else {
                self._left.saturating_sub(1)
            };
            self._sync = [self.request.val(), self._sync[0]];
        }
        self.reset.next = self._held;
        self.running.next = !self._held;
    }
    fn connect(&mut self) {
        self.reset.connect();
        self.running.connect();
    }
    fn hdl(&self) -> Verilog {
        Verilog::Custom(format!(
            "reg sync0, sync1, held, free, counting;
reg [{c1}:0] left;
// `counting` is `left != 0` kept as a register (the native model's
// `left != 0`): `held` and `free` sit at the middle of their many loads,
// and with the compare between them and the counter, the counter's own
// update crossed the die twice in one cycle (ESE 16 x 64, ECP5-85F: 13.4 ns,
// 10.3 of it routing). Now every path is one register, one route and a
// look-up.
wire hold_next = sync1 || counting;
initial begin
    sync0 = 0; sync1 = 0; held = 0; free = 1; left = 0; counting = 0;
end
always @(posedge clock) begin
    sync0 <= request;
    sync1 <= sync0;
    held <= hold_next;
    free <= !hold_next;
    if (sync1) begin
        left <= {c}'d{hold};
        counting <= 1;
    end else if (counting) begin
        left <= left - 1;
        counting <= (left != 1);
    end
end
always @(*) reset = held;
always @(*) running = free;
",
            c = self.counter_bits(),
            c1 = self.counter_bits() - 1,
            hold = self._hold,
        ))
    }
}
