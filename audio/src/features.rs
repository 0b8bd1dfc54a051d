//! Log-mel and MFCC features (rustfft for the spectra). For a recording at
//! the front end's rate: pre-emphasis `y[n] = x[n] - a x[n-1]`; frames of
//! `window` samples every `hop` (a recording shorter than a window is
//! zero-padded to one); a periodic Hann window; the power spectrum
//! `|X_k|^2`, k = 0..=fft/2, of the zero-padded frame; `mel_bands`
//! triangular filters on the HTK mel scale (`2595 log10(1 + f/700)`), their
//! centres evenly spaced in mel between `f_min` and `f_max`, each rising
//! from its left neighbour's centre to its own and falling to its right
//! neighbour's, weighting every bin by its exact frequency; the natural log
//! of each band's energy (floored at 1e-10); for MFCC the first
//! coefficients of the orthonormal DCT-II of the log energies; with a
//! trim, only the frames from the first to the last that hold speech (by
//! [`speech_frames`] on each frame's level, [`FeatureExtractor::frame_levels`]),
//! with the trim's margin; and with a per-recording normalisation, each
//! feature minus its mean over the recording's frames (and divided by its
//! deviation there, floored at [`RECORDING_STD_FLOOR`]).

use lstm_accel_model::frontend::{FrontEnd, RecordingNorm, Trim};
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};
use std::f32::consts::PI;
use std::ops::Range;
use std::sync::Arc;

/// Log energies below this are clamped (silence).
const ENERGY_FLOOR: f32 = 1e-10;

/// Smallest deviation a per-recording variance normalisation divides by: a
/// feature constant over a recording (digital silence) stays finite.
pub const RECORDING_STD_FLOOR: f32 = 1e-3;

/// Mel value of a frequency in Hz (HTK).
pub fn hz_to_mel(f: f32) -> f32 {
    2595.0 * (1.0 + f / 700.0).log10()
}

/// Frequency in Hz of a mel value (HTK).
pub fn mel_to_hz(m: f32) -> f32 {
    700.0 * (10f32.powf(m / 2595.0) - 1.0)
}

/// The feature computation of one front end, with its window, filters,
/// DCT and FFT plan prepared once (a clone shares the plan).
#[derive(Clone)]
pub struct FeatureExtractor {
    fe: FrontEnd,
    window: Vec<f32>,
    /// Per band: (first bin, weights of consecutive bins).
    filters: Vec<(usize, Vec<f32>)>,
    /// `mfcc x mel_bands`, row-major (empty for log-mel).
    dct: Vec<f32>,
    fft: Arc<dyn Fft<f32>>,
}

impl FeatureExtractor {
    /// Prepares `fe` (which the caller has validated).
    pub fn new(fe: &FrontEnd) -> Self {
        Self::warped(fe, 1.0)
    }

