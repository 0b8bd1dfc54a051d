//! Scalar quantizers: a vector of real weights into [`Values`] (codes plus the
//! [`ScalarCode`] that decodes them), for every scalar code the accelerator
//! runs.
//!
//! - Ternary (TWN, Li & Liu 2016): threshold `delta = 0.7 * mean|w|`; weights
//!   with `|w| > delta` keep their sign, the rest are 0; the scale is the power
//!   of two nearest (linearly, which minimises the squared error for the fixed
//!   codes) to the mean `|w|` above the threshold.
//! - Power of two (exponential quantization): `emax = round(log2 max|w|)`, the
//!   exponent of each weight is `round(log2 |w|)` (nearest in the log domain)
//!   clamped to `[emax - octaves + 1, emax]`; weights below half the smallest
//!   power, `2^(emin-1)`, become 0. Within the range the relative error of a
//!   weight is at most `2^0.5 - 1`.
//! - Codebook (soft weight-sharing's end point): 1-D k-means with entry 0
//!   fixed at zero and `J - 1` free means (Lloyd iterations on the sorted
//!   weights, where every cluster is a contiguous range), then the means are
//!   stored in `width` bits with the fraction chosen from the largest mean;
//!   optionally each mean is snapped to the nearest signed power of two in
//!   the log domain (a shift-add codebook). Entries that collide after
//!   rounding are merged and every weight is finally assigned to its nearest
//!   stored entry.
//!
//! Deterministic rounding is the default. The stochastic variants (Ott et al.
//! 2016) round up or down at random with the probabilities that make the
//! result unbiased inside the range: ternary `sign(w)` with probability
//! `min(|w| / 2^exp, 1)`, power of two `2^(e+1)` with probability
//! `|w| / 2^e - 1` (and `2^emin` with probability `|w| / 2^emin` below it).

use lstm_accel_model::encoding::scalar::{EXP_LIMIT, MAX_CODEBOOK, MAX_CODEBOOK_WIDTH};
use lstm_accel_model::encoding::{ScalarCode, Values};
use rand::{Rng, RngCore};
use serde::{Deserialize, Serialize};

/// Most octaves a power-of-two code may span (codes are i8, shifts <= 14).
pub const MAX_OCTAVES: u32 = 15;

/// Which scalar quantizer, with its parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ScalarSpec {
    /// `{-1, 0, +1} * 2^exp` (TWN threshold and scale).
    Ternary,
    /// `0, ±2^e` over `octaves` consecutive exponents.
    Pow2 {
        /// Number of exponents, 1..=15.
        octaves: u32,
    },
    /// Up to 16 shared values, entry 0 = 0.
    Codebook {
        /// Entries including the zero, 1..=16.
        entries: usize,
        /// Bits of each stored entry, 2..=16.
        width: u32,
        /// Snap every entry to a signed power of two (shift-add decode).
        #[serde(default)]
        pow2: bool,
    },
}

impl ScalarSpec {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            ScalarSpec::Ternary => Ok(()),
            ScalarSpec::Pow2 { octaves } => {
                if octaves == 0 || octaves > MAX_OCTAVES {
                    return Err(format!("pow2 octaves {octaves}, allowed 1..={MAX_OCTAVES}"));
                }
                Ok(())
            }
            ScalarSpec::Codebook { entries, width, .. } => {
                if entries == 0 || entries > MAX_CODEBOOK {
                    return Err(format!(
                        "codebook entries {entries}, allowed 1..={MAX_CODEBOOK}"
                    ));
                }
                if !(2..=MAX_CODEBOOK_WIDTH).contains(&width) {
                    return Err(format!(
                        "codebook width {width} bits, allowed 2..={MAX_CODEBOOK_WIDTH}"
                    ));
                }
                Ok(())
            }
        }
    }
}

