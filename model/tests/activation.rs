//! Activation units: exhaustive error tables against bounds derived from the
//! math, structural properties (symmetry, monotonicity, range), an independent
//! re-implementation of the piecewise forms, and the error paths.

use lstm_accel_model::activation::{max_abs_error, ActivationUnit, Approx, Function};
use lstm_accel_model::fixed::{Format, Rounding};

const INPUTS: [Format; 3] = [Format::new(8, 4), Format::new(12, 8), Format::new(16, 12)];
const OUTPUTS: [Format; 3] = [Format::new(8, 6), Format::new(12, 10), Format::new(16, 14)];
const LUT_BITS: [u32; 4] = [6, 8, 10, 12];
const FUNCTIONS: [Function; 2] = [Function::Sigmoid, Function::Tanh];

/// Sup over x of |PLAN(x) - sigmoid(x)|: 0.75 - sigmoid(1) = 0.018941 (Amin et
/// al. quote 0.0189), rounded up; PLAN tanh is 2 * PLAN(2x) - 1, so twice that.
const PLAN_SIGMOID_ERR: f64 = 0.0190;
const PLAN_TANH_ERR: f64 = 2.0 * PLAN_SIGMOID_ERR;

fn unit(f: Function, a: Approx, i: Format, o: Format, r: Rounding) -> ActivationUnit {
    ActivationUnit::new(f, a, i, o, r).expect("valid unit")
}

fn range_log2(f: Function) -> i32 {
    match f {
        Function::Sigmoid => 4,
        Function::Tanh => 3,
    }
}

fn approxes(f: Function) -> Vec<(String, Approx)> {
    let mut v = vec![("pwl".to_string(), Approx::Pwl)];
    for index_bits in LUT_BITS {
        let range_log2 = range_log2(f);
        v.push((
            format!("lut{index_bits}"),
            Approx::Lut {
                index_bits,
                range_log2,
            },
        ));
    }
    v.push(("hard".to_string(), Approx::Hard));
    v
}

/// Error bound derived from the math: approximation error of the real form
/// (breakpoints are compared exactly, so no input-resolution slack is needed
/// for the piecewise forms) + one rounding (half an LSB, a full LSB for floor)
/// + one LSB where 1.0 is not representable and saturates.
fn bound(u: &ActivationUnit) -> f64 {
    let (f, inp, out) = (u.function(), u.input(), u.output());
    let lsb = out.to_f64(1);
    let mut q = if u.rounding() == Rounding::Floor {
        lsb
    } else {
        lsb / 2.0
    };
    if out.max_raw() < 1i64 << out.frac {
        q += lsb;
    }
    let approx = match (f, u.approx()) {
        (Function::Sigmoid, Approx::Pwl) => PLAN_SIGMOID_ERR,
        (Function::Tanh, Approx::Pwl) => PLAN_TANH_ERR,
        // x/4 + 1/2 - sigmoid(x) grows on [0, 2] (slope 1/4 >= sigmoid'), then
        // 1 - sigmoid(x) shrinks: the sup is at x = 2.
        (Function::Sigmoid, Approx::Hard) => 1.0 - f.value(2.0),
        // x - tanh(x) grows on [0, 1], then 1 - tanh(x) shrinks: sup at x = 1.
        (Function::Tanh, Approx::Hard) => 1.0 - f.value(1.0),
        (_, Approx::Lut { .. }) => {
            // Inside an entry: |f(x) - f(m)| <= max|f'| * (half the entry's
            // input span). Past the covered range: up to the distance from the
            // edge entry's value to f at the extreme input.
            let l = u.lut().expect("lut");
            let lip = if f == Function::Sigmoid { 0.25 } else { 1.0 };
            let step = (1i64 << l.shift) as f64;
            let inner = lip * (step - 1.0) / 2.0 * inp.to_f64(1);
            let mid = |first: i64| inp.to_f64(1) * (first as f64 + (step - 1.0) / 2.0);
            let (m_lo, m_hi) = (mid(l.lo), mid(l.hi + 1 - step as i64));
            let tail_hi = f.value(inp.to_f64(inp.max_raw())) - f.value(m_hi);
            let tail_lo = f.value(m_lo) - f.value(inp.to_f64(inp.min_raw()));
            inner.max(tail_hi).max(tail_lo)
        }
    };
    approx + q
}

