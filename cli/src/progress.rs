//! The progress bars of long commands: steps of training, evaluation and
//! the report's sweeps, and frames through a simulated design or a board.

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

/// A bar of `len` frames through a design (simulated or on a board),
/// hidden unless `show`.
pub(crate) fn frames_bar(show: bool, len: usize) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(len as u64);
    b.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} frames ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    b
}
