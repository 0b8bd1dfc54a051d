//! The sequencer: executes the spec's frame program. On `start` it issues
//! one weight word per cycle, layer by layer: every cell's four gate rows
//! (cell-major, gates i, f, g, o), each row its input words then its
//! recurrent words, with the weight address counting up through the layout
//! and the data address stepping through the input region (the frame or the
//! previous layer's fresh h buffer) and then the layer's h(t-1) buffer. After
//! a layer's last row it waits until the layer's last h is written (`h_write`
//! counts them), since the next layer reads them; after the head's rows it
//! waits for the last logit, latches the arg-max's class and the cycle count,
//! pulses `done` and swaps the h buffers. A LightRNN head runs as two head
//! phases: its row logits, then (once they are all out, so the row arg-max
//! is final) its column logits with their own alignments and rounding
//! point; the class is latched `table_latency` cycles later, when the
//! LightRNN decoder has read it from the class table.
//!
//! A projected layer writes its h(t) to a scratch buffer; once the last one
//! is written its projection phase runs `P h(t)` row by row (the scratch
//! buffer is the input part, there is no recurrent part), and the collector
//! writes each rounded row to the layer's output buffer through the same
//! path as an h, so the phase ends like a layer's, when the last y is
//! written. The phases and their constants come from the layout
//! ([`Layout::phase`]).
//!
//! Timing: the issue registers (`weight_addr`, `data_addr`, `row_addr`) feed
//! the memories; their words arrive one cycle later, together with the
//! `mac_*` controls, which are the issue flags delayed one cycle, and
//! `mac_shift`, the matrix alignment plus the row's shift. The row-shift
//! memory is read at `shift_addr`, the row being issued, one cycle ahead of
//! the other memories, through its output register (read latency 2, the
//! block RAM's own on ECP5): the block's read and the add then sit in
//! separate cycles. `cycles` is the number of cycles
//! from the first issued word to `done`, the quantity the schedule predicts.

mod phases;
mod verilog;

use super::lightrnn_decoder::LightRnnDecoder;
use crate::dynamic::{sext, DynSig, DynVal};
use lstm_accel_spec::layout::{Layout, Widths};
use phases::{phase_table, state_of, PhaseConsts};
use rust_hdl::prelude::*;

const IDLE: i64 = 0;
const ROWS: i64 = 1;
const DRAIN: i64 = 2;
const HEAD: i64 = 3;
const HEAD_DRAIN: i64 = 4;
const FINISH: i64 = 5;
const PROJ: i64 = 6;
const PROJ_DRAIN: i64 = 7;

#[derive(Clone, Copy, Debug, Default)]
struct Regs {
    state: i64,
    layer: i64,
    cell: i64,
    gate: i64,
    word: i64,
    row: i64,
    weight: i64,
    seen: i64,
    /// Registered `seen == hidden`: a drain state ends a cycle after its
    /// last result, which keeps the adder and comparison off the path into
    /// the counters' enables. It changes only with `seen` (set by the
    /// phase's last result as `seen == hidden - 1`, cleared when `seen`
    /// restarts), so the results' strobes meet no adder or wide compare.
    full: i64,
    parity: i64,
    // issue
    i_valid: i64,
    i_first: i64,
    i_last: i64,
    i_h: i64,
    i_weight: i64,
    i_data: i64,
    i_row: i64,
    // structured parts: per part and gate the row in its block and the
    // block row's first tap word; the tap word and word within it
    a: [[i64; 4]; 2],
    off: [[i64; 4]; 2],
    // the rows' data offset, period count and steps (Toeplitz-like)
    dat: [[(i64, i64, i64); 4]; 2],
    sub: i64,
    tw: i64,
    i_tap: i64,
    i_win: i64,
    i_mode: i64,
    s_win: i64,
    s_mode: i64,
    // stage 1
    s_valid: i64,
    s_first: i64,
    s_last: i64,
    s_h: i64,
    start_out: i64,
    done: i64,
    class: i64,
    count: i64,
    cycles: i64,
}

