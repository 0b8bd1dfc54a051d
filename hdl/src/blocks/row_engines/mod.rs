//! The row engines: `engines` MAC arrays side by side, each with its own
//! weight decoder, bias add and rounding points, computing the rows of one
//! row group at once (engine `e` the group's row `e`). They share what the
//! rows of a group share: the data word (the same columns of the same
//! vector), the tap word of a structured matrix (the group lies in one block
//! row; each engine's decoder offsets the window by its place in the
//! group), the word's controls, the bias alignment and the phase. What
//! differs per row comes in per engine: its weight banks, its bias (a bias
//! bank each) and its alignment (when rows have their own scales).
//!
//! With more than one engine every input enters each engine through
//! pipeline registers of its own ([`RowEngines::boundary_latency`]), so a
//! shared signal's source drives one register per engine and the fan-out to
//! an engine's lanes starts inside the engine. The data word is the
//! exception: the MAC arrays take it a cycle after the codes, straight into
//! their lanes (`MacShape::x_late`), from its source's last register (up to
//! [`RowEngines::FANOUT`] engines) or from their group's; a register per
//! engine and lane would hold the same value in every engine.
//!
//! With more than [`RowEngines::FANOUT`] engines the shared inputs fan out
//! in a tree: a group register per [`RowEngines::FANOUT`] engines takes the
//! shared signals and the data word, and its engines' registers take them
//! from it. The source then drives a few group registers, each placed near
//! its engines, and no shared signal crosses the die to every engine within
//! one cycle. An engine's own inputs (its weight words, bias and alignment)
//! wait the group's cycle in a register of the engine's (`lead`).
//!
//! Each engine's result, rounded by the phase's rounding point, leaves on
//! `values[e]`; `done` marks a completed group (every engine finishes its
//! row in the same cycle). The engines' wiring is generated here for any
//! count, since `#[hdl_gen]` names one index per signal.

use super::bias_add::BiasAdd;
use super::delay_line::DelayLine;
use super::mac_array::{MacArray, MacShape};
use super::pipeline_registers::PipelineRegisters;
use super::requantizer::{Requantizer, PIPELINED_LATENCY};
use super::select::Select;
use super::weight_decoder::{WeightDecoder, WeightDecoderShape};
use crate::dynamic::{DynSig, DynVal};
use rust_hdl::prelude::*;

mod verilog;

/// The shapes of the row engines.
#[derive(Clone, Debug)]
pub struct RowEnginesShape {
    /// Row engines.
    pub engines: usize,
    /// The weight decoder of engine 0 (the others differ in their row
    /// offset only).
    pub decoder: WeightDecoderShape,
    /// The MAC array of each engine.
    pub mac: MacShape,
    /// Bits of a bias (read so that it meets its row's sum: the bias
    /// banks' read address waits out the MAC array).
    pub bias_width: usize,
    /// Alignment inputs: one per engine, or one shared.
    pub shift_ports: usize,
    /// Width of a rounded result.
    pub value_width: usize,
    /// Bits of the phase index.
    pub phase_bits: usize,
}

/// An engine input's Verilog name: the port, and its index in a port
/// vector (`words$3`).
type InputName = (&'static str, Option<usize>);

/// Where an engine's input register takes an input from.
#[derive(Clone, Copy, Debug)]
enum Source {
    /// The engines' input itself (no fan-out tree).
    Input,
    /// Output `i` of group `g`'s register.
    Group(usize, usize),
    /// Output `i` of engine `k`'s lead register.
    Lead(usize, usize),
}

/// An engine input: the signal, its Verilog name, and whether every engine
/// takes the same one (through its group's register, when there are
/// groups) or it is the engine's own (through its `lead` register).
type EngineInput<'a> = (&'a DynSig<In>, InputName, bool);

/// Positions in an engine's input list ([`RowEngines::engine_inputs`]):
/// the words start at 0; window and matrix follow mode, table data follows
/// the table address, and last, valid, the alignment, the bias, the bias
/// alignment and the phase follow first.
struct EngineInputs {
    taps: usize,
    mode: usize,
    table_we: usize,
    table_addr: usize,
    first: usize,
}

