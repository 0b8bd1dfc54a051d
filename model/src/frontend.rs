//! The audio front end a model was trained with, as part of the model: how
//! speech becomes the model's input frames. The `lstm-accel-audio` crate
//! implements it (one implementation for training, evaluation and the host
//! driver); this module only describes it, so that a model file says exactly
//! which features its inputs are.
//!
//! The chain: the recording is resampled to `sample_rate`, pre-emphasised
//! (`y[n] = x[n] - pre_emphasis * x[n-1]`), cut into windows of `window_ms`
//! every `hop_ms`, Hann-windowed and zero-padded to `fft_size`, turned into
//! a power spectrum, pooled by `mel_bands` triangular filters on the HTK mel
//! scale between `f_min` and `f_max`, and log-compressed; with `mfcc` the
//! first `mfcc` coefficients of an orthonormal DCT-II of the log-mel
//! energies are kept. With `recording_norm` each feature is first centred on
//! its own mean over the recording (cepstral mean normalisation), and
//! optionally scaled by its own deviation there, which removes what a
//! speaker, a microphone or a level adds to every frame alike; the
//! host then needs the whole recording before it streams the first frame.
//! With `trim` (energy-based voice activity detection) the frames before
//! the first and after the last frame that holds speech are dropped first,
//! so that leading and trailing silence, however long, change nothing;
//! a frame holds speech when its level (the mean square of its Hann-windowed
//! samples, in dB relative to full scale) is within `range_db` of the
//! recording's loudest frame and above `floor_db`.
//! Each feature is then normalised with the dataset's statistics,
//! `(v - mean) / std`, and quantised into the model's input format
//! (rounding point Input).

use crate::error::{ModelError, Result};
use serde::{Deserialize, Serialize};

/// The front end's parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrontEnd {
    /// Sample rate the features are computed at, in Hz.
    pub sample_rate: u32,
    /// Window length in milliseconds.
    pub window_ms: f32,
    /// Window step in milliseconds.
    pub hop_ms: f32,
    /// FFT length in samples (a power of two at least the window length).
    pub fft_size: usize,
    /// Pre-emphasis coefficient (0 disables it).
    pub pre_emphasis: f32,
    /// Mel filters.
    pub mel_bands: usize,
    /// Lowest filter edge in Hz.
    pub f_min: f32,
    /// Highest filter edge in Hz (at most half the sample rate).
    pub f_max: f32,
    /// Keep this many cepstral coefficients (MFCC); `None`: log-mel energies.
    #[serde(default)]
    pub mfcc: Option<usize>,
    /// Per-recording normalisation before the dataset's (`mean`, `std`).
    #[serde(default, skip_serializing_if = "RecordingNorm::is_none")]
    pub recording_norm: RecordingNorm,
    /// Voice activity trimming before everything per recording.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trim: Option<Trim>,
    /// Per-feature mean subtracted before quantisation.
    pub mean: Vec<f32>,
    /// Per-feature standard deviation divided by before quantisation.
    pub std: Vec<f32>,
}

/// Normalisation of each recording's features by its own statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecordingNorm {
    /// None: features go straight to the dataset normalisation.
    #[default]
    None,
    /// Each feature minus its mean over the recording (cepstral mean
    /// normalisation).
    Mean,
    /// Each feature minus its mean over the recording, divided by its
    /// standard deviation there (floored, so that a constant feature stays
    /// finite).
    MeanVariance,
}

/// Energy-based voice activity detection: which frames of a recording hold
/// the word.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trim {
    /// A speech frame is at most this far below the loudest frame, in dB.
    pub range_db: f32,
    /// ...and louder than this, in dB relative to full scale (a full-scale
    /// sine is -3 dBFS).
    pub floor_db: f32,
    /// Frames kept on each side of the first and last speech frame.
    pub margin_frames: usize,
}

impl Trim {
    /// 35 dB of range below the loudest frame, a floor of -55 dBFS, two
    /// frames of margin: on the project's recordings this keeps the word and
    /// its onset, and drops a quiet room's silence around it.
    pub fn speech() -> Self {
        Trim {
            range_db: 35.0,
            floor_db: -55.0,
            margin_frames: 2,
        }
    }

    /// The level (dBFS) a speech frame reaches in a recording whose loudest
    /// frame is at `peak_db`: within `range_db` of it, and above `floor_db`.
    pub fn threshold_db(&self, peak_db: f32) -> f32 {
        (peak_db - self.range_db).max(self.floor_db)
    }
}

impl RecordingNorm {
    /// No per-recording normalisation (the default, left out of files).
    pub fn is_none(&self) -> bool {
        *self == RecordingNorm::None
    }
}