    /// [`FeatureExtractor::new`] with the filterbank's frequency axis warped
    /// by `alpha` (vocal tract length perturbation, Jaitly and Hinton 2013,
    /// for training only: a model's front end has no warp): a bin at `f`
    /// Hz is weighted as if it were at `alpha f` up to a knee at
    /// `0.8 * f_max * min(alpha, 1) / alpha`, and from there linearly
    /// towards `f_max`, so that the band edges stay where they are. With
    /// `alpha` above 1 a formant lands in a higher band, as from a shorter
    /// vocal tract; below 1, a longer one.
    pub fn warped(fe: &FrontEnd, alpha: f32) -> Self {
        let knee = 0.8 * fe.f_max * alpha.min(1.0) / alpha;
        let warp = |f: f32| {
            if f <= knee {
                alpha * f
            } else {
                alpha * knee + (fe.f_max - alpha * knee) * (f - knee) / (fe.f_max - knee)
            }
        };
        let w = fe.window_samples();
        let window = (0..w)
            .map(|n| 0.5 - 0.5 * (2.0 * PI * n as f32 / w as f32).cos())
            .collect();
        let bins = fe.fft_size / 2 + 1;
        let bin_hz = fe.sample_rate as f32 / fe.fft_size as f32;
        let (m_lo, m_hi) = (hz_to_mel(fe.f_min), hz_to_mel(fe.f_max));
        let edges: Vec<f32> = (0..fe.mel_bands + 2)
            .map(|i| mel_to_hz(m_lo + (m_hi - m_lo) * i as f32 / (fe.mel_bands + 1) as f32))
            .collect();
        let filters = (0..fe.mel_bands)
            .map(|b| {
                let (lo, mid, hi) = (edges[b], edges[b + 1], edges[b + 2]);
                let weights: Vec<(usize, f32)> = (0..bins)
                    .filter_map(|k| {
                        let f = warp(k as f32 * bin_hz);
                        let wgt = if f > lo && f <= mid {
                            (f - lo) / (mid - lo)
                        } else if f > mid && f < hi {
                            (hi - f) / (hi - mid)
                        } else {
                            0.0
                        };
                        (wgt > 0.0).then_some((k, wgt))
                    })
                    .collect();
                let first = weights.first().map_or(0, |&(k, _)| k);
                (first, weights.into_iter().map(|(_, w)| w).collect())
            })
            .collect();
        let dct = match fe.mfcc {
            None => Vec::new(),
            Some(c) => {
                let n = fe.mel_bands as f32;
                (0..c)
                    .flat_map(|k| {
                        let scale = if k == 0 {
                            (1.0 / n).sqrt()
                        } else {
                            (2.0 / n).sqrt()
                        };
                        (0..fe.mel_bands).map(move |i| {
                            scale * (PI * k as f32 * (2.0 * i as f32 + 1.0) / (2.0 * n)).cos()
                        })
                    })
                    .collect()
            }
        };
        FeatureExtractor {
            fe: fe.clone(),
            window,
            filters,
            dct,
            fft: FftPlanner::new().plan_fft_forward(fe.fft_size),
        }
    }

    /// The front end.
    pub fn front_end(&self) -> &FrontEnd {
        &self.fe
    }

    /// Log-mel energies of every frame of `samples` (at the front end's
    /// rate), before the DCT and normalisation.
    pub fn log_mel(&self, samples: &[f32]) -> Vec<Vec<f32>> {
        let fe = &self.fe;
        let (w, hop) = (fe.window_samples(), fe.hop_samples());
        let mut x: Vec<f32> = Vec::with_capacity(samples.len().max(w));
        let mut prev = 0.0;
        for &s in samples {
            x.push(s - fe.pre_emphasis * prev);
            prev = s;
        }
        x.resize(x.len().max(w), 0.0);
        let frames = fe.frames(samples.len());
        let mut buf = vec![Complex::new(0.0f32, 0.0); fe.fft_size];
        let mut power = vec![0.0f32; fe.fft_size / 2 + 1];
        (0..frames)
            .map(|t| {
                let start = t * hop;
                for (i, c) in buf.iter_mut().enumerate() {
                    let v = if i < w {
                        x[start + i] * self.window[i]
                    } else {
                        0.0
                    };
                    *c = Complex::new(v, 0.0);
                }
                self.fft.process(&mut buf);
                for (p, c) in power.iter_mut().zip(&buf) {
                    *p = c.norm_sqr();
                }
                self.filters
                    .iter()
                    .map(|(first, wts)| {
                        let e: f32 = wts.iter().zip(&power[*first..]).map(|(a, b)| a * b).sum();
                        e.max(ENERGY_FLOOR).ln()
                    })
                    .collect()
            })
            .collect()
    }

    /// Level of every frame of `samples` (the frames of
    /// [`FeatureExtractor::log_mel`]) in dB relative to full scale: the mean
    /// square of the Hann-windowed samples over the window's own, so that a
    /// full-scale sine is -3 dBFS whatever the window. No pre-emphasis: the
    /// level is the loudness a listener hears.
    pub fn frame_levels(&self, samples: &[f32]) -> Vec<f32> {
        let fe = &self.fe;
        let hop = fe.hop_samples();
        (0..fe.frames(samples.len()))
            .map(|t| self.frame_level(samples.get(t * hop..).unwrap_or(&[])))
            .collect()
    }

    /// The level of the frame that starts at `samples[0]` (zeros past the
    /// end), as [`FeatureExtractor::frame_levels`] measures it.
    pub fn frame_level(&self, samples: &[f32]) -> f32 {
        let norm: f32 = self.window.iter().map(|v| v * v).sum();
        let e: f32 = self
            .window
            .iter()
            .enumerate()
            .map(|(i, wv)| samples.get(i).copied().unwrap_or(0.0) * wv)
            .map(|v| v * v)
            .sum();
        10.0 * (e / norm).max(LEVEL_FLOOR).log10()
    }