/// The row engines. Their `Block` implementation is written out (not
/// derived) for its update order, see [`RowEngines::update_all`].
pub struct RowEngines {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Weight bank words, engine 0's banks first.
    pub words: Vec<DynSig<In>>,
    /// Tap bank words (shared).
    pub taps: Vec<DynSig<In>>,
    /// Data values of the word (shared).
    pub xs: Vec<DynSig<In>>,
    /// The word's structured mode.
    pub mode: DynSig<In>,
    /// The window of the group's first row.
    pub window: DynSig<In>,
    /// The word's matrix id.
    pub matrix: DynSig<In>,
    /// Codebook table writes (every engine's decoder holds the tables).
    pub table_we: Vec<DynSig<In>>,
    /// Codebook table write address.
    pub table_addr: DynSig<In>,
    /// Codebook table write data.
    pub table_data: DynSig<In>,
    /// The word starts a row.
    pub first: DynSig<In>,
    /// The word ends a row.
    pub last: DynSig<In>,
    /// A word is present.
    pub valid: DynSig<In>,
    /// The word's alignment: per engine, or one for all.
    pub shift: Vec<DynSig<In>>,
    /// Each engine's bias-bank read word.
    pub bias: Vec<DynSig<In>>,
    /// Alignment of the phase's biases.
    pub bias_shift: DynSig<In>,
    /// The phase: which rounding point is live.
    pub phase: DynSig<In>,
    /// Each engine's rounded result.
    pub values: Vec<DynSig<Out>>,
    /// Nonzero: `values` hold a completed row group.
    pub done: DynSig<Out>,
    /// Each engine's input registers (none with one engine), in the order
    /// of [`RowEngines::engine_inputs`].
    boundary: Vec<PipelineRegisters>,
    /// Each group's registers of the shared inputs (in the order of
    /// [`RowEngines::engine_inputs`]) and then the data word; none without
    /// a fan-out tree ([`RowEngines::groups`]).
    group: Vec<PipelineRegisters>,
    /// Each engine's registers of its own inputs, the group stage's cycle;
    /// none without a fan-out tree.
    lead: Vec<PipelineRegisters>,
    /// Per engine, [`RowEngines::input_sources`], worked out once.
    sources: Vec<Vec<Source>>,
    wdec: Vec<WeightDecoder>,
    mac: Vec<MacArray>,
    bias_add: Vec<BiasAdd>,
    done_delay: DelayLine,
    /// Engine `e`'s rounding point of phase `p` at `e * phases + p`.
    rounding: Vec<Requantizer>,
    preact: Vec<Select>,
    _engines: usize,
    _banks: usize,
    _phases: usize,
}

impl RowEngines {
    /// The engines of `shape`, each with the rounding points `rounding`
    /// builds (one per phase, in phase order).
    pub fn new(shape: RowEnginesShape, rounding: impl Fn() -> Vec<Requantizer>) -> Self {
        let e = shape.engines.max(1);
        let d = &shape.decoder;
        let banks = d.lanes.div_ceil(d.per_word);
        let proto = WeightDecoder::new(WeightDecoderShape {
            row_offset: 0,
            ..d.clone()
        });
        let rounds: Vec<Requantizer> = (0..e).flat_map(|_| rounding()).collect();
        let phases = rounds.len() / e;
        let acc = shape.mac.acc_width;
        RowEngines {
            clock: Signal::default(),
            words: (0..e)
                .flat_map(|_| proto.words.iter().map(|w| DynSig::new(w.width())))
                .collect(),
            taps: proto.taps.iter().map(|t| DynSig::new(t.width())).collect(),
            xs: (0..shape.mac.lanes)
                .map(|_| DynSig::new(shape.mac.x_width))
                .collect(),
            mode: DynSig::new(d.mode_bits),
            window: DynSig::new(d.window_bits),
            matrix: DynSig::new(d.matrix_bits),
            table_we: proto.table_we.iter().map(|_| DynSig::new(2)).collect(),
            table_addr: DynSig::new(d.addr_bits),
            table_data: DynSig::new(d.lane_bits),
            first: DynSig::new(2),
            last: DynSig::new(2),
            valid: DynSig::new(2),
            shift: (0..shape.shift_ports.max(1))
                .map(|_| DynSig::new(shape.mac.shift_bits))
                .collect(),
            bias: (0..e).map(|_| DynSig::new(shape.bias_width)).collect(),
            bias_shift: DynSig::new(shape.mac.shift_bits),
            phase: DynSig::new(shape.phase_bits),
            values: (0..e).map(|_| DynSig::new(shape.value_width)).collect(),
            done: DynSig::new(2),
            boundary: Vec::new(),
            group: Vec::new(),
            lead: Vec::new(),
            sources: Vec::new(),
            wdec: (0..e)
                .map(|k| {
                    WeightDecoder::new(WeightDecoderShape {
                        row_offset: k as i64,
                        ..d.clone()
                    })
                })
                .collect(),
            mac: (0..e)
                .map(|_| {
                    MacArray::new(MacShape {
                        x_late: e > 1,
                        ..shape.mac
                    })
                })
                .collect(),
            bias_add: (0..e)
                .map(|_| BiasAdd::new(acc, shape.bias_width, shape.mac.shift_bits))
                .collect(),
            // Bias add, then the rounding point.
            done_delay: DelayLine::new(2, 1 + PIPELINED_LATENCY),
            rounding: rounds,
            preact: (0..e)
                .map(|_| Select::new(phases, shape.value_width, shape.phase_bits))
                .collect(),
            _engines: e,
            _banks: banks,
            _phases: phases,
        }
        .with_boundary()
    }