impl FrontEnd {
    /// 8 kHz speech, 25 ms windows every 10 ms, 256-point FFT, 40 mel bands
    /// from 20 Hz to 4 kHz, `mfcc` coefficients (or log-mel with `None`),
    /// no normalisation (mean 0, std 1).
    pub fn speech_8k(mfcc: Option<usize>) -> Self {
        let mut f = FrontEnd {
            sample_rate: 8000,
            window_ms: 25.0,
            hop_ms: 10.0,
            fft_size: 256,
            pre_emphasis: 0.97,
            mel_bands: 40,
            f_min: 20.0,
            f_max: 4000.0,
            mfcc,
            recording_norm: RecordingNorm::None,
            trim: None,
            mean: Vec::new(),
            std: Vec::new(),
        };
        f.mean = vec![0.0; f.features()];
        f.std = vec![1.0; f.features()];
        f
    }

    /// Features per frame.
    pub fn features(&self) -> usize {
        self.mfcc.unwrap_or(self.mel_bands)
    }

    /// Window length in samples.
    pub fn window_samples(&self) -> usize {
        (self.window_ms * self.sample_rate as f32 / 1000.0).round() as usize
    }

    /// Window step in samples.
    pub fn hop_samples(&self) -> usize {
        (self.hop_ms * self.sample_rate as f32 / 1000.0).round() as usize
    }

    /// Frames of a recording of `samples` samples (at `sample_rate`): one
    /// per full window, and one (zero-padded) for a recording shorter than a
    /// window.
    pub fn frames(&self, samples: usize) -> usize {
        let (w, h) = (self.window_samples(), self.hop_samples());
        if samples <= w {
            1
        } else {
            1 + (samples - w) / h
        }
    }

    /// Checks every parameter; `input_size` is the model's features per
    /// frame. Errors name the field (`input.front_end.<field>`).
    pub fn validate(&self, input_size: usize) -> Result<()> {
        let bad = |field: &str, msg: String| {
            Err(ModelError::invalid(format!("input.front_end.{field}"), msg))
        };
        if !(1000..=192_000).contains(&self.sample_rate) {
            return bad(
                "sample_rate",
                format!("{} Hz, allowed 1000..=192000", self.sample_rate),
            );
        }
        if !(self.window_ms > 0.0 && self.hop_ms > 0.0) {
            return bad("window_ms", "window and hop must be positive".into());
        }
        let w = self.window_samples();
        if w < 2 || self.hop_samples() < 1 {
            return bad(
                "window_ms",
                format!("{w} samples per window at {} Hz", self.sample_rate),
            );
        }
        if !self.fft_size.is_power_of_two() || self.fft_size < w {
            return bad(
                "fft_size",
                format!(
                    "{} must be a power of two of at least the window's {w} samples",
                    self.fft_size
                ),
            );
        }
        if !(0.0..1.0).contains(&self.pre_emphasis) {
            return bad(
                "pre_emphasis",
                format!("{}, allowed 0..1", self.pre_emphasis),
            );
        }
        let nyquist = self.sample_rate as f32 / 2.0;
        if !(self.f_min >= 0.0 && self.f_min < self.f_max && self.f_max <= nyquist) {
            return bad(
                "f_max",
                format!(
                    "filters from {} Hz to {} Hz; need 0 <= f_min < f_max <= {nyquist} Hz",
                    self.f_min, self.f_max
                ),
            );
        }
        if self.mel_bands < 1 || self.mel_bands > self.fft_size / 2 {
            return bad(
                "mel_bands",
                format!("{}, allowed 1..={}", self.mel_bands, self.fft_size / 2),
            );
        }
        if let Some(c) = self.mfcc {
            if c < 1 || c > self.mel_bands {
                return bad("mfcc", format!("{c}, allowed 1..={}", self.mel_bands));
            }
        }
        let n = self.features();
        if n != input_size {
            return bad(
                "mfcc",
                format!("the front end makes {n} features, the model takes {input_size}"),
            );
        }
        if self.mean.len() != n || self.std.len() != n {
            return bad(
                "mean",
                format!(
                    "{} means and {} deviations for {n} features",
                    self.mean.len(),
                    self.std.len()
                ),
            );
        }
        if let Some(t) = &self.trim {
            if !(t.range_db.is_finite() && t.range_db > 0.0) {
                return bad("trim.range_db", format!("{}, must be positive", t.range_db));
            }
            if !(t.floor_db.is_finite() && t.floor_db < 0.0) {
                return bad(
                    "trim.floor_db",
                    format!("{} dBFS, must be below 0", t.floor_db),
                );
            }
            if t.margin_frames > 1000 {
                return bad(
                    "trim.margin_frames",
                    format!("{}, allowed 0..=1000", t.margin_frames),
                );
            }
        }
        if let Some(i) = self.std.iter().position(|&s| !(s.is_finite() && s > 0.0)) {
            return bad(
                "std",
                format!("entry {i} is {}, must be positive", self.std[i]),
            );
        }
        if let Some(i) = self.mean.iter().position(|m| !m.is_finite()) {
            return bad("mean", format!("entry {i} is not finite"));
        }
        Ok(())
    }
}
