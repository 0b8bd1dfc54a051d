//! The bit-exact reference model, tested two ways that never mix:
//! - fixed vs fixed, exact: against a slow independent evaluation of the same
//!   arithmetic (structured products, activation units called directly, sums
//!   in i128), every gate, c, h, y and logit of every step;
//! - fixed vs float, within a tolerance that is printed: against the float
//!   twin built from the same decoded weights.

use lstm_accel_model::activation::{ActivationUnit, Approx, Function};
use lstm_accel_model::fixed::{requantize, Format, Rounding};
use lstm_accel_model::float::{FloatModel, FloatRunner};
use lstm_accel_model::model::{Head, Model};
use lstm_accel_model::random::{self, MatrixKind, ModelShape, ScalarKind};
use lstm_accel_model::reference::Reference;
use lstm_accel_model::trace::{argmax, lightrnn_decode, Deviation, LayerTrace, StepTrace};
use lstm_accel_model::Problem;
use rand::Rng;

fn shifted(v: i64, from: i32, to: i32) -> i128 {
    i128::from(v) << (to - from)
}

/// The model's arithmetic, written out plainly.
fn slow_run(m: &Model, frames: &[Vec<i32>]) -> Vec<StepTrace<i64>> {
    let dp = m.datapath();
    let mode = m.rounding;
    let mut c: Vec<Vec<i64>> = m.layers.iter().map(|l| vec![0; l.hidden]).collect();
    let mut y: Vec<Vec<i64>> = m.layers.iter().map(|l| vec![0; l.output_size()]).collect();
    let unit = |f, i: Format, o: Format| {
        let a = if f == Function::Sigmoid {
            m.sigmoid
        } else {
            m.tanh
        };
        ActivationUnit::new(f, a, i, o, mode).expect("valid unit")
    };
    let mut out = Vec::new();
    for frame in frames {
        let mut x: Vec<i64> = frame.iter().map(|&v| i64::from(v)).collect();
        let mut st = StepTrace::default();
        for (li, (l, d)) in m.layers.iter().zip(&dp.layers).enumerate() {
            let n = l.hidden;
            let fx = d.input.frac + l.w_x.frac();
            let fh = d.recurrent.frac + l.w_h.frac();
            let gx = l.w_x.matvec(&x);
            let gh = l.w_h.matvec(&y[li]);
            let f = l.formats;
            let (sig, tz, tc) = (
                unit(Function::Sigmoid, f.preact, f.gate),
                unit(Function::Tanh, f.preact, f.gate),
                unit(Function::Tanh, f.cell, f.gate),
            );
            let mut preact = vec![0; 4 * n];
            let mut act = vec![0; 4 * n];
            for r in 0..4 * n {
                let acc = shifted(gx[r], fx, d.gate.frac)
                    + shifted(gh[r], fh, d.gate.frac)
                    + shifted(i64::from(l.bias.values[r]), l.bias.format.frac, d.gate.frac);
                preact[r] = requantize(acc as i64, d.gate.frac, f.preact, mode);
                act[r] = if r / n == 2 {
                    tz.eval(preact[r])
                } else {
                    sig.eval(preact[r])
                };
            }
            let mut h = vec![0; n];
            for j in 0..n {
                let fc = shifted(
                    act[n + j] * c[li][j],
                    f.gate.frac + f.cell.frac,
                    d.cell.frac,
                );
                let ig = shifted(act[j] * act[2 * n + j], 2 * f.gate.frac, d.cell.frac);
                c[li][j] = requantize((fc + ig) as i64, d.cell.frac, f.cell, mode);
                let t = tc.eval(c[li][j]);
                h[j] = requantize(act[3 * n + j] * t, 2 * f.gate.frac, f.hidden, mode);
            }
            let yv = l.projection.as_ref().map(|p| {
                let pf = f.hidden.frac + p.w.frac();
                p.w.matvec(&h)
                    .iter()
                    .map(|&s| requantize(s, pf, p.format, mode))
                    .collect::<Vec<_>>()
            });
            y[li] = yv.clone().unwrap_or_else(|| h.clone());
            x = y[li].clone();
            st.layers.push(LayerTrace {
                preact,
                act,
                c: c[li].clone(),
                h,
                y: yv,
            });
        }
        let logits = |w: &lstm_accel_model::encoding::Matrix,
                      b: &lstm_accel_model::model::Bias,
                      fmt: Format| {
            let yf = m.feature_format().frac + w.frac();
            let frac = yf.max(b.format.frac);
            w.matvec(&x)
                .iter()
                .zip(&b.values)
                .map(|(&s, &bv)| {
                    let acc = shifted(s, yf, frac) + shifted(i64::from(bv), b.format.frac, frac);
                    requantize(acc as i64, frac, fmt, mode)
                })
                .collect::<Vec<_>>()
        };
        match &m.head {
            Head::Dense(h) => {
                st.logits = logits(&h.w, &h.bias, h.logits);
                st.class = argmax(st.logits.iter().copied());
            }
            Head::LightRnn(h) => {
                st.logits = logits(&h.row_w, &h.row_bias, h.logits);
                st.logits.extend(logits(&h.col_w, &h.col_bias, h.logits));
                let (row, col) = lightrnn_decode(&st.logits, h.rows(), &h.table);
                st.class = h.table[row * h.cols() + col] as usize;
            }
        }
        out.push(st);
    }
    out
}