    /// Engines per group of the fan-out tree: the shared inputs' source
    /// drives one register per group, and each group's register one per
    /// engine of the group.
    pub const FANOUT: usize = lstm_accel_spec::datapath::row_engines::FANOUT;

    /// Groups of the fan-out tree: none up to [`RowEngines::FANOUT`]
    /// engines (the source drives every engine's register), else one per
    /// [`RowEngines::FANOUT`] engines.
    pub fn groups(engines: usize) -> usize {
        lstm_accel_spec::datapath::row_engines::groups(engines)
    }

    /// Cycles the engines' input registers add to every path through the
    /// engines: none with one engine, one with a few, two with a fan-out
    /// tree.
    pub fn boundary_latency(engines: usize) -> usize {
        lstm_accel_spec::datapath::row_engines::boundary_latency(engines)
    }

    /// Cycles the data word's source delays it by beyond the weight
    /// word's: with several engines, the engines' registers' cycle and the
    /// MAC arrays' input registers' (the arrays take it late, see
    /// `MacShape::x_late`), while the group registers carry the word
    /// through theirs.
    pub fn data_source_delay(engines: usize) -> usize {
        2 * usize::from(engines > 1)
    }

    /// The input registers of each engine (and, with a fan-out tree, of
    /// each group and each engine's own inputs), sized from its inputs.
    fn with_boundary(mut self) -> Self {
        let e = self._engines;
        if Self::boundary_latency(e) == 0 {
            return self;
        }
        let widths = |k: usize, shared: Option<bool>| -> Vec<usize> {
            self.engine_inputs(k)
                .iter()
                .filter(|(_, _, s)| shared.is_none_or(|want| *s == want))
                .map(|(s, _, _)| s.width())
                .collect()
        };
        let boundary = (0..e)
            .map(|k| PipelineRegisters::new(&widths(k, None)))
            .collect();
        let (mut group, mut lead) = (Vec::new(), Vec::new());
        if Self::groups(e) > 0 {
            group = (0..Self::groups(e))
                .map(|g| {
                    let mut w = widths(g * Self::FANOUT, Some(true));
                    w.extend(self.xs.iter().map(|x| x.width()));
                    PipelineRegisters::new(&w)
                })
                .collect();
            lead = (0..e)
                .map(|k| PipelineRegisters::new(&widths(k, Some(false))))
                .collect();
        }
        (self.boundary, self.group, self.lead) = (boundary, group, lead);
        self.sources = (0..e).map(|k| self.input_sources(k)).collect();
        self
    }

