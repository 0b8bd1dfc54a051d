//! The gate unit: from a cell's four pre-activations and its old state to the
//! new cell state and hidden output, fully pipelined (one cell per cycle).
//!
//! ```text
//! stage 1-2  i, f, o = sigmoid(z), g = tanh(z)            four activation blocks
//! stage 3    f*c, i*g                                     two multipliers (c delayed)
//! stage 4    (f*c << fc_align) + (i*g << ig_align)        exact cell accumulator
//! stage 5-6  c' = requantize(.. -> cell)                  rounding point Cell (two stages)
//! stage 6-7  tanh(c')                                     activation block
//! stage 8    o * tanh(c')                                 multiplier (o delayed)
//! stage 9+   h = requantize(.. -> hidden)                 rounding point Hidden (two stages)
//! ```
//! `c'` is ready after [`GateUnit::CELL_LATENCY`] cycles, `h` after
//! [`GateUnit::LATENCY`]. Every constant comes from the model (`ActivationUnit`,
//! `CellArith`), so the unit computes exactly the reference's cell update.

use super::activation_unit::{ActivationBlock, ACTIVATION_LATENCY};
use super::arith::{Multiplier, ShiftedSum};
use super::delay_line::DelayLine;
use super::requantizer::{Requantizer, PIPELINED_LATENCY};
use crate::dynamic::DynSig;
use lstm_accel_model::activation::ActivationUnit;
use lstm_accel_model::cell::CellArith;
use rust_hdl::prelude::*;

/// The four gate units and the cell's tanh a gate unit needs.
#[derive(Clone, Debug)]
pub struct GateFunctions {
    /// Sigmoid on the pre-activation format.
    pub sigmoid: ActivationUnit,
    /// Tanh on the pre-activation format.
    pub tanh: ActivationUnit,
    /// Tanh on the cell format.
    pub tanh_cell: ActivationUnit,
}

/// The gate unit.
#[derive(LogicBlock)]
pub struct GateUnit {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Input gate pre-activation.
    pub zi: DynSig<In>,
    /// Forget gate pre-activation.
    pub zf: DynSig<In>,
    /// Cell candidate pre-activation.
    pub zg: DynSig<In>,
    /// Output gate pre-activation.
    pub zo: DynSig<In>,
    /// The cell's old state.
    pub c: DynSig<In>,
    /// The new state, [`GateUnit::CELL_LATENCY`] cycles later.
    pub c_next: DynSig<Out>,
    /// The hidden output, [`GateUnit::LATENCY`] cycles later.
    pub h: DynSig<Out>,
    act_i: ActivationBlock,
    act_f: ActivationBlock,
    act_g: ActivationBlock,
    act_o: ActivationBlock,
    c_delay: DelayLine,
    mul_fc: Multiplier,
    mul_ig: Multiplier,
    sum: ShiftedSum,
    cell_round: Requantizer,
    act_c: ActivationBlock,
    o_delay: DelayLine,
    mul_oc: Multiplier,
    hidden_round: Requantizer,
}

impl GateUnit {
    /// The activation tables of gates i, f, g, o and of tanh(c) for which
    /// `which` is true as ECP5 `DP16KD` blocks with their output register,
    /// in synthesis ([`ActivationBlock::with_dp16kd`]); for a unit built
    /// with second output registers only (the block's is the first).
    pub fn with_dp16kd_tables(mut self, which: [bool; 5]) -> Self {
        let units = [
            &mut self.act_i,
            &mut self.act_f,
            &mut self.act_g,
            &mut self.act_o,
            &mut self.act_c,
        ];
        for (unit, on) in units.into_iter().zip(which) {
            if on && unit.latency() > ACTIVATION_LATENCY {
                unit.enable_dp16kd();
            }
        }
        self
    }

    /// Cycles from the inputs to `c_next` (activations with one output
    /// register).
    pub const CELL_LATENCY: usize = Self::cell_latency(false);
    /// Cycles from the inputs to `h` (activations with one output
    /// register).
    pub const LATENCY: usize = Self::latency(false);

    /// Cycles from the inputs to `c_next`, with activations of a
    /// `second` output register or not.
    pub const fn cell_latency(second: bool) -> usize {
        ACTIVATION_LATENCY + second as usize + 2 + PIPELINED_LATENCY
    }

    /// Cycles from the inputs to `h`, with activations of a `second`
    /// output register or not.
    pub const fn latency(second: bool) -> usize {
        Self::cell_latency(second) + ACTIVATION_LATENCY + second as usize + 1 + PIPELINED_LATENCY
    }