    /// The front end's features (log-mel, or MFCC, with the trim, then the
    /// per-recording normalisation), before the dataset normalisation.
    pub fn raw(&self, samples: &[f32]) -> Vec<Vec<f32>> {
        let mut mels = self.log_mel(samples);
        if let Some(trim) = &self.fe.trim {
            let keep = speech_frames(&self.frame_levels(samples), trim);
            mels.truncate(keep.end);
            mels.drain(..keep.start);
        }
        let n = self.fe.mel_bands;
        let mut v: Vec<Vec<f32>> = if self.dct.is_empty() {
            mels
        } else {
            mels.iter()
                .map(|m| {
                    self.dct
                        .chunks_exact(n)
                        .map(|row| row.iter().zip(m).map(|(a, b)| a * b).sum())
                        .collect()
                })
                .collect()
        };
        normalise_recording(&mut v, self.fe.recording_norm);
        v
    }

    /// The features, normalised with the dataset's statistics:
    /// `(v - mean) / std` per feature.
    pub fn normalised(&self, samples: &[f32]) -> Vec<Vec<f32>> {
        let mut v = self.raw(samples);
        for f in &mut v {
            for ((x, m), s) in f.iter_mut().zip(&self.fe.mean).zip(&self.fe.std) {
                *x = (*x - m) / s;
            }
        }
        v
    }
}

/// Lowest mean square a frame level is computed from (-120 dBFS): digital
/// silence stays finite.
pub const LEVEL_FLOOR: f32 = 1e-12;

/// The frames of a recording that [`Trim`] keeps, from the frame levels
/// (dBFS, [`FeatureExtractor::frame_levels`]): from the first to the last
/// frame within `range_db` of the loudest and above `floor_db`, widened by
/// `margin_frames` on each side. A recording with no such frame (silence)
/// keeps every frame: there is no word to find, and the model still gets
/// its input.
pub fn speech_frames(levels: &[f32], trim: &Trim) -> Range<usize> {
    let peak = levels.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let threshold = trim.threshold_db(peak);
    let speech = |l: &f32| *l >= threshold;
    match (
        levels.iter().position(speech),
        levels.iter().rposition(speech),
    ) {
        (Some(first), Some(last)) => {
            first.saturating_sub(trim.margin_frames)
                ..(last + 1 + trim.margin_frames).min(levels.len())
        }
        _ => 0..levels.len(),
    }
}

/// Per-feature mean and (population) variance over `frames`, accumulated
/// in f64 so that the result does not depend on the frame order; empty
/// when there are no frames.
pub fn feature_statistics<'a>(
    frames: impl IntoIterator<Item = &'a Vec<f32>>,
) -> (Vec<f64>, Vec<f64>) {
    let (mut sum, mut sq) = (Vec::new(), Vec::new());
    let mut count = 0f64;
    for f in frames {
        if sum.is_empty() {
            sum = vec![0f64; f.len()];
            sq = vec![0f64; f.len()];
        }
        for (k, &v) in f.iter().enumerate() {
            sum[k] += f64::from(v);
            sq[k] += f64::from(v) * f64::from(v);
        }
        count += 1.0;
    }
    let count = count.max(1.0);
    let mean: Vec<f64> = sum.iter().map(|s| s / count).collect();
    let var = sq
        .iter()
        .zip(&mean)
        .map(|(q, m)| (q / count - m * m).max(0.0))
        .collect();
    (mean, var)
}

/// `frames` (one recording's features) normalised by their own statistics
/// as `norm` says, in place.
pub fn normalise_recording(frames: &mut [Vec<f32>], norm: RecordingNorm) {
    if norm == RecordingNorm::None {
        return;
    }
    let (mean, var) = feature_statistics(frames.iter());
    let scale: Vec<f64> = match norm {
        RecordingNorm::MeanVariance => var
            .iter()
            .map(|v| 1.0 / v.sqrt().max(f64::from(RECORDING_STD_FLOOR)))
            .collect(),
        _ => vec![1.0; mean.len()],
    };
    for f in frames.iter_mut() {
        for ((x, m), s) in f.iter_mut().zip(&mean).zip(&scale) {
            *x = ((f64::from(*x) - m) * s) as f32;
        }
    }
}
