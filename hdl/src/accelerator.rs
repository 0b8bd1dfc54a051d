//! The accelerator: the top-level block generated from a model's spec. Two
//! AXI4-Stream ports carry the packet protocol ([`lstm_accel_spec::protocol`]); inside,
//! the stream controller loads the memories and frames, the sequencer runs
//! the spec's program, and the datapath computes:
//!
//! ```text
//! weight banks, tap banks ─ weight decoder (windows, codebook tables) ─┐
//! data banks ────────────┴─ MAC array ─ bias add ─ rounding point (per layer, head)
//!        ┌──────────────────────────────────────────────── select (phase)
//!        └─ collector ─┬─ gate unit (per layer) ─ select ─ c → cell memory, h → data banks
//!                      └─ logits → logit memory, arg-max → class
//! ```
//!
//! A projected layer writes its h to a scratch buffer; its projection phase
//! then runs `P h` on the MAC array with its own rounding point, and the
//! collector writes each y through the h path (delayed to meet it) into the
//! layer's output buffer, which the recurrence and the next layer read.
//!
//! A low-rank matrix `U V` has a factor pass before the rows that use it:
//! `t = V v` on the MAC array, exact, written like a y to a scratch buffer,
//! which `U`'s rows then read in place of `v`.
//!
//! A LightRNN head has a second head phase (its column logits, with their
//! own rounding point) and a decoder that reads the class from the class
//! table after a row arg-max and a column arg-max.
//!
//! For `READ_STATE` the state reader takes over the read ports of the cell
//! and data memories and walks every layer's c and h out through the
//! controller.
//!
//! Every width is the model's: codes, data values, the exact sums, each
//! layer's formats. Layers with their own formats and activations get their
//! own rounding point and gate unit; the sequencer's phase selects the live
//! one. Weights are not part of the design: one design runs every model of
//! its shape, loaded over the stream.

use crate::blocks::argmax::ArgMax;
use crate::blocks::collector::Collector;
use crate::blocks::controller::Controller;
use crate::blocks::delay_line::DelayLine;
use crate::blocks::fanout::RegisteredFanout;
use crate::blocks::gate_unit::{GateFunctions, GateUnit};
use crate::blocks::header_check::HeaderCheck;
use crate::blocks::lightrnn_decoder::{LightRnnDecoder, LightRnnShape};
use crate::blocks::mac_array::{MacArray, MacShape};
use crate::blocks::ram::Ram;
use crate::blocks::requantizer::Requantizer;
use crate::blocks::reset_hold::ResetHold;
use crate::blocks::result_queue::ResultQueue;
use crate::blocks::row_engines::{RowEngines, RowEnginesShape};
use crate::blocks::select::{PipelinedSelect, Select};
use crate::blocks::sequencer::Sequencer;
use crate::blocks::state_reader::StateReader;
use crate::blocks::stream_slice::{StreamSlice, WordIn, WordOut};
use crate::blocks::weight_decoder::WeightDecoderShape;
use crate::dynamic::DynSig;
use lstm_accel_model::activation::Function;
use lstm_accel_model::cell::CellArith;
use lstm_accel_model::Model;
use lstm_accel_spec::layout::Phase;
use lstm_accel_spec::spec::{AcceleratorSpec, Placement};
use rust_hdl::prelude::*;

