//! Seeded random cases for differential testing: a model of any encoding
//! the generator builds (dense ternary, power-of-two and codebook matrices
//! with and without row shifts, block-Toeplitz, block-circulant,
//! Toeplitz-like and low-rank matrices, projections, LightRNN heads; one
//! to three layers of 1 to 12 cells, 1 to 20 inputs, formats from 4 to 16
//! bits drawn per layer), the lanes it runs on, and input sequences that
//! include saturating and adversarial frames.
//!
//! A *design* is the hardware of one drawn model; a *case* is a design with
//! its own weights ([`random::redraw_weights`]: same structure, so the
//! same generated Verilog) and inputs. Many cases thus share one Verilator
//! or Icarus build.

use lstm_accel_model::encoding::Matrix;
use lstm_accel_model::random::{self, MatrixKind, ModelShape, ScalarKind};
use lstm_accel_model::Model;
use lstm_accel_spec::spec::{AcceleratorSpec, HwConfig};
use lstm_accel_spec::Target;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// A random model of the kinds the spine tests run: 1 to 3 layers, dense ternary
/// and power-of-two weights mixed (with and without row scales), formats
/// drawn per layer, extreme weights in half the cases, power-of-two
/// codebooks in a quarter and general ones in another, a LightRNN head in a
/// third of them.
pub fn random_case(seed: u64) -> (Model, HwConfig) {
    // A quarter of the models also draw power-of-two codebooks (shift-add
    // lanes), a quarter general codebooks (multiplier lanes).
    let kinds = match seed % 4 {
        0 => vec![ScalarKind::Ternary, ScalarKind::Pow2, ScalarKind::Codebook],
        2 => vec![
            ScalarKind::Ternary,
            ScalarKind::Pow2,
            ScalarKind::CodebookPow2,
        ],
        _ => vec![ScalarKind::Ternary, ScalarKind::Pow2],
    };
    // A third of the models have a LightRNN head, a fifth projected layers,
    // a seventh low-rank matrices.
    let mut mix = Mix::of(kinds);
    mix.light_rnn = seed % 3 == 1;
    mix.projections = seed % 5 == 2;
    mix.low_rank = seed % 7 == 3;
    case_of(seed, mix)
}

/// What a random case draws from.
#[derive(Clone)]
pub struct Mix {
    /// Scalar codes the matrices draw from.
    pub kinds: Vec<ScalarKind>,
    /// A LightRNN head.
    pub light_rnn: bool,
    /// Projected layers (at least one).
    pub projections: bool,
    /// Low-rank matrices (at least one).
    pub low_rank: bool,
    /// Block-Toeplitz and block-circulant matrices (at least one).
    pub structured: bool,
    /// Toeplitz-like matrices (at least one).
    pub toeplitz_like: bool,
}

impl Mix {
    /// Only `kinds`, nothing else.
    pub fn of(kinds: Vec<ScalarKind>) -> Mix {
        Mix {
            kinds,
            light_rnn: false,
            projections: false,
            low_rank: false,
            structured: false,
            toeplitz_like: false,
        }
    }
}

/// The block sizes of a model's block-Toeplitz and block-circulant matrices.
pub fn blocks(m: &Model) -> Vec<usize> {
    m.matrices()
        .iter()
        .filter_map(|(_, x)| match x {
            Matrix::BlockToeplitz(b) | Matrix::BlockCirculant(b) => Some(b.block),
            _ => None,
        })
        .collect()
}

/// The block sizes of a model's Toeplitz-like matrices.
pub fn tl_blocks(m: &Model) -> Vec<usize> {
    m.matrices()
        .iter()
        .filter_map(|(_, x)| match x {
            Matrix::ToeplitzLike(t) => Some(t.block),
            _ => None,
        })
        .collect()
}

/// Whether a model has a low-rank matrix.
pub fn has_low_rank(m: &Model) -> bool {
    m.matrices()
        .iter()
        .any(|(_, x)| matches!(x, Matrix::LowRank(_)))
}