/// The sequencer.
#[derive(LogicBlock)]
pub struct Sequencer {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset: idle, parity 0, nothing issued; the words already
    /// in the datapath drain while it is held.
    pub reset: Signal<In, Bit>,
    /// Nonzero for one cycle: a frame is in the data memory, run it.
    pub start: DynSig<In>,
    /// Nonzero for one cycle: state was cleared, the next frame has parity 0.
    pub clear: DynSig<In>,
    /// Nonzero: an h is being written to the data memory.
    pub h_write: DynSig<In>,
    /// Nonzero: the collector presents a logit.
    pub logit_valid: DynSig<In>,
    /// The arg-max's index.
    pub argmax: DynSig<In>,
    /// The row-shift memories' words, one per row engine (present when the
    /// model has row scales).
    pub row_shift: Vec<DynSig<In>>,
    /// Weight-memory read address.
    pub weight_addr: DynSig<Out>,
    /// Tap-memory read address (structured matrices).
    pub tap_addr: DynSig<Out>,
    /// With the word: its structured mode (0: a dense word).
    pub conv_mode: DynSig<Out>,
    /// With the word: the window `a - b0` of a structured word.
    pub window: DynSig<Out>,
    /// Data-memory read address.
    pub data_addr: DynSig<Out>,
    /// Bias read address.
    pub row_addr: DynSig<Out>,
    /// Row-shift read address: the row being issued, a cycle ahead of
    /// `row_addr`, so that the word's shift is computed and registered
    /// before the word reaches the MAC array.
    pub shift_addr: DynSig<Out>,
    /// MAC array: a word is present.
    pub mac_valid: DynSig<Out>,
    /// MAC array: the word starts a row.
    pub mac_first: DynSig<Out>,
    /// MAC array: the word ends a row.
    pub mac_last: DynSig<Out>,
    /// MAC arrays: the word's alignment, per row engine when rows have
    /// their own scales (one shared otherwise).
    pub mac_shift: Vec<DynSig<Out>>,
    /// Results of the current phase: its cells, logits or rows (the
    /// result queue drops a last group's padding by it).
    pub phase_rows: DynSig<Out>,
    /// The id of the matrix the word belongs to (`2 l`, `2 l + 1` a layer's
    /// input and recurrent matrices, `2 L` the head, `2 L + 2` a LightRNN
    /// head's columns): it picks the codebook table.
    pub matrix: DynSig<Out>,
    /// Alignment of the bias of the current phase.
    pub bias_shift: DynSig<Out>,
    /// The layer running, or the layer count in the head phase.
    pub phase: DynSig<Out>,
    /// Nonzero in the head phase.
    pub head: DynSig<Out>,
    /// Nonzero in a projection phase.
    pub project: DynSig<Out>,
    /// Nonzero for one cycle when a layer or the head starts.
    pub phase_start: DynSig<Out>,
    /// The h buffer the current layer writes.
    pub h_base: DynSig<Out>,
    /// The current layer's first cell address.
    pub cell_base: DynSig<Out>,
    /// Nonzero while a frame runs.
    pub busy: DynSig<Out>,
    /// The parity of the next frame (which h buffers it reads).
    pub parity: DynSig<Out>,
    /// Nonzero for one cycle: `class` and `cycles` hold the frame's result.
    pub done: DynSig<Out>,
    /// The decoded class.
    pub decoded: DynSig<Out>,
    /// Cycles of the frame.
    pub cycles: DynSig<Out>,
    _lay: Layout,
    _s: Widths,
    _r: Regs,
    _k: Vec<[PhaseConsts; 2]>,
    _first: usize,
}

impl Sequencer {
    /// A sequencer for a layout.
    pub fn new(lay: &Layout) -> Self {
        let s = lay.widths();
        Sequencer {
            clock: Signal::default(),
            reset: Signal::default(),
            start: DynSig::new(2),
            clear: DynSig::new(2),
            h_write: DynSig::new(2),
            logit_valid: DynSig::new(2),
            argmax: DynSig::new(s.class_bits),
            row_shift: (0..Self::row_shift_ports(lay))
                .map(|_| DynSig::new(2 * lay.row_shift_bits as usize))
                .collect(),
            weight_addr: DynSig::new(s.weight_addr_bits),
            tap_addr: DynSig::new(s.tap_addr_bits),
            conv_mode: DynSig::new(s.mode_bits),
            window: DynSig::new(s.window_bits),
            data_addr: DynSig::new(s.data_addr_bits),
            row_addr: DynSig::new(s.row_addr_bits),
            shift_addr: DynSig::new(s.row_addr_bits),
            mac_valid: DynSig::new(2),
            mac_first: DynSig::new(2),
            mac_last: DynSig::new(2),
            mac_shift: (0..Self::shift_ports(lay))
                .map(|_| DynSig::new(s.shift_bits))
                .collect(),
            phase_rows: DynSig::new(Self::rows_bits(lay)),
            matrix: DynSig::new(s.matrix_bits),
            bias_shift: DynSig::new(s.shift_bits),
            phase: DynSig::new(s.phase_bits),
            head: DynSig::new(2),
            project: DynSig::new(2),
            phase_start: DynSig::new(2),
            h_base: DynSig::new(s.data_addr_bits),
            cell_base: DynSig::new(s.cell_addr_bits),
            busy: DynSig::new(2),
            parity: DynSig::new(2),
            done: DynSig::new(2),
            decoded: DynSig::new(s.class_bits),
            cycles: DynSig::new(33),
            _lay: lay.clone(),
            _s: s,
            _r: Regs::default(),
            _k: phase_table(lay),
            _first: lay.program().first().copied().unwrap_or(0),
        }
    }

