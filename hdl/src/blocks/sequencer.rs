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
//! `mac_shift`, the matrix alignment plus the row's shift read from the
//! row-shift memory in that same cycle. `cycles` is the number of cycles
//! from the first issued word to `done`, the quantity the schedule predicts.

use super::lightrnn_decoder::LightRnnDecoder;
use crate::dynamic::{sext, DynSig, DynVal};
use crate::layout::{ConvLayout, FactorOf, Layout, Phase, Widths};
use crate::verilog::lit;
use rust_hdl::prelude::*;
use std::fmt::Write;

/// The issue of a word in a design with structured matrices: the tap word
/// and window of a structured part; the weight address steps on dense
/// words only.
const CONV_ISSUE: &str = "            i_mode <= cur_mode;
            i_tap <= cur_base + cur_o + tw;
            i_win <= cur_a - sub * LANES;
            if (cur_mode == 0)
                weight <= weight + 1;
            if (word + 1 == k_x_words || word == k_row_words - 1) begin
                sub <= 0; tw <= 0;
            end else if (sub + 1 == cur_r) begin
                sub <= 0; tw <= tw + 1;
            end else
                sub <= sub + 1;
";

const IDLE: i64 = 0;
const ROWS: i64 = 1;
const DRAIN: i64 = 2;
const HEAD: i64 = 3;
const HEAD_DRAIN: i64 = 4;
const FINISH: i64 = 5;
const PROJ: i64 = 6;
const PROJ_DRAIN: i64 = 7;

/// The constants of one phase at one parity.
#[derive(Clone, Copy, Debug, Default)]
struct PhaseConsts {
    /// Weight words of a row.
    row_words: i64,
    /// Words of the input part.
    x_words: i64,
    /// Rows the phase waits for: cells of a layer, logits, projection rows.
    count: i64,
    align_x: u32,
    align_h: u32,
    align_bias: u32,
    cell_base: i64,
    x_base: i64,
    h_base: i64,
    /// Where the phase's writes go (h or y).
    h_write: i64,
    /// The phase after this one in program order, and the state it starts
    /// in (`FINISH` after the last phase).
    next: i64,
    next_state: i64,
    /// Whether the next phase raises `phase_start` (all but the columns).
    next_start: i64,
    /// The structured matrices of the input and recurrent parts.
    conv: [ConvConsts; 2],
}

/// The tap constants of a structured matrix in one phase.
#[derive(Clone, Copy, Debug, Default)]
struct ConvConsts {
    /// Mode (0: the part is dense).
    mode: i64,
    block: i64,
    block_row_words: i64,
    words_per_tap: i64,
    taps_base: i64,
    /// Per gate: the window row `a` and the block row's first tap word of
    /// the phase's first row (a gate's rows start at `gate * hidden`).
    a0: [i64; 4],
    off0: [i64; 4],
}

impl ConvConsts {
    fn of(c: Option<&ConvLayout>, gate_rows: usize) -> ConvConsts {
        let Some(c) = c else {
            return ConvConsts::default();
        };
        let k = c.block;
        let first = |q: usize| q * gate_rows;
        ConvConsts {
            mode: c.mode as i64,
            block: k as i64,
            block_row_words: c.block_row_words as i64,
            words_per_tap: c.words_per_tap as i64,
            taps_base: c.taps_base as i64,
            a0: std::array::from_fn(|q| (first(q) % k) as i64),
            off0: std::array::from_fn(|q| ((first(q) / k) * c.block_row_words) as i64),
        }
    }
}

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
    /// The row-shift memory's word (present when the model has row scales).
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
    /// Bias / row-shift read address.
    pub row_addr: DynSig<Out>,
    /// MAC array: a word is present.
    pub mac_valid: DynSig<Out>,
    /// MAC array: the word starts a row.
    pub mac_first: DynSig<Out>,
    /// MAC array: the word ends a row.
    pub mac_last: DynSig<Out>,
    /// MAC array: the word's alignment.
    pub mac_shift: DynSig<Out>,
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

