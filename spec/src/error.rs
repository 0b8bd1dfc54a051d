//! Why a model and a hardware configuration cannot become an accelerator:
//! the one error of the spec's derivation, with the field, tensor or
//! resource it is about.

use crate::target::Target;

/// Why a model and configuration cannot become an accelerator.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// A configuration field is out of range.
    #[error("hardware configuration: {0}")]
    Config(String),
    /// The model is invalid.
    #[error(transparent)]
    Model(#[from] lstm_accel_model::ModelError),
    /// A matrix uses an encoding the hardware does not implement yet.
    #[error("{tensor}: {encoding} is not supported by the hardware generator")]
    Unsupported {
        /// Tensor path.
        tensor: String,
        /// Its encoding.
        encoding: String,
    },
    /// A hardware configuration the spec can plan but the generator does
    /// not build yet.
    #[error("hardware configuration: {0} (the spec plans it; the generated design has one gate unit with five activation evaluators)")]
    NotGenerated(String),
    /// The design does not fit the target.
    #[error("{what} need {needed} {unit}, {target} has {available}{detail}")]
    DoesNotFit {
        /// What does not fit.
        what: String,
        /// The part.
        target: Target,
        /// Amount needed.
        needed: u64,
        /// Amount available.
        available: u64,
        /// What is counted.
        unit: String,
        /// Extra explanation.
        detail: String,
    },
}
