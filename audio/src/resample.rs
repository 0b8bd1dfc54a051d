//! Sample-rate conversion by band-limited interpolation: every output sample
//! is the input convolved with a Hann-windowed sinc centred on its position
//! in the input, the sinc's cut-off at the lower of the two Nyquist
//! frequencies (times 0.95, so the window's transition band lies below it),
//! 16 zero crossings each side. Downsampling therefore removes what the new
//! rate cannot represent instead of folding it back as aliases.

use std::f64::consts::PI;

/// Zero crossings of the sinc on each side.
const HALF_TAPS: f64 = 16.0;
/// Cut-off as a fraction of the lower Nyquist frequency.
const ROLL_OFF: f64 = 0.95;

/// `samples` at `from` Hz, resampled to `to` Hz (`floor(len * to / from)`
/// samples).
pub fn resample(samples: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || samples.is_empty() || from == 0 || to == 0 {
        return samples.to_vec();
    }
    let ratio = f64::from(to) / f64::from(from);
    // Cut-off relative to the input's sample rate (cycles per input sample
    // times two: 1.0 is the input's Nyquist frequency).
    let cutoff = ratio.min(1.0) * ROLL_OFF;
    let support = HALF_TAPS / cutoff;
    let out_len = (samples.len() as f64 * ratio).floor() as usize;
    let last = samples.len() as i64 - 1;
    (0..out_len)
        .map(|m| {
            let t = m as f64 / ratio;
            let lo = ((t - support).ceil() as i64).max(0);
            let hi = ((t + support).floor() as i64).min(last);
            let mut acc = 0.0;
            for n in lo..=hi {
                let d = t - n as f64;
                let x = cutoff * d;
                let sinc = if x.abs() < 1e-12 {
                    1.0
                } else {
                    (PI * x).sin() / (PI * x)
                };
                let window = 0.5 * (1.0 + (PI * d / support).cos());
                acc += f64::from(samples[n as usize]) * cutoff * sinc * window;
            }
            acc as f32
        })
        .collect()
}
