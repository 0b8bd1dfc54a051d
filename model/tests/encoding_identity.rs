//! Structural identities, exact: every encoding's structured product equals the
//! product of its dense expansion; worst-case bounds hold for the weights
//! present; bit counts follow the encoding's definition.

use lstm_accel_model::encoding::{
    Blocked, Dense, LowRank, Matrix, ScalarCode, ToeplitzLike, Values,
};
use lstm_accel_model::random::{self, MatrixKind, ScalarKind};
use rand::Rng;

fn random_x(r: &mut impl Rng, n: usize, width: u32) -> Vec<i64> {
    let lim = 1i64 << (width - 1);
    (0..n)
        .map(|i| match i % 7 {
            0 => -lim,
            1 => lim - 1,
            _ => r.random_range(-lim..lim),
        })
        .collect()
}

#[test]
fn structured_product_equals_dense_expansion_for_every_encoding() {
    let mut r = random::rng(7);
    let mut cases = 0;
    for mk in MatrixKind::ALL {
        for sk in ScalarKind::ALL {
            for _ in 0..12 {
                let rows = r.random_range(1..=40);
                let cols = r.random_range(1..=40);
                let extreme = r.random_bool(0.3);
                let m = random::matrix(&mut r, rows, cols, mk, sk, extreme);
                m.validate().expect("generated matrix is valid");
                let e = m.expand();
                assert_eq!((e.rows, e.cols), (rows, cols));
                for _ in 0..4 {
                    let x = random_x(&mut r, cols, 16);
                    assert_eq!(m.matvec(&x), e.matvec(&x), "{}", m.describe());
                }
                // The worst-case row bound covers the weights present.
                for row in e.data.chunks(cols) {
                    let s: u128 = row.iter().map(|w| u128::from(w.unsigned_abs())).sum();
                    assert!(
                        s <= m.worst_row_bound(),
                        "{}: row sum {s} > bound",
                        m.describe()
                    );
                }
                cases += 1;
            }
        }
    }
    println!("{cases} matrices: structured == dense, exactly");
}

fn ternary(codes: Vec<i8>) -> Values {
    Values {
        code: ScalarCode::Ternary { exp: 0 },
        codes,
    }
}

#[test]
fn toeplitz_block_layout_is_the_documented_one() {
    // One 3x3 Toeplitz block: t = [t0..t4], W[a][b] = t[a - b + 2].
    let t = vec![1, -1, 0, 1, 1];
    let m = Matrix::BlockToeplitz(Blocked {
        rows: 3,
        cols: 3,
        block: 3,
        values: ternary(t.clone()),
    });
    let e = m.expand();
    for a in 0..3 {
        for b in 0..3 {
            assert_eq!(e.data[a * 3 + b], i64::from(t[a + 2 - b]));
        }
    }
    // A circulant 3x3 block: W[a][b] = c[(a - b) mod 3].
    let c = vec![1, 0, -1];
    let m = Matrix::BlockCirculant(Blocked {
        rows: 3,
        cols: 3,
        block: 3,
        values: ternary(c.clone()),
    });
    let e = m.expand();
    for a in 0..3 {
        for b in 0..3 {
            assert_eq!(e.data[a * 3 + b], i64::from(c[(a + 3 - b) % 3]));
        }
    }
}

#[test]
fn toeplitz_like_rank_one_with_unit_skew_is_circulant() {
    // Z1(g) Z-1(e0) = Z1(g): with h = e0 the skew-circulant is the identity.
    let g = vec![1, -1, 0, 1];
    let mut h = vec![0; 4];
    h[0] = 1;
    let tl = Matrix::ToeplitzLike(ToeplitzLike {
        rows: 4,
        cols: 4,
        block: 4,
        rank: 1,
        g: ternary(g.clone()),
        h: ternary(h),
    });
    let circ = Matrix::BlockCirculant(Blocked {
        rows: 4,
        cols: 4,
        block: 4,
        values: ternary(g),
    });
    assert_eq!(tl.expand().data, circ.expand().data);
    // Z-1(h) with h = e1 shifts down and wraps with a sign change.
    let mut g1 = vec![0; 4];
    g1[0] = 1;
    let h1 = vec![0, 1, 0, 0];
    let tl = Matrix::ToeplitzLike(ToeplitzLike {
        rows: 4,
        cols: 4,
        block: 4,
        rank: 1,
        g: ternary(g1),
        h: ternary(h1),
    });
    let x = vec![10, 20, 30, 40];
    assert_eq!(tl.matvec(&x), vec![-40, 10, 20, 30]);
}