/// The accelerator.
#[derive(LogicBlock)]
pub struct Accelerator {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Reset request (synchronised inside, any length): the stream
    /// controller and the sequencer go idle, a frame that runs is dropped,
    /// the status counters clear; the memories keep their contents, and
    /// the weights that were completely loaded stay usable.
    pub reset: Signal<In, Bit>,
    /// Input stream data.
    pub s_tdata: DynSig<In>,
    /// Input stream valid.
    pub s_tvalid: Signal<In, Bit>,
    /// Input stream last.
    pub s_tlast: Signal<In, Bit>,
    /// Input stream ready.
    pub s_tready: Signal<Out, Bit>,
    /// Output stream data.
    pub m_tdata: DynSig<Out>,
    /// Output stream valid.
    pub m_tvalid: Signal<Out, Bit>,
    /// Output stream last.
    pub m_tlast: Signal<Out, Bit>,
    /// Output stream ready.
    pub m_tready: Signal<In, Bit>,
    /// Nonzero while a frame runs (a cycle after the sequencer's state says
    /// so).
    pub busy: DynSig<Out>,
    /// `busy` from a register of its own: the port's pin, wherever the
    /// placer puts it, then pulls no sequencer logic to it (the sequencer's
    /// `state != IDLE` gate, shared with its own counters, sat by the pin
    /// on ESE 16 x 64's critical path, 5.4 ns of detour).
    busy_out: DelayLine,
    reset_hold: ResetHold,
    /// The input stream's register slice: the controller's handshake and
    /// load decode share no cycle with what drives the stream (its `ready`
    /// and every word come from registers), and the part's pins, wherever
    /// the placer puts them, pull none of the controller's logic to them.
    in_word: WordOut,
    slice_in: StreamSlice,
    /// Each word's header decode, which the slice registers beside it (its
    /// user bits), so the controller's idle decode starts from registers.
    header_check: HeaderCheck,
    in_data: WordIn,
    ctl: Controller,
    seq: Sequencer,
    weights: Vec<Ram>,
    /// The MAC arrays' other inputs, delayed as long as the slower of the
    /// weight and tap reads takes beyond one cycle (wires otherwise); the
    /// tap and weight words by what their own read leaves of that.
    x_stage: Vec<DelayLine>,
    tap_stage: Vec<DelayLine>,
    word_stage: Vec<DelayLine>,
    mode_stage: DelayLine,
    window_stage: DelayLine,
    matrix_stage: DelayLine,
    first_stage: DelayLine,
    last_stage: DelayLine,
    valid_stage: DelayLine,
    shift_stage: Vec<DelayLine>,
    taps: Vec<Ram>,
    /// A bias bank and (with row scales) a row-shift bank per row engine.
    biases: Vec<Ram>,
    /// The bias banks' read address, delayed so that a row's bias comes
    /// out as its sum leaves the MAC array: one delay line for every
    /// engine's bank, where delaying the biases would take one per engine.
    bias_raddr_stage: DelayLine,
    shifts: Vec<Ram>,
    data: Vec<Ram>,
    /// The data memories' write port, registered once: the controller's
    /// write decode (from the stream's handshake) and the sixteen banks'
    /// write enables sit in separate cycles. A write lands a cycle late;
    /// nothing reads a word that soon (a frame's first read comes three
    /// cycles after its last word, a phase's two cycles after its last h).
    data_we_stage: Vec<DelayLine>,
    data_addr_stage: DelayLine,
    data_data_stage: DelayLine,
    /// The bias and row-shift banks' write port, registered once for the
    /// same reason: with many row engines the controller's write decode
    /// reached banks spread over the die in the same cycle (the critical
    /// path of a 16 x 16 design on the ECP5-85F). A load's word lands a
    /// cycle late; a frame comes several cycles after the load ends.
    bias_we_stage: Vec<DelayLine>,
    shift_we_stage: Vec<DelayLine>,
    /// The weight and tap banks' write enables, registered like the bias
    /// banks' (the controller's input handshake and the bank decode
    /// otherwise share a cycle with the route to every bank).
    weight_we_stage: Vec<DelayLine>,
    tap_we_stage: Vec<DelayLine>,
    load_addr_stage: DelayLine,
    load_data_stage: DelayLine,
    cells: Ram,
    logits: Ram,
    engines: RowEngines,
    /// The sequencer's phase controls as the result queue and the
    /// collector take them (head, project, phase start, phase, its result
    /// count, h base, cell base), registered once with several row
    /// engines: the queue and collector sit by the gate unit, far from the
    /// sequencer, and its state and their enables then share no cycle. A
    /// phase's first result reaches them a full MAC path after the switch,
    /// and the sequencer switches only after the last one left, so the
    /// cycle's lag changes no result.
    phase_ctl: Vec<DelayLine>,
    queue: ResultQueue,
    collector: Collector,
    gates: Vec<GateUnit>,
    c_select: Select,
    h_select: Select,
    y_delay: DelayLine,
    h_out: Select,
    c_we: DelayLine,
    c_addr: DelayLine,
    h_we: DelayLine,
    h_word: DelayLine,
    h_lane: DelayLine,
    argmax: ArgMax,
    lightrnn: Vec<LightRnnDecoder>,
    class_table: Vec<Ram>,
    reader: StateReader,
    cell_raddr: Select,
    data_raddr: Select,
    /// The data memories' read address, through a register per
    /// [`Accelerator::DATA_ADDRESS_GROUP`] memories with several row
    /// engines (the data word then waits a cycle less behind them).
    data_raddr_fanout: RegisteredFanout,
    /// A lane's h for the state reply, through a register between two
    /// levels of select with several row engines.
    h_read: PipelinedSelect,
    _banks: usize,
    _tap_banks: usize,
    _lanes: usize,
    _shifts: usize,
    _shift_ports: usize,
    _engines: usize,
    _light: usize,
    _codebooks: usize,
}

impl Accelerator {
    /// Data memories per copy of their read address in a design with
    /// several row engines.
    pub const DATA_ADDRESS_GROUP: usize = 4;

    /// Lanes per first-level select of the state reply's h.
    pub const H_READ_GROUP: usize = 8;

