//! Shrinking a failing case to a small reproducer, keeping its design (so
//! that every attempt reuses the engines already built): greedy
//! first-improvement over simplifications, each kept only if the case still
//! fails: drop a sequence, cut a sequence to its first half, drop its last
//! or first frame, turn the stalls off, set a frame's values to zero, set a
//! weight vector's codes to the zero code (code 0 decodes to 0 in every
//! scalar code: ternary, power-of-two, and codebooks, whose entry 0 is 0),
//! set a bias vector to zero. It stops when no simplification fails or the
//! attempt budget is spent.

use super::cases::Case;
use lstm_accel_model::random::{biases_mut, weight_values_mut};

/// The smallest failing case found, with its failure and the effort.
#[derive(Clone, Debug)]
pub struct Shrunk {
    /// The case.
    pub case: Case,
    /// Its failure.
    pub failure: String,
    /// Cases tried.
    pub attempts: usize,
}

/// Every one-step simplification of `c`, smallest changes to the input
/// first (they cost the least to run).
fn candidates(c: &Case) -> Vec<Case> {
    let mut out = Vec::new();
    let with = |f: &dyn Fn(&mut Case)| {
        let mut n = c.clone();
        f(&mut n);
        n
    };
    for s in 0..c.sequences.len() {
        if c.sequences.len() > 1 {
            out.push(with(&|n| {
                n.sequences.remove(s);
            }));
        }
        let len = c.sequences[s].len();
        if len > 1 {
            out.push(with(&|n| n.sequences[s].truncate(len.div_ceil(2))));
            out.push(with(&|n| {
                n.sequences[s].pop();
            }));
            out.push(with(&|n| {
                n.sequences[s].remove(0);
            }));
        }
    }
    if c.stalls {
        out.push(with(&|n| n.stalls = false));
    }
    for s in 0..c.sequences.len() {
        for f in 0..c.sequences[s].len() {
            if c.sequences[s][f].iter().any(|&v| v != 0) {
                out.push(with(&|n| n.sequences[s][f].iter_mut().for_each(|v| *v = 0)));
            }
        }
    }
    let mut model = c.model.clone();
    let weights = weight_values_mut(&mut model).len();
    let biases = biases_mut(&mut model).len();
    for i in 0..weights {
        let mut n = c.clone();
        let v = weight_values_mut(&mut n.model).swap_remove(i);
        if v.codes.iter().any(|&x| x != 0) {
            v.codes.iter_mut().for_each(|x| *x = 0);
            out.push(n);
        }
    }
    for i in 0..biases {
        let mut n = c.clone();
        let b = biases_mut(&mut n.model).swap_remove(i);
        if b.values.iter().any(|&x| x != 0) {
            b.values.iter_mut().for_each(|x| *x = 0);
            out.push(n);
        }
    }
    out
}

/// Shrinks `case`, which fails with `failure`; `fails` runs a candidate and
/// returns its failure, if any. At most `budget` candidates are run.
pub fn shrink(
    case: &Case,
    failure: String,
    budget: usize,
    mut fails: impl FnMut(&Case) -> Option<String>,
) -> Shrunk {
    let mut best = Shrunk {
        case: case.clone(),
        failure,
        attempts: 0,
    };
    'outer: while best.attempts < budget {
        for cand in candidates(&best.case) {
            if best.attempts >= budget {
                break 'outer;
            }
            best.attempts += 1;
            if let Some(f) = fails(&cand) {
                best.case = cand;
                best.failure = f;
                continue 'outer;
            }
        }
        break;
    }
    best
}
