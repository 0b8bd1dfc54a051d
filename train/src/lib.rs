//! Training of LSTM speech classifiers on FSDD (`lstm_accel_audio::fsdd`):
//! the recordings become feature sequences through the model's own front
//! end ([`data`]), and a float LSTM (layers of LSTM cells, a linear head on
//! the last frame's output) is trained with candle on the CPU
//! ([`network`]), float or with its matrices quantized in the forward pass
//! ([`weights`]), and exported to the accelerator's model file with its
//! bit-exact accuracy ([`export`]).
//!
//! Dependencies: the model, the audio front end and the compression
//! toolkit, and candle; nothing of the hardware.

pub mod augment;
pub mod data;
pub mod export;
pub mod network;
pub mod prior;
pub mod rank;
pub mod shadow;
pub mod synthetic;
pub mod weights;

/// Why training could not run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The dataset could not be read.
    #[error(transparent)]
    Data(#[from] lstm_accel_audio::fsdd::FsddError),
    /// A recording could not be read.
    #[error(transparent)]
    Audio(#[from] lstm_accel_audio::AudioError),
    /// The tensor library failed.
    #[error("training: {0}")]
    Tensor(#[from] candle_core::Error),
    /// A model could not be built or run.
    #[error(transparent)]
    Model(#[from] lstm_accel_model::error::ModelError),
    /// The configuration cannot train.
    #[error("{0}")]
    Config(String),
}