/// The state a phase starts in.
fn state_of(lay: &Layout, ph: usize) -> i64 {
    match lay.phase(ph) {
        Phase::Layer(_) => ROWS,
        Phase::Projection(_) | Phase::Factor(_) => PROJ,
        Phase::Head | Phase::Columns => HEAD,
    }
}

/// The input vector a factor pass reads: (base at parity p, format words).
fn factor_input(lay: &Layout, of: FactorOf, p: usize) -> usize {
    match of {
        FactorOf::LayerX(l) => lay.x_base(l, p),
        FactorOf::LayerH(l) => lay.h_read_base(l, p),
        FactorOf::Projection(l) => lay.layers[l].projection.as_ref().map_or(0, |x| x.scratch),
        FactorOf::Head | FactorOf::Columns => lay.head_base(p),
    }
}

/// The constants of every phase at both parities.
fn phase_table(lay: &Layout) -> Vec<[PhaseConsts; 2]> {
    let program = lay.program();
    let head = &lay.head;
    (0..lay.phase_count())
        .map(|ph| {
            // The phase after this one in program order (FINISH after the last).
            let at = program.iter().position(|&x| x == ph);
            let after = at.and_then(|i| program.get(i + 1)).copied();
            let (next, next_state) = match after {
                Some(n) => (n as i64, state_of(lay, n)),
                None => (0, FINISH),
            };
            let next_start = i64::from(after.is_none_or(|n| lay.phase(n) != Phase::Columns));
            let k = |p: usize| {
                let base = PhaseConsts {
                    next,
                    next_state,
                    next_start,
                    ..PhaseConsts::default()
                };
                match lay.phase(ph) {
                    Phase::Layer(l) => {
                        let x = &lay.layers[l];
                        let (xw, hw) = x.row_parts();
                        PhaseConsts {
                            row_words: (xw + hw) as i64,
                            x_words: xw as i64,
                            count: x.hidden as i64,
                            align_x: x.align_x,
                            align_h: x.align_h,
                            align_bias: x.align_bias,
                            cell_base: x.cell_base as i64,
                            x_base: x.x_factor.as_ref().map_or(lay.x_base(l, p), |f| f.scratch)
                                as i64,
                            h_base: x
                                .h_factor
                                .as_ref()
                                .map_or(lay.h_read_base(l, p), |f| f.scratch)
                                as i64,
                            h_write: lay.h_target(l, p) as i64,
                            conv: [
                                ConvConsts::of(x.x_conv.as_ref(), x.hidden),
                                ConvConsts::of(x.h_conv.as_ref(), x.hidden),
                            ],
                            ..base
                        }
                    }
                    Phase::Projection(l) => {
                        let j = lay.layers[l].projection.as_ref();
                        let f = j.and_then(|j| j.factor.as_ref());
                        let words = f.map_or(j.map_or(0, |j| j.words), |f| f.t_words());
                        PhaseConsts {
                            row_words: words as i64,
                            x_words: words as i64,
                            count: j.map_or(0, |j| j.rows as i64),
                            align_x: j.map_or(0, |j| j.align),
                            x_base: f.map_or(j.map_or(0, |j| j.scratch), |f| f.scratch) as i64,
                            h_write: lay.h_write_base(l, p) as i64,
                            conv: [
                                ConvConsts::of(j.and_then(|j| j.conv.as_ref()), 0),
                                ConvConsts::default(),
                            ],
                            ..base
                        }
                    }
                    Phase::Factor(of) => {
                        let f = lay.factor(of);
                        let words = f.map_or(0, |f| f.words) as i64;
                        PhaseConsts {
                            row_words: words,
                            x_words: words,
                            count: f.map_or(0, |f| f.rank as i64),
                            x_base: factor_input(lay, of, p) as i64,
                            h_write: f.map_or(0, |f| f.scratch as i64),
                            ..base
                        }
                    }
                    Phase::Head => PhaseConsts {
                        row_words: head.row_words() as i64,
                        x_words: head.row_words() as i64,
                        count: head.first_rows() as i64,
                        align_x: head.align,
                        align_bias: head.align_bias,
                        x_base: head.factor.as_ref().map_or(lay.head_base(p), |f| f.scratch) as i64,
                        conv: [ConvConsts::of(head.conv.as_ref(), 0), ConvConsts::default()],
                        ..base
                    },
                    Phase::Columns => {
                        let c = head.light_rnn.as_ref();
                        let f = c.and_then(|c| c.factor.as_ref());
                        PhaseConsts {
                            row_words: head.col_words() as i64,
                            x_words: head.col_words() as i64,
                            count: c.map_or(0, |c| c.cols as i64),
                            align_x: c.map_or(0, |c| c.align),
                            align_bias: c.map_or(0, |c| c.align_bias),
                            x_base: f.map_or(lay.head_base(p), |f| f.scratch) as i64,
                            conv: [
                                ConvConsts::of(c.and_then(|c| c.conv.as_ref()), 0),
                                ConvConsts::default(),
                            ],
                            ..base
                        }
                    }
                }
            };
            [k(0), k(1)]
        })
        .collect()
}

