//! The program of the layout: its phases, the order they run in, and the
//! passes the schedule is built from.

use super::{ConvLayout, FactorLayout, FactorOf, Layout, Phase};
use crate::schedule::Pass;

impl Layout {
    /// Matrix ids: two per phase (see the module documentation).
    pub fn matrix_ids(&self) -> usize {
        2 * self.phase_count()
    }

    /// Phases of the program.
    pub fn phase_count(&self) -> usize {
        self.phases().len()
    }

    /// Every phase, by index: the layers, the head, a LightRNN head's
    /// columns, then per layer its factor passes and projection, then the
    /// head's factor passes.
    pub fn phases(&self) -> Vec<Phase> {
        let mut v: Vec<Phase> = (0..self.layers.len()).map(Phase::Layer).collect();
        v.push(Phase::Head);
        if self.head.light_rnn.is_some() {
            v.push(Phase::Columns);
        }
        for (l, x) in self.layers.iter().enumerate() {
            if x.x_factor.is_some() {
                v.push(Phase::Factor(FactorOf::LayerX(l)));
            }
            if x.h_factor.is_some() {
                v.push(Phase::Factor(FactorOf::LayerH(l)));
            }
            if let Some(p) = &x.projection {
                if p.factor.is_some() {
                    v.push(Phase::Factor(FactorOf::Projection(l)));
                }
                v.push(Phase::Projection(l));
            }
        }
        if self.head.factor.is_some() {
            v.push(Phase::Factor(FactorOf::Head));
        }
        if self
            .head
            .light_rnn
            .as_ref()
            .is_some_and(|c| c.factor.is_some())
        {
            v.push(Phase::Factor(FactorOf::Columns));
        }
        v
    }

    /// What phase `p` runs.
    pub fn phase(&self, p: usize) -> Phase {
        self.phases().get(p).copied().unwrap_or(Phase::Head)
    }

    /// The index of a phase.
    pub fn phase_index(&self, phase: Phase) -> usize {
        self.phases()
            .iter()
            .position(|&x| x == phase)
            .unwrap_or(self.layers.len())
    }

    /// The factor pass of a low-rank matrix, if it is one.
    pub fn factor(&self, of: FactorOf) -> Option<&FactorLayout> {
        match of {
            FactorOf::LayerX(l) => self.layers[l].x_factor.as_ref(),
            FactorOf::LayerH(l) => self.layers[l].h_factor.as_ref(),
            FactorOf::Projection(l) => self.layers[l]
                .projection
                .as_ref()
                .and_then(|p| p.factor.as_ref()),
            FactorOf::Head => self.head.factor.as_ref(),
            FactorOf::Columns => self.head.light_rnn.as_ref().and_then(|c| c.factor.as_ref()),
        }
    }

    /// Phase indices in the order they run.
    pub fn program(&self) -> Vec<usize> {
        let mut v = Vec::new();
        let f = |v: &mut Vec<usize>, of| {
            if self.factor(of).is_some() {
                v.push(self.phase_index(Phase::Factor(of)));
            }
        };
        for (l, x) in self.layers.iter().enumerate() {
            f(&mut v, FactorOf::LayerX(l));
            f(&mut v, FactorOf::LayerH(l));
            v.push(l);
            if x.projection.is_some() {
                f(&mut v, FactorOf::Projection(l));
                v.push(self.phase_index(Phase::Projection(l)));
            }
        }
        f(&mut v, FactorOf::Head);
        v.push(self.layers.len());
        if self.head.light_rnn.is_some() {
            f(&mut v, FactorOf::Columns);
            v.push(self.layers.len() + 1);
        }
        v
    }

