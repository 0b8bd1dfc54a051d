//! Scalar quantizers: each decodes close to its input with an error bound
//! derived from the method, exact where the input is already representable,
//! unbiased when stochastic, and deterministic otherwise.

mod common;

use common::{f64s, gaussian, rel, rng};
use lstm_accel_compress::scalar::{self, ScalarSpec};
use lstm_accel_compress::{quantize_matrix, MatrixSpec, Structure};
use lstm_accel_model::encoding::{Matrix, ScalarCode};

fn sample(seed: u64) -> Vec<f64> {
    f64s(&gaussian(&mut rng(seed), 64, 64, 0.1))
}

#[test]
fn ternary_follows_twn_with_a_near_power_of_two_scale() {
    let w = sample(1);
    let v = scalar::ternary(&w);
    let d = scalar::decode(&v);
    let mean = w.iter().map(|x| x.abs()).sum::<f64>() / w.len() as f64;
    let delta = 0.7 * mean;
    let above: Vec<f64> = w.iter().map(|x| x.abs()).filter(|&a| a > delta).collect();
    let alpha = above.iter().sum::<f64>() / above.len() as f64;
    let ScalarCode::Ternary { exp } = v.code else {
        panic!("not ternary")
    };
    let s = 2f64.powi(exp);
    // The linearly nearest power of two is within a third of alpha.
    assert!((s - alpha).abs() <= alpha / 3.0, "scale {s} alpha {alpha}");
    for (&x, &y) in w.iter().zip(&d) {
        if x.abs() > delta {
            assert_eq!(y, s * x.signum());
            assert!((x - y).abs() <= (x.abs() - alpha).abs() + alpha / 3.0 + 1e-12);
        } else {
            assert_eq!(y, 0.0);
        }
    }
    let e = rel(&w, &d);
    println!(
        "ternary (TWN, pow2 scale): relative error of a Gaussian 64x64 = {e:.3} (ideal TWN ~0.44)"
    );
    assert!(e < 0.5, "{e}");
}

#[test]
fn pow2_error_per_weight_is_at_most_sqrt2_minus_1_in_range() {
    let w = sample(2);
    for octaves in [4, 8, 15] {
        let v = scalar::pow2(&w, octaves).unwrap();
        let ScalarCode::Pow2 { emin, emax } = v.code else {
            panic!("not pow2")
        };
        assert_eq!(emax - emin + 1, octaves as i32);
        let d = scalar::decode(&v);
        let lo = 2f64.powi(emin);
        let mut worst = 0f64;
        for (&x, &y) in w.iter().zip(&d) {
            if x.abs() >= lo {
                let r = (x - y).abs() / x.abs();
                worst = worst.max(r);
                assert!(r <= std::f64::consts::SQRT_2 - 1.0 + 1e-12, "{x} -> {y}");
            } else if x.abs() < lo / 2.0 {
                assert_eq!(y, 0.0);
            } else {
                assert_eq!(y.abs(), lo);
            }
        }
        let e = rel(&w, &d);
        println!(
            "pow2 {octaves} octaves: relative error of a Gaussian 64x64 = {e:.3}, worst in-range weight {worst:.3} (bound 0.414)"
        );
        assert!(e < 0.25, "{e}");
    }
}

#[test]
fn codebook_assigns_every_weight_to_its_nearest_entry() {
    let w = sample(3);
    for (entries, width, pow2, bound) in [
        (16, 8, false, 0.12),
        (4, 8, false, 0.45),
        (16, 8, true, 0.25),
        (2, 4, false, 0.95),
    ] {
        let v = scalar::codebook(&w, entries, width, pow2).unwrap();
        v.validate(w.len()).unwrap();
        let ScalarCode::Codebook { values, frac, .. } = &v.code else {
            panic!("not a codebook")
        };
        assert_eq!(values[0], 0);
        assert!(values.len() <= entries);
        let real: Vec<f64> = values
            .iter()
            .map(|&x| f64::from(x) * 2f64.powi(-frac))
            .collect();
        let d = scalar::decode(&v);
        for (&x, &y) in w.iter().zip(&d) {
            let best = real
                .iter()
                .map(|e| (x - e).abs())
                .fold(f64::INFINITY, f64::min);
            assert!(
                (x - y).abs() <= best + 1e-15,
                "{x} -> {y}, nearest is {best} away"
            );
        }
        let e = rel(&w, &d);
        println!(
            "codebook J={entries} width={width} pow2={pow2}: {} entries, relative error of a Gaussian 64x64 = {e:.3}",
            values.len()
        );
        assert!(e < bound, "{e}");
    }
}

#[test]
fn representable_weights_are_recovered_exactly() {
    let mut r = rng(4);
    use rand::Rng;
    // Powers of two within 6 octaves, some zeros.
    let w: Vec<f64> = (0..500)
        .map(|_| {
            let k = r.random_range(-6..=0);
            let s = if r.random_bool(0.5) { -1.0 } else { 1.0 };
            if k == -6 {
                0.0
            } else {
                s * 2f64.powi(k)
            }
        })
        .collect();
    assert_eq!(scalar::decode(&scalar::pow2(&w, 6).unwrap()), w);
    // Ternary with a power-of-two scale.
    let t: Vec<f64> = w
        .iter()
        .map(|x| x.signum() * 0.25 * f64::from(u8::from(*x != 0.0)))
        .collect();
    assert_eq!(scalar::decode(&scalar::ternary(&t)), t);
    // At most 15 distinct values that fit 8 bits.
    let c: Vec<f64> = (0..500).map(|i| f64::from(i % 15 - 7) / 64.0).collect();
    assert_eq!(
        scalar::decode(&scalar::codebook(&c, 16, 8, false).unwrap()),
        c
    );
}

