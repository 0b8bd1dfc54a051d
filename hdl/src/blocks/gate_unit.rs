//! The gate unit: from a cell's four pre-activations and its old state to the
//! new cell state and hidden output, pipelined.
//!
//! ```text
//! stage 1-2  i, f, o = sigmoid(z), g = tanh(z)            activation blocks
//! stage 3    f*c, i*g                                     two multipliers (c delayed)
//! stage 4    (f*c << fc_align) + (i*g << ig_align)        exact cell accumulator
//! stage 5-6  c' = requantize(.. -> cell)                  rounding point Cell (two stages)
//! stage 6-7  tanh(c')                                     activation block
//! stage 8    o * tanh(c')                                 multiplier (o delayed)
//! stage 9+   h = requantize(.. -> hidden)                 rounding point Hidden (two stages)
//! ```
//! With five activation blocks a cell enters every cycle. With three or
//! four the sigmoids share one or two blocks ([`SigmoidSlots`]): a cell
//! enters every three or two cycles, and when f waits a cycle for its
//! block (three blocks) the cell path from stage 3 on is a cycle later.
//! The unit uses `fire` to know when a cell entered. `c'` is ready after
//! [`GateUnit::cell_latency`] cycles, `h` after [`GateUnit::latency`]. Every
//! constant comes from the model (`ActivationUnit`, `CellArith`), so the
//! unit computes exactly the reference's cell update.

