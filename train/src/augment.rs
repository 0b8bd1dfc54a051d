//! Training-set augmentation for voices the training set lacks: seeded,
//! repeatable copies of every recording, each drawn anew from its own
//! stream (the seed, the recording's index and the copy's), through the
//! same front end as the plain features:
//!
//! - speed perturbation (tempo and pitch together: resampled as if played
//!   faster or slower);
//! - vocal tract length perturbation (the filterbank's frequency axis
//!   warped, [`FeatureExtractor::warped`]);
//! - gain, and white noise at a signal-to-noise ratio drawn from a range
//!   (the recording's own level over the noise's);
//! - a time shift: leading silence (the same noise, when there is noise);
//! - SpecAugment-style masks (Park et al. 2019): runs of frames and of
//!   features set to the recording's own mean of each feature.
//!
//! Copies of test recordings are made too (so that every set lines up with
//! the recordings' order) and left out by the split.

use crate::data::{played_at, Example};
use crate::TrainError;
use lstm_accel_audio::features::feature_statistics;
use lstm_accel_audio::{FeatureExtractor, Recording};
use lstm_accel_model::frontend::FrontEnd;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// What each augmented copy draws.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Augmentation {
    /// Augmented copies of every recording.
    pub copies: usize,
    /// Speed drawn from `1 +- speed` (0: none).
    pub speed: f32,
    /// Warp factor drawn from `1 +- vtlp` (0: none).
    pub vtlp: f32,
    /// White noise at a signal-to-noise ratio drawn from this range, in dB.
    pub noise_snr_db: Option<(f32, f32)>,
    /// Gain drawn from `+- gain_db`.
    pub gain_db: f32,
    /// Leading silence of up to this many milliseconds.
    pub shift_ms: f32,
    /// Masks of each kind (time, feature) per copy.
    pub masks: usize,
    /// Longest time mask, in frames.
    pub time_mask: usize,
    /// Longest feature mask, in features.
    pub feature_mask: usize,
    /// Seed of every draw.
    pub seed: u64,
}

/// One copy's draw.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Draw {
    /// Playback speed.
    pub speed: f64,
    /// Filterbank warp.
    pub alpha: f32,
    /// Gain (linear).
    pub gain: f32,
    /// Noise amplitude relative to the recording's RMS (0: none).
    pub noise: f32,
    /// Leading silence, in samples at the front end's rate.
    pub shift: usize,
}