impl Sequencer {
    /// A sequencer for a layout.
    pub fn new(lay: &Layout) -> Self {
        let s = lay.widths();
        Sequencer {
            clock: Signal::default(),
            start: DynSig::new(2),
            clear: DynSig::new(2),
            h_write: DynSig::new(2),
            logit_valid: DynSig::new(2),
            argmax: DynSig::new(s.class_bits),
            row_shift: (0..usize::from(lay.row_shifts))
                .map(|_| DynSig::new(2 * lay.row_shift_bits as usize))
                .collect(),
            weight_addr: DynSig::new(s.weight_addr_bits),
            tap_addr: DynSig::new(s.tap_addr_bits),
            conv_mode: DynSig::new(s.mode_bits),
            window: DynSig::new(s.window_bits),
            data_addr: DynSig::new(s.data_addr_bits),
            row_addr: DynSig::new(s.row_addr_bits),
            mac_valid: DynSig::new(2),
            mac_first: DynSig::new(2),
            mac_last: DynSig::new(2),
            mac_shift: DynSig::new(s.shift_bits),
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
        n.i_data = if r.word < xw {
            xb + r.word
        } else {
            hb + r.word - xw
        };
        n.i_row = r.row;
        // A structured part reads the tap memory, not the weight memory:
        // its word's tap word and the window of the row in its block.
        let part = usize::from(r.word >= xw);
        let c = k.conv[part];
        let g = r.gate as usize & 3;
        let first = r.cell == 0;
        let eff = |p: usize, q: usize| {
            if first {
                (k.conv[p].a0[q], k.conv[p].off0[q])
            } else {
                (r.a[p][q], r.off[p][q])
            }
        };
        let (a, off) = eff(part, g);
        n.i_mode = c.mode;
        n.i_tap = c.taps_base + off + r.tw;
        n.i_win = a - r.sub * self._lay.lanes as i64;
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
                    let (a, off) = eff(p, q);
                    let kk = k.conv[p];
                    (n.a[p][q], n.off[p][q]) = if !cell_step {
                        (a, off)
                    } else if a + 1 == kk.block {
                        (0, off + kk.block_row_words)
                    } else {
                        (a + 1, off)
                    };
                }
            }
        }
        if r.word == rw - 1 {
            n.word = 0;
            n.row = r.row + 1;
        } else {
            n.word = r.word + 1;
        }
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
                n.count = r.count + 1;
                // Results of the phase so far: h writes in a layer, logits
                // in the head (counted in every state: the first ones come
                // back while later rows are still being issued).
                if self.h_write.val().0 != 0 || self.logit_valid.val().0 != 0 {
                    n.seen = r.seen + 1;
                }
                if self.clear.val().0 != 0 {
                    n.parity = 0;
                }
            }
            let hw = i64::from(self.h_write.val().0 != 0);
            let lv = i64::from(self.logit_valid.val().0 != 0);
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
                        n.start_out = 1;
                        n.count = 0;
                    }
                }
                ROWS => {
                    self.issue(r);
                    let rw = k.row_words;
                    let n = &mut self._r;
                    if r.word == rw - 1 {
                        if r.gate == 3 {
                            n.gate = 0;
                            n.cell = r.cell + 1;
                            if r.cell == hidden - 1 {
                                n.state = DRAIN;
                            }
                        } else {
                            n.gate = r.gate + 1;
                        }
                    }
                }
                HEAD | PROJ => {
                    self.issue(r);
                    let rw = k.row_words;
                    let last_row = hidden - 1;
                    let n = &mut self._r;
                    if r.word == rw - 1 {
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
                    if r.seen + (hw | lv) == hidden {
                        if k.next_state == FINISH {
                            n.gate = 0;
                            n.state = FINISH;
                        } else {
                            n.layer = k.next;
                            n.cell = 0;
                            n.gate = 0;
                            n.word = 0;
                            n.seen = 0;
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
            &mut self.mac_valid,
            &mut self.mac_first,
            &mut self.mac_last,
            &mut self.mac_shift,
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
    }
    fn hdl(&self) -> Verilog {
        Verilog::Custom(self.verilog())
    }
}

impl Sequencer {
    fn outputs(&mut self) {
        let r = self._r;
        let s = self._s;
        let lay = &self._lay;
        let k = self.consts(r.layer as usize, r.parity as usize);
        let (align_x, align_h, align_bias, h_base, cell_base) =
            (k.align_x, k.align_h, k.align_bias, k.h_write, k.cell_base);
        let (rs_x, rs_h) = match self.row_shift.first() {
            Some(w) => {
                let v = w.val().0;
                let m = (1i64 << lay.row_shift_bits) - 1;
                (v & m, (v >> lay.row_shift_bits) & m)
            }
            None => (0, 0),
        };
        let shift = if r.s_h != 0 {
            i64::from(align_h) + rs_h
        } else {
            i64::from(align_x) + rs_x
        };
        self.weight_addr.next = DynVal(sext(r.i_weight, s.weight_addr_bits));
        self.tap_addr.next = DynVal(sext(r.i_tap, s.tap_addr_bits));
        self.conv_mode.next = DynVal(sext(r.s_mode, s.mode_bits));
        self.window.next = DynVal(sext(r.s_win, s.window_bits));
        self.data_addr.next = DynVal(sext(r.i_data, s.data_addr_bits));
        self.row_addr.next = DynVal(sext(r.i_row, s.row_addr_bits));
        self.mac_valid.next = DynVal(r.s_valid);
        self.mac_first.next = DynVal(r.s_first);
        self.mac_last.next = DynVal(r.s_last);
        self.mac_shift.next = DynVal(sext(shift, s.shift_bits));
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

    /// The Verilog body: the same registers and transitions as `update`,
    /// with the layout's per-layer constants as case tables.
    fn verilog(&self) -> String {
        let lay = &self._lay;
        let s = self._s;
        let w = |bits: usize| format!("signed [{}:0]", bits - 1);
        let cw = 32; // width of the constant tables
        let mut v = String::new();
        let _ = writeln!(
            v,
            "localparam IDLE = 3'd0, ROWS = 3'd1, DRAIN = 3'd2, HEAD = 3'd3, HEAD_DRAIN = 3'd4, FINISH = 3'd5, PROJ = 3'd6, PROJ_DRAIN = 3'd7;
reg [2:0] state;
reg {pw} layer;
reg signed [31:0] cell_n, gate, word, row, weight, seen, count;
reg parity_r;
reg i_valid, i_first, i_last, i_h, s_valid, s_first, s_last, s_h, start_out, done_r;
reg {ww} i_weight;
reg {dw} i_data;
reg {rw} i_row;
reg {kw} class_r;
reg signed [32:0] cycles_r;
reg signed [{c1}:0] k_row_words, k_x_words, k_x_base, k_h_base, k_hidden, k_align_x, k_align_h, k_align_bias, k_h_write, k_cell_base, k_next;
reg [2:0] k_next_state;
reg k_next_start;
wire h_w = h_write != 0;
wire l_v = logit_valid != 0;

initial begin
    state = IDLE; layer = 0; cell_n = 0; gate = 0; word = 0; row = 0; weight = 0; seen = 0; count = 0;
    parity_r = 0; i_valid = 0; i_first = 0; i_last = 0; i_h = 0; s_valid = 0; s_first = 0; s_last = 0; s_h = 0;
    start_out = 0; done_r = 0; i_weight = 0; i_data = 0; i_row = 0; class_r = 0; cycles_r = 0;
end
",
            pw = w(s.phase_bits),
            ww = w(s.weight_addr_bits),
            dw = w(s.data_addr_bits),
            rw = w(s.row_addr_bits),
            kw = w(s.class_bits),
            c1 = cw - 1,
        );
        // Constant tables of the current phase.
        v.push_str("always @(*) begin\n    case (layer)\n");
        let k = |x: i64| lit(x, cw);
        for l in 0..lay.phase_count() {
            let (c0, c1) = (self.consts(l, 0), self.consts(l, 1));
            let _ = writeln!(
                v,
                "        {l}: begin
            k_row_words = {}; k_x_words = {}; k_hidden = {}; k_align_x = {}; k_align_h = {}; k_align_bias = {}; k_cell_base = {};
            k_x_base = parity_r ? {} : {}; k_h_base = parity_r ? {} : {}; k_h_write = parity_r ? {} : {};
            k_next = {}; k_next_state = 3'd{}; k_next_start = {};
        end",
                k(c0.row_words),
                k(c0.x_words),
                k(c0.count),
                k(i64::from(c0.align_x)),
                k(i64::from(c0.align_h)),
                k(i64::from(c0.align_bias)),
                k(c0.cell_base),
                k(c1.x_base),
                k(c0.x_base),
                k(c1.h_base),
                k(c0.h_base),
                k(c1.h_write),
                k(c0.h_write),
                k(c0.next),
                c0.next_state,
                c0.next_start,
            );
        }
        v.push_str(
            "        default: begin
            k_row_words = 1; k_x_words = 1; k_hidden = 0; k_align_x = 0; k_align_h = 0; k_align_bias = 0; k_cell_base = 0;
            k_x_base = 0; k_h_base = 0; k_h_write = 0; k_next = 0; k_next_state = 3'd0; k_next_start = 0;
        end
    endcase
end
",
        );
        let has_conv = !lay.conv_modes.is_empty();
        if has_conv {
            v.push_str(&self.conv_verilog());
        }
        if lay.row_shifts {
            let b = lay.row_shift_bits;
            let _ = writeln!(
                v,
                "wire signed [{c1}:0] rs_x = {{{pad}'d0, row_shift$0[{x1}:0]}};
wire signed [{c1}:0] rs_h = {{{pad}'d0, row_shift$0[{h1}:{b}]}};",
                c1 = cw - 1,
                pad = cw - b as usize,
                x1 = b - 1,
                h1 = 2 * b - 1,
            );
        } else {
            // Continuous assignments: an `always @(*)` of constants never
            // runs in an event-driven simulator.
            let _ = writeln!(
                v,
                "wire signed [{c1}:0] rs_x = 0;\nwire signed [{c1}:0] rs_h = 0;",
                c1 = cw - 1
            );
        }
        let _ = writeln!(
            v,
            "
always @(*) begin
    weight_addr = i_weight;
    tap_addr = {tap_addr};
    conv_mode = {conv_mode};
    window = {window};
    data_addr = i_data;
    row_addr = i_row;
    mac_valid = {{1'b0, s_valid}};
    mac_first = {{1'b0, s_first}};
    mac_last = {{1'b0, s_last}};
    mac_shift = s_h ? (k_align_h + rs_h) : (k_align_x + rs_x);
    matrix = layer * 2 + s_h;
    bias_shift = k_align_bias;
    phase = layer;
    head = (state == HEAD || state == HEAD_DRAIN || state == FINISH) ? 2'sd1 : 2'sd0;
    project = (state == PROJ || state == PROJ_DRAIN) ? 2'sd1 : 2'sd0;
    phase_start = {{1'b0, start_out}};
    h_base = k_h_write;
    cell_base = k_cell_base;
    busy = (state != IDLE) ? 2'sd1 : 2'sd0;
    parity = {{1'b0, parity_r}};
    done = {{1'b0, done_r}};
    decoded = class_r;
    cycles = cycles_r;
end

always @(posedge clock) begin
    s_valid <= i_valid; s_first <= i_first; s_last <= i_last; s_h <= i_h;
    start_out <= 0;
    done_r <= 0;
    i_valid <= 0;
    i_first <= 0;
    i_last <= 0;
    count <= count + 1;
    if (h_w || l_v)
        seen <= seen + 1;
    if (clear != 0)
        parity_r <= 0;
    case (state)
        IDLE: if (start != 0) begin
            state <= {first_state};
            layer <= {first}; cell_n <= 0; gate <= 0; word <= 0; row <= 0; weight <= 0; seen <= 0;
            start_out <= 1;
            count <= 0;
        end
        ROWS, HEAD, PROJ: begin
            i_valid <= 1;
            i_first <= (word == 0);
            i_last <= (word == k_row_words - 1);
            i_h <= (word >= k_x_words);
            i_weight <= weight;
            i_data <= (word < k_x_words) ? (k_x_base + word) : (k_h_base + word - k_x_words);
            i_row <= row;
{conv_issue}            if (word == k_row_words - 1) begin
                word <= 0;
                row <= row + 1;
                if (state != ROWS) begin
                    cell_n <= cell_n + 1;
                    if (cell_n == k_hidden - 1)
                        state <= (state == HEAD) ? HEAD_DRAIN : PROJ_DRAIN;
                end else if (gate == 3) begin
                    gate <= 0;
                    cell_n <= cell_n + 1;
                    if (cell_n == k_hidden - 1)
                        state <= DRAIN;
                end else
                    gate <= gate + 1;
            end else
                word <= word + 1;
        end
        DRAIN, PROJ_DRAIN, HEAD_DRAIN: if (seen + (h_w || l_v) == k_hidden) begin
            if (k_next_state == FINISH) begin
                gate <= 0;
                state <= FINISH;
            end else begin
                layer <= k_next;
                cell_n <= 0; gate <= 0; word <= 0; seen <= 0;
                start_out <= k_next_start;
                state <= k_next_state;
            end
        end
        default: if (gate < {wait})
            gate <= gate + 1;
        else begin
            class_r <= argmax;
            cycles_r <= count;
            done_r <= 1;
            parity_r <= !parity_r;
            state <= IDLE;
        end
    endcase
end",
            first_state = match state_of(lay, self._first) {
                ROWS => "ROWS",
                PROJ => "PROJ",
                _ => "HEAD",
            },
            first = self._first,
            tap_addr = if has_conv { "i_tap" } else { "0" },
            conv_mode = if has_conv { "s_mode" } else { "0" },
            window = if has_conv { "s_win" } else { "0" },
            conv_issue = if has_conv {
                CONV_ISSUE
            } else {
                "            weight <= weight + 1;\n"
            },
            wait = self.finish_wait(),
        );
        v
    }

    /// The structured parts' counters (only in designs with structured
    /// matrices): per phase and part the tap constants, per part and gate
    /// the row in its block and its block row's first tap word.
    fn conv_verilog(&self) -> String {
        let lay = &self._lay;
        let cw = 32;
        let k = |x: i64| lit(x, cw);
        let mut names = Vec::new();
        for p in 0..2 {
            for n in ["cm", "ck", "cw", "cr", "cb"] {
                names.push(format!("k_{n}_{p}"));
            }
            for q in 0..4 {
                names.push(format!("k_ca_{p}_{q}"));
                names.push(format!("k_co_{p}_{q}"));
            }
        }
        let mut v = format!(
            "reg signed [{c1}:0] {};\nalways @(*) begin\n    case (layer)\n",
            names.join(", "),
            c1 = cw - 1
        );
        for l in 0..lay.phase_count() {
            let c = self.consts(l, 0).conv;
            let _ = write!(v, "        {l}: begin");
            for (p, cc) in c.iter().enumerate() {
                let _ = write!(
                    v,
                    " k_cm_{p} = {}; k_ck_{p} = {}; k_cw_{p} = {}; k_cr_{p} = {}; k_cb_{p} = {};",
                    k(cc.mode),
                    k(cc.block),
                    k(cc.block_row_words),
                    k(cc.words_per_tap.max(1)),
                    k(cc.taps_base)
                );
                for q in 0..4 {
                    let _ = write!(
                        v,
                        " k_ca_{p}_{q} = {}; k_co_{p}_{q} = {};",
                        k(cc.a0[q]),
                        k(cc.off0[q])
                    );
                }
            }
            v.push_str(" end\n");
        }
        v.push_str("        default: begin");
        for n in &names {
            let _ = write!(v, " {n} = {};", if n.starts_with("k_cr") { 1 } else { 0 });
        }
        v.push_str(" end\n    endcase\nend\n");
        let mut regs = Vec::new();
        for p in 0..2 {
            for q in 0..4 {
                regs.push(format!("ca_{p}_{q}"));
                regs.push(format!("co_{p}_{q}"));
            }
        }
        let _ = writeln!(
            v,
            "reg signed [{c1}:0] {}, sub, tw, i_tap, i_win, i_mode, s_win, s_mode;
initial begin
    {} sub = 0; tw = 0; i_tap = 0; i_win = 0; i_mode = 0; s_win = 0; s_mode = 0;
end
wire first_cell = (cell_n == 0);
wire part_h = (word >= k_x_words);",
            regs.join(", "),
            regs.iter()
                .map(|r| format!("{r} = 0;"))
                .collect::<Vec<_>>()
                .join(" "),
            c1 = cw - 1
        );
        for p in 0..2 {
            for q in 0..4 {
                let _ = writeln!(
                    v,
                    "wire signed [{c1}:0] ea_{p}_{q} = first_cell ? k_ca_{p}_{q} : ca_{p}_{q};\nwire signed [{c1}:0] eo_{p}_{q} = first_cell ? k_co_{p}_{q} : co_{p}_{q};",
                    c1 = cw - 1
                );
            }
        }
        let _ = writeln!(
            v,
            "reg signed [{c1}:0] cur_a, cur_o, cur_mode, cur_base, cur_r;
always @(*) begin
    cur_mode = part_h ? k_cm_1 : k_cm_0;
    cur_base = part_h ? k_cb_1 : k_cb_0;
    cur_r = part_h ? k_cr_1 : k_cr_0;
    case ({{part_h, gate[1:0]}})",
            c1 = cw - 1
        );
        for p in 0..2 {
            for q in 0..4 {
                let _ = writeln!(
                    v,
                    "        3'd{}: begin cur_a = ea_{p}_{q}; cur_o = eo_{p}_{q}; end",
                    p * 4 + q
                );
            }
        }
        v.push_str("        default: begin cur_a = 0; cur_o = 0; end\n    endcase\nend\n");
        let _ = writeln!(v, "localparam signed [{}:0] LANES = {};", cw - 1, lay.lanes);
        v.push_str("wire cell_step = (word == k_row_words - 1) && (state != ROWS || gate == 3);\n");
        v.push_str("always @(posedge clock) begin\n    s_win <= i_win; s_mode <= i_mode;\n");
        v.push_str("    if ((state == ROWS || state == HEAD || state == PROJ) && (cell_step || first_cell)) begin\n");
        for p in 0..2 {
            for q in 0..4 {
                let _ = writeln!(
                    v,
                    "        if (!cell_step) begin ca_{p}_{q} <= ea_{p}_{q}; co_{p}_{q} <= eo_{p}_{q}; end\n        else if (ea_{p}_{q} + 1 == k_ck_{p}) begin ca_{p}_{q} <= 0; co_{p}_{q} <= eo_{p}_{q} + k_cw_{p}; end\n        else begin ca_{p}_{q} <= ea_{p}_{q} + 1; co_{p}_{q} <= eo_{p}_{q}; end"
                );
            }
        }
        v.push_str("    end\nend\n");
        v
    }
}