    /// The program's passes in the order they run, for the schedule.
    pub fn passes(&self) -> Vec<Pass> {
        let head = &self.head;
        self.program()
            .into_iter()
            .map(|ph| {
                let (rows, words) = self.rows_and_words(ph);
                let span = self.span_of(ph) as u64;
                match self.phase(ph) {
                    Phase::Layer(l) => Pass::Layer {
                        layer: l,
                        hidden: rows,
                        row_words: words as u64,
                        span,
                    },
                    Phase::Factor(_) => Pass::Factor {
                        phase: ph,
                        rows,
                        words: words as u64,
                        span,
                    },
                    Phase::Projection(l) => Pass::Projection {
                        layer: l,
                        rows,
                        words: words as u64,
                        span,
                    },
                    Phase::Head => Pass::Head {
                        first_row: 0,
                        rows,
                        words: words as u64,
                        span,
                    },
                    Phase::Columns => Pass::Head {
                        first_row: head.first_rows(),
                        rows,
                        words: words as u64,
                        span,
                    },
                }
            })
            .collect()
    }

    /// Phase `ph`'s rows (a layer's: its cells) and the data words a row
    /// reads (a layer's: its input and recurrent parts).
    pub fn rows_and_words(&self, ph: usize) -> (usize, usize) {
        let head = &self.head;
        match self.phase(ph) {
            Phase::Layer(l) => {
                let x = &self.layers[l];
                let (xw, hw) = x.row_parts();
                (x.hidden, xw + hw)
            }
            Phase::Factor(of) => self.factor(of).map_or((0, 0), |f| (f.rank, f.words)),
            Phase::Projection(l) => self.layers[l].projection.as_ref().map_or((0, 0), |j| {
                (j.rows, j.factor.as_ref().map_or(j.words, |f| f.read_words))
            }),
            Phase::Head => (head.first_rows(), head.row_words()),
            Phase::Columns => (
                head.light_rnn.as_ref().map_or(0, |c| c.cols),
                head.col_words(),
            ),
        }
    }

    /// Cycles the sequencer spends on a row (group) of phase `ph`
    /// ([`Layout::row_span`]).
    pub fn span_of(&self, ph: usize) -> usize {
        let (rows, words) = self.rows_and_words(ph);
        let cells = matches!(self.phase(ph), Phase::Layer(_));
        self.row_span(words, cells, self.groups(rows))
    }

    /// Weight words of phase `ph`: every row group's dense words (a
    /// structured matrix's codes are in the tap memory).
    pub fn weight_words_of(&self, ph: usize) -> usize {
        let head = &self.head;
        match self.phase(ph) {
            Phase::Layer(l) => {
                let x = &self.layers[l];
                let (xw, hw) = x.row_parts();
                let dense = |c: &Option<ConvLayout>, w: usize| if c.is_some() { 0 } else { w };
                4 * self.groups(x.hidden) * (dense(&x.x_conv, xw) + dense(&x.h_conv, hw))
            }
            // A Toeplitz-like first pass is structured: its codes are taps.
            Phase::Factor(of) => self.factor(of).map_or(0, |f| {
                if f.conv.is_some() {
                    0
                } else {
                    self.groups(f.rank) * f.words
                }
            }),
            Phase::Projection(l) => self.layers[l].projection.as_ref().map_or(0, |j| {
                if j.conv.is_some() {
                    0
                } else {
                    self.groups(j.rows) * j.factor.as_ref().map_or(j.words, |f| f.read_words)
                }
            }),
            Phase::Head if head.conv.is_none() => self.groups(head.first_rows()) * head.row_words(),
            Phase::Columns => head.light_rnn.as_ref().map_or(0, |c| {
                if c.conv.is_some() {
                    0
                } else {
                    self.groups(c.cols) * head.col_words()
                }
            }),
            Phase::Head => 0,
        }
    }

    /// Every factor pass.
    pub fn factors(&self) -> Vec<&FactorLayout> {
        self.layers
            .iter()
            .flat_map(|l| {
                [
                    l.x_factor.as_ref(),
                    l.h_factor.as_ref(),
                    l.projection.as_ref().and_then(|p| p.factor.as_ref()),
                ]
            })
            .chain([
                self.head.factor.as_ref(),
                self.head.light_rnn.as_ref().and_then(|c| c.factor.as_ref()),
            ])
            .flatten()
            .collect()
    }
}
