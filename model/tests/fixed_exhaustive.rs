//! Exhaustive checks of the fixed-point primitives against plain i128
//! arithmetic written independently (floor division and explicit tie rules),
//! for every format width up to 10 bits, every value, every shift and every
//! rounding mode.

use lstm_accel_model::fixed::{
    pow2_mul, requantize, rescale, shift_round, signed_bits, ternary_mul, Bound, Format, Rounding,
};

/// `v / 2^s` rounded, by rational arithmetic.
fn div_round(v: i128, s: u32, mode: Rounding) -> i128 {
    let d = 1i128 << s;
    let q = v.div_euclid(d);
    let r = v.rem_euclid(d);
    match mode {
        Rounding::Floor => q,
        Rounding::HalfUp => {
            if 2 * r >= d {
                q + 1
            } else {
                q
            }
        }
        Rounding::HalfEven => {
            if 2 * r > d || (2 * r == d && q % 2 != 0) {
                q + 1
            } else {
                q
            }
        }
    }
}

fn clamp_to(v: i128, f: Format) -> i64 {
    let lo = -(1i128 << (f.width - 1));
    let hi = (1i128 << (f.width - 1)) - 1;
    v.clamp(lo, hi) as i64
}

#[test]
fn shift_round_every_value_width_up_to_10_every_shift() {
    let mut checked = 0u64;
    for width in 1..=10u32 {
        let lo = -(1i64 << (width - 1));
        let hi = (1i64 << (width - 1)) - 1;
        for v in lo..=hi {
            for s in 0..=(width + 2) {
                for mode in Rounding::ALL {
                    assert_eq!(
                        i128::from(shift_round(v, s, mode)),
                        div_round(i128::from(v), s, mode),
                        "shift_round({v}, {s}, {mode})"
                    );
                    checked += 1;
                }
            }
        }
    }
    println!("shift_round: {checked} cases exact");
}

#[test]
fn shift_round_extreme_values_and_shifts() {
    for v in [
        i64::MIN,
        i64::MIN + 1,
        -1,
        0,
        1,
        i64::MAX,
        i64::MIN / 2,
        i64::MAX / 3 * 2,
    ] {
        for s in [1, 30, 61, 62, 63, 64, 65, 100, 200] {
            for mode in Rounding::ALL {
                let expect = div_round(i128::from(v), s.min(120), mode);
                assert_eq!(
                    i128::from(shift_round(v, s, mode)),
                    expect,
                    "{v} >> {s} {mode}"
                );
            }
        }
    }
}

#[test]
fn requantize_every_source_value_into_every_format_up_to_10_bits() {
    let mut checked = 0u64;
    // Sources: every value of a 12-bit accumulator at fractions -2..=12.
    for v in -(1i64 << 11)..(1i64 << 11) {
        for from_frac in -2..=12 {
            for width in 2..=10u32 {
                for to_frac in -2..=12 {
                    let to = Format::new(width, to_frac);
                    for mode in Rounding::ALL {
                        let exact = if to_frac >= from_frac {
                            i128::from(v) << (to_frac - from_frac)
                        } else {
                            div_round(i128::from(v), (from_frac - to_frac) as u32, mode)
                        };
                        let got = requantize(v, from_frac, to, mode);
                        assert_eq!(
                            got,
                            clamp_to(exact, to),
                            "requantize({v}, {from_frac}, {to}, {mode})"
                        );
                        assert!(to.contains(got));
                        checked += 1;
                    }
                }
            }
        }
    }
    println!("requantize: {checked} cases exact");
}

#[test]
fn rescale_left_is_exact_and_never_wraps() {
    for v in [-(1i64 << 40), -3, 0, 5, i64::MAX, i64::MIN] {
        for s in 0..=40 {
            assert_eq!(rescale(v, 0, s, Rounding::Floor), i128::from(v) << s);
        }
    }
    // A huge left shift saturates through the destination format.
    let f = Format::new(8, 0);
    assert_eq!(requantize(1, 0, Format::new(8, 70), Rounding::Floor), 127);
    assert_eq!(requantize(-1, 0, Format::new(8, 70), Rounding::Floor), -128);
    assert_eq!(requantize(0, 0, Format::new(8, 70), Rounding::Floor), 0);
    assert_eq!(requantize(i64::MAX, 0, f, Rounding::HalfUp), 127);
}

#[test]
fn ternary_and_pow2_products_every_value_up_to_10_bits() {
    for width in 1..=10u32 {
        let lo = -(1i64 << (width - 1));
        let hi = (1i64 << (width - 1)) - 1;
        for x in lo..=hi {
            for t in -1..=1i8 {
                assert_eq!(ternary_mul(x, t), x * i64::from(t));
            }
            for s in 0..=14u32 {
                assert_eq!(pow2_mul(x, s, false), x * (1 << s));
                assert_eq!(pow2_mul(x, s, true), -x * (1 << s));
            }
        }
    }
}

#[test]
fn format_quantize_matches_requantize_of_exact_dyadic_values() {
    // x = v / 2^s is exactly representable in f64: quantize must agree with
    // the integer path bit for bit.
    for width in 2..=10u32 {
        for frac in -2..=10 {
            let f = Format::new(width, frac);
            for v in -(1i64 << 12)..(1i64 << 12) {
                for s in [0, 3, 7, 11] {
                    let x = v as f64 / (1u64 << s) as f64;
                    for mode in Rounding::ALL {
                        assert_eq!(
                            f.quantize(x, mode),
                            requantize(v, s, f, mode),
                            "{x} into {f} {mode}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn accumulator_bits_hold_every_worst_case_and_are_minimal() {
    // The worst dot product of n inputs of `width` bits with ternary weights is
    // n * 2^(width-1) in magnitude (most negative input times -1).
    for width in 2..=10u32 {
        let f = Format::new(width, 3);
        for n in 1..=300u128 {
            let b = Bound::of_format(f)
                .product(Bound { abs: 1, frac: 0 })
                .times(n);
            let bits = b.bits();
            let worst = n as i128 * (1i128 << (width - 1));
            let lo = -(1i128 << (bits - 1));
            let hi = (1i128 << (bits - 1)) - 1;
            assert!(
                worst <= hi && -worst >= lo,
                "width {width} n {n}: {bits} bits"
            );
            assert!(
                worst > (1i128 << (bits - 2)) - 1,
                "width {width} n {n}: {bits} bits is not minimal"
            );
        }
    }
    assert_eq!(signed_bits(1 << 20), 22);
}

#[test]
fn aligned_sums_keep_exactness() {
    // Adding quantities at different fractions: the bound is taken at the
    // finer fraction and the sum of any two values fits it.
    for (fa, fb) in [(0, 3), (5, 2), (-2, 4)] {
        let a = Bound { abs: 100, frac: fa };
        let b = Bound { abs: 7, frac: fb };
        let s = a.plus(b);
        let frac = fa.max(fb);
        assert_eq!(s.frac, frac);
        let total = (100i128 << (frac - fa)) + (7i128 << (frac - fb));
        assert_eq!(s.abs as i128, total);
        assert!(total < (1i128 << (s.bits() - 1)));
    }
}