/// Quantizes `w` as `spec` says; with `rng`, ternary and power-of-two use
/// stochastic rounding (codebooks are always deterministic).
pub fn quantize(
    w: &[f64],
    spec: &ScalarSpec,
    rng: Option<&mut (dyn RngCore + '_)>,
) -> Result<Values, String> {
    spec.validate()?;
    Ok(match (spec, rng) {
        (ScalarSpec::Ternary, None) => ternary(w),
        (ScalarSpec::Ternary, Some(r)) => ternary_stochastic(w, r),
        (ScalarSpec::Pow2 { octaves }, None) => pow2(w, *octaves)?,
        (ScalarSpec::Pow2 { octaves }, Some(r)) => pow2_stochastic(w, *octaves, r)?,
        (
            ScalarSpec::Codebook {
                entries,
                width,
                pow2,
            },
            _,
        ) => codebook(w, *entries, *width, *pow2)?,
    })
}

/// The real values of `v`.
pub fn decode(v: &Values) -> Vec<f64> {
    v.codes.iter().map(|&c| v.code.to_f64(c)).collect()
}

/// `floor(log2 x)` for finite `x > 0`, exact (no rounding of `log2`).
pub fn floor_log2(x: f64) -> i32 {
    let mut e = x.log2().floor() as i32;
    // log2 may be off by one ulp near powers of two.
    if 2f64.powi(e) > x {
        e -= 1;
    } else if 2f64.powi(e + 1) <= x {
        e += 1;
    }
    e
}

/// Exponent of the power of two linearly nearest to `x > 0`.
pub fn nearest_pow2_exp(x: f64) -> i32 {
    let e = floor_log2(x);
    if x > 1.5 * 2f64.powi(e) {
        e + 1
    } else {
        e
    }
}

/// Exponent of the power of two nearest to `x > 0` in the log domain
/// (`round(log2 x)`, the tie at `2^(e+0.5)` going up).
pub fn log_round_exp(x: f64) -> i32 {
    let e = floor_log2(x);
    if x >= std::f64::consts::SQRT_2 * 2f64.powi(e) {
        e + 1
    } else {
        e
    }
}

fn clamp_exp(e: i32) -> i32 {
    e.clamp(-EXP_LIMIT, EXP_LIMIT)
}

fn sign_code(x: f64, k: i8) -> i8 {
    if x < 0.0 {
        -k
    } else {
        k
    }
}

/// TWN threshold and the scale exponent of the weights above it; `None`
/// when every weight is zero.
pub fn ternary_params(w: &[f64]) -> (f64, Option<i32>) {
    if w.is_empty() {
        return (0.0, None);
    }
    let mean = w.iter().map(|x| x.abs()).sum::<f64>() / w.len() as f64;
    let delta = 0.7 * mean;
    let (sum, n) = w
        .iter()
        .filter(|x| x.abs() > delta)
        .fold((0.0, 0usize), |(s, n), x| (s + x.abs(), n + 1));
    if n == 0 || sum == 0.0 {
        return (delta, None);
    }
    (delta, Some(clamp_exp(nearest_pow2_exp(sum / n as f64))))
}

/// Deterministic ternary codes for a given threshold.
pub fn ternary_codes(w: &[f64], delta: f64) -> Vec<i8> {
    w.iter()
        .map(|&x| if x.abs() > delta { sign_code(x, 1) } else { 0 })
        .collect()
}

/// Ternary with TWN threshold and power-of-two scale.
pub fn ternary(w: &[f64]) -> Values {
    let (delta, exp) = ternary_params(w);
    Values {
        code: ScalarCode::Ternary {
            exp: exp.unwrap_or(0),
        },
        codes: ternary_codes(w, delta),
    }
}

/// Ternary with the TWN scale `s = 2^exp` and stochastic rounding: `sign(w)`
/// with probability `min(|w| / s, 1)`, else 0 (unbiased for `|w| <= s`).
pub fn ternary_stochastic(w: &[f64], rng: &mut dyn RngCore) -> Values {
    let (_, exp) = ternary_params(w);
    let exp = exp.unwrap_or(0);
    let s = 2f64.powi(exp);
    let codes = w
        .iter()
        .map(|&x| {
            let p = (x.abs() / s).min(1.0);
            if x != 0.0 && rng.random::<f64>() < p {
                sign_code(x, 1)
            } else {
                0
            }
        })
        .collect();
    Values {
        code: ScalarCode::Ternary { exp },
        codes,
    }
}

/// The exponent range `(emin, emax)` of a power-of-two code for `w`.
pub fn pow2_range(w: &[f64], octaves: u32) -> (i32, i32) {
    let o = octaves.clamp(1, MAX_OCTAVES) as i32;
    let m = w.iter().fold(0f64, |m, x| m.max(x.abs()));
    let emax = if m > 0.0 { log_round_exp(m) } else { 0 };
    let emax = emax.clamp(o - 1 - EXP_LIMIT, EXP_LIMIT);
    (emax - o + 1, emax)
}

fn check_octaves(octaves: u32) -> Result<(), String> {
    ScalarSpec::Pow2 { octaves }.validate()
}

/// Power-of-two codes, exponents rounded in the log domain.
pub fn pow2(w: &[f64], octaves: u32) -> Result<Values, String> {
    check_octaves(octaves)?;
    let (emin, emax) = pow2_range(w, octaves);
    let half_smallest = 2f64.powi(emin - 1);
    let codes = w
        .iter()
        .map(|&x| {
            if x == 0.0 || x.abs() < half_smallest {
                0
            } else {
                let e = log_round_exp(x.abs()).clamp(emin, emax);
                sign_code(x, (e - emin + 1) as i8)
            }
        })
        .collect();
    Ok(Values {
        code: ScalarCode::Pow2 { emin, emax },
        codes,
    })
}

/// Power-of-two codes with stochastic rounding between the two neighbouring
/// powers (linear probabilities, unbiased inside the range).
pub fn pow2_stochastic(w: &[f64], octaves: u32, rng: &mut dyn RngCore) -> Result<Values, String> {
    check_octaves(octaves)?;
    let (emin, emax) = pow2_range(w, octaves);
    let codes = w
        .iter()
        .map(|&x| {
            let a = x.abs();
            if a == 0.0 {
                return 0;
            }
            let e = if a < 2f64.powi(emin) {
                if rng.random::<f64>() < a / 2f64.powi(emin) {
                    emin
                } else {
                    return 0;
                }
            } else {
                let lo = floor_log2(a).min(emax);
                if lo < emax && rng.random::<f64>() < a / 2f64.powi(lo) - 1.0 {
                    lo + 1
                } else {
                    lo
                }
            };
            sign_code(x, (e - emin + 1) as i8)
        })
        .collect();
    Ok(Values {
        code: ScalarCode::Pow2 { emin, emax },
        codes,
    })
}

/// 1-D k-means of `sorted` (ascending) with one centre fixed at 0 and
/// `free` others; returns the free centres.
pub fn kmeans_zero(sorted: &[f64], free: usize) -> Vec<f64> {
    let n = sorted.len();
    if n == 0 || free == 0 {
        return Vec::new();
    }
    let mut prefix = Vec::with_capacity(n + 1);
    prefix.push(0.0);
    for &x in sorted {
        prefix.push(prefix[prefix.len() - 1] + x);
    }
    // Quantile initialisation.
    let mut c: Vec<f64> = (0..free)
        .map(|j| sorted[(((j as f64 + 0.5) / free as f64) * n as f64) as usize % n])
        .collect();
    for _ in 0..100 {
        let mut all: Vec<(f64, Option<usize>)> =
            c.iter().enumerate().map(|(j, &v)| (v, Some(j))).collect();
        all.push((0.0, None));
        all.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut next = c.clone();
        for (i, &(v, who)) in all.iter().enumerate() {
            let Some(j) = who else { continue };
            let lo_b = if i == 0 {
                f64::NEG_INFINITY
            } else {
                0.5 * (all[i - 1].0 + v)
            };
            let hi_b = if i + 1 == all.len() {
                f64::INFINITY
            } else {
                0.5 * (v + all[i + 1].0)
            };
            let lo = sorted.partition_point(|&x| x < lo_b);
            let hi = sorted.partition_point(|&x| x < hi_b);
            if hi > lo {
                next[j] = (prefix[hi] - prefix[lo]) / (hi - lo) as f64;
            }
        }
        let moved = next
            .iter()
            .zip(&c)
            .any(|(a, b)| (a - b).abs() > 1e-12 * a.abs().max(b.abs()).max(f64::MIN_POSITIVE));
        c = next;
        if !moved {
            break;
        }
    }
    c
}

/// Codebook of `entries` values (entry 0 = 0) stored in `width` bits.
pub fn codebook(w: &[f64], entries: usize, width: u32, pow2: bool) -> Result<Values, String> {
    ScalarSpec::Codebook {
        entries,
        width,
        pow2,
    }
    .validate()?;
    let mut sorted: Vec<f64> = w.to_vec();
    sorted.sort_by(f64::total_cmp);
    // Weights that already take few values (soft weight-sharing's snapped
    // ones) keep them exactly; k-means could merge a small cluster.
    let mut distinct: Vec<f64> = sorted.iter().copied().filter(|&x| x != 0.0).collect();
    distinct.dedup();
    let means = if distinct.len() < entries {
        distinct
    } else {
        kmeans_zero(&sorted, entries - 1)
    };
    let m = means.iter().fold(0f64, |m, x| m.max(x.abs()));
    let lim = 1i64 << (width - 1);
    let mut raws: Vec<i32> = Vec::new();
    let frac = if m == 0.0 {
        0
    } else if pow2 {
        (width as i32 - 2 - log_round_exp(m)).clamp(-EXP_LIMIT, EXP_LIMIT)
    } else {
        // Smallest e with m <= 2^e.
        let e = floor_log2(m) + i32::from(2f64.powi(floor_log2(m)) < m);
        (width as i32 - 1 - e).clamp(-EXP_LIMIT, EXP_LIMIT)
    };
    let scale = 2f64.powi(frac);
    for &c in &means {
        let r = if pow2 {
            let a = c.abs() * scale;
            if a == 0.0 {
                continue;
            }
            let k = log_round_exp(a).clamp(0, width as i32 - 2);
            if c < 0.0 {
                -(1i64 << k)
            } else {
                1i64 << k
            }
        } else {
            ((c * scale).round() as i64).clamp(-lim, lim - 1)
        };
        if r != 0 {
            raws.push(r as i32);
        }
    }
    raws.sort_unstable();
    raws.dedup();
    let mut values = vec![0i32];
    values.extend(raws);
    // Nearest entry for every weight.
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by_key(|&i| values[i]);
    let real: Vec<f64> = order
        .iter()
        .map(|&i| f64::from(values[i]) / scale)
        .collect();
    let codes = w
        .iter()
        .map(|&x| {
            let p = real.partition_point(|&v| v < x);
            let best = if p == 0 {
                0
            } else if p == real.len() || x - real[p - 1] <= real[p] - x {
                p - 1
            } else {
                p
            };
            order[best] as i8
        })
        .collect();
    Ok(Values {
        code: ScalarCode::Codebook {
            width,
            frac,
            values,
            pow2,
        },
        codes,
    })
}
