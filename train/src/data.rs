//! Feature sequences for training: each recording through the front end
//! (`lstm_accel_audio::FeatureExtractor`, the implementation the host driver
//! uses), normalised with the training set's per-feature mean and standard
//! deviation, which become the front end's `mean` and `std` so that a model
//! trained here sees the same numbers on the device.

use crate::TrainError;
use lstm_accel_audio::features::feature_statistics;
use lstm_accel_audio::fsdd::{Fsdd, Split, Utterance};
use lstm_accel_audio::{FeatureExtractor, Recording};
use lstm_accel_model::frontend::FrontEnd;

/// One labelled sequence.
#[derive(Clone, Debug)]
pub struct Example {
    /// Frames of features.
    pub frames: Vec<Vec<f32>>,
    /// The class (the spoken digit).
    pub label: usize,
}

/// The raw (not yet normalised) features of `utterances`; `progress` is
/// called after each file.
pub fn extract(
    utterances: &[&Utterance],
    front_end: &FrontEnd,
    progress: impl FnMut(usize),
) -> Result<Vec<Example>, TrainError> {
    extract_at_speed(utterances, front_end, 1.0, progress)
}

/// [`extract`] of the recordings played `speed` times as fast (speed
/// perturbation: tempo and pitch scaled together, as a faster or slower,
/// higher or lower voice): a recording at rate `r` is resampled as if it
/// were at `r * speed`.
pub fn extract_at_speed(
    utterances: &[&Utterance],
    front_end: &FrontEnd,
    speed: f64,
    mut progress: impl FnMut(usize),
) -> Result<Vec<Example>, TrainError> {
    if !(0.5..=2.0).contains(&speed) {
        return Err(TrainError::Config(format!(
            "speed {speed}: perturbations between 0.5 and 2"
        )));
    }
    let fx = FeatureExtractor::new(front_end);
    utterances
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let rec = lstm_accel_audio::wav::read(&u.path)?;
            let frames = fx.raw(&played_at(&rec, speed, front_end.sample_rate));
            progress(i + 1);
            if frames.is_empty() {
                return Err(TrainError::Config(format!(
                    "{}: shorter than one analysis window",
                    u.path.display()
                )));
            }
            Ok(Example {
                frames,
                label: usize::from(u.digit),
            })
        })
        .collect()
}

/// The samples of `rec` played `speed` times as fast, at `rate` Hz: the
/// recording resampled as if it were at `speed` times its own rate.
pub fn played_at(rec: &Recording, speed: f64, rate: u32) -> Vec<f32> {
    let played = (f64::from(rec.sample_rate) * speed).round() as u32;
    lstm_accel_audio::resample::resample(&rec.samples, played, rate)
}

/// A split's examples, normalised with its training set's statistics.
pub struct SplitSet {
    /// Training examples.
    pub train: Vec<Example>,
    /// Test examples.
    pub test: Vec<Example>,
    /// Validation examples: a training speaker kept out of training, for
    /// choices that must not look at the test set (empty without one).
    pub validation: Vec<Example>,
    /// Per-feature mean of the raw training features.
    pub mean: Vec<f32>,
    /// Per-feature standard deviation of the raw training features.
    pub std: Vec<f32>,
}

impl SplitSet {
    /// `features[i]` is the raw features of `fsdd.utterances()[i]`; the
    /// recordings `split` tests on go to the test set, the others to the
    /// training set, and both are normalised with the training set's
    /// statistics.
    ///
    /// `perturbed` are further feature sets of every recording (speed
    /// perturbations, [`extract_at_speed`], augmented copies,
    /// [`crate::augment`]); their training recordings join the training
    /// set, their test recordings are left out. `extra` joins every
    /// split's training set (synthetic voices, [`crate::synthetic`]). The
    /// recordings of `validation` (a speaker the split does not test on)
    /// become the validation set instead of training ones, without their
    /// perturbed copies.
    pub fn new(
        fsdd: &Fsdd,
        split: &Split,
        features: &[Example],
        perturbed: &[Vec<Example>],
        extra: &[Example],
        validation: Option<&str>,
    ) -> Result<SplitSet, TrainError> {
        fsdd.check(split)?;
        if let Some(v) = validation {
            fsdd.check(&Split::LeaveOut(v.to_string()))?;
            if *split == Split::LeaveOut(v.to_string()) {
                return Err(TrainError::Config(format!(
                    "validation speaker {v} is the split's test speaker"
                )));
            }
        }
        let n = fsdd.utterances().len();
        if let Some(bad) = std::iter::once(features)
            .chain(perturbed.iter().map(Vec::as_slice))
            .find(|f| f.len() != n)
        {
            return Err(TrainError::Config(format!(
                "{} feature sequences for {n} recordings",
                bad.len()
            )));
        }
        let (mut train, mut test, mut valid) = (Vec::new(), Vec::new(), Vec::new());
        for (i, u) in fsdd.utterances().iter().enumerate() {
            if split.is_test(u) {
                test.push(features[i].clone());
            } else if validation == Some(u.speaker.as_str()) {
                valid.push(features[i].clone());
            } else {
                train.push(features[i].clone());
                train.extend(perturbed.iter().map(|p| p[i].clone()));
            }
        }
        train.extend(extra.iter().cloned());
        let (mean, std) = statistics(&train);
        normalise(&mut train, &mean, &std);
        normalise(&mut test, &mean, &std);
        normalise(&mut valid, &mean, &std);
        Ok(SplitSet {
            train,
            test,
            validation: valid,
            mean,
            std,
        })
    }

    /// `front_end` with this split's normalisation.
    pub fn front_end(&self, front_end: &FrontEnd) -> FrontEnd {
        FrontEnd {
            mean: self.mean.clone(),
            std: self.std.clone(),
            ..front_end.clone()
        }
    }
}

/// Per-feature mean and standard deviation over every frame of `set` (the
/// deviation at least 1e-4, so that a constant feature divides safely).
pub fn statistics(set: &[Example]) -> (Vec<f32>, Vec<f32>) {
    let (mean, var) = feature_statistics(set.iter().flat_map(|e| &e.frames));
    (
        mean.iter().map(|&m| m as f32).collect(),
        var.iter().map(|v| v.max(1e-8).sqrt() as f32).collect(),
    )
}

/// `(v - mean) / std` per feature, in place.
pub fn normalise(set: &mut [Example], mean: &[f32], std: &[f32]) {
    for f in set.iter_mut().flat_map(|e| e.frames.iter_mut()) {
        for ((v, m), s) in f.iter_mut().zip(mean).zip(std) {
            *v = (*v - m) / s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalised_features_have_zero_mean_and_unit_deviation() {
        let mut set = vec![
            Example {
                frames: vec![vec![1.0, 10.0], vec![3.0, 30.0]],
                label: 0,
            },
            Example {
                frames: vec![vec![5.0, 50.0]],
                label: 1,
            },
        ];
        let (mean, std) = statistics(&set);
        assert!((mean[0] - 3.0).abs() < 1e-6 && (mean[1] - 30.0).abs() < 1e-5);
        normalise(&mut set, &mean, &std);
        let (m2, s2) = statistics(&set);
        assert!(m2.iter().all(|m| m.abs() < 1e-5), "{m2:?}");
        assert!(s2.iter().all(|s| (s - 1.0).abs() < 1e-4), "{s2:?}");
    }
}