#[test]
fn error_table() {
    let rounding = Rounding::HalfUp;
    let mut header = format!("{:<14}", "unit");
    for i in INPUTS {
        for o in OUTPUTS {
            header += &format!(" {:>9}", format!("{i}>{o}"));
        }
    }
    println!("max |error| (exhaustive over every input), rounding {rounding}\n{header}");
    for f in FUNCTIONS {
        for (name, a) in approxes(f) {
            let mut line = format!("{:<14}", format!("{f:?} {name}").to_lowercase());
            for i in INPUTS {
                for o in OUTPUTS {
                    let u = unit(f, a, i, o, rounding);
                    let r = max_abs_error(&u);
                    line += &format!(" {:>9.6}", r.max_abs_error);
                    assert_eq!(r.inputs, 1u64 << i.width);
                    assert!(r.max_abs_error >= 0.0 && r.max_abs_error.is_finite());
                    let b = bound(&u);
                    assert!(
                        r.max_abs_error <= b,
                        "{f:?} {name} {i}->{o}: error {} at {} above bound {b}",
                        r.max_abs_error,
                        r.at_input
                    );
                }
            }
            println!("{line}");
        }
    }
    let floors: Vec<String> = OUTPUTS
        .iter()
        .map(|o| format!("{o}: {}", o.to_f64(1) / 2.0))
        .collect();
    println!(
        "quantization floor (half an output LSB): {}",
        floors.join(", ")
    );
}

#[test]
fn brief_bounds() {
    let r = Rounding::HalfUp;
    for f in FUNCTIONS {
        for i in INPUTS {
            for o in OUTPUTS {
                let q = o.to_f64(1) / 2.0;
                let pwl = max_abs_error(&unit(f, Approx::Pwl, i, o, r));
                let plan = if f == Function::Sigmoid {
                    PLAN_SIGMOID_ERR
                } else {
                    PLAN_TANH_ERR
                };
                assert!(pwl.max_abs_error <= plan + q, "{f:?} pwl {i}->{o}: {pwl:?}");
                if f == Function::Sigmoid {
                    let hard = max_abs_error(&unit(f, Approx::Hard, i, o, r));
                    assert!(hard.max_abs_error <= 0.12 + q, "hard {i}->{o}: {hard:?}");
                }
                // Table error never grows with the address width.
                let mut prev = f64::INFINITY;
                for index_bits in LUT_BITS {
                    let a = Approx::Lut {
                        index_bits,
                        range_log2: range_log2(f),
                    };
                    let e = max_abs_error(&unit(f, a, i, o, r)).max_abs_error;
                    assert!(e <= prev, "{f:?} lut{index_bits} {i}->{o}: {e} > {prev}");
                    prev = e;
                }
            }
        }
        let a = Approx::Lut {
            index_bits: 12,
            range_log2: range_log2(f),
        };
        let u = unit(f, a, Format::new(16, 12), Format::new(16, 14), r);
        let rep = max_abs_error(&u);
        println!("{f:?} lut12 s16.12->s16.14: {rep:?}");
        assert!(rep.max_abs_error < 0.005, "{rep:?}");
    }
}

/// Formats for the structural tests: 1.0 representable, and not (frac = width-1).
fn structural_cases() -> Vec<(Format, Format)> {
    let ins = [
        Format::new(8, 4),
        Format::new(10, 0),
        Format::new(12, 11),
        Format::new(12, 7),
    ];
    let outs = [
        Format::new(8, 6),
        Format::new(8, 7),
        Format::new(2, 1),
        Format::new(16, 14),
    ];
    ins.iter()
        .flat_map(|&i| outs.iter().map(move |&o| (i, o)))
        .collect()
}