use super::activation_unit::{ActivationBlock, ACTIVATION_LATENCY};
use super::arith::{Multiplier, ShiftedSum};
use super::delay_line::DelayLine;
use super::requantizer::Requantizer;
use super::sigmoid_slots::SigmoidSlots;
use crate::dynamic::DynSig;
use lstm_accel_model::activation::ActivationUnit;
use lstm_accel_model::cell::CellArith;
use lstm_accel_spec::datapath;
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
    /// Nonzero: a cell enters (its pre-activations and state are on the
    /// inputs). Only a unit whose sigmoids share blocks uses it.
    pub fire: DynSig<In>,
    /// The new state, [`GateUnit::CELL_LATENCY`] cycles later.
    pub c_next: DynSig<Out>,
    /// The hidden output, [`GateUnit::LATENCY`] cycles later.
    pub h: DynSig<Out>,
    slots: SigmoidSlots,
    sig: Vec<ActivationBlock>,
    act_g: ActivationBlock,
    i_delay: DelayLine,
    g_delay: DelayLine,
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
    /// with second output registers only (the block's is the first). A
    /// shared sigmoid block is named after its first gate (i, f, o in
    /// turn).
    pub fn with_dp16kd_tables(mut self, which: [bool; 5]) -> Self {
        let mut units: Vec<(&mut ActivationBlock, bool)> = Vec::new();
        for (e, unit) in self.sig.iter_mut().enumerate() {
            units.push((unit, which[Self::SIGMOID_GATES[e]]));
        }
        units.push((&mut self.act_g, which[2]));
        units.push((&mut self.act_c, which[4]));
        for (unit, on) in units {
            if on && unit.latency() > ACTIVATION_LATENCY {
                unit.enable_dp16kd();
            }
        }
        self
    }

    /// Cycles from the inputs to `c_next` (five activations with one
    /// output register).
    pub const CELL_LATENCY: usize = Self::cell_latency(false, 5);
    /// Cycles from the inputs to `h` (five activations with one output
    /// register).
    pub const LATENCY: usize = Self::latency(false, 5);

    /// Cycles from the inputs to `c_next`, with activations of a
    /// `second` output register or not, and `activation_units` of them.
    pub const fn cell_latency(second: bool, activation_units: usize) -> usize {
        datapath::gate_unit::cell_latency(second, activation_units)
    }

    /// Cycles from the inputs to `h`, with activations of a `second`
    /// output register or not, and `activation_units` of them.
    pub const fn latency(second: bool, activation_units: usize) -> usize {
        datapath::gate_unit::latency(second, activation_units)
    }

    /// Cycles between two cells entering a unit of `activation_units`
    /// activation blocks (3 to 5).
    pub const fn interval(activation_units: usize) -> usize {
        datapath::gate_unit::interval(activation_units)
    }

    /// The gates (of i, f, g, o, c' = 0..5) whose sigmoid block `e` is
    /// named after: a shared block takes its first gate's name.
    pub const SIGMOID_GATES: [usize; 3] = datapath::gate_unit::SIGMOID_GATES;

    /// The gates (of i, f, g, o, c' = 0..5) that name an activation block
    /// of a unit of `activation_units`: tanh(g) and tanh(c'), and the
    /// sigmoid blocks' [`GateUnit::SIGMOID_GATES`].
    pub fn block_gates(activation_units: usize) -> Vec<usize> {
        datapath::gate_unit::block_gates(activation_units)
    }

    /// The blocks the sigmoids share: tanh(g) and tanh(c') have one each.
    pub const fn sigmoid_units(activation_units: usize) -> usize {
        datapath::gate_unit::sigmoid_units(activation_units)
    }

    /// A gate unit for a layer's functions, cell arithmetic and exact cell
    /// accumulator width, with five activation blocks.
    pub fn new(fns: &GateFunctions, cell: &CellArith, cell_acc_bits: usize) -> Self {
        Self::with_activation_registers(fns, cell, cell_acc_bits, false, 5)
    }

    /// [`GateUnit::new`] with activations of a `second` output register
    /// (ECP5 designs, [`ActivationBlock::with_second_output_register`]) or
    /// not, and `activation_units` activation blocks (3 to 5).
    pub fn with_activation_registers(
        fns: &GateFunctions,
        cell: &CellArith,
        cell_acc_bits: usize,
        second: bool,
        activation_units: usize,
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
        let units = Self::sigmoid_units(activation_units);
        let shift = SigmoidSlots::cell_shift(units);
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
            fire: DynSig::new(1),
            c_next: DynSig::new(cw),
            h: DynSig::new(cell.hidden.width as usize),
            slots: SigmoidSlots::new(units, zw, gw),
            sig: (0..units).map(|_| act(&fns.sigmoid)).collect(),
            act_g: act(&fns.tanh),
            // i and g wait for f.
            i_delay: DelayLine::new(gw, shift),
            g_delay: DelayLine::new(gw, shift),
            c_delay: DelayLine::new(cw, al + shift),
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
            o_delay: DelayLine::new(
                gw,
                Self::cell_latency(second, activation_units) - SigmoidSlots::o_slot(units),
            ),
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
        self.slots.clock.next = self.clock.val();
        for e in 0..self.sig.len() {
            self.sig[e].clock.next = self.clock.val();
            self.sig[e].x.next = self.slots.xs[e].val();
            self.slots.ys[e].next = self.sig[e].y.val();
        }
        self.act_g.clock.next = self.clock.val();
        self.i_delay.clock.next = self.clock.val();
        self.g_delay.clock.next = self.clock.val();
        self.c_delay.clock.next = self.clock.val();
        self.mul_fc.clock.next = self.clock.val();
        self.mul_ig.clock.next = self.clock.val();
        self.sum.clock.next = self.clock.val();
        self.cell_round.clock.next = self.clock.val();
        self.act_c.clock.next = self.clock.val();
        self.o_delay.clock.next = self.clock.val();
        self.mul_oc.clock.next = self.clock.val();
        self.hidden_round.clock.next = self.clock.val();
        self.slots.fire.next = self.fire.val();
        self.slots.zi.next = self.zi.val();
        self.slots.zf.next = self.zf.val();
        self.slots.zo.next = self.zo.val();
        self.act_g.x.next = self.zg.val();
        self.i_delay.d.next = self.slots.i.val();
        self.g_delay.d.next = self.act_g.y.val();
        self.c_delay.d.next = self.c.val();
        self.mul_fc.a.next = self.slots.f.val();
        self.mul_fc.b.next = self.c_delay.q.val();
        self.mul_ig.a.next = self.i_delay.q.val();
        self.mul_ig.b.next = self.g_delay.q.val();
        self.sum.a.next = self.mul_fc.p.val();
        self.sum.b.next = self.mul_ig.p.val();
        self.cell_round.x.next = self.sum.s.val();
        self.c_next.next = self.cell_round.y.val();
        self.act_c.x.next = self.cell_round.y.val();
        self.o_delay.d.next = self.slots.o.val();
        self.mul_oc.a.next = self.o_delay.q.val();
        self.mul_oc.b.next = self.act_c.y.val();
        self.hidden_round.x.next = self.mul_oc.p.val();
        self.h.next = self.hidden_round.y.val();
    }
}
