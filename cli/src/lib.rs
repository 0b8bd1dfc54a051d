//! The `lstm-accel` command line as a library: one module per command,
//! each with its argument struct, and the pieces the commands share (the
//! engine runner, progress bars, reports, plots). The binary (`main.rs`)
//! parses the command line and calls these; the Python package calls the
//! same functions, so a notebook and a shell get the same files and
//! reports.
//!
//! Dependencies: every crate of the project (model, audio, compress, onnx,
//! train, spec, hdl, sim, host, verify); only the binary and the Python
//! package depend on it.

pub mod demo;
pub mod demo_speech;
pub mod difftest_cmd;
pub mod engines;
pub mod ese_report;
pub mod eval;
pub mod generate;
pub mod import;
pub mod listen_cmd;
pub mod perf_report;
pub mod plot;
pub mod progress;
pub mod rank_budget;
pub mod report;
pub mod run_cmd;
pub mod simulate;
pub mod spec_cmd;
pub mod synth;
pub mod train_args;
pub mod train_cmd;
pub mod train_sets;
pub mod virtual_board_cmd;
