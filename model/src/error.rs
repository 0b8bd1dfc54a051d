//! Errors for bad model input: every error names the file (when there is one),
//! the tensor (a path such as `layers[1].w_h`) and what is wrong.

use std::fmt;
use std::path::PathBuf;

/// What is wrong.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// The file could not be read or written.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The file ends before the document does.
    #[error("file is truncated: {0}")]
    Truncated(String),
    /// The document is not valid for this format.
    #[error("malformed: {0}")]
    Malformed(String),
    /// The declared format or version is not one this build reads.
    #[error("unknown format {found}; this build reads {supported}")]
    UnknownVersion {
        /// What the file declares.
        found: String,
        /// What is supported.
        supported: String,
    },
    /// A tensor has the wrong shape.
    #[error("wrong shape: expected {expected}, found {found}")]
    Shape {
        /// The shape the model's structure needs.
        expected: String,
        /// The shape present.
        found: String,
    },
    /// A value is outside its allowed range.
    #[error("value {value} at index {index} is out of range ({allowed})")]
    OutOfRange {
        /// Flat index in the tensor.
        index: usize,
        /// The value found.
        value: String,
        /// What was allowed.
        allowed: String,
    },
    /// A float value is NaN or infinite.
    #[error("non-finite value {value} at index {index}")]
    NonFinite {
        /// Flat index in the tensor.
        index: usize,
        /// The value found.
        value: f64,
    },
    /// The encoding or format is inconsistent (a code out of its range, a
    /// codebook entry that does not fit its width, an accumulator too wide...).
    #[error("{0}")]
    Invalid(String),
}

/// An error with its location.
#[derive(Debug)]
pub struct ModelError {
    /// The file involved, if any.
    pub file: Option<PathBuf>,
    /// The tensor or field involved, e.g. `layers[0].w_x`.
    pub tensor: Option<String>,
    /// What is wrong.
    pub problem: Problem,
}

impl ModelError {
    /// An error about a tensor.
    pub fn at(tensor: impl Into<String>, problem: Problem) -> Self {
        ModelError {
            file: None,
            tensor: Some(tensor.into()),
            problem,
        }
    }

    /// An `Invalid` error about a tensor.
    pub fn invalid(tensor: impl Into<String>, msg: impl Into<String>) -> Self {
        Self::at(tensor, Problem::Invalid(msg.into()))
    }

    /// Attaches the file.
    pub fn in_file(mut self, file: impl Into<PathBuf>) -> Self {
        self.file = Some(file.into());
        self
    }
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}: ", file.display())?;
        }
        if let Some(t) = &self.tensor {
            write!(f, "{t}: ")?;
        }
        write!(f, "{}", self.problem)
    }
}

impl std::error::Error for ModelError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.problem.source()
    }
}

/// Result with a [`ModelError`].
pub type Result<T> = std::result::Result<T, ModelError>;