    /// Row-shift inputs: one per row engine, when rows have scales.
    pub fn row_shift_ports(lay: &Layout) -> usize {
        if lay.row_shifts {
            lay.engines.max(1)
        } else {
            0
        }
    }

    /// Alignment outputs: one per row engine when rows have scales, else
    /// one for all.
    pub fn shift_ports(lay: &Layout) -> usize {
        Self::row_shift_ports(lay).max(1)
    }

    /// Bits of `phase_rows` (signed): the largest phase's results.
    pub fn rows_bits(lay: &Layout) -> usize {
        let most = phase_table(lay)
            .iter()
            .map(|k| k[0].count)
            .max()
            .unwrap_or(1)
            .max(1);
        (64 - most.leading_zeros()) as usize + 1
    }

    /// Cycles `FINISH` waits before it latches the class.
    fn finish_wait(&self) -> i64 {
        if self._lay.head.light_rnn.is_some() {
            LightRnnDecoder::LATENCY as i64 - 1
        } else {
            0
        }
    }

    /// The constants of phase `ph` at parity `p` (tabulated at creation).
    fn consts(&self, ph: usize, p: usize) -> PhaseConsts {
        self._k.get(ph).map_or(PhaseConsts::default(), |k| k[p & 1])
    }

    /// Issues the word the counters of `r` (the registers before the edge)
    /// point at and steps the word counter.
    fn issue(&mut self, r: Regs) {
        let k = self.consts(r.layer as usize, r.parity as usize);
        let (xb, hb, xw, rw) = (k.x_base, k.h_base, k.x_words, k.row_words);
        let n = &mut self._r;
        n.i_valid = 1;
        n.i_first = i64::from(r.word == 0);
        n.i_last = i64::from(r.word == rw - 1);
        n.i_h = i64::from(r.word >= xw);
        n.i_weight = r.weight;
        // A structured part reads the tap memory, not the weight memory:
        // its word's tap word and the window of the row in its block.
        let part = usize::from(r.word >= xw);
        let c = k.conv[part];
        let g = r.gate as usize & 3;
        let first = r.cell == 0;
        // A row group's rows are consecutive: its block-row place steps by
        // the row engines.
        let engines = self._lay.engines.max(1) as i64;
        let eff = |p: usize, q: usize| {
            if first {
                let kk = &k.conv[p];
                (kk.a0[q], kk.off0[q], (kk.d0[q], kk.dc0[q], kk.dw0[q]))
            } else {
                (r.a[p][q], r.off[p][q], r.dat[p][q])
            }
        };
        let (a, off, dat) = eff(part, g);
        // A Toeplitz-like row reads its own part of the vector.
        n.i_data = dat.0
            + if r.word < xw {
                xb + r.word
            } else {
                hb + r.word - xw
            };
        n.i_mode = c.mode;
        n.i_tap = c.taps_base + off + r.tw;
        n.i_win = a - r.sub * self._lay.lanes as i64;
        // The weight decoders decode the windows `ConvMode::issues` names
        // only; a window outside them would be a wrong code in every engine.
        if let Some(m) = usize::try_from(c.mode - 1)
            .ok()
            .and_then(|i| self._lay.conv_modes.get(i))
        {
            assert!(
                m.issues(self._lay.lanes, engines as usize, n.i_win),
                "the sequencer issued window {} of a {:?} block with {} lanes and {engines} row engines",
                n.i_win,
                m,
                self._lay.lanes
            );
        }
        if c.mode == 0 {
            n.weight = r.weight + 1;
        }
        // The tap word of the next word: a new part starts from its first.
        if r.word + 1 == xw || r.word == rw - 1 {
            n.sub = 0;
            n.tw = 0;
        } else if r.sub + 1 == c.words_per_tap.max(1) {
            n.sub = 0;
            n.tw = r.tw + 1;
        } else {
            n.sub = r.sub + 1;
        }
        let cell_step = r.word == rw - 1 && (r.state != ROWS || r.gate == 3);
        if cell_step || first {
            for p in 0..2 {
                for q in 0..4 {
                    let (a, off, dat) = eff(p, q);
                    let kk = k.conv[p];
                    (n.a[p][q], n.off[p][q], n.dat[p][q]) = if !cell_step {
                        (a, off, dat)
                    } else if a + engines == kk.block {
                        (0, off + kk.block_row_words, kk.step_data(dat))
                    } else {
                        (a + engines, off, dat)
                    };
                }
            }
        }
        if r.word == rw - 1 {
            n.row = r.row + 1;
        }
    }