    /// Engine `k`'s registered inputs with their Verilog names, in one
    /// order: its weight banks' words, the tap words, mode, window,
    /// matrix, the codebook table writes (enables, address, data), first,
    /// last, valid, its alignment, its bias, the bias alignment, the phase.
    /// [`EngineInputs`] indexes this order. The names are the port's and
    /// its index, formatted only by the Verilog writer: the native
    /// simulation walks this list on every pass.
    fn engine_inputs(&self, k: usize) -> Vec<EngineInput<'_>> {
        let banks = self._banks;
        let shift = k.min(self.shift.len() - 1);
        fn each<'a>(
            name: &'static str,
            sigs: &'a [DynSig<In>],
            first: usize,
            shared: bool,
        ) -> Vec<EngineInput<'a>> {
            sigs.iter()
                .enumerate()
                .map(|(i, s)| (s, (name, Some(first + i)), shared))
                .collect()
        }
        let one = |name: &'static str, s| (s, (name, None), true);
        let mut v = each(
            "words",
            &self.words[k * banks..(k + 1) * banks],
            k * banks,
            false,
        );
        v.extend(each("taps", &self.taps, 0, true));
        v.extend([
            one("mode", &self.mode),
            one("window", &self.window),
            one("matrix", &self.matrix),
        ]);
        v.extend(each("table_we", &self.table_we, 0, true));
        v.extend([
            one("table_addr", &self.table_addr),
            one("table_data", &self.table_data),
            one("first", &self.first),
            one("last", &self.last),
            one("valid", &self.valid),
            (
                &self.shift[shift],
                ("shift", Some(shift)),
                self.shift.len() == 1,
            ),
            (&self.bias[k], ("bias", Some(k)), false),
            one("bias_shift", &self.bias_shift),
            one("phase", &self.phase),
        ]);
        v
    }

    /// Where engine `k`'s inputs come from, in [`RowEngines::engine_inputs`]'
    /// order: the input itself, or with a fan-out tree its group's register
    /// (a shared input) or its own lead register.
    fn input_sources(&self, k: usize) -> Vec<Source> {
        let inputs = self.engine_inputs(k);
        if self.group.is_empty() {
            return vec![Source::Input; inputs.len()];
        }
        let (mut shared, mut own) = (0, 0);
        inputs
            .iter()
            .map(|(_, _, s)| {
                if *s {
                    shared += 1;
                    Source::Group(k / Self::FANOUT, shared - 1)
                } else {
                    own += 1;
                    Source::Lead(k, own - 1)
                }
            })
            .collect()
    }

    /// Where each input sits in [`RowEngines::engine_inputs`].
    fn input_index(&self) -> EngineInputs {
        let words = 0;
        let taps = words + self._banks;
        let mode = taps + self.taps.len();
        let table_we = mode + 3;
        let table_addr = table_we + self.table_we.len();
        EngineInputs {
            taps,
            mode,
            table_we,
            table_addr,
            first: table_addr + 2,
        }
    }

    /// Row engines.
    pub fn engines(&self) -> usize {
        self._engines
    }
}

impl Block for RowEngines {
    fn connect_all(&mut self) {
        self.connect();
        self.group.connect_all();
        self.lead.connect_all();
        self.boundary.connect_all();
        self.wdec.connect_all();
        self.mac.connect_all();
        self.bias_add.connect_all();
        self.done_delay.connect_all();
        self.rounding.connect_all();
        self.preact.connect_all();
    }

    /// A native simulation settles by whole passes over the design, and
    /// each signal a value crosses costs one: so the engines latch their
    /// inputs (which the parent set earlier in this pass) before they
    /// drive their children, and forward their children's results after
    /// them. The engines' children then take the passes they would take as
    /// the parent's own children, and the simulation is as fast as before
    /// the engines were a block of their own.
    fn update_all(&mut self) {
        self.clock.update_all();
        for s in self
            .words
            .iter_mut()
            .chain(self.taps.iter_mut())
            .chain(self.xs.iter_mut())
            .chain(self.table_we.iter_mut())
            .chain(self.shift.iter_mut())
            .chain(self.bias.iter_mut())
        {
            s.update_all();
        }
        for s in [
            &mut self.mode,
            &mut self.window,
            &mut self.matrix,
            &mut self.table_addr,
            &mut self.table_data,
            &mut self.first,
            &mut self.last,
            &mut self.valid,
            &mut self.bias_shift,
            &mut self.phase,
        ] {
            s.update_all();
        }
        self.drive_tree();
        self.group.update_all();
        self.lead.update_all();
        self.drive_boundary();
        self.boundary.update_all();
        self.drive_children();
        self.wdec.update_all();
        self.mac.update_all();
        self.bias_add.update_all();
        self.done_delay.update_all();
        self.rounding.update_all();
        self.preact.update_all();
        self.forward_results();
        self.values.update_all();
        self.done.update_all();
    }

    fn has_changed(&self) -> bool {
        self.clock.has_changed()
            || self.words.has_changed()
            || self.taps.has_changed()
            || self.xs.has_changed()
            || self.mode.has_changed()
            || self.window.has_changed()
            || self.matrix.has_changed()
            || self.table_we.has_changed()
            || self.table_addr.has_changed()
            || self.table_data.has_changed()
            || self.first.has_changed()
            || self.last.has_changed()
            || self.valid.has_changed()
            || self.shift.has_changed()
            || self.bias.has_changed()
            || self.bias_shift.has_changed()
            || self.phase.has_changed()
            || self.values.has_changed()
            || self.done.has_changed()
            || self.group.has_changed()
            || self.lead.has_changed()
            || self.boundary.has_changed()
            || self.wdec.has_changed()
            || self.mac.has_changed()
            || self.bias_add.has_changed()
            || self.done_delay.has_changed()
            || self.rounding.has_changed()
            || self.preact.has_changed()
    }