/// A random model whose matrices draw from `mix.kinds`, with a LightRNN
/// head when `light_rnn`; with `projections`, each layer has a projection
/// (smaller or larger than its cells) with probability 2/3, at least one;
/// with `low_rank`, matrices are low-rank `U V` or dense, at least one
/// low-rank; with `structured`, block-Toeplitz, block-circulant or dense, at
/// least one structured, on lanes that divide every block size or are a
/// multiple of it.
pub fn case_of(seed: u64, mix: Mix) -> (Model, HwConfig) {
    let mut r = random::rng(seed);
    let Mix {
        kinds,
        light_rnn,
        projections,
        low_rank,
        structured,
        toeplitz_like,
    } = mix;
    let layers = r.random_range(1..=3);
    let input = r.random_range(1..=20);
    let hidden: Vec<usize> = (0..layers).map(|_| r.random_range(1..=12)).collect();
    let mut projection = vec![None; layers];
    let matrix_kinds = if toeplitz_like {
        vec![
            MatrixKind::ToeplitzLike,
            MatrixKind::ToeplitzLike,
            MatrixKind::Dense,
            MatrixKind::BlockCirculant,
        ]
    } else if low_rank && structured {
        vec![
            MatrixKind::LowRank,
            MatrixKind::BlockToeplitz,
            MatrixKind::BlockCirculant,
            MatrixKind::Dense,
        ]
    } else if structured {
        vec![
            MatrixKind::BlockToeplitz,
            MatrixKind::BlockCirculant,
            MatrixKind::DensePerRow,
        ]
    } else if low_rank {
        vec![MatrixKind::LowRank, MatrixKind::Dense, MatrixKind::LowRank]
    } else {
        vec![MatrixKind::Dense, MatrixKind::DensePerRow]
    };
    if projections {
        let first = r.random_range(0..layers);
        for (l, p) in projection.iter_mut().enumerate() {
            if l == first || r.random_bool(2.0 / 3.0) {
                *p = Some(r.random_range(1..=12));
            }
        }
    }
    let shape = ModelShape {
        input,
        hidden,
        projection,
        classes: r.random_range(2..=9),
        light_rnn,
        matrix_kinds,
        scalar_kinds: kinds,
        extreme: r.random_bool(0.5),
        data_width: None,
    };
    // Half the designs have several row engines: those whose model's
    // structured matrices allow none (a row group must lie in one block
    // row) are drawn again, a few times, so that structured designs have
    // row engines too.
    let want_rows = r.random_bool(0.5);
    let mut tries = 0;
    let (m, lanes, rows) = loop {
        let m = random::model(&mut r, &shape);
        if (low_rank && !has_low_rank(&m))
            || (structured && blocks(&m).is_empty())
            || (toeplitz_like && tl_blocks(&m).is_empty())
        {
            continue;
        }
        let mut lanes = [1, 2, 3, 4, 8, 16][r.random_range(0..6)];
        if structured || toeplitz_like {
            // Lanes that suit every block size (1 always does): dividing it
            // or a multiple of it, dividing it for a Toeplitz-like one.
            let fits: Vec<usize> = [1, 2, 3, 4, 8, 16]
                .into_iter()
                .filter(|&l| blocks(&m).iter().all(|&k| k % l == 0 || l % k == 0))
                .filter(|&l| tl_blocks(&m).iter().all(|&k| k % l == 0))
                .collect();
            lanes = fits[r.random_range(0..fits.len())];
        }
        if !want_rows {
            break (m, lanes, 1);
        }
        // Up to four engines take the shared inputs from their source; more
        // take them through the fan-out tree's group registers.
        let fits: Vec<usize> = [2, 3, 4, 5, 6, 8]
            .into_iter()
            .filter(|&rows| {
                let hw = HwConfig {
                    rows,
                    ..HwConfig::on(lanes, Target::Generic)
                };
                AcceleratorSpec::new(&m, &hw).is_ok()
            })
            .collect();
        tries += 1;
        match fits.len() {
            0 if tries < 40 => continue,
            0 => break (m, lanes, 1),
            n => break (m, lanes, fits[r.random_range(0..n)]),
        }
    };
    // With one row engine, a third of the designs have a time-multiplexed
    // gate unit (the sigmoids on one or two activation blocks). Drawn last,
    // so the models and lanes of a seed are those drawn before it existed.
    let activation_units = if rows == 1 && r.random_range(0..3) == 0 {
        [3, 4][r.random_range(0..2)]
    } else {
        5
    };
    let hw = HwConfig {
        rows,
        activation_units,
        ..HwConfig::on(lanes, Target::Generic)
    };
    (m, hw)
}

