//! Signals and registers whose widths are chosen at run time, so that the
//! generated Verilog carries the widths the model derives (an 8-bit model is an
//! 8-bit datapath, not a 32-bit one pruned by synthesis).
//!
//! rust-hdl takes every declared width (module ports, the parent's wires,
//! registers) from `Atom::bits()`; [`DynSig`] returns the width it was built
//! with. Its simulation value is an `i64` ([`DynVal`]) sign-extended to the
//! signal's width on every update, which is exactly what a Verilog assignment
//! to a sized `signed` reg does. Arithmetic on [`DynVal`] wraps in i64, so an
//! expression that lands in a sized signal agrees with Verilog as long as it is
//! one operation (Verilog sizes an expression by its context); intermediates go
//! through `Local` signals. Registers are leaf blocks ([`DynReg`]) with a
//! custom Verilog body, since rust-hdl's const-generic `DFF` cannot hold a
//! dynamic signal. See `docs/hardware.md`.

use rust_hdl::prelude::*;
use std::marker::PhantomData;

/// Widest dynamic signal.
pub const MAX_DYN_WIDTH: usize = 64;

/// The simulated value of a [`DynSig`]: an i64 that wraps like hardware.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct DynVal(pub i64);

impl std::ops::Add for DynVal {
    type Output = DynVal;
    fn add(self, o: DynVal) -> DynVal {
        DynVal(self.0.wrapping_add(o.0))
    }
}

impl std::ops::Sub for DynVal {
    type Output = DynVal;
    fn sub(self, o: DynVal) -> DynVal {
        DynVal(self.0.wrapping_sub(o.0))
    }
}

impl std::ops::Neg for DynVal {
    type Output = DynVal;
    fn neg(self) -> DynVal {
        DynVal(self.0.wrapping_neg())
    }
}

impl From<i64> for DynVal {
    fn from(v: i64) -> DynVal {
        DynVal(v)
    }
}

/// `v` truncated to `w` bits and sign-extended back (a Verilog assignment to
/// a `signed [w-1:0]` reg): the model's two's-complement wrap.
pub use lstm_accel_model::fixed::sext;

fn mask(w: usize) -> u64 {
    if w >= 64 {
        !0
    } else {
        (1u64 << w) - 1
    }
}

/// A signed signal of a width chosen at run time.
#[derive(Clone, Debug)]
pub struct DynSig<D: Direction> {
    /// The value being driven (rust-hdl's `next`).
    pub next: DynVal,
    val: DynVal,
    changed: bool,
    claimed: bool,
    id: usize,
    width: usize,
    _d: PhantomData<D>,
}

impl<D: Direction> DynSig<D> {
    /// A signal of `width` bits (1..=64).
    pub fn new(width: usize) -> Self {
        assert!(
            (1..=MAX_DYN_WIDTH).contains(&width),
            "a dynamic signal is 1..=64 bits wide, not {width}"
        );
        DynSig {
            next: DynVal(0),
            val: DynVal(0),
            changed: false,
            claimed: false,
            id: rust_hdl::core::signal::get_signal_id(),
            width,
            _d: PhantomData,
        }
    }

    /// Its width in bits.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Marks a top-level input as driven (rust-hdl's `connect`).
    pub fn connect(&mut self) {
        self.claimed = true;
    }
}

impl DynSig<In> {
    /// The value seen by the block.
    pub fn val(&self) -> DynVal {
        self.val
    }
}

impl DynSig<Out> {
    /// The value driven, at the signal's width.
    pub fn val(&self) -> DynVal {
        DynVal(sext(self.next.0, self.width))
    }
}

impl DynSig<Local> {
    /// The value driven, at the signal's width.
    pub fn val(&self) -> DynVal {
        DynVal(sext(self.next.0, self.width))
    }
}

impl<D: Direction> Atom for DynSig<D> {
    fn bits(&self) -> usize {
        self.width
    }
    fn connected(&self) -> bool {
        self.claimed
    }
    fn changed(&self) -> bool {
        self.changed
    }
    fn kind(&self) -> AtomKind {
        D::KIND
    }
    fn descriptor(&self) -> TypeDescriptor {
        TypeDescriptor {
            name: format!("Signed<{}>", self.width),
            kind: TypeKind::Signed(self.width),
        }
    }
    fn vcd(&self) -> VCDValue {
        VCDValue::Vector(
            (0..self.width)
                .rev()
                .map(|i| {
                    if (self.val.0 >> i) & 1 == 1 {
                        vcd::Value::V1
                    } else {
                        vcd::Value::V0
                    }
                })
                .collect(),
        )
    }
    fn id(&self) -> usize {
        self.id
    }
    fn verilog(&self) -> VerilogLiteral {
        ((self.val.0 as u64) & mask(self.width)).into()
    }
    fn constraints(&self) -> Vec<PinConstraint> {
        vec![]
    }
}

impl<D: Direction> Logic for DynSig<D> {
    fn update(&mut self) {}
    fn connect(&mut self) {
        self.claimed = true;
    }
}

impl<D: Direction> Block for DynSig<D> {
    fn connect_all(&mut self) {}
    fn update_all(&mut self) {
        let n = DynVal(sext(self.next.0, self.width));
        self.next = n;
        self.changed = self.val != n;
        if self.changed {
            self.val = n;
        }
    }
    fn has_changed(&self) -> bool {
        self.changed
    }
    fn accept(&self, name: &str, probe: &mut dyn Probe) {
        probe.visit_atom(name, self);
    }
}

/// A register of run-time width: `q <= d` on every rising clock edge,
/// zero at power-up.
#[derive(LogicBlock)]
pub struct DynReg {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Next value.
    pub d: DynSig<In>,
    /// Current value.
    pub q: DynSig<Out>,
}

impl DynReg {
    /// A `width`-bit register.
    pub fn new(width: usize) -> Self {
        DynReg {
            clock: Signal::default(),
            d: DynSig::new(width),
            q: DynSig::new(width),
        }
    }
}

impl Logic for DynReg {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            self.q.next = self.d.val();
        }
    }
    fn connect(&mut self) {
        self.q.connect();
    }
    fn hdl(&self) -> Verilog {
        Verilog::Custom(
            "initial begin\n    q = 0;\nend\n\nalways @(posedge clock) begin\n    q <= d;\nend\n"
                .into(),
        )
    }
}

/// Runs a block to a fixed point after an input change (what a simulator
/// does between events); `max` bounds combinational loops.
pub fn settle<B: Block>(uut: &mut B, max: usize) -> bool {
    for _ in 0..max {
        uut.update_all();
        if !uut.has_changed() {
            return true;
        }
    }
    false
}

/// One full clock cycle after new inputs were driven: settle them, rising
/// edge, settle, falling edge, settle.
pub fn clock_cycle<B: Block>(uut: &mut B, clock: impl Fn(&mut B) -> &mut Signal<In, Clock>) {
    settle(uut, 100);
    clock(uut).next = Clock { clk: true };
    settle(uut, 100);
    clock(uut).next = Clock { clk: false };
    settle(uut, 100);
}