#[test]
fn low_rank_equals_product_of_factors() {
    let mut r = random::rng(3);
    for _ in 0..20 {
        let (rows, cols, rank) = (
            r.random_range(1..30),
            r.random_range(1..30),
            r.random_range(1..6),
        );
        let mk = |r: &mut rand_chacha::ChaCha8Rng, a: usize, b: usize| -> Dense {
            match random::matrix(r, a, b, MatrixKind::DensePerRow, ScalarKind::Pow2, false) {
                Matrix::Dense(d) => d,
                _ => unreachable!(),
            }
        };
        let lr = LowRank {
            u: mk(&mut r, rows, rank),
            v: mk(&mut r, rank, cols),
        };
        let m = Matrix::LowRank(lr.clone());
        let x = random_x(&mut r, cols, 12);
        let via_factors = lr.u.matvec(&lr.v.matvec(&x));
        assert_eq!(m.matvec(&x), via_factors);
        assert_eq!(m.expand().matvec(&x), via_factors);
        assert_eq!(m.frac(), lr.u.frac() + lr.v.frac());
    }
}

#[test]
fn codebook_products_shift_when_pow2_and_multiply_otherwise() {
    let pow2 = ScalarCode::Codebook {
        width: 6,
        frac: 4,
        values: vec![0, 16, -8, 4, -1],
        pow2: true,
    };
    let general = ScalarCode::Codebook {
        width: 6,
        frac: 4,
        values: vec![0, 16, -8, 4, -1],
        pow2: false,
    };
    assert!(pow2.is_shift_add() && !general.is_shift_add());
    for x in -300i64..300 {
        for c in 0..5i8 {
            assert_eq!(pow2.mul(x, c), general.mul(x, c));
            assert_eq!(pow2.mul(x, c), x * pow2.raw(c));
        }
    }
}

#[test]
fn bit_counts_follow_the_encodings() {
    let n = 256 * 296;
    let d = Matrix::Dense(Dense {
        rows: 256,
        cols: 296,
        values: ternary(vec![0; n]),
        row_exp: None,
    });
    assert_eq!(d.bits().codes, 2 * n as u64);
    // Block-Toeplitz with k = 8 stores 15 codes per 64 weights.
    let k = 8;
    let blocks = (256 / k) * (296 / k);
    let bt = Matrix::BlockToeplitz(Blocked {
        rows: 256,
        cols: 296,
        block: k,
        values: ternary(vec![0; blocks * (2 * k - 1)]),
    });
    bt.validate().expect("valid");
    assert_eq!(bt.bits().codes, 2 * (blocks * (2 * k - 1)) as u64);
    assert!(bt.bits().codes * 64 <= d.bits().codes * 15 + 64);
    // Power-of-two over 8 exponents: sign + 4-bit index (0 = zero).
    let p = ScalarCode::Pow2 { emin: -7, emax: 0 };
    assert_eq!(p.code_bits(), 5);
    // A 16-entry codebook: 4-bit indices, 16 entries of 8 bits.
    let c = ScalarCode::Codebook {
        width: 8,
        frac: 7,
        values: (0..16).collect(),
        pow2: false,
    };
    assert_eq!(c.code_bits(), 4);
    assert_eq!(c.table_bits(), 128);
}

#[test]
fn stored_bit_patterns_round_trip_for_every_code() {
    let codes = [
        ScalarCode::Ternary { exp: -3 },
        ScalarCode::Pow2 { emin: -8, emax: -1 },
        ScalarCode::Pow2 { emin: 0, emax: 0 },
        ScalarCode::Codebook {
            width: 8,
            frac: 6,
            values: (0..16)
                .map(|v| v * 3 - 20)
                .map(|v| if v == -20 { 0 } else { v })
                .collect(),
            pow2: false,
        },
    ];
    for c in codes {
        for code in i8::MIN..=i8::MAX {
            if c.check_code(code).is_ok() {
                let s = c.stored(code);
                assert!(s < (1 << c.code_bits()), "{c:?} {code} -> {s:#b}");
                assert_eq!(c.from_stored(s), code, "{c:?}");
                for wider in c.code_bits()..=8 {
                    assert_eq!(c.from_stored_in(c.stored_in(code, wider), wider), code);
                }
            }
        }
    }
    assert_eq!(ScalarCode::Ternary { exp: 0 }.stored(-1), 0b11);
    assert_eq!(ScalarCode::Ternary { exp: 0 }.stored_in(-1, 5), 0b10001);
    assert_eq!(ScalarCode::Pow2 { emin: -7, emax: 0 }.stored(-3), 0b10011);
}