impl Augmentation {
    /// Checks the ranges; errors name the setting.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad =
            |what: &str, v: String| Err(TrainError::Config(format!("augmentation {what}: {v}")));
        if !(0.0..0.5).contains(&self.speed) {
            return bad("speed", format!("+-{}, allowed 0 to 0.5", self.speed));
        }
        if !(0.0..0.3).contains(&self.vtlp) {
            return bad("vtlp", format!("+-{}, allowed 0 to 0.3", self.vtlp));
        }
        if let Some((lo, hi)) = self.noise_snr_db {
            if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
                return bad("noise", format!("SNR {lo}..{hi} dB"));
            }
        }
        if !(0.0..=40.0).contains(&self.gain_db) {
            return bad("gain", format!("+-{} dB, allowed 0 to 40", self.gain_db));
        }
        if !(0.0..=2000.0).contains(&self.shift_ms) {
            return bad("shift", format!("{} ms, allowed 0 to 2000", self.shift_ms));
        }
        Ok(())
    }

    /// The random stream of copy `copy` of recording `index`.
    fn rng(&self, index: usize, copy: usize) -> ChaCha8Rng {
        let mut r = ChaCha8Rng::seed_from_u64(self.seed ^ 0xa06_e7a7e);
        r.set_stream(((index as u64) << 16) | copy as u64);
        r
    }

    /// The draw of copy `copy` of recording `index`, at `rate` Hz.
    pub fn draw(&self, index: usize, copy: usize, rate: u32) -> Draw {
        let mut r = self.rng(index, copy);
        let mut around = |w: f32| {
            if w > 0.0 {
                1.0 + r.random_range(-w..=w)
            } else {
                1.0
            }
        };
        let speed = f64::from(around(self.speed));
        let alpha = around(self.vtlp);
        let gain_db = if self.gain_db > 0.0 {
            r.random_range(-self.gain_db..=self.gain_db)
        } else {
            0.0
        };
        let noise = match self.noise_snr_db {
            Some((lo, hi)) => 10f32.powf(-r.random_range(lo..=hi) / 20.0),
            None => 0.0,
        };
        let shift = (r.random_range(0.0..=self.shift_ms) * rate as f32 / 1000.0) as usize;
        Draw {
            speed,
            alpha,
            gain: 10f32.powf(gain_db / 20.0),
            noise,
            shift,
        }
    }

    /// The raw features (as [`crate::data::extract`] gives) of copy `copy`
    /// of recording `index`, `rec`.
    pub fn features(
        &self,
        rec: &Recording,
        index: usize,
        copy: usize,
        front_end: &FrontEnd,
    ) -> Vec<Vec<f32>> {
        let d = self.draw(index, copy, front_end.sample_rate);
        let mut x = played_at(rec, d.speed, front_end.sample_rate);
        let rms = (x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32).sqrt();
        let mut noise_rng = self.rng(index, copy ^ 0x8000);
        let mut noise = |n: &mut f32| {
            if d.noise > 0.0 {
                // Uniform white noise of the drawn RMS (sqrt 3 x RMS peak).
                *n += d.noise * rms * 3f32.sqrt() * noise_rng.random_range(-1.0f32..=1.0);
            }
        };
        let mut lead = vec![0.0f32; d.shift];
        lead.iter_mut().for_each(&mut noise);
        for v in &mut x {
            noise(v);
        }
        lead.extend(x);
        for v in &mut lead {
            *v = (*v * d.gain).clamp(-1.0, 1.0);
        }
        let mut frames = FeatureExtractor::warped(front_end, d.alpha).raw(&lead);
        self.mask(&mut frames, &mut self.rng(index, copy ^ 0x4000));
        frames
    }

    /// SpecAugment masks on one recording's features, set to the
    /// recording's own mean of each feature.
    fn mask(&self, frames: &mut [Vec<f32>], r: &mut ChaCha8Rng) {
        if self.masks == 0 || frames.is_empty() {
            return;
        }
        let (mean, _) = feature_statistics(frames.iter());
        let (n, features) = (frames.len(), frames[0].len());
        for _ in 0..self.masks {
            if self.time_mask > 0 {
                // At most a fifth of the recording, so the word stays.
                let len = r.random_range(0..=self.time_mask.min(n / 5));
                let at = r.random_range(0..=n - len);
                for f in &mut frames[at..at + len] {
                    for (v, m) in f.iter_mut().zip(&mean) {
                        *v = *m as f32;
                    }
                }
            }
            if self.feature_mask > 0 {
                let len = r.random_range(0..=self.feature_mask.min(features));
                let at = r.random_range(0..=features - len);
                for f in frames.iter_mut() {
                    for k in at..at + len {
                        f[k] = mean[k] as f32;
                    }
                }
            }
        }
    }

    /// Every copy of every recording: `copies` feature sets, each lined up
    /// with `recordings` (the labels given beside them); `progress` is
    /// called after each recording.
    pub fn copies_of(
        &self,
        recordings: &[(Recording, usize)],
        front_end: &FrontEnd,
        mut progress: impl FnMut(usize),
    ) -> Result<Vec<Vec<Example>>, TrainError> {
        self.validate()?;
        let mut sets = vec![Vec::with_capacity(recordings.len()); self.copies];
        for (i, (rec, label)) in recordings.iter().enumerate() {
            for (c, set) in sets.iter_mut().enumerate() {
                set.push(Example {
                    frames: self.features(rec, i, c, front_end),
                    label: *label,
                });
            }
            progress(i + 1);
        }
        Ok(sets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(seconds: f32) -> Recording {
        Recording {
            samples: (0..(8000.0 * seconds) as usize)
                .map(|i| 0.3 * (i as f32 * 0.2).sin() * (i as f32 * 0.003).sin())
                .collect(),
            sample_rate: 8000,
        }
    }

    fn all() -> Augmentation {
        Augmentation {
            copies: 2,
            speed: 0.1,
            vtlp: 0.1,
            noise_snr_db: Some((10.0, 30.0)),
            gain_db: 6.0,
            shift_ms: 200.0,
            masks: 2,
            time_mask: 5,
            feature_mask: 3,
            seed: 4,
        }
    }

    #[test]
    fn copies_are_repeatable_and_differ_from_each_other() {
        let fe = FrontEnd::speech_8k(Some(13));
        let recs = vec![(tone(0.5), 3), (tone(0.4), 7)];
        let a = all().copies_of(&recs, &fe, |_| {}).expect("copies");
        let b = all().copies_of(&recs, &fe, |_| {}).expect("copies");
        assert_eq!(a.len(), 2);
        for (x, y) in a.iter().zip(&b) {
            for (u, v) in x.iter().zip(y) {
                assert_eq!(u.frames, v.frames);
            }
        }
        assert_ne!(a[0][0].frames, a[1][0].frames);
        assert_eq!(a[1][1].label, 7);
        let other = Augmentation { seed: 5, ..all() };
        let c = other.copies_of(&recs, &fe, |_| {}).expect("copies");
        assert_ne!(a[0][0].frames, c[0][0].frames);
        // No augmentation: the plain features.
        let none = Augmentation {
            copies: 1,
            ..Augmentation::default()
        };
        let plain = none.copies_of(&recs, &fe, |_| {}).expect("copies");
        assert_eq!(
            plain[0][0].frames,
            FeatureExtractor::new(&fe).raw(&recs[0].0.samples)
        );
    }

    #[test]
    fn draws_stay_in_their_ranges() {
        let a = all();
        for i in 0..200 {
            let d = a.draw(i, i % 3, 8000);
            assert!((0.9..=1.1).contains(&d.speed), "{d:?}");
            assert!((0.9..=1.1).contains(&d.alpha), "{d:?}");
            assert!((0.5..=2.0).contains(&d.gain), "{d:?}");
            assert!(
                (10f32.powf(-1.5)..=10f32.powf(-0.5)).contains(&d.noise),
                "{d:?}"
            );
            assert!(d.shift <= 1600, "{d:?}");
        }
        let bad = Augmentation {
            speed: 0.7,
            ..all()
        };
        assert!(bad.validate().unwrap_err().to_string().contains("speed"));
    }
}