    /// In the fields' order, as `#[derive(LogicBlock)]` visits them (the
    /// Verilog generator walks the design this way).
    fn accept(&self, name: &str, probe: &mut dyn Probe) {
        probe.visit_start_scope(name, self);
        self.clock.accept("clock", probe);
        self.words.accept("words", probe);
        self.taps.accept("taps", probe);
        self.xs.accept("xs", probe);
        self.mode.accept("mode", probe);
        self.window.accept("window", probe);
        self.matrix.accept("matrix", probe);
        self.table_we.accept("table_we", probe);
        self.table_addr.accept("table_addr", probe);
        self.table_data.accept("table_data", probe);
        self.first.accept("first", probe);
        self.last.accept("last", probe);
        self.valid.accept("valid", probe);
        self.shift.accept("shift", probe);
        self.bias.accept("bias", probe);
        self.bias_shift.accept("bias_shift", probe);
        self.phase.accept("phase", probe);
        self.values.accept("values", probe);
        self.done.accept("done", probe);
        self.group.accept("group", probe);
        self.lead.accept("lead", probe);
        self.boundary.accept("boundary", probe);
        self.wdec.accept("wdec", probe);
        self.mac.accept("mac", probe);
        self.bias_add.accept("bias_add", probe);
        self.done_delay.accept("done_delay", probe);
        self.rounding.accept("rounding", probe);
        self.preact.accept("preact", probe);
        probe.visit_end_scope(name, self);
    }
}

impl RowEngines {
    /// The fan-out tree's registers' inputs: each group's shared inputs
    /// and data word, each engine's own inputs.
    fn drive_tree(&mut self) {
        for g in 0..self.group.len() {
            let vals: Vec<DynVal> = self
                .engine_inputs(g * Self::FANOUT)
                .iter()
                .filter(|(_, _, shared)| *shared)
                .map(|(s, _, _)| s.val())
                .chain(self.xs.iter().map(|x| x.val()))
                .collect();
            let r = &mut self.group[g];
            r.clock.next = self.clock.val();
            for (d, v) in r.d.iter_mut().zip(vals) {
                d.next = v;
            }
        }
        for k in 0..self.lead.len() {
            let vals: Vec<DynVal> = self
                .engine_inputs(k)
                .iter()
                .filter(|(_, _, shared)| !*shared)
                .map(|(s, _, _)| s.val())
                .collect();
            let r = &mut self.lead[k];
            r.clock.next = self.clock.val();
            for (d, v) in r.d.iter_mut().zip(vals) {
                d.next = v;
            }
        }
    }

    /// Each engine's input registers' inputs.
    fn drive_boundary(&mut self) {
        for k in 0..self.boundary.len() {
            let vals: Vec<DynVal> = self
                .engine_inputs(k)
                .iter()
                .zip(&self.sources[k])
                .map(|((s, _, _), src)| match *src {
                    Source::Input => s.val(),
                    Source::Group(g, i) => self.group[g].q[i].val(),
                    Source::Lead(e, i) => self.lead[e].q[i].val(),
                })
                .collect();
            let b = &mut self.boundary[k];
            b.clock.next = self.clock.val();
            for (d, v) in b.d.iter_mut().zip(vals) {
                d.next = v;
            }
        }
    }

    /// Engine `k`'s inputs as its children see them: through its input
    /// registers, or straight.
    fn engine_values(&self, k: usize) -> Vec<DynVal> {
        match self.boundary.get(k) {
            Some(b) => b.q.iter().map(|q| q.val()).collect(),
            None => self
                .engine_inputs(k)
                .iter()
                .map(|(s, _, _)| s.val())
                .collect(),
        }
    }

    /// Where the data word starts in a group register: after the shared
    /// inputs (none without a fan-out tree).
    fn group_data_slot(&self) -> Option<usize> {
        self.group.first().map(|g| g.q.len() - self.xs.len())
    }

    /// Engine `k`'s data word: its group's copy, or the input.
    fn data_word(&self, k: usize) -> Vec<DynVal> {
        match self.group_data_slot() {
            Some(first) => self.group[k / Self::FANOUT].q[first..]
                .iter()
                .map(|q| q.val())
                .collect(),
            None => self.xs.iter().map(|x| x.val()).collect(),
        }
    }