    /// The design for `spec`, with the formats and activation functions of
    /// `model` (the model the spec was derived from; its weights are not used).
    pub fn new(model: &Model, spec: &AcceleratorSpec) -> Result<Self, lstm_accel_spec::SpecError> {
        // The schedule of other gate-unit configurations can be planned, but
        // the design below would not run in the cycles it predicts.
        let hw = &spec.hw;
        if hw.gate_units != 1 {
            return Err(lstm_accel_spec::SpecError::NotGenerated(format!(
                "gate_units = {}: the design has one gate unit per cell arithmetic",
                hw.gate_units
            )));
        }
        let lay = &spec.layout;
        let ecp5 = hw.target.is_ecp5();
        let dp = model.datapath();
        let w = lay.widths();
        let nl = lay.layers.len();
        let acc = lay.acc_width as usize;
        // The rounding points, by phase: (fraction of the sum, format).
        let mut rounding = Vec::with_capacity(nl + 1);
        let mut gates = Vec::with_capacity(nl);
        for ((l, d), ls) in model.layers.iter().zip(&dp.layers).zip(&spec.layers) {
            rounding.push((d.gate.frac, l.formats.preact));
            // Layers of the same cell arithmetic share their gate unit.
            if ls.gate_unit < gates.len() {
                continue;
            }
            let f = l.formats;
            let unit = |func, from, to| {
                model.activation(func, from, to).map_err(|e| {
                    lstm_accel_spec::SpecError::Config(format!(
                        "activation of layer formats {f:?}: {e}"
                    ))
                })
            };
            let fns = GateFunctions {
                sigmoid: unit(Function::Sigmoid, f.preact, f.gate)?,
                tanh: unit(Function::Tanh, f.preact, f.gate)?,
                tanh_cell: unit(Function::Tanh, f.cell, f.gate)?,
            };
            // On ECP5 a table in block RAM uses the block's output register.
            let in_bram = |g: &str| {
                ecp5 && spec.placement_of(&format!("act_{g}[{}]", gates.len()))
                    == Some(Placement::BlockRam)
            };
            let tables = [
                in_bram("i"),
                in_bram("f"),
                in_bram("g"),
                in_bram("o"),
                in_bram("c"),
            ];
            gates.push(
                GateUnit::with_activation_registers(
                    &fns,
                    &CellArith::new(&f, d, model.rounding),
                    d.cell.bits as usize,
                    spec.pipeline.second_activation_register,
                    hw.activation_units,
                )
                .with_dp16kd_tables(tables),
            );
        }
        let gate_of_layer: Vec<usize> = spec.layers.iter().map(|l| l.gate_unit).collect();
        rounding.push((lay.head.acc_frac, lay.head.logits));
        if let Some(l) = &lay.head.light_rnn {
            rounding.push((l.acc_frac, lay.head.logits));
        }
        // The other phases in index order: a projection rounds to its
        // format; a factor pass keeps t exact (its format holds the sum at
        // the sum's own fraction, so the rounding point is the identity).
        for phase in lay.phases().into_iter().skip(rounding.len()) {
            match phase {
                Phase::Projection(l) => {
                    let j = lay.layers[l].projection.as_ref();
                    rounding.push(j.map_or((0, lay.head.logits), |j| (j.acc_frac, j.format)));
                }
                Phase::Factor(of) => {
                    let f = lay.factor(of).map_or(lay.head.logits, |f| f.format);
                    rounding.push((f.frac, f));
                }
                _ => {}
            }
        }
        let phases = rounding.len();
        let writes_y = lay
            .phases()
            .iter()
            .any(|p| matches!(p, Phase::Projection(_) | Phase::Factor(_)));
        let second = spec.pipeline.second_activation_register;
        let (cell_latency, gate_latency) = (
            GateUnit::cell_latency(second, hw.activation_units),
            GateUnit::latency(second, hw.activation_units),
        );
        debug_assert_eq!(phases, lay.phase_count());
        let mac_latency = MacArray::latency(lay.lanes);
        let seq = Sequencer::new(lay);
        let (mode_w, window_w, matrix_w) = (
            seq.conv_mode.width(),
            seq.window.width(),
            seq.matrix.width(),
        );
        let (first_w, last_w, valid_w, shift_w) = (
            seq.mac_first.width(),
            seq.mac_last.width(),
            seq.mac_valid.width(),
            w.shift_bits,
        );
        let engines = lay.engines.max(1);
        let shift_ports = Sequencer::shift_ports(lay);
        let rows_bits = seq.phase_rows.width();
        let row_addr_bits = seq.row_addr.width();
        // The phase controls' widths, in `phase_ctl`'s order.
        let phase_ctl_bits = [
            &seq.head,
            &seq.project,
            &seq.phase_start,
            &seq.phase,
            &seq.phase_rows,
            &seq.h_base,
            &seq.cell_base,
        ]
        .map(|s| s.width());
        // A deep weight memory on ECP5 is banked, with a longer read.
        let bank_depth = hw.weight_banking(lay.weight_words);
        let tap_bank_depth = hw.tap_banking(lay.tap_words);
        // The MAC array's inputs wait for the slower of the weight and tap
        // reads; the faster one's words wait the difference.
        let extra = spec.pipeline.read_extra() as usize;
        let tap_extra = spec.pipeline.tap_read_extra as usize;
        let word_extra = spec.pipeline.weight_read_extra as usize;
        // With several row engines the data memories' read address is
        // registered in front of them, and the cycle comes off the data
        // word's delay behind them (which is at least the source's two).
        let registered_reads = StateReader::registered_reads(lay);
        let x_delay =
            extra + RowEngines::data_source_delay(engines) - usize::from(registered_reads);
        Ok(Accelerator {
            clock: Signal::default(),
            reset: Signal::default(),
            s_tdata: DynSig::new(32),
            s_tvalid: Signal::default(),
            s_tlast: Signal::default(),
            s_tready: Signal::default(),
            m_tdata: DynSig::new(32),
            m_tvalid: Signal::default(),
            m_tlast: Signal::default(),
            m_tready: Signal::default(),
            busy: DynSig::new(2),
            reset_hold: ResetHold::new(spec.pipeline.drain_cycles()),
            in_word: WordOut::new(32),
            slice_in: StreamSlice::default(),
            header_check: HeaderCheck::new(lay),
            in_data: WordIn::default(),
            ctl: Controller::new(lay),
            seq,
            weights: (0..lay.weight_banks)
                .map(|b| {
                    let (depth, width) = (lay.weight_words.max(1), lay.bank_bits(b) as usize);
                    match bank_depth {
                        // On ECP5 the banks' blocks use their output register.
                        Some(bd) if ecp5 => Ram::banked(depth, width, bd).with_dp16kd(),
                        Some(bd) => Ram::banked(depth, width, bd),
                        None if spec.placement_of("weights") == Some(Placement::Spram) => {
                            Ram::single_port(depth, width)
                        }
                        None => Ram::new(depth, width),
                    }
                })
                .collect(),
            engines: RowEngines::new(
                RowEnginesShape {
                    engines,
                    decoder: WeightDecoderShape {
                        lanes: lay.lanes,
                        slot_bits: lay.code_bits as usize,
                        per_word: lay.lanes_per_bank,
                        lane_bits: lay.lane_code_bits as usize,
                        values: lay.lane_values,
                        codebooks: lay.codebooks.clone(),
                        matrix_bits: w.matrix_bits,
                        addr_bits: w.load_addr_bits,
                        modes: lay.conv_modes.clone(),
                        tap_slots: lay.tap_slots,
                        tap_per_word: lay.tap_slots_per_bank,
                        mode_bits: w.mode_bits,
                        window_bits: w.window_bits,
                        row_offset: 0,
                        engines,
                    },
                    mac: MacShape {
                        lanes: lay.lanes,
                        code_bits: lay.lane_code_bits as usize,
                        multiply: lay.lane_values,
                        x_width: lay.data_width as usize,
                        shift_bits: w.shift_bits,
                        acc_width: acc,
                        x_late: false,
                    },
                    bias_width: lay.bias_width as usize,
                    shift_ports,
                    value_width: w.value_width,
                    phase_bits: w.phase_bits,
                },
                || {
                    rounding
                        .iter()
                        .map(|&(frac, format)| {
                            Requantizer::pipelined(acc, frac, format, model.rounding)
                        })
                        .collect()
                },
            ),
            queue: ResultQueue::new(engines, w.value_width, w.phase_bits, rows_bits),
            // The data word also waits out the row engines' input
            // registers here, once, since the engines take it unregistered.
            x_stage: (0..lay.lanes)
                .map(|_| DelayLine::new(lay.data_width as usize, x_delay))
                .collect(),
            tap_stage: (0..lay.tap_banks)
                .map(|b| DelayLine::new(lay.tap_bank_bits(b) as usize, extra - tap_extra))
                .collect(),
            word_stage: (0..lay.weight_banks)
                .map(|b| DelayLine::new(lay.bank_bits(b) as usize, extra - word_extra))
                .collect(),
            mode_stage: DelayLine::new(mode_w, extra),
            busy_out: DelayLine::new(2, 1),
            window_stage: DelayLine::new(window_w, extra),
            matrix_stage: DelayLine::new(matrix_w, extra),
            first_stage: DelayLine::new(first_w, extra),
            last_stage: DelayLine::new(last_w, extra),
            valid_stage: DelayLine::new(valid_w, extra),
            shift_stage: (0..shift_ports)
                .map(|_| DelayLine::new(shift_w, extra))
                .collect(),
            taps: (0..lay.tap_banks)
                .map(|b| {
                    let (depth, width) = (lay.tap_words.max(1), lay.tap_bank_bits(b) as usize);
                    match tap_bank_depth {
                        // On ECP5 the banks' blocks use their output register.
                        Some(bd) if ecp5 => Ram::banked(depth, width, bd).with_dp16kd(),
                        Some(bd) => Ram::banked(depth, width, bd),
                        None if tap_extra > 0 => Ram::new(depth, width).with_output_register(),
                        None => Ram::new(depth, width),
                    }
                })
                .collect(),
            bias_raddr_stage: DelayLine::new(row_addr_bits, mac_latency + extra),
            biases: (0..engines)
                .map(|_| Ram::new(lay.rows, lay.bias_width as usize))
                .collect(),
            // Read two cycles ahead of the MAC array, through the block's
            // own output register on ECP5 (the sequencer adds the word to
            // the alignment as it comes).
            shifts: (0..Sequencer::row_shift_ports(lay))
                .map(|_| {
                    let r =
                        Ram::new(lay.rows, 2 * lay.row_shift_bits as usize).with_output_register();
                    if ecp5 && spec.placement_of("row_shifts") == Some(Placement::BlockRam) {
                        r.with_dp16kd()
                    } else {
                        r
                    }
                })
                .collect(),
            data: (0..lay.lanes)
                .map(|_| Ram::new(lay.data_words, lay.data_width as usize))
                .collect(),
            data_we_stage: (0..lay.lanes).map(|_| DelayLine::new(2, 1)).collect(),
            data_addr_stage: DelayLine::new(w.data_addr_bits, 1),
            data_data_stage: DelayLine::new(lay.data_width as usize, 1),
            bias_we_stage: (0..engines).map(|_| DelayLine::new(2, 1)).collect(),
            weight_we_stage: (0..lay.weight_banks)
                .map(|_| DelayLine::new(2, 1))
                .collect(),
            tap_we_stage: (0..lay.tap_banks).map(|_| DelayLine::new(2, 1)).collect(),
            shift_we_stage: (0..Sequencer::row_shift_ports(lay))
                .map(|_| DelayLine::new(2, 1))
                .collect(),
            load_addr_stage: DelayLine::new(w.load_addr_bits, 1),
            load_data_stage: DelayLine::new(32, 1),
            cells: Ram::new(lay.cells.max(1), lay.cell_width as usize),
            logits: Ram::new(lay.head.rows, lay.head.logits.width as usize),
            phase_ctl: phase_ctl_bits
                .into_iter()
                .map(|bits| DelayLine::new(bits, ResultQueue::latency(engines)))
                .collect(),
            collector: Collector::new(lay),
            gates,
            c_select: Select::mapped(gate_of_layer.clone(), lay.cell_width as usize, w.phase_bits),
            h_select: Select::mapped(gate_of_layer, lay.data_width as usize, w.phase_bits),
            // Only a design with projections or factor passes writes a y
            // through the h path (without, the delay line is a wire: its
            // registers were 168 of the iCE40 FSDD design's logic cells).
            y_delay: DelayLine::new(
                lay.data_width as usize,
                if writes_y { gate_latency } else { 0 },
            ),
            h_out: Select::new(2, lay.data_width as usize, 2),
            c_we: DelayLine::new(2, cell_latency),
            c_addr: DelayLine::new(w.cell_addr_bits, cell_latency),
            h_we: DelayLine::new(2, gate_latency),
            h_word: DelayLine::new(w.data_addr_bits, gate_latency),
            h_lane: DelayLine::new(w.lane_bits, gate_latency),
            argmax: ArgMax::new(lay.head.logits.width as usize, lay.head.first_rows()),
            lightrnn: lay
                .head
                .light_rnn
                .iter()
                .map(|l| {
                    LightRnnDecoder::new(LightRnnShape {
                        rows: l.rows,
                        cols: l.cols,
                        logit_width: lay.head.logits.width as usize,
                        row_bits: w.logit_addr_bits,
                        best_bits: Ram::address_width(l.rows),
                        table_addr_bits: w.table_addr_bits,
                        class_width: l.class_width as usize,
                    })
                })
                .collect(),
            class_table: lay
                .head
                .light_rnn
                .iter()
                .map(|l| Ram::new(l.rows * l.cols, l.class_width as usize))
                .collect(),
            reader: StateReader::new(lay),
            cell_raddr: Select::new(2, w.cell_addr_bits, 2),
            data_raddr: Select::new(2, w.data_addr_bits, 2),
            data_raddr_fanout: RegisteredFanout::new(
                w.data_addr_bits,
                lay.lanes,
                Self::DATA_ADDRESS_GROUP,
                registered_reads,
            ),
            h_read: PipelinedSelect::new(
                lay.lanes,
                lay.data_width as usize,
                w.lane_bits,
                Self::H_READ_GROUP,
                registered_reads,
            ),
            _banks: lay.weight_banks,
            _tap_banks: lay.tap_banks,
            _lanes: lay.lanes,
            _shifts: Sequencer::row_shift_ports(lay),
            _shift_ports: shift_ports,
            _engines: engines,
            _light: usize::from(lay.head.light_rnn.is_some()),
            _codebooks: usize::from(lay.has_codebooks()),
        })
    }