    /// Issues the word of the row (group) being run, if it is one of its
    /// words and not one of the span's idle cycles, and steps the word
    /// counter through the span; true at the span's last cycle.
    fn step_word(&mut self, r: Regs, k: &PhaseConsts) -> bool {
        if r.word < k.row_words {
            self.issue(r);
        }
        let end = r.word == k.span - 1;
        self._r.word = if end { 0 } else { r.word + 1 };
        end
    }
}

impl Logic for Sequencer {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            let r = self._r;
            let k = self.consts(r.layer as usize, r.parity as usize);
            // Cells of a layer, rows of the head or of a projection.
            let hidden = k.count;
            {
                let n = &mut self._r;
                n.s_valid = r.i_valid;
                n.s_first = r.i_first;
                n.s_last = r.i_last;
                n.s_h = r.i_h;
                n.s_win = r.i_win;
                n.s_mode = r.i_mode;
                n.start_out = 0;
                n.done = 0;
                n.i_valid = 0;
                n.i_first = 0;
                n.i_last = 0;
                // The bias banks' read address follows the row counter
                // every cycle (an issued word's row is the counter's value
                // at its issue): a register with no enable, so the banks'
                // address needs no clock enable from the word counter's
                // compare.
                n.i_row = r.row;
                n.count = r.count + 1;
                // Results of the phase so far: h writes in a layer, logits
                // in the head (counted in every state: the first ones come
                // back while later rows are still being issued).
                let inc = i64::from(self.h_write.val().0 != 0 || self.logit_valid.val().0 != 0);
                n.seen = r.seen + inc;
                if inc != 0 {
                    n.full = i64::from(r.seen == hidden - 1);
                }
                if self.clear.val().0 != 0 {
                    n.parity = 0;
                }
            }
            match r.state {
                IDLE => {
                    if self.start.val().0 != 0 {
                        let n = &mut self._r;
                        n.state = state_of(&self._lay, self._first);
                        n.layer = self._first as i64;
                        n.cell = 0;
                        n.gate = 0;
                        n.word = 0;
                        n.row = 0;
                        n.weight = 0;
                        n.seen = 0;
                        n.full = 0;
                        n.start_out = 1;
                        n.count = 0;
                    }
                }
                ROWS => {
                    let end = self.step_word(r, &k);
                    let n = &mut self._r;
                    if end {
                        if r.gate == 3 {
                            n.gate = 0;
                            n.cell = r.cell + 1;
                            if r.cell == k.groups - 1 {
                                n.state = DRAIN;
                            }
                        } else {
                            n.gate = r.gate + 1;
                        }
                    }
                }
                HEAD | PROJ => {
                    let end = self.step_word(r, &k);
                    let last_row = k.groups - 1;
                    let n = &mut self._r;
                    if end {
                        n.cell = r.cell + 1;
                        if r.cell == last_row {
                            n.state = if r.state == HEAD {
                                HEAD_DRAIN
                            } else {
                                PROJ_DRAIN
                            };
                        }
                    }
                }
                DRAIN | PROJ_DRAIN | HEAD_DRAIN => {
                    // Every result of the phase is out (an h, a y or t, a
                    // logit): on to the next phase in program order.
                    let n = &mut self._r;
                    if r.full != 0 {
                        if k.next_state == FINISH {
                            n.gate = 0;
                            n.state = FINISH;
                        } else {
                            n.layer = k.next;
                            n.cell = 0;
                            n.gate = 0;
                            n.word = 0;
                            n.seen = 0;
                            n.full = 0;
                            // The column logits follow the row logits: the
                            // collector's row count goes on (no phase start).
                            n.start_out = k.next_start;
                            n.state = k.next_state;
                        }
                    }
                }
                _ => {
                    let wait = self.finish_wait();
                    let n = &mut self._r;
                    if r.gate < wait {
                        n.gate = r.gate + 1;
                    } else {
                        n.class = self.argmax.val().0;
                        n.cycles = r.count;
                        n.done = 1;
                        n.parity = 1 - r.parity;
                        n.state = IDLE;
                    }
                }
            }
            if self.reset.val() {
                self._r = Regs::default();
            }
        }
        self.outputs();
    }
    fn connect(&mut self) {
        for o in [
            &mut self.weight_addr,
            &mut self.tap_addr,
            &mut self.conv_mode,
            &mut self.window,
            &mut self.data_addr,
            &mut self.row_addr,
            &mut self.shift_addr,
            &mut self.mac_valid,
            &mut self.mac_first,
            &mut self.mac_last,
            &mut self.phase_rows,
            &mut self.matrix,
            &mut self.bias_shift,
            &mut self.phase,
            &mut self.head,
            &mut self.project,
            &mut self.phase_start,
            &mut self.h_base,
            &mut self.cell_base,
            &mut self.busy,
            &mut self.parity,
            &mut self.done,
            &mut self.decoded,
            &mut self.cycles,
        ] {
            o.connect();
        }
        for o in &mut self.mac_shift {
            o.connect();
        }
    }
    fn hdl(&self) -> Verilog {
        Verilog::Custom(self.verilog())
    }
}

