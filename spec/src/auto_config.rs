//! Automatic parallelism (`--lanes auto`, `--rows auto`): the fastest
//! configuration of a model that fits its target part at its clock, found
//! from the spec alone. Every candidate is a spec: its schedule gives the
//! cycles per frame (which the simulations match cycle for cycle), its
//! memory placement the block RAMs, and its logic estimate
//! ([`crate::logic_estimate`]) the logic cells and flip-flops.
//!
//! A candidate fits when the spec accepts it (memories included) and its
//! estimated logic stays within [`LOGIC_HEADROOM`] of the part: placement
//! and routing need the rest, and the estimate is not exact. Of the
//! candidates that fit, the choice is the one with the fewest multiply-
//! accumulates per cycle (then the least logic) among those within
//! [`NOT_WORTH`] of the shortest time per frame: doubling the hardware for
//! a percent or two of speed costs power for nothing. A frame's time is its
//! cycles at the clock the design is expected to run at: the
//! configuration's, or the Fmax the spec estimates for it when that is
//! lower ([`crate::fmax_estimate`]), so a design that saves cycles by
//! spreading over more block RAMs than it gains back in clock is not
//! chosen.

use crate::spec::{AcceleratorSpec, HwConfig, SpecError};
use lstm_accel_model::model::Model;
use std::fmt;
use std::str::FromStr;

/// The fraction of a part's logic cells and flip-flops an automatic
/// configuration may fill: routing needs room, and the estimate has been
/// up to a fifth under Yosys on a small design.
pub const LOGIC_HEADROOM: f64 = 0.80;
/// A configuration with more multiply-accumulates per cycle is chosen only
/// if it takes this fraction fewer cycles per frame than the best smaller
/// one (2 %).
pub const NOT_WORTH: f64 = 0.02;
/// Row engines an automatic search tries.
pub const AUTO_ROWS: [usize; 7] = [1, 2, 4, 8, 16, 32, 64];
/// Lane counts an automatic search tries.
pub const AUTO_LANES: [usize; 10] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

/// A parallelism knob: a count, or `auto`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Knob {
    /// Chosen by the search.
    Auto,
    /// This many.
    Fixed(usize),
}

impl FromStr for Knob {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.eq_ignore_ascii_case("auto") {
            return Ok(Knob::Auto);
        }
        s.parse::<usize>()
            .map(Knob::Fixed)
            .map_err(|_| format!("`{s}` is neither a count nor `auto`"))
    }
}

impl fmt::Display for Knob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Knob::Auto => f.write_str("auto"),
            Knob::Fixed(n) => write!(f, "{n}"),
        }
    }
}

/// A frame's time, microseconds, of `cycles` at `clock_mhz`.
fn frame_us(cycles: u64, clock_mhz: f64) -> f64 {
    cycles as f64 / clock_mhz
}

/// What the search made of one configuration.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// It fits: its cycles and time per frame and the larger of its logic
    /// utilisations (fraction of the part).
    Fits {
        /// Cycles per frame.
        cycles: u64,
        /// The clock it is expected to run at, MHz.
        clock_mhz: f64,
        /// Logic cells or flip-flops, whichever is fuller, over the part's.
        logic: f64,
        /// Block RAMs used.
        block_rams: u32,
    },
    /// Its estimated logic is over the headroom.
    TooMuchLogic {
        /// The fuller of logic cells and flip-flops, over the part's.
        logic: f64,
    },
    /// The spec refuses it (memories that do not fit, rows that split a
    /// block row, ...).
    Refused(String),
}

/// One configuration the search tried.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// Row engines.
    pub rows: usize,
    /// Lanes per engine.
    pub lanes: usize,
    /// What it came to.
    pub outcome: Outcome,
}

impl Candidate {
    /// Multiply-accumulates per cycle.
    pub fn macs(&self) -> usize {
        self.rows * self.lanes
    }

    /// The fuller of its logic cells and flip-flops over the part's (0
    /// when it does not fit).
    fn logic(&self) -> f64 {
        match self.outcome {
            Outcome::Fits { logic, .. } => logic,
            _ => 0.0,
        }
    }

    /// A frame's time at the expected clock, microseconds, if it fits.
    pub fn latency_us(&self) -> Option<f64> {
        match self.outcome {
            Outcome::Fits {
                cycles, clock_mhz, ..
            } => Some(frame_us(cycles, clock_mhz)),
            _ => None,
        }
    }

    /// Why it is not the choice, in words.
    fn verdict(&self, best_us: f64) -> String {
        let name = format!("{} x {}", self.rows, self.lanes);
        match &self.outcome {
            &Outcome::Fits {
                cycles, clock_mhz, ..
            } => {
                let latency_us = frame_us(cycles, clock_mhz);
                let what = format!(
                    "{name} takes {cycles} cycles per frame at {clock_mhz:.1} MHz, {latency_us:.2} us"
                );
                if latency_us >= best_us {
                    format!("{what}, no less")
                } else {
                    format!(
                        "{what}, only {:.1} % less (less than {:.0} %)",
                        100.0 * (1.0 - latency_us / best_us),
                        100.0 * NOT_WORTH
                    )
                }
            }
            Outcome::TooMuchLogic { logic } => format!(
                "{name} needs an estimated {:.0} % of the part's logic (at most {:.0} %)",
                100.0 * logic,
                100.0 * LOGIC_HEADROOM
            ),
            Outcome::Refused(e) => format!("{name} is refused: {e}"),
        }
    }
}