    /// A design ready to simulate: top-level inputs marked driven.
    pub fn for_simulation(
        model: &Model,
        spec: &AcceleratorSpec,
    ) -> Result<Self, lstm_accel_spec::SpecError> {
        let mut a = Accelerator::new(model, spec)?;
        a.clock.connect();
        a.reset.connect();
        a.s_tdata.connect();
        a.s_tvalid.connect();
        a.s_tlast.connect();
        a.m_tready.connect();
        a.connect_all();
        Ok(a)
    }
}

impl Logic for Accelerator {
    #[hdl_gen]
    fn update(&mut self) {
        // Clocks.
        self.reset_hold.clock.next = self.clock.val();
        self.slice_in.clock.next = self.clock.val();
        self.ctl.clock.next = self.clock.val();
        self.seq.clock.next = self.clock.val();
        self.cells.clock.next = self.clock.val();
        self.logits.clock.next = self.clock.val();
        self.engines.clock.next = self.clock.val();
        self.queue.clock.next = self.clock.val();
        self.collector.clock.next = self.clock.val();
        self.c_we.clock.next = self.clock.val();
        self.c_addr.clock.next = self.clock.val();
        self.h_we.clock.next = self.clock.val();
        self.h_word.clock.next = self.clock.val();
        self.h_lane.clock.next = self.clock.val();
        self.y_delay.clock.next = self.clock.val();
        self.argmax.clock.next = self.clock.val();
        self.reader.clock.next = self.clock.val();
        // Reset: the control blocks, held while the datapath drains.
        self.reset_hold.request.next = self.reset.val();
        self.ctl.reset.next = self.reset_hold.reset.val();
        self.ctl.running.next = self.reset_hold.running.val();
        self.seq.reset.next = self.reset_hold.reset.val();
        // Streams. The slice takes no word while the reset is held (its
        // reset drops what it holds).
        self.slice_in.reset.next = self.reset_hold.reset.val();
        self.in_word.x.next = self.s_tdata.val();
        self.slice_in.in_data.next = self.in_word.y.val();
        self.slice_in.in_valid.next = self.s_tvalid.val() & self.reset_hold.running.val();
        self.slice_in.in_last.next = self.s_tlast.val();
        self.header_check.word.next = self.s_tdata.val();
        self.slice_in.in_user.next = self.header_check.bits.val();
        self.s_tready.next = self.slice_in.in_ready.val() & self.reset_hold.running.val();
        self.in_data.x.next = self.slice_in.out_data.val();
        self.ctl.s_tdata.next = self.in_data.y.val();
        self.ctl.s_tvalid.next = self.slice_in.out_valid.val();
        self.ctl.s_tlast.next = self.slice_in.out_last.val();
        self.ctl.s_user.next = self.slice_in.out_user.val();
        self.slice_in.out_ready.next = self.ctl.s_tready.val();
        self.m_tdata.next = self.ctl.m_tdata.val();
        self.m_tvalid.next = self.ctl.m_tvalid.val();
        self.m_tlast.next = self.ctl.m_tlast.val();
        self.ctl.m_tready.next = self.m_tready.val();
        self.busy_out.clock.next = self.clock.val();
        self.busy_out.d.next = self.seq.busy.val();
        self.busy.next = self.busy_out.q.val();
        // Controller <-> sequencer and datapath.
        self.ctl.seq_done.next = self.seq.done.val();
        self.ctl.seq_decoded.next = self.seq.decoded.val();
        self.ctl.seq_cycles.next = self.seq.cycles.val();
        self.ctl.h_we.next = self.h_we.q.val();
        self.ctl.h_lane.next = self.h_lane.q.val();
        self.ctl.h_word.next = self.h_word.q.val();
        self.ctl.h_data.next = self.h_out.y.val();
        self.ctl.c_we.next = self.c_we.q.val();
        self.ctl.c_addr.next = self.c_addr.q.val();
        self.ctl.c_data.next = self.c_select.y.val();
        self.ctl.logit_data.next = self.logits.read_data.val();
        self.seq.start.next = self.ctl.start.val();
        self.seq.clear.next = self.ctl.clear.val();
        self.seq.h_write.next = self.h_we.q.val();
        self.seq.logit_valid.next = self.collector.logit_valid.val();
        self.seq.argmax.next = self.argmax.index.val();
        // Weight memory.
        for b in 0..self._banks {
            self.weights[b].clock.next = self.clock.val();
            self.weight_we_stage[b].clock.next = self.clock.val();
            self.weight_we_stage[b].d.next = self.ctl.weight_we[b].val();
            self.weights[b].write_enable.next = self.weight_we_stage[b].q.val();
            self.weights[b].write_address.next = self.load_addr_stage.q.val();
            self.weights[b].write_data.next = self.load_data_stage.q.val();
            self.weights[b].read_address.next = self.seq.weight_addr.val();
            self.word_stage[b].clock.next = self.clock.val();
            self.word_stage[b].d.next = self.weights[b].read_data.val();
            self.engines.words[b].next = self.word_stage[b].q.val();
        }
        // Bias and row-shift memories: a bank per row engine, their write
        // port registered.
        self.load_addr_stage.clock.next = self.clock.val();
        self.load_data_stage.clock.next = self.clock.val();
        self.load_addr_stage.d.next = self.ctl.load_addr.val();
        self.load_data_stage.d.next = self.ctl.load_data.val();
        self.bias_raddr_stage.clock.next = self.clock.val();
        self.bias_raddr_stage.d.next = self.seq.row_addr.val();
        for e in 0..self._engines {
            self.bias_we_stage[e].clock.next = self.clock.val();
            self.bias_we_stage[e].d.next = self.ctl.bias_we[e].val();
            self.biases[e].clock.next = self.clock.val();
            self.biases[e].write_enable.next = self.bias_we_stage[e].q.val();
            self.biases[e].write_address.next = self.load_addr_stage.q.val();
            self.biases[e].write_data.next = self.load_data_stage.q.val();
            self.biases[e].read_address.next = self.bias_raddr_stage.q.val();
            self.engines.bias[e].next = self.biases[e].read_data.val();
        }
        for s in 0..self._shifts {
            self.shifts[s].clock.next = self.clock.val();
            self.shift_we_stage[s].clock.next = self.clock.val();
            self.shift_we_stage[s].d.next = self.ctl.shift_we[s].val();
            self.shifts[s].write_enable.next = self.shift_we_stage[s].q.val();
            self.shifts[s].write_address.next = self.load_addr_stage.q.val();
            self.shifts[s].write_data.next = self.load_data_stage.q.val();
            self.shifts[s].read_address.next = self.seq.shift_addr.val();
            self.seq.row_shift[s].next = self.shifts[s].read_data.val();
        }
        // Data memory and MAC array.
        self.data_addr_stage.clock.next = self.clock.val();
        self.data_data_stage.clock.next = self.clock.val();
        self.data_addr_stage.d.next = self.ctl.data_addr.val();
        self.data_data_stage.d.next = self.ctl.data_data.val();
        for k in 0..self._lanes {
            self.data[k].clock.next = self.clock.val();
            self.data_we_stage[k].clock.next = self.clock.val();
            self.data_we_stage[k].d.next = self.ctl.data_we[k].val();
            self.data[k].write_enable.next = self.data_we_stage[k].q.val();
            self.data[k].write_address.next = self.data_addr_stage.q.val();
            self.data[k].write_data.next = self.data_data_stage.q.val();
            self.data[k].read_address.next = self.data_raddr_fanout.qs[k].val();
            self.h_read.xs[k].next = self.data[k].read_data.val();
            self.x_stage[k].clock.next = self.clock.val();
            self.x_stage[k].d.next = self.data[k].read_data.val();
            self.engines.xs[k].next = self.x_stage[k].q.val();
        }
        // Tap memory: structured matrices' block codes.
        for b in 0..self._tap_banks {
            self.taps[b].clock.next = self.clock.val();
            self.tap_we_stage[b].clock.next = self.clock.val();
            self.tap_we_stage[b].d.next = self.ctl.tap_we[b].val();
            self.taps[b].write_enable.next = self.tap_we_stage[b].q.val();
            self.taps[b].write_address.next = self.load_addr_stage.q.val();
            self.taps[b].write_data.next = self.load_data_stage.q.val();
            self.taps[b].read_address.next = self.seq.tap_addr.val();
            self.tap_stage[b].clock.next = self.clock.val();
            self.tap_stage[b].d.next = self.taps[b].read_data.val();
            self.engines.taps[b].next = self.tap_stage[b].q.val();
        }
        self.mode_stage.clock.next = self.clock.val();
        self.window_stage.clock.next = self.clock.val();
        self.matrix_stage.clock.next = self.clock.val();
        self.first_stage.clock.next = self.clock.val();
        self.last_stage.clock.next = self.clock.val();
        self.valid_stage.clock.next = self.clock.val();
        self.mode_stage.d.next = self.seq.conv_mode.val();
        self.window_stage.d.next = self.seq.window.val();
        self.matrix_stage.d.next = self.seq.matrix.val();
        self.first_stage.d.next = self.seq.mac_first.val();
        self.last_stage.d.next = self.seq.mac_last.val();
        self.valid_stage.d.next = self.seq.mac_valid.val();
        for e in 0..self._shift_ports {
            self.shift_stage[e].clock.next = self.clock.val();
            self.shift_stage[e].d.next = self.seq.mac_shift[e].val();
            self.engines.shift[e].next = self.shift_stage[e].q.val();
        }
        self.engines.mode.next = self.mode_stage.q.val();
        self.engines.window.next = self.window_stage.q.val();
        self.engines.matrix.next = self.matrix_stage.q.val();
        self.engines.table_addr.next = self.ctl.load_addr.val();
        self.engines.table_data.next = self.ctl.load_data.val();
        for i in 0..self._codebooks {
            self.engines.table_we[i].next = self.ctl.codebook_we[i].val();
        }
        self.engines.first.next = self.first_stage.q.val();
        self.engines.last.next = self.last_stage.q.val();
        self.engines.valid.next = self.valid_stage.q.val();
        // Bias alignment, rounding point of the phase.
        self.engines.bias_shift.next = self.seq.bias_shift.val();
        self.engines.phase.next = self.seq.phase.val();
        // The result queue: the engines' results one by one (a wire with
        // one engine).
        for e in 0..self._engines {
            self.queue.values[e].next = self.engines.values[e].val();
        }
        self.queue.valid.next = self.engines.done.val();
        for i in 0..7 {
            self.phase_ctl[i].clock.next = self.clock.val();
        }
        self.phase_ctl[0].d.next = self.seq.head.val();
        self.phase_ctl[1].d.next = self.seq.project.val();
        self.phase_ctl[2].d.next = self.seq.phase_start.val();
        self.phase_ctl[3].d.next = self.seq.phase.val();
        self.phase_ctl[4].d.next = self.seq.phase_rows.val();
        self.phase_ctl[5].d.next = self.seq.h_base.val();
        self.phase_ctl[6].d.next = self.seq.cell_base.val();
        self.queue.head.next = self.phase_ctl[0].q.val();
        self.queue.project.next = self.phase_ctl[1].q.val();
        self.queue.start.next = self.phase_ctl[2].q.val();
        self.queue.phase.next = self.phase_ctl[3].q.val();
        self.queue.count.next = self.phase_ctl[4].q.val();
        // Collector: engine 0's results straight (one engine), or the
        // queue's.
        self.collector.value.next = self.engines.values[0].val();
        self.collector.valid.next = self.engines.done.val();
        self.collector.q_value.next = self.queue.value.val();
        self.collector.q_valid.next = self.queue.value_valid.val();
        self.collector.cell_valid.next = self.queue.cell_valid.val();
        self.collector.zi_in.next = self.queue.zi.val();
        self.collector.zf_in.next = self.queue.zf.val();
        self.collector.zg_in.next = self.queue.zg.val();
        self.collector.zo_in.next = self.queue.zo.val();
        self.collector.head.next = self.phase_ctl[0].q.val();
        self.collector.project.next = self.phase_ctl[1].q.val();
        self.collector.start.next = self.phase_ctl[2].q.val();
        self.collector.h_base.next = self.phase_ctl[5].q.val();
        self.collector.cell_base.next = self.phase_ctl[6].q.val();
        self.cells.read_address.next = self.cell_raddr.y.val();
        self.cells.write_enable.next = self.ctl.cell_we.val();
        self.cells.write_address.next = self.ctl.cell_addr.val();
        self.cells.write_data.next = self.ctl.cell_data.val();
        // Gate units.
        for l in 0..self.gates.len() {
            self.gates[l].clock.next = self.clock.val();
            self.gates[l].zi.next = self.collector.zi.val();
            self.gates[l].zf.next = self.collector.zf.val();
            self.gates[l].zg.next = self.collector.zg.val();
            self.gates[l].zo.next = self.collector.zo.val();
            self.gates[l].c.next = self.cells.read_data.val();
            self.gates[l].fire.next = self.collector.fire.val();
            self.c_select.xs[l].next = self.gates[l].c_next.val();
            self.h_select.xs[l].next = self.gates[l].h.val();
        }
        self.c_select.sel.next = self.seq.phase.val();
        self.h_select.sel.next = self.seq.phase.val();
        self.c_we.d.next = self.collector.fire.val();
        self.c_addr.d.next = self.collector.fire_cell.val();
        self.h_we.d.next = self.collector.write.val();
        // A projection's y meets the h path: delayed as long as the gate unit.
        self.y_delay.d.next = self.collector.y.val();
        self.h_out.xs[0].next = self.h_select.y.val();
        self.h_out.xs[1].next = self.y_delay.q.val();
        self.h_out.sel.next = self.seq.project.val();
        self.h_word.d.next = self.collector.fire_word.val();
        self.h_lane.d.next = self.collector.fire_lane.val();
        // Head.
        self.logits.write_enable.next = self.collector.logit_valid.val();
        self.logits.write_address.next = self.collector.logit_row.val();
        self.logits.write_data.next = self.collector.logit.val();
        self.logits.read_address.next = self.ctl.logit_addr.val();
        self.argmax.value.next = self.collector.logit.val();
        self.argmax.valid.next = self.collector.logit_valid.val();
        self.argmax.first.next = self.collector.logit_first.val();
        // A LightRNN head: the arg-max sees the row logits only, the decoder
        // turns its row into a class through the class table.
        for i in 0..self._light {
            self.lightrnn[i].clock.next = self.clock.val();
            self.lightrnn[i].logit.next = self.collector.logit.val();
            self.lightrnn[i].valid.next = self.collector.logit_valid.val();
            self.lightrnn[i].row.next = self.collector.logit_row.val();
            self.lightrnn[i].best_row.next = self.argmax.index.val();
            self.lightrnn[i].table_data.next = self.class_table[i].read_data.val();
            self.class_table[i].clock.next = self.clock.val();
            self.class_table[i].read_address.next = self.lightrnn[i].table_addr.val();
            self.class_table[i].write_enable.next = self.ctl.table_we[i].val();
            self.class_table[i].write_address.next = self.ctl.load_addr.val();
            self.class_table[i].write_data.next = self.ctl.load_data.val();
            self.argmax.valid.next = self.lightrnn[i].row_valid.val();
            self.seq.argmax.next = self.lightrnn[i].decoded.val();
        }
        // State read-out: the reader owns the read ports while it runs.
        self.reader.active.next = self.ctl.reading.val();
        self.reader.advance.next = self.ctl.sr_next.val();
        self.reader.parity.next = self.seq.parity.val();
        self.cell_raddr.xs[0].next = self.collector.cell_read.val();
        self.cell_raddr.xs[1].next = self.reader.cell_addr.val();
        self.cell_raddr.sel.next = self.ctl.reading.val();
        self.data_raddr.xs[0].next = self.seq.data_addr.val();
        self.data_raddr.xs[1].next = self.reader.data_addr.val();
        self.data_raddr.sel.next = self.ctl.reading.val();
        self.data_raddr_fanout.clock.next = self.clock.val();
        self.data_raddr_fanout.d.next = self.data_raddr.y.val();
        self.h_read.clock.next = self.clock.val();
        self.h_read.sel.next = self.reader.lane.val();
        self.ctl.sr_is_h.next = self.reader.is_h.val();
        self.ctl.c_read.next = self.cells.read_data.val();
        self.ctl.h_read.next = self.h_read.y.val();
    }
}

/// The Verilog of the design for `spec` (top module `top`).
pub fn verilog(
    model: &Model,
    spec: &AcceleratorSpec,
) -> Result<String, lstm_accel_spec::SpecError> {
    let mut a = Accelerator::new(model, spec)?;
    a.connect_all();
    Ok(generate_verilog(&a))
}