#[test]
fn symmetry_range_and_monotonicity() {
    for (i, o) in structural_cases() {
        for r in Rounding::ALL {
            for f in FUNCTIONS {
                let one = 1i64 << o.frac;
                let holds_one = o.max_raw() >= one;
                for (name, a) in approxes(f) {
                    let u = unit(f, a, i, o, r);
                    let y: Vec<i64> = (i.min_raw()..=i.max_raw()).map(|x| u.eval(x)).collect();
                    assert!(
                        y.iter().all(|&v| o.contains(v)),
                        "{f:?} {name} {i}->{o} out of range"
                    );
                    // PLAN itself steps down by 2^-8 (sigmoid) / 2^-7 (tanh) at
                    // |x| = 2.375 / 1.1875; everything else is non-decreasing.
                    let (b, step) = match f {
                        Function::Sigmoid => (2.375, -8),
                        Function::Tanh => (1.1875, -7),
                    };
                    let braw = (b * 2f64.powi(i.frac)).ceil() as i64;
                    let max_drop = 2f64.powi(o.frac + step).ceil() as i64;
                    for (k, w) in y.windows(2).enumerate() {
                        let x = i.min_raw() + k as i64 + 1;
                        let plan_step = a == Approx::Pwl && (x == braw || x == -braw + 1);
                        let ok = w[1] >= w[0] || (plan_step && w[0] - w[1] <= max_drop);
                        assert!(ok, "{f:?} {name} {i}->{o} {r}: drop at x_raw {x}: {w:?}");
                    }
                    // Exact symmetry of the piecewise forms (tables: only up to
                    // one input LSB, as the covered range is [lo, -lo - 1]).
                    if !matches!(a, Approx::Pwl | Approx::Hard) {
                        continue;
                    }
                    for x in (i.min_raw() + 1)..=i.max_raw() {
                        let (p, n) = (u.eval(x), u.eval(-x));
                        // Where 1.0 saturates to max_raw, the two sides differ by one LSB.
                        let exact = holds_one || (p != o.max_raw() && n != o.max_raw());
                        let ctx = format!("{f:?} {name} {i}->{o} {r} x={x}: {p} {n}");
                        match f {
                            Function::Tanh if exact => assert_eq!(n, -p, "{ctx}"),
                            Function::Tanh => assert!((n + p).abs() <= 1, "{ctx}"),
                            Function::Sigmoid if exact => assert_eq!(p + n, one, "{ctx}"),
                            Function::Sigmoid => assert!(p + n == one - 1 || p + n == one, "{ctx}"),
                        }
                    }
                }
            }
        }
    }
}

/// The PLAN step is really there at fine output resolution (documented, not a bug).
#[test]
fn plan_step_is_visible() {
    let u = unit(
        Function::Sigmoid,
        Approx::Pwl,
        Format::new(16, 12),
        Format::new(16, 14),
        Rounding::HalfUp,
    );
    let b = (2.375 * 4096.0) as i64;
    // 0.125 * (2.375 - 2^-12) + 0.625 = 15103.5 output LSBs, rounds up to 15104;
    // 0.03125 * 2.375 + 0.84375 = 15040 LSBs: a step of 2^-8.
    assert_eq!((u.eval(b - 1), u.eval(b)), (15104, 15040));
    assert_eq!(u.segments().expect("pwl")[2].start, b);
}

fn round_div(n: i128, m: i128, r: Rounding) -> i128 {
    match r {
        Rounding::Floor => n.div_euclid(m),
        Rounding::HalfUp => (2 * n + m).div_euclid(2 * m),
        Rounding::HalfEven => {
            let q = n.div_euclid(m);
            let rem = n - q * m;
            if 2 * rem > m || (2 * rem == m && q % 2 != 0) {
                q + 1
            } else {
                q
            }
        }
    }
}

/// Straightforward re-implementation from the published constants: f64 on the
/// breakpoints and slopes (exact: all dyadic), one explicit rounding.
fn reference(f: Function, a: Approx, i: Format, o: Format, r: Rounding, x: i64) -> i64 {
    let pieces: &[(f64, f64, f64)] = match (f, a) {
        (Function::Sigmoid, Approx::Pwl) => &[
            (0.0, 0.25, 0.5),
            (1.0, 0.125, 0.625),
            (2.375, 0.03125, 0.84375),
            (5.0, 0.0, 1.0),
        ],
        (Function::Tanh, Approx::Pwl) => &[
            (0.0, 1.0, 0.0),
            (0.5, 0.5, 0.25),
            (1.1875, 0.125, 0.6875),
            (2.5, 0.0, 1.0),
        ],
        (Function::Sigmoid, Approx::Hard) => &[(0.0, 0.25, 0.5), (2.0, 0.0, 1.0)],
        (Function::Tanh, Approx::Hard) => &[(0.0, 1.0, 0.0), (1.0, 0.0, 1.0)],
        _ => unreachable!(),
    };
    let ax = (x as f64 * 2f64.powi(-i.frac)).abs();
    let &(_, slope, c) = pieces.iter().rev().find(|p| ax >= p.0).expect("piece");
    let d = (i.frac + 5).max(o.frac).max(5);
    let scaled = (slope * ax + c) * 2f64.powi(d);
    assert_eq!(scaled.fract(), 0.0, "value not exact at 2^-{d}");
    let y = round_div(scaled as i128, 1i128 << (d - o.frac), r) as i64;
    let y = match (f, x < 0) {
        (Function::Sigmoid, true) => (1i64 << o.frac) - y,
        (Function::Tanh, true) => -y,
        _ => y,
    };
    o.saturate(y)
}

