//! The audio front end: speech in, a model's input frames out. One
//! implementation for training, evaluation and the host driver, following
//! the [`FrontEnd`] a model file carries
//! (`lstm_accel_model::frontend`): read a wav file ([`wav`]), resample it to
//! the front end's rate ([`resample`]), compute log-mel or MFCC features
//! ([`features`]), normalise them, and quantise them into the model's input
//! format with the model's own rounding (the bit-exact rounding point
//! Input), so that the reference model and the accelerator see the same
//! integers.
//!
//! Dependencies: the model (its front-end settings and input format), and
//! the wav reader and the FFT; nothing of the hardware.

pub mod features;
pub mod fsdd;
pub mod resample;
pub mod segment;
pub mod wav;

use lstm_accel_model::frontend::FrontEnd;
use lstm_accel_model::model::quantize_features;
use lstm_accel_model::Model;
use std::path::Path;

pub use features::FeatureExtractor;
pub use wav::Recording;

/// Why audio could not be turned into frames.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// A wav file could not be read.
    #[error("{path}: {problem}")]
    Wav {
        /// The file.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// The model has no front end or an invalid one.
    #[error("{0}")]
    Model(String),
}

/// A model's front end, ready to turn recordings into quantised frames.
pub struct AudioInput<'m> {
    model: &'m Model,
    extractor: FeatureExtractor,
}

impl<'m> AudioInput<'m> {
    /// The front end of `model`; an error if the model declares none.
    pub fn new(model: &'m Model) -> Result<Self, AudioError> {
        let fe: &FrontEnd = model.input.front_end.as_ref().ok_or_else(|| {
            AudioError::Model(format!(
                "model \"{}\" has no audio front end (input.front_end), so it cannot take wav files; give it frames instead",
                model.name
            ))
        })?;
        fe.validate(model.input.size)
            .map_err(|e| AudioError::Model(e.to_string()))?;
        Ok(AudioInput {
            model,
            extractor: FeatureExtractor::new(fe),
        })
    }

    /// The model's front end.
    pub fn front_end(&self) -> &FrontEnd {
        self.extractor.front_end()
    }

    /// The front end's feature computation (frame levels for a word
    /// finder; a clone shares the FFT plan).
    pub fn extractor(&self) -> &FeatureExtractor {
        &self.extractor
    }

    /// Normalised float features of a recording, one vector per frame.
    pub fn features(&self, rec: &Recording) -> Vec<Vec<f32>> {
        let fe = self.extractor.front_end();
        let samples = if rec.sample_rate == fe.sample_rate {
            std::borrow::Cow::Borrowed(&rec.samples[..])
        } else {
            std::borrow::Cow::Owned(resample::resample(
                &rec.samples,
                rec.sample_rate,
                fe.sample_rate,
            ))
        };
        self.extractor.normalised(&samples)
    }

    /// The model's input frames for a recording: its features quantised
    /// into the input format (saturating) with the model's rounding.
    pub fn frames(&self, rec: &Recording) -> Vec<Vec<i32>> {
        let (format, rounding) = (self.model.input.format, self.model.rounding);
        self.features(rec)
            .iter()
            .map(|f| quantize_features(format, rounding, f))
            .collect()
    }

    /// [`Self::frames`] of a wav file.
    pub fn frames_of_file(&self, path: &Path) -> Result<Vec<Vec<i32>>, AudioError> {
        Ok(self.frames(&wav::read(path)?))
    }
}
