//! Training of LSTM speech classifiers on FSDD (`lstm_accel_audio::fsdd`):
//! the recordings become feature sequences through the model's own front
//! end ([`data`]), and a float LSTM (layers of LSTM cells, a linear head on
//! the last frame's h) is trained with candle on the CPU ([`float`]). The
//! compression methods build on the float model.

pub mod data;
pub mod float;

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
    /// The configuration cannot train.
    #[error("{0}")]
    Config(String),
}
