//! Shared helpers: seeded Gaussian matrices and float models.
#![allow(dead_code)]

use lstm_accel_model::float::{FloatHead, FloatLayer, FloatMatrix, FloatModel};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A seeded generator.
pub fn rng(seed: u64) -> ChaCha8Rng {
    lstm_accel_model::random::rng(seed)
}

/// One standard normal sample (Box-Muller).
pub fn normal(r: &mut impl Rng) -> f64 {
    let u: f64 = r.random_range(f64::EPSILON..1.0);
    let v: f64 = r.random();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// A rows x cols matrix of N(0, sigma^2) entries.
pub fn gaussian(r: &mut impl Rng, rows: usize, cols: usize, sigma: f64) -> FloatMatrix {
    FloatMatrix::new(
        rows,
        cols,
        (0..rows * cols)
            .map(|_| (normal(r) * sigma) as f32)
            .collect(),
    )
}

/// A float LSTM with N(0, 1/fan_in) weights (x `gain`, x 3 for the head),
/// biases N(0, 0.1^2),
/// the forget-gate biases +1 as PyTorch users often set them.
pub fn float_model(
    seed: u64,
    input: usize,
    hidden: &[usize],
    projection: &[Option<usize>],
    classes: usize,
    light_rnn: bool,
    gain: f64,
) -> FloatModel {
    let mut r = rng(seed);
    let mut layers = Vec::new();
    let mut n_in = input;
    for (i, &h) in hidden.iter().enumerate() {
        let proj = projection.get(i).copied().flatten();
        let out = proj.unwrap_or(h);
        let mut bias: Vec<f32> = (0..4 * h).map(|_| (normal(&mut r) * 0.1) as f32).collect();
        bias[h..2 * h].iter_mut().for_each(|b| *b += 1.0);
        layers.push(FloatLayer {
            hidden: h,
            w_x: gaussian(&mut r, 4 * h, n_in, gain / (n_in as f64).sqrt()),
            w_h: gaussian(&mut r, 4 * h, out, gain / (out as f64).sqrt()),
            bias,
            projection: proj.map(|p| gaussian(&mut r, p, h, gain / (h as f64).sqrt())),
            cell_clip: None,
        });
        n_in = out;
    }
    // A livelier head: logits of order 1.
    let sigma = 3.0 * gain / (n_in as f64).sqrt();
    let head = if light_rnn {
        let rows = (classes as f64).sqrt().ceil() as usize;
        let cols = classes.div_ceil(rows);
        FloatHead::LightRnn {
            row_w: gaussian(&mut r, rows, n_in, sigma),
            row_bias: (0..rows).map(|_| (normal(&mut r) * 0.1) as f32).collect(),
            col_w: gaussian(&mut r, cols, n_in, sigma),
            col_bias: (0..cols).map(|_| (normal(&mut r) * 0.1) as f32).collect(),
            table: (0..rows * cols)
                .map(|i| if i < classes { i as i32 } else { -1 })
                .collect(),
        }
    } else {
        FloatHead::Dense {
            w: gaussian(&mut r, classes, n_in, sigma),
            bias: (0..classes)
                .map(|_| (normal(&mut r) * 0.1) as f32)
                .collect(),
        }
    };
    FloatModel {
        input_size: input,
        layers,
        head,
    }
}

/// `n` frames of N(0, 1) features (clipped to the ±8 input range).
pub fn frames(seed: u64, n: usize, size: usize) -> Vec<Vec<f32>> {
    let mut r = rng(seed);
    (0..n)
        .map(|_| {
            (0..size)
                .map(|_| normal(&mut r).clamp(-7.5, 7.5) as f32)
                .collect()
        })
        .collect()
}

/// Entries of a matrix as f64.
pub fn f64s(m: &FloatMatrix) -> Vec<f64> {
    m.data.iter().map(|&x| f64::from(x)).collect()
}

/// `|a - b| / |a|` (Frobenius).
pub fn rel(a: &[f64], b: &[f64]) -> f64 {
    let num: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
    let den: f64 = a.iter().map(|x| x * x).sum();
    (num / den).sqrt()
}