#[test]
fn stochastic_rounding_is_unbiased_in_range() {
    let n = 20_000;
    // Ternary: scale 1 (from the 1.0 half); 0.3 becomes 1 with probability 0.3.
    let mut w = vec![0.3; n];
    w.extend(vec![1.0; n]);
    let v = scalar::ternary_stochastic(&w, &mut rng(5));
    assert_eq!(v.code, ScalarCode::Ternary { exp: 0 });
    let d = scalar::decode(&v);
    let mean = d[..n].iter().sum::<f64>() / n as f64;
    println!("stochastic ternary: mean of 0.3 -> {mean:.4}");
    assert!((mean - 0.3).abs() < 0.015, "{mean}");
    // Power of two: 0.375 lies between 0.25 and 0.5, rounded up half the time.
    let mut w = vec![-0.375; n];
    w.extend(vec![1.0; n]);
    let d = scalar::decode(&scalar::pow2_stochastic(&w, 4, &mut rng(6)).unwrap());
    let mean = d[..n].iter().sum::<f64>() / n as f64;
    println!("stochastic pow2: mean of -0.375 -> {mean:.4}");
    assert!((mean + 0.375).abs() < 0.01, "{mean}");
    assert!(d[..n].iter().all(|&x| x == -0.25 || x == -0.5));
    // Seeded: the same seed gives the same codes.
    let a = scalar::pow2_stochastic(&w, 4, &mut rng(7)).unwrap();
    let b = scalar::pow2_stochastic(&w, 4, &mut rng(7)).unwrap();
    assert_eq!(a, b);
}

#[test]
fn per_row_ternary_scales_each_row() {
    let mut m = gaussian(&mut rng(8), 16, 32, 0.1);
    // Rows of very different magnitudes.
    for r in 0..16 {
        let s = 2f32.powi(r as i32 % 5 - 2);
        m.data[r * 32..(r + 1) * 32]
            .iter_mut()
            .for_each(|x| *x *= s);
    }
    let spec = |per_row| MatrixSpec {
        structure: Structure::Dense { per_row },
        scalar: ScalarSpec::Ternary,
    };
    let a = quantize_matrix(&m, &spec(true)).unwrap();
    let b = quantize_matrix(&m, &spec(false)).unwrap();
    let Matrix::Dense(d) = &a else {
        panic!("dense")
    };
    assert!(d.row_exp.is_some());
    let (ea, eb) = (
        lstm_accel_compress::relative_error(&m, &a),
        lstm_accel_compress::relative_error(&m, &b),
    );
    println!("ternary on rows scaled 2^-2..2^2: per-row {ea:.3}, one scale {eb:.3}");
    assert!(ea < 0.5 && ea < eb, "{ea} {eb}");
    // Per-row pow2 and codebook too.
    for s in [
        ScalarSpec::Pow2 { octaves: 6 },
        ScalarSpec::Codebook {
            entries: 16,
            width: 8,
            pow2: false,
        },
    ] {
        let q = quantize_matrix(
            &m,
            &MatrixSpec {
                structure: Structure::Dense { per_row: true },
                scalar: s.clone(),
            },
        )
        .unwrap();
        let e = lstm_accel_compress::relative_error(&m, &q);
        println!("per-row {s:?}: {e:.3}");
        assert!(e < 0.3, "{e}");
    }
}

#[test]
fn bad_parameters_are_refused_with_a_reason() {
    let w = sample(9);
    assert!(scalar::pow2(&w, 0).unwrap_err().contains("octaves"));
    assert!(scalar::pow2(&w, 16).unwrap_err().contains("octaves"));
    assert!(scalar::codebook(&w, 17, 8, false)
        .unwrap_err()
        .contains("entries"));
    assert!(scalar::codebook(&w, 4, 1, false)
        .unwrap_err()
        .contains("width"));
    // All zeros quantize to zeros with every method.
    let z = vec![0.0; 10];
    for s in [
        ScalarSpec::Ternary,
        ScalarSpec::Pow2 { octaves: 3 },
        ScalarSpec::Codebook {
            entries: 4,
            width: 6,
            pow2: true,
        },
    ] {
        let v = scalar::quantize(&z, &s, None).unwrap();
        v.validate(10).unwrap();
        assert_eq!(scalar::decode(&v), z);
    }
}

/// Weights that take fewer distinct values than the codebook has entries
/// (a snapped, shared-weight matrix) keep exactly those values, however
/// unbalanced their counts: k-means would merge a rare cluster.
#[test]
fn a_codebook_keeps_few_distinct_values_exactly() {
    let mut w = vec![0.0; 50];
    w.extend(vec![0.375; 1000]);
    w.extend(vec![-0.75; 5]);
    w.extend(vec![0.875; 5]);
    let v = scalar::codebook(&w, 4, 8, false).expect("codebook");
    assert_eq!(scalar::decode(&v), w);
}