#[test]
fn piecewise_matches_independent_reference() {
    let ins = [-2, 0, 3, 4, 8, 11].map(|fr| Format::new(12, fr));
    let outs = [
        Format::new(2, 1),
        Format::new(8, 4),
        Format::new(8, 6),
        Format::new(8, 7),
        Format::new(16, 14),
        Format::new(16, 15),
    ];
    for i in ins {
        for o in outs {
            for r in Rounding::ALL {
                for f in FUNCTIONS {
                    for a in [Approx::Pwl, Approx::Hard] {
                        let u = unit(f, a, i, o, r);
                        for x in i.min_raw()..=i.max_raw() {
                            assert_eq!(
                                u.eval(x),
                                reference(f, a, i, o, r, x),
                                "{f:?} {a:?} {i}->{o} {r} x={x}"
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn lut_structure() {
    let (i, o, r) = (Format::new(16, 12), Format::new(12, 10), Rounding::HalfEven);
    for f in FUNCTIONS {
        let u = unit(
            f,
            Approx::Lut {
                index_bits: 10,
                range_log2: 3,
            },
            i,
            o,
            r,
        );
        let l = u.lut().expect("lut");
        assert_eq!(
            (l.lo, l.hi, l.shift, l.entries.len()),
            (-32768, 32767, 6, 1024)
        );
        assert_eq!(u.table().map(<[i64]>::len), Some(1024));
        assert!(u.segments().is_none());
        // Entry k covers raw [lo + 64k, lo + 64k + 63]; its value is f at the middle.
        for (k, &e) in l.entries.iter().enumerate() {
            let mid = (l.lo + 64 * k as i64) as f64 + 31.5;
            assert_eq!(e, o.quantize(f.value(mid / 4096.0), r));
            assert_eq!(u.eval(l.lo + 64 * k as i64 + 17), e);
        }
        // Fewer input values than entries: shift 0, one entry per input, exact rounding.
        let small = unit(
            f,
            Approx::Lut {
                index_bits: 12,
                range_log2: 4,
            },
            Format::new(8, 4),
            o,
            r,
        );
        let l = small.lut().expect("lut");
        assert_eq!((l.lo, l.hi, l.shift, l.entries.len()), (-128, 127, 0, 256));
        for x in -128..=127 {
            assert_eq!(small.eval(x), o.quantize(small.exact(x), r));
        }
        // A range narrower than the input format clamps.
        let narrow = unit(
            f,
            Approx::Lut {
                index_bits: 4,
                range_log2: 1,
            },
            Format::new(8, 4),
            o,
            r,
        );
        assert_eq!(narrow.eval(127), narrow.eval(31));
        assert_eq!(narrow.eval(-128), narrow.eval(-32));
    }
}

#[test]
fn exhaustive_24_bit_input() {
    let u = unit(
        Function::Sigmoid,
        Approx::Pwl,
        Format::new(24, 16),
        Format::new(16, 14),
        Rounding::HalfUp,
    );
    let t = std::time::Instant::now();
    let rep = max_abs_error(&u);
    println!("sigmoid pwl s24.16->s16.14: {rep:?} in {:?}", t.elapsed());
    assert_eq!(rep.inputs, 1 << 24);
    assert!(rep.max_abs_error <= PLAN_SIGMOID_ERR + rep.quantization_floor);
}

#[test]
fn serde_forms() {
    let a = Approx::Lut {
        index_bits: 8,
        range_log2: 4,
    };
    let s = serde_json::to_string(&a).expect("json");
    assert_eq!(s, r#"{"kind":"lut","index_bits":8,"range_log2":4}"#);
    assert_eq!(serde_json::from_str::<Approx>(&s).expect("parse"), a);
    assert_eq!(
        serde_json::to_string(&Approx::Pwl).expect("json"),
        r#"{"kind":"pwl"}"#
    );
    assert_eq!(
        serde_json::to_string(&Function::Tanh).expect("json"),
        r#""tanh""#
    );
}

#[test]
fn error_paths() {
    let ok_in = Format::new(12, 8);
    let ok_out = Format::new(8, 6);
    let s = Function::Sigmoid;
    let cases: [(Approx, Format, Format, &str); 12] = [
        (
            Approx::Pwl,
            Format::new(1, 0),
            ok_out,
            "input format s1.0: width 1",
        ),
        (
            Approx::Pwl,
            Format::new(25, 8),
            ok_out,
            "input format s25.8: width 25",
        ),
        (
            Approx::Pwl,
            Format::new(12, 49),
            ok_out,
            "input format s12.49: frac 49",
        ),
        (
            Approx::Pwl,
            Format::new(12, -17),
            ok_out,
            "input format s12.-17: frac -17",
        ),
        (
            Approx::Hard,
            ok_in,
            Format::new(1, 0),
            "output format s1.0: width 1",
        ),
        (
            Approx::Hard,
            ok_in,
            Format::new(17, 8),
            "output format s17.8: width 17",
        ),
        (
            Approx::Pwl,
            ok_in,
            Format::new(8, 0),
            "output format s8.0: frac 0",
        ),
        (
            Approx::Pwl,
            ok_in,
            Format::new(8, 8),
            "output format s8.8: frac 8",
        ),
        (
            Approx::Pwl,
            ok_in,
            Format::new(8, -2),
            "output format s8.-2: frac -2",
        ),
        (
            Approx::Lut {
                index_bits: 0,
                range_log2: 4,
            },
            ok_in,
            ok_out,
            "index_bits 0",
        ),
        (
            Approx::Lut {
                index_bits: 17,
                range_log2: 4,
            },
            ok_in,
            ok_out,
            "index_bits 17",
        ),
        (
            Approx::Lut {
                index_bits: 8,
                range_log2: -9,
            },
            ok_in,
            ok_out,
            "range_log2 -9",
        ),
    ];
    for (a, i, o, want) in cases {
        let err = ActivationUnit::new(s, a, i, o, Rounding::HalfUp).expect_err(want);
        assert!(err.contains(want), "{err:?} should mention {want:?}");
    }
    // Edges that are valid.
    assert!(ActivationUnit::new(
        s,
        Approx::Pwl,
        Format::new(24, 48),
        Format::new(16, 15),
        Rounding::Floor
    )
    .is_ok());
    assert!(ActivationUnit::new(
        s,
        Approx::Pwl,
        Format::new(2, -16),
        Format::new(2, 1),
        Rounding::Floor
    )
    .is_ok());
    let edge = Approx::Lut {
        index_bits: 16,
        range_log2: -8,
    };
    assert!(ActivationUnit::new(s, edge, ok_in, ok_out, Rounding::Floor).is_ok());
}

/// The range the saturation point sees, derived from the segments' ends,
/// equals the one found by visiting every input; and it does reach outside
/// the output format where 1.0 is not representable, so the HDL keeps the
/// clamp there.
#[test]
fn unsaturated_range_is_exact() {
    let mut outputs = OUTPUTS.to_vec();
    // 1.0 is not representable: sigmoid's top and tanh's ends saturate.
    outputs.push(Format::new(8, 7));
    let mut clamped = 0;
    for f in FUNCTIONS {
        for (_, a) in approxes(f)
            .into_iter()
            .filter(|(_, a)| !matches!(a, Approx::Lut { .. }))
        {
            for i in INPUTS {
                for &o in &outputs {
                    for r in [Rounding::HalfEven, Rounding::HalfUp, Rounding::Floor] {
                        let u = unit(f, a, i, o, r);
                        let mut seen = (i64::MAX, i64::MIN);
                        for x in i.min_raw()..=i.max_raw() {
                            let y = u.unsaturated(x).expect("piecewise");
                            assert_eq!(u.eval(x), o.saturate(y), "{f:?} {a:?} {i} -> {o} at {x}");
                            seen = (seen.0.min(y), seen.1.max(y));
                        }
                        assert_eq!(
                            u.unsaturated_range(),
                            Some(seen),
                            "{f:?} {a:?} {i} -> {o} {r:?}"
                        );
                        if seen.0 < o.min_raw() || seen.1 > o.max_raw() {
                            clamped += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(
        clamped > 0,
        "no case needs its clamp: the test cannot tell a missing one"
    );
    let lut = unit(
        Function::Tanh,
        Approx::Lut {
            index_bits: 8,
            range_log2: 3,
        },
        INPUTS[1],
        OUTPUTS[1],
        Rounding::HalfEven,
    );
    assert_eq!(lut.unsaturated_range(), None);
    assert_eq!(lut.unsaturated(0), None);
}