    /// Every engine's children's inputs, from the engines' inputs (or their
    /// registers) and the children's outputs.
    fn drive_children(&mut self) {
        let (e, banks, phases) = (self._engines, self._banks, self._phases);
        let at = self.input_index();
        for k in 0..e {
            let v = self.engine_values(k);
            let xs = self.data_word(k);
            let dec = &mut self.wdec[k];
            dec.clock.next = self.clock.val();
            for (w, &x) in dec.words.iter_mut().zip(&v[..banks]) {
                w.next = x;
            }
            for (t, x) in dec.taps.iter_mut().enumerate() {
                x.next = v[at.taps + t];
            }
            dec.mode.next = v[at.mode];
            dec.window.next = v[at.mode + 1];
            dec.matrix.next = v[at.mode + 2];
            for (t, x) in dec.table_we.iter_mut().enumerate() {
                x.next = v[at.table_we + t];
            }
            dec.table_addr.next = v[at.table_addr];
            dec.table_data.next = v[at.table_addr + 1];
            let mac = &mut self.mac[k];
            mac.clock.next = self.clock.val();
            for (c, x) in mac.codes.iter_mut().zip(&dec.codes) {
                c.next = x.val();
            }
            for (c, &x) in mac.xs.iter_mut().zip(&xs) {
                c.next = x;
            }
            mac.first.next = v[at.first];
            mac.last.next = v[at.first + 1];
            mac.valid.next = v[at.first + 2];
            mac.shift.next = v[at.first + 3];
            let ba = &mut self.bias_add[k];
            ba.clock.next = self.clock.val();
            ba.acc.next = mac.acc.val();
            ba.bias.next = v[at.first + 4];
            ba.shift.next = v[at.first + 5];
            let sel = &mut self.preact[k];
            for p in 0..phases {
                let r = &mut self.rounding[k * phases + p];
                r.clock.next = self.clock.val();
                r.x.next = ba.y.val();
                sel.xs[p].next = r.y.val();
            }
            sel.sel.next = v[at.first + 6];
        }
        self.done_delay.clock.next = self.clock.val();
        self.done_delay.d.next = self.mac[0].row_done.val();
    }

    /// The engines' results out.
    fn forward_results(&mut self) {
        for (v, sel) in self.values.iter_mut().zip(&self.preact) {
            v.next = sel.y.val();
        }
        self.done.next = self.done_delay.q.val();
    }
}

impl Logic for RowEngines {
    fn update(&mut self) {
        self.drive_tree();
        self.drive_boundary();
        self.drive_children();
        self.forward_results();
    }
    fn connect(&mut self) {
        for v in &mut self.values {
            v.connect();
        }
        self.done.connect();
        for b in self
            .group
            .iter_mut()
            .chain(self.lead.iter_mut())
            .chain(self.boundary.iter_mut())
        {
            b.clock.connect();
            for d in &mut b.d {
                d.connect();
            }
        }
        for (k, dec) in self.wdec.iter_mut().enumerate() {
            dec.clock.connect();
            for w in &mut dec.words {
                w.connect();
            }
            for t in &mut dec.taps {
                t.connect();
            }
            for x in [
                &mut dec.mode,
                &mut dec.window,
                &mut dec.matrix,
                &mut dec.table_addr,
                &mut dec.table_data,
            ] {
                x.connect();
            }
            for t in &mut dec.table_we {
                t.connect();
            }
            let mac = &mut self.mac[k];
            mac.clock.connect();
            for c in mac.codes.iter_mut().chain(mac.xs.iter_mut()) {
                c.connect();
            }
            for x in [
                &mut mac.first,
                &mut mac.last,
                &mut mac.valid,
                &mut mac.shift,
            ] {
                x.connect();
            }
            let ba = &mut self.bias_add[k];
            ba.clock.connect();
            for x in [&mut ba.acc, &mut ba.bias, &mut ba.shift] {
                x.connect();
            }
            for x in &mut self.preact[k].xs {
                x.connect();
            }
            self.preact[k].sel.connect();
        }
        for r in &mut self.rounding {
            r.clock.connect();
            r.x.connect();
        }
        self.done_delay.clock.connect();
        self.done_delay.d.connect();
    }
    fn hdl(&self) -> Verilog {
        Verilog::Custom(self.verilog())
    }
}