/// The encoding families a differential run rotates through, each a mix of
/// what its models draw from; the last, `mixed`, is [`random_case`]'s own
/// rotation (dense ternary and power-of-two matrices with codebooks, heads,
/// projections and low-rank matrices in some seeds).
pub fn encodings() -> Vec<(&'static str, Option<Mix>)> {
    let tp = || Mix::of(vec![ScalarKind::Ternary, ScalarKind::Pow2]);
    vec![
        (
            "power-of-two codebooks",
            Some(Mix::of(vec![ScalarKind::CodebookPow2])),
        ),
        (
            "general codebooks",
            Some(Mix::of(vec![ScalarKind::Codebook])),
        ),
        (
            "LightRNN head",
            Some(Mix {
                light_rnn: true,
                ..tp()
            }),
        ),
        (
            "shared projections",
            Some(Mix {
                projections: true,
                ..tp()
            }),
        ),
        (
            "low-rank matrices",
            Some(Mix {
                low_rank: true,
                ..tp()
            }),
        ),
        (
            "block-Toeplitz and block-circulant matrices",
            Some(Mix {
                structured: true,
                ..tp()
            }),
        ),
        (
            "block-structured with codebooks",
            Some(Mix {
                structured: true,
                ..Mix::of(vec![ScalarKind::CodebookPow2, ScalarKind::Codebook])
            }),
        ),
        (
            "Toeplitz-like matrices",
            Some(Mix {
                toeplitz_like: true,
                projections: true,
                ..tp()
            }),
        ),
        (
            "hybrid: low-rank and projected layers, codebooks, LightRNN",
            Some(Mix {
                light_rnn: true,
                projections: true,
                low_rank: true,
                structured: false,
                toeplitz_like: false,
                kinds: vec![
                    ScalarKind::Ternary,
                    ScalarKind::CodebookPow2,
                    ScalarKind::Codebook,
                ],
            }),
        ),
        ("mixed", None),
    ]
}

/// One drawn design: a model (its weights are the first case's) and the
/// hardware it runs on.
#[derive(Clone, Debug)]
pub struct Design {
    /// The design's seed.
    pub seed: u64,
    /// Its encoding family (see [`encodings`]).
    pub encoding: &'static str,
    /// The model it was drawn from.
    pub model: Model,
    /// Lanes and target.
    pub hw: HwConfig,
}

/// The design of `seed`: family `seed % encodings().len()`.
pub fn design(seed: u64) -> Design {
    let all = encodings();
    let (encoding, mix) = all[(seed % all.len() as u64) as usize].clone();
    let (model, hw) = match mix {
        Some(mix) => case_of(seed, mix),
        None => random_case(seed),
    };
    Design {
        seed,
        encoding,
        model,
        hw,
    }
}

/// One differential case: a design's model with its own weights, the lanes
/// it runs on, its input sequences (each from a reset) and its stalls.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Case {
    /// The design's seed.
    pub design: u64,
    /// The case's seed.
    pub seed: u64,
    /// The model (the design's structure, the case's weights).
    pub model: Model,
    /// Lanes.
    pub lanes: usize,
    /// Row engines.
    #[serde(default = "one")]
    pub rows: usize,
    /// Activation blocks of the gate unit.
    #[serde(default = "five")]
    pub activation_units: usize,
    /// Input sequences of raw frames.
    pub sequences: Vec<Vec<Vec<i32>>>,
    /// Random stalls on both streams (the `simulate --stalls` pattern of
    /// this seed).
    pub stalls: bool,
}

impl Case {
    /// The hardware configuration.
    pub fn hw(&self) -> HwConfig {
        HwConfig {
            rows: self.rows,
            activation_units: self.activation_units,
            ..HwConfig::on(self.lanes, Target::Generic)
        }
    }

    /// Frames in all sequences.
    pub fn frames(&self) -> usize {
        self.sequences.iter().map(Vec::len).sum()
    }
}

/// Case `seed` of `design`: new weights (the design's own for seed 0), one
/// or two sequences of one to five frames (short: the frame counter, the
/// state carried over and a reset in between are what several frames
/// test; many cases test more than long ones), stalls in half the cases.
/// Frames are uniform, or half at the input format's limits, or
/// adversarial: every value the most negative, every value the largest, or
/// alternating between the two.
pub fn case(design: &Design, seed: u64) -> Case {
    let mut r = random::rng(design.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ seed);
    let mut model = design.model.clone();
    if seed != 0 {
        let extreme = r.random_bool(0.25);
        random::redraw_weights(&mut r, &mut model, extreme);
    }
    let fmt = model.input.format;
    let (lo, hi) = (fmt.min_raw() as i32, fmt.max_raw() as i32);
    let sequences = (0..r.random_range(1..=2))
        .map(|_| {
            let n = r.random_range(1..=5);
            match r.random_range(0..5) {
                0 => random::frames(&mut r, &model, n, 0.0),
                1 | 2 => random::frames(&mut r, &model, n, 0.5),
                3 => {
                    let v = if r.random_bool(0.5) { lo } else { hi };
                    vec![vec![v; model.input.size]; n]
                }
                _ => (0..n)
                    .map(|f| {
                        (0..model.input.size)
                            .map(|i| if (i + f) % 2 == 0 { lo } else { hi })
                            .collect()
                    })
                    .collect(),
            }
        })
        .collect();
    Case {
        design: design.seed,
        seed,
        model,
        lanes: design.hw.lanes,
        rows: design.hw.rows,
        activation_units: design.hw.activation_units,
        sequences,
        stalls: r.random_bool(0.5),
    }
}

fn one() -> usize {
    1
}

fn five() -> usize {
    5
}