fn run(m: &Model, frames: &[Vec<i32>]) -> Vec<StepTrace<i64>> {
    let mut r = Reference::new(m).expect("valid model");
    frames
        .iter()
        .map(|f| {
            let mut t = StepTrace::default();
            let class = r.step_traced(f, &mut t).expect("valid frame");
            assert_eq!(class, t.class);
            assert_eq!(r.logits(), &t.logits[..]);
            t
        })
        .collect()
}

fn random_shape(r: &mut impl Rng) -> ModelShape {
    let layers = r.random_range(1..=3);
    let hidden: Vec<usize> = (0..layers).map(|_| r.random_range(1..=24)).collect();
    ModelShape {
        input: r.random_range(1..=20),
        projection: hidden
            .iter()
            .map(|&h| r.random_bool(0.3).then(|| r.random_range(1..=h.max(2))))
            .collect(),
        hidden,
        classes: r.random_range(2..=12),
        light_rnn: r.random_bool(0.3),
        matrix_kinds: MatrixKind::ALL.to_vec(),
        scalar_kinds: ScalarKind::ALL.to_vec(),
        extreme: r.random_bool(0.25),
        data_width: None,
    }
}

#[test]
fn reference_equals_slow_evaluation_on_random_models_of_every_encoding() {
    let mut r = random::rng(11);
    let models = 120;
    let mut steps = 0;
    for case in 0..models {
        let shape = random_shape(&mut r);
        let m = random::model(&mut r, &shape);
        m.validate().unwrap_or_else(|e| panic!("case {case}: {e}"));
        let frames = random::frames(&mut r, &m, 12, 0.2);
        let fast = run(&m, &frames);
        let slow = slow_run(&m, &frames);
        for (t, (a, b)) in fast.iter().zip(&slow).enumerate() {
            assert_eq!(
                a, b,
                "case {case}, step {t}: reference differs from the slow evaluation"
            );
        }
        steps += frames.len();
    }
    println!("{models} random models, {steps} steps: reference == slow evaluation, exactly");
}

#[test]
fn traced_and_untraced_steps_agree_and_reset_restores_the_start() {
    let mut r = random::rng(5);
    let m = random::model(&mut r, &ModelShape::ternary(13, &[16, 8], 10, 8));
    let frames = random::frames(&mut r, &m, 30, 0.1);
    let traced = run(&m, &frames);
    let mut e = Reference::new(&m).expect("valid");
    for pass in 0..2 {
        e.reset();
        for (f, t) in frames.iter().zip(&traced) {
            assert_eq!(e.step(f).expect("valid"), t.class, "pass {pass}");
            assert_eq!(e.logits(), &t.logits[..]);
        }
        assert_eq!(e.output(1).len(), 8);
        assert_eq!(e.cell(0).len(), 16);
    }
}

#[test]
fn bad_frames_are_rejected_with_a_clear_error() {
    let mut r = random::rng(6);
    let m = random::model(&mut r, &ModelShape::ternary(5, &[4], 3, 8));
    let mut e = Reference::new(&m).expect("valid");
    let err = e.step(&[0; 4]).expect_err("short frame");
    assert!(matches!(err.problem, Problem::Shape { .. }), "{err}");
    assert!(err.to_string().contains("frame"), "{err}");
    let err = e.step(&[0, 0, 1000, 0, 0]).expect_err("out of range");
    assert!(
        matches!(err.problem, Problem::OutOfRange { index: 2, .. }),
        "{err}"
    );
}

