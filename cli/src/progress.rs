//! The progress bars of long commands (training, evaluation, the report's
//! sweeps), in one style.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar of `len` steps named `what`, hidden unless `show`.
pub(crate) fn progress_bar(show: bool, len: u64, what: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed} {msg}") {
        b.set_style(style);
    }
    b.set_message(what.to_string());
    b
}