    /// A gate unit for a layer's functions, cell arithmetic and exact cell
    /// accumulator width.
    pub fn new(fns: &GateFunctions, cell: &CellArith, cell_acc_bits: usize) -> Self {
        Self::with_activation_registers(fns, cell, cell_acc_bits, false)
    }

    /// [`GateUnit::new`] with activations of a `second` output register
    /// (ECP5 designs, [`ActivationBlock::with_second_output_register`]).
    pub fn with_activation_registers(
        fns: &GateFunctions,
        cell: &CellArith,
        cell_acc_bits: usize,
        second: bool,
    ) -> Self {
        let act = |u: &lstm_accel_model::activation::ActivationUnit| {
            let b = ActivationBlock::new(u.clone());
            if second {
                b.with_second_output_register()
            } else {
                b
            }
        };
        let al = ACTIVATION_LATENCY + usize::from(second);
        let zw = fns.sigmoid.input().width as usize;
        let gw = cell.gate.width as usize;
        let cw = cell.cell.width as usize;
        GateUnit {
            clock: Signal::default(),
            zi: DynSig::new(zw),
            zf: DynSig::new(zw),
            zg: DynSig::new(zw),
            zo: DynSig::new(zw),
            c: DynSig::new(cw),
            c_next: DynSig::new(cw),
            h: DynSig::new(cell.hidden.width as usize),
            act_i: act(&fns.sigmoid),
            act_f: act(&fns.sigmoid),
            act_g: act(&fns.tanh),
            act_o: act(&fns.sigmoid),
            c_delay: DelayLine::new(cw, al),
            mul_fc: Multiplier::new(gw, cw),
            mul_ig: Multiplier::new(gw, gw),
            sum: ShiftedSum::new(gw + cw, cell.fc_align, 2 * gw, cell.ig_align, cell_acc_bits),
            // Pipelined, like the hidden output's: the sum's carry chain and
            // the rounding and saturation were an iCE40 critical path.
            cell_round: Requantizer::pipelined(
                cell_acc_bits,
                cell.cell_frac,
                cell.cell,
                cell.rounding,
            ),
            act_c: act(&fns.tanh_cell),
            // o waits from its sigmoid until tanh(c') is out.
            o_delay: DelayLine::new(gw, Self::cell_latency(second)),
            mul_oc: Multiplier::new(gw, gw),
            // Pipelined: after the o x tanh(c) multiplier, rounding and
            // saturation in one cycle were an iCE40 critical path.
            hidden_round: Requantizer::pipelined(
                2 * gw,
                2 * cell.gate.frac,
                cell.hidden,
                cell.rounding,
            ),
        }
    }
}

impl Logic for GateUnit {
    #[hdl_gen]
    fn update(&mut self) {
        self.act_i.clock.next = self.clock.val();
        self.act_f.clock.next = self.clock.val();
        self.act_g.clock.next = self.clock.val();
        self.act_o.clock.next = self.clock.val();
        self.c_delay.clock.next = self.clock.val();
        self.mul_fc.clock.next = self.clock.val();
        self.mul_ig.clock.next = self.clock.val();
        self.sum.clock.next = self.clock.val();
        self.cell_round.clock.next = self.clock.val();
        self.act_c.clock.next = self.clock.val();
        self.o_delay.clock.next = self.clock.val();
        self.mul_oc.clock.next = self.clock.val();
        self.hidden_round.clock.next = self.clock.val();
        self.act_i.x.next = self.zi.val();
        self.act_f.x.next = self.zf.val();
        self.act_g.x.next = self.zg.val();
        self.act_o.x.next = self.zo.val();
        self.c_delay.d.next = self.c.val();
        self.mul_fc.a.next = self.act_f.y.val();
        self.mul_fc.b.next = self.c_delay.q.val();
        self.mul_ig.a.next = self.act_i.y.val();
        self.mul_ig.b.next = self.act_g.y.val();
        self.sum.a.next = self.mul_fc.p.val();
        self.sum.b.next = self.mul_ig.p.val();
        self.cell_round.x.next = self.sum.s.val();
        self.c_next.next = self.cell_round.y.val();
        self.act_c.x.next = self.cell_round.y.val();
        self.o_delay.d.next = self.act_o.y.val();
        self.mul_oc.a.next = self.o_delay.q.val();
        self.mul_oc.b.next = self.act_c.y.val();
        self.hidden_round.x.next = self.mul_oc.p.val();
        self.h.next = self.hidden_round.y.val();
    }
}