fn float_deviation(m: &Model, seqs: usize, len: usize, seed: u64) -> Deviation {
    let mut r = random::rng(seed);
    let fm = FloatModel::from_model(m);
    let mut fr = FloatRunner::new(&fm);
    let mut e = Reference::new(m).expect("valid");
    let mut dev = Deviation::default();
    for _ in 0..seqs {
        e.reset();
        fr.reset();
        // Moderate inputs: the float twin does not saturate.
        for f in random::frames(&mut r, m, len, 0.0) {
            let f: Vec<i32> = f.iter().map(|&v| v / 2).collect();
            let mut a = StepTrace::default();
            e.step_traced(&f, &mut a).expect("valid");
            let x: Vec<f32> = f
                .iter()
                .map(|&v| m.input.format.to_f64(i64::from(v)) as f32)
                .collect();
            let mut b = StepTrace::default();
            fr.step_traced(&x, &mut b);
            dev = dev.max(Deviation::of_step(m, &a, &b));
        }
    }
    dev
}

#[test]
fn fixed_vs_float_within_tolerance() {
    // 16-bit data, 12-bit table activations: the fixed model tracks the float
    // twin closely. Tolerances below are the asserted numbers; the measured
    // deviations are printed.
    const TOL_HIDDEN: f64 = 0.02;
    const TOL_CELL: f64 = 0.05;
    let mut r = random::rng(21);
    let mut m = random::model(&mut r, &ModelShape::ternary(40, &[64, 64], 10, 16));
    m.sigmoid = Approx::Lut {
        index_bits: 12,
        range_log2: 3,
    };
    m.tanh = m.sigmoid;
    m.rounding = Rounding::HalfEven;
    let d = float_deviation(&m, 8, 40, 1);
    println!(
        "fixed vs float, 16-bit data, 4096-entry tables: max |dev| hidden {:.5} (tolerance {TOL_HIDDEN}), cell {:.5} (tolerance {TOL_CELL}), logits {:.5}",
        d.hidden, d.cell, d.logits
    );
    assert!(d.hidden <= TOL_HIDDEN && d.cell <= TOL_CELL, "{d:?}");

    // Piecewise-linear activations: the error is the approximation's own.
    m.sigmoid = Approx::Pwl;
    m.tanh = Approx::Pwl;
    let d = float_deviation(&m, 8, 40, 1);
    println!(
        "fixed vs float, 16-bit data, piecewise-linear: max |dev| hidden {:.5}, cell {:.5}, logits {:.5}",
        d.hidden, d.cell, d.logits
    );
    assert!(d.hidden <= 0.25 && d.cell <= 0.5, "{d:?}");

    // 8-bit data: coarser, still bounded.
    let mut m8 = random::model(&mut r, &ModelShape::ternary(40, &[64, 64], 10, 8));
    m8.sigmoid = Approx::Pwl;
    m8.tanh = Approx::Pwl;
    let d = float_deviation(&m8, 8, 40, 2);
    println!(
        "fixed vs float, 8-bit data, piecewise-linear: max |dev| hidden {:.5}, cell {:.5}, logits {:.5}",
        d.hidden, d.cell, d.logits
    );
    assert!(d.hidden <= 0.35, "{d:?}");
}

#[test]
fn lightrnn_decodes_row_then_occupied_column() {
    // 2 x 3 table, cell (0, 2) empty.
    let table = vec![0, 1, -1, 2, 3, 4];
    // Row 0 wins; column 2 has the highest logit but is empty in row 0.
    let logits = vec![5, 1, 0, 3, 9];
    assert_eq!(lightrnn_decode(&logits, 2, &table), (0, 1));
    // Ties go to the lowest index.
    assert_eq!(argmax([3, 7, 7, 1]), 1);
    assert_eq!(lightrnn_decode(&[1, 1, 2, 2, 2], 2, &table), (0, 0));
}

#[test]
fn lightrnn_probabilities_are_the_product_of_row_and_column_softmax() {
    use lstm_accel_model::trace::{lightrnn_log_probs, log_softmax};
    let table = vec![0, 1, -1, 2, 3, 4];
    let logits = [0.5f32, -1.0, 2.0, 0.0, 1.0];
    let lp = lightrnn_log_probs(&logits, 2, &table);
    let total: f32 = lp.iter().map(|v| v.exp()).sum();
    assert!((total - 1.0).abs() < 1e-5, "{total}");
    let (lr, lc) = (log_softmax(&logits[..2]), log_softmax(&logits[2..]));
    // Ratios between classes are those of the row x column product.
    let ratio = (lp[1] - lp[3]).exp();
    let expect = ((lr[0] + lc[1]) - (lr[1] + lc[1])).exp();
    assert!((ratio - expect).abs() < 1e-4, "{ratio} vs {expect}");
    // The most probable class is the one the hardware decodes when the
    // decoded row's best column is occupied.
    let best = lstm_accel_model::trace::argmax(lp.iter().copied());
    let (r, c) = lightrnn_decode(&logits, 2, &table);
    assert_eq!(table[r * 3 + c] as usize, best);
}
