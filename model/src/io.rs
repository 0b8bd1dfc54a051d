//! The model file: one versioned JSON document (documented in
//! `docs/model-format.md`).
//!
//! ```json
//! { "format": "lstm-accel-model", "version": 1, "model": { ... } }
//! ```
//! Loading checks the header before the body, so a file from a newer version
//! is reported as such rather than as a parse error; a file that ends early is
//! reported as truncated; then the whole model is validated. Saving validates
//! first and writes a temporary file beside the target, renamed into place only
//! when complete: an error never leaves a half-written model.

use crate::error::{ModelError, Problem, Result};
use crate::model::Model;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

/// The `format` field of a model file.
pub const FORMAT_NAME: &str = "lstm-accel-model";
/// The version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Deserialize)]
struct Header {
    format: Option<String>,
    version: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct EnvelopeOut<'a> {
    format: &'static str,
    version: u32,
    model: &'a Model,
}

#[derive(Deserialize)]
struct EnvelopeIn {
    model: Model,
}

/// A parse error at the very end of the text (an unterminated number, say)
/// is a truncation as much as an explicit end-of-file is.
fn parse_error(e: serde_json::Error, text: &str) -> Problem {
    let lines = text.lines().count().max(1);
    let last_len = text.lines().last().map_or(0, |l| l.chars().count());
    let at_end = e.line() == lines && e.column() >= last_len && !text.ends_with('\n');
    if e.is_eof() || at_end {
        Problem::Truncated(format!("the document ends early ({e})"))
    } else {
        Problem::Malformed(e.to_string())
    }
}

impl Model {
    /// Serializes to the versioned JSON document.
    pub fn to_json(&self) -> Result<String> {
        self.validate()?;
        serde_json::to_string(&EnvelopeOut {
            format: FORMAT_NAME,
            version: FORMAT_VERSION,
            model: self,
        })
        .map_err(|e| ModelError::at("model", Problem::Malformed(e.to_string())))
    }

    /// Parses and validates a versioned JSON document.
    pub fn from_json(text: &str) -> Result<Model> {
        let header: Header = serde_json::from_str(text).map_err(|e| ModelError {
            file: None,
            tensor: None,
            problem: parse_error(e, text),
        })?;
        let supported = format!("\"{FORMAT_NAME}\" version {FORMAT_VERSION}");
        match (&header.format, &header.version) {
            (Some(f), Some(v))
                if f == FORMAT_NAME && v.as_u64() == Some(u64::from(FORMAT_VERSION)) => {}
            (f, v) => {
                return Err(ModelError::at(
                    "format",
                    Problem::UnknownVersion {
                        found: format!(
                            "{} version {}",
                            f.as_deref()
                                .map_or("(none)".to_string(), |f| format!("\"{f}\"")),
                            v.as_ref().map_or("(none)".to_string(), ToString::to_string)
                        ),
                        supported,
                    },
                ))
            }
        }
        let env: EnvelopeIn = serde_json::from_str(text).map_err(|e| ModelError {
            file: None,
            tensor: Some("model".into()),
            problem: parse_error(e, text),
        })?;
        env.model.validate()?;
        Ok(env.model)
    }

    /// Reads a model file; errors name the file.
    pub fn load(path: impl AsRef<Path>) -> Result<Model> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| ModelError {
            file: Some(path.into()),
            tensor: None,
            problem: Problem::Io(e),
        })?;
        Model::from_json(&text).map_err(|e| e.in_file(path))
    }

    /// Writes a model file atomically (temporary file, then rename).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let text = self.to_json().map_err(|e| e.in_file(path))?;
        write_atomic(path, text.as_bytes()).map_err(|e| ModelError {
            file: Some(path.into()),
            tensor: None,
            problem: Problem::Io(e),
        })
    }
}

/// Writes `bytes` to a temporary file beside `path` and renames it into
/// place; on any error the temporary file is removed and `path` is untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "path has no file name")
    })?;
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