impl Sequencer {
    fn outputs(&mut self) {
        // Called on every settling pass: borrow, do not copy, the registers
        // and the phase's constants.
        let r = &self._r;
        let s = self._s;
        let lay = &self._lay;
        let (align_x, align_h, align_bias, h_base, cell_base) = match self
            ._k
            .get(r.layer as usize)
            .map(|k| &k[(r.parity & 1) as usize])
        {
            Some(k) => (k.align_x, k.align_h, k.align_bias, k.h_write, k.cell_base),
            None => (0, 0, 0, 0, 0),
        };
        self.weight_addr.next = DynVal(sext(r.i_weight, s.weight_addr_bits));
        self.tap_addr.next = DynVal(sext(r.i_tap, s.tap_addr_bits));
        self.conv_mode.next = DynVal(sext(r.s_mode, s.mode_bits));
        self.window.next = DynVal(sext(r.s_win, s.window_bits));
        self.data_addr.next = DynVal(sext(r.i_data, s.data_addr_bits));
        self.row_addr.next = DynVal(sext(r.i_row, s.row_addr_bits));
        self.shift_addr.next = DynVal(sext(r.row, s.row_addr_bits));
        self.mac_valid.next = DynVal(r.s_valid);
        self.mac_first.next = DynVal(r.s_first);
        self.mac_last.next = DynVal(r.s_last);
        // The word's part's alignment plus its row's shift for that part,
        // per row engine.
        let m = (1i64 << lay.row_shift_bits) - 1;
        for (e, out) in self.mac_shift.iter_mut().enumerate() {
            let rs = self.row_shift.get(e).map_or(0, |w| w.val().0);
            let (rs_x, rs_h) = (rs & m, (rs >> lay.row_shift_bits) & m);
            let shift = if r.s_h != 0 {
                i64::from(align_h) + rs_h
            } else {
                i64::from(align_x) + rs_x
            };
            out.next = DynVal(sext(shift, s.shift_bits));
        }
        let count = self
            ._k
            .get(r.layer as usize)
            .map_or(0, |k| k[(r.parity & 1) as usize].count);
        self.phase_rows.next = DynVal(sext(count, self.phase_rows.width()));
        self.matrix.next = DynVal(sext(2 * r.layer + r.s_h, s.matrix_bits));
        self.bias_shift.next = DynVal(i64::from(align_bias));
        self.phase.next = DynVal(r.layer);
        self.head.next = DynVal(i64::from(
            r.state == HEAD || r.state == HEAD_DRAIN || r.state == FINISH,
        ));
        self.project.next = DynVal(i64::from(r.state == PROJ || r.state == PROJ_DRAIN));
        self.phase_start.next = DynVal(r.start_out);
        self.h_base.next = DynVal(sext(h_base, s.data_addr_bits));
        self.cell_base.next = DynVal(sext(cell_base, s.cell_addr_bits));
        self.busy.next = DynVal(i64::from(r.state != IDLE));
        self.parity.next = DynVal(r.parity);
        self.done.next = DynVal(r.done);
        self.decoded.next = DynVal(r.class);
        self.cycles.next = DynVal(sext(r.cycles, 33));
    }
}