/// The search's answer.
#[derive(Clone, Debug)]
pub struct AutoChoice {
    /// The chosen configuration.
    pub hw: HwConfig,
    /// Its spec.
    pub spec: AcceleratorSpec,
    /// Why the search stopped there.
    pub why: String,
    /// Every configuration tried.
    pub candidates: Vec<Candidate>,
}

/// The fastest configuration of `model` on `base`'s part and clock that
/// fits, over the knobs that are `auto` (the others stay as given).
pub fn fastest_fit(
    model: &Model,
    base: &HwConfig,
    rows: Knob,
    lanes: Knob,
) -> Result<AutoChoice, SpecError> {
    let range = |k: Knob, auto: &[usize]| match k {
        Knob::Auto => auto.to_vec(),
        Knob::Fixed(n) => vec![n],
    };
    let mut candidates = Vec::new();
    let mut specs = Vec::new();
    for &r in &range(rows, &AUTO_ROWS) {
        for &l in &range(lanes, &AUTO_LANES) {
            let hw = HwConfig {
                rows: r,
                lanes: l,
                ..base.clone()
            };
            let outcome = match AcceleratorSpec::new(model, &hw) {
                Ok(spec) => {
                    let logic = spec.estimate.logic.utilisation();
                    if logic > LOGIC_HEADROOM {
                        Outcome::TooMuchLogic { logic }
                    } else {
                        let cycles = spec.cycles_per_frame();
                        // The expected clock: the configuration's on the
                        // generic target, which has no Fmax estimate.
                        let clock_mhz =
                            spec.estimate.clock.map_or(hw.clock_mhz, |c| c.expected_mhz);
                        let o = Outcome::Fits {
                            cycles,
                            clock_mhz,
                            logic,
                            block_rams: spec.estimate.bram_blocks.0,
                        };
                        specs.push((r, l, spec));
                        o
                    }
                }
                Err(e) => Outcome::Refused(e.to_string()),
            };
            candidates.push(Candidate {
                rows: r,
                lanes: l,
                outcome,
            });
        }
    }
    let Some(fastest) = candidates
        .iter()
        .filter_map(Candidate::latency_us)
        .min_by(f64::total_cmp)
    else {
        // Nothing fits: the smallest candidate's own error says why.
        let hw = HwConfig {
            rows: range(rows, &AUTO_ROWS)[0],
            lanes: range(lanes, &AUTO_LANES)[0],
            ..base.clone()
        };
        AcceleratorSpec::new(model, &hw)?;
        return Err(SpecError::Config(format!(
            "no configuration with rows {rows} and lanes {lanes} fits {} within {:.0} % of its logic",
            base.target,
            100.0 * LOGIC_HEADROOM
        )));
    };
    let limit = fastest * (1.0 + NOT_WORTH);
    let best = candidates
        .iter()
        .filter(|c| c.latency_us().is_some_and(|t| t <= limit))
        .min_by(|a, b| {
            // The smallest hardware: the fewest multiply-accumulates, then
            // the least logic (the most room for routing).
            a.macs()
                .cmp(&b.macs())
                .then(a.logic().total_cmp(&b.logic()))
        })
        .cloned()
        .ok_or_else(|| SpecError::Config("no fitting configuration".into()))?;
    let spec = specs
        .into_iter()
        .find(|(r, l, _)| (*r, *l) == (best.rows, best.lanes))
        .map(|(_, _, s)| s)
        .ok_or_else(|| SpecError::Config("the chosen configuration has no spec".into()))?;
    let why = explain(&best, &candidates, rows, lanes);
    Ok(AutoChoice {
        hw: spec.hw.clone(),
        spec,
        why,
        candidates,
    })
}

/// Why `best` is the choice: its figures, and what each knob's next step up
/// came to.
fn explain(best: &Candidate, all: &[Candidate], rows: Knob, lanes: Knob) -> String {
    let (cycles, clock, logic, brams) = match best.outcome {
        Outcome::Fits {
            cycles,
            clock_mhz,
            logic,
            block_rams,
        } => (cycles, clock_mhz, logic, block_rams),
        _ => return String::new(),
    };
    let us = frame_us(cycles, clock);
    let mut why = format!(
        "{} x {}: {cycles} cycles per frame at {} multiply-accumulates per cycle, {us:.2} us at an expected {clock:.1} MHz, an estimated {:.0} % of the part's logic, {brams} block RAMs",
        best.rows,
        best.lanes,
        best.macs(),
        100.0 * logic
    );
    let mut next = Vec::new();
    if rows == Knob::Auto {
        next.push((best.rows * 2, best.lanes));
    }
    if lanes == Knob::Auto {
        next.push((best.rows, best.lanes * 2));
    }
    let steps: Vec<String> = next
        .iter()
        .filter_map(|&(r, l)| all.iter().find(|c| (c.rows, c.lanes) == (r, l)))
        .map(|c| c.verdict(us))
        .collect();
    if steps.is_empty() {
        why.push_str("; the largest configuration searched");
    } else {
        why.push_str("; ");
        why.push_str(&steps.join("; "));
    }
    why
}
