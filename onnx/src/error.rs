//! The importer's error: the file, the node (or initializer) at fault and
//! what is wrong with it, so a user can find the spot in Netron or in the
//! exporting script.

use std::path::PathBuf;

/// What went wrong, and where.
#[derive(Debug, thiserror::Error)]
#[error("{}: {}{message}", file.display(), at.as_deref().map(|a| format!("{a}: ")).unwrap_or_default())]
pub struct OnnxError {
    /// The file.
    pub file: PathBuf,
    /// The node (`node 'name' (Op)`) or tensor (`initializer 'name'`) at
    /// fault, when there is one.
    pub at: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// The importer's result.
pub type Result<T> = std::result::Result<T, OnnxError>;

/// An error before it knows its file.
#[derive(Debug)]
pub(crate) struct Located {
    pub at: Option<String>,
    pub message: String,
}

impl Located {
    pub fn at(at: impl Into<String>, message: impl Into<String>) -> Self {
        Located {
            at: Some(at.into()),
            message: message.into(),
        }
    }

    pub fn file(message: impl Into<String>) -> Self {
        Located {
            at: None,
            message: message.into(),
        }
    }

    pub fn in_file(self, file: &std::path::Path) -> OnnxError {
        OnnxError {
            file: file.to_path_buf(),
            at: self.at,
            message: self.message,
        }
    }
}

/// `node 'name' (Op)`, or `node #i (Op)` for an unnamed node.
pub(crate) fn node_label(index: usize, node: &onnx_protobuf::NodeProto) -> String {
    if node.name.is_empty() {
        format!("node #{index} ({})", node.op_type)
    } else {
        format!("node '{}' ({})", node.name, node.op_type)
    }
}
