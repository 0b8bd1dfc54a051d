//! The sequencer's per-phase constants, tabulated once from the layout:
//! what each phase reads and writes, where it goes next in program order, and
//! the tap constants of its structured parts.

use super::{FINISH, HEAD, PROJ, ROWS};
use lstm_accel_spec::layout::{ConvLayout, FactorOf, Layout, Phase};

/// The constants of one phase at one parity.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct PhaseConsts {
    /// Weight words of a row.
    pub(super) row_words: i64,
    /// Words of the input part.
    pub(super) x_words: i64,
    /// Rows the phase waits for: cells of a layer, logits, projection rows.
    pub(super) count: i64,
    /// Row groups the phase issues (cell groups of a layer): `count` with
    /// one row engine.
    pub(super) groups: i64,
    /// Cycles per row (group): `row_words`, or more when the result queue
    /// needs them ([`Layout::row_span`]); the words past `row_words` issue
    /// nothing.
    pub(super) span: i64,
    pub(super) align_x: u32,
    pub(super) align_h: u32,
    pub(super) align_bias: u32,
    pub(super) cell_base: i64,
    pub(super) x_base: i64,
    pub(super) h_base: i64,
    /// Where the phase's writes go (h or y).
    pub(super) h_write: i64,
    /// The phase after this one in program order, and the state it starts
    /// in (`FINISH` after the last phase).
    pub(super) next: i64,
    pub(super) next_state: i64,
    /// Whether the next phase raises `phase_start` (all but the columns).
    pub(super) next_start: i64,
    /// The structured matrices of the input and recurrent parts.
    pub(super) conv: [ConvConsts; 2],
}

/// The tap constants of a structured matrix in one phase.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct ConvConsts {
    /// Mode (0: the part is dense).
    pub(super) mode: i64,
    pub(super) block: i64,
    pub(super) block_row_words: i64,
    pub(super) words_per_tap: i64,
    pub(super) taps_base: i64,
    /// Per gate: the window row `a` and the block row's first tap word of
    /// the phase's first row (a gate's rows start at `gate * hidden`).
    pub(super) a0: [i64; 4],
    pub(super) off0: [i64; 4],
    /// The rows' data offset (Toeplitz-like): stride, period (block rows),
    /// wrap (steps, 0: never), and per gate its first row's offset, period
    /// count and step count.
    pub(super) dstride: i64,
    pub(super) dperiod: i64,
    pub(super) dwrap: i64,
    pub(super) d0: [i64; 4],
    pub(super) dc0: [i64; 4],
    pub(super) dw0: [i64; 4],
}

impl ConvConsts {
    pub(super) fn of(c: Option<&ConvLayout>, gate_rows: usize) -> ConvConsts {
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
            dstride: c.data_stride as i64,
            dperiod: c.data_period.max(1) as i64,
            dwrap: c.data_wrap as i64,
            d0: std::array::from_fn(|q| {
                let steps = first(q) / k / c.data_period.max(1);
                let steps = if c.data_wrap > 0 {
                    steps % c.data_wrap
                } else {
                    steps
                };
                (steps * c.data_stride) as i64
            }),
            dc0: std::array::from_fn(|q| ((first(q) / k) % c.data_period.max(1)) as i64),
            dw0: std::array::from_fn(|q| {
                let steps = first(q) / k / c.data_period.max(1);
                (if c.data_wrap > 0 {
                    steps % c.data_wrap
                } else {
                    steps
                }) as i64
            }),
        }
    }

    /// The data counters after a block row: (offset, period count, steps).
    pub(super) fn step_data(&self, (d, c, w): (i64, i64, i64)) -> (i64, i64, i64) {
        if c + 1 < self.dperiod {
            (d, c + 1, w)
        } else if self.dwrap > 0 && w + 1 == self.dwrap {
            (0, 0, 0)
        } else {
            (d + self.dstride, 0, w + 1)
        }
    }
}

/// The state a phase starts in.
pub(super) fn state_of(lay: &Layout, ph: usize) -> i64 {
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
pub(super) fn phase_table(lay: &Layout) -> Vec<[PhaseConsts; 2]> {
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
                        let words = f.map_or(j.map_or(0, |j| j.words), |f| f.read_words);
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
                            conv: [
                                ConvConsts::of(f.and_then(|f| f.conv.as_ref()), 0),
                                ConvConsts::default(),
                            ],
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
            // Row groups and their span, for the row engines.
            let grouped = |p: usize| {
                let c = k(p);
                PhaseConsts {
                    groups: lay.groups(c.count as usize) as i64,
                    span: lay.span_of(ph) as i64,
                    ..c
                }
            };
            [grouped(0), grouped(1)]
        })
        .collect()
}
