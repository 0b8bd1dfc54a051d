//! The command-line tests' helpers: run `lstm-accel` from the repository
//! root (where the default FSDD folder, `../shared/data/fsdd`, is found).
// Each test file uses the helpers it needs.
#![allow(dead_code)]

use serde_json::Value;
use std::process::{Command, Output};

/// Runs `lstm-accel` with `args`.
pub fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lstm-accel"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// Runs `lstm-accel` with `args`, which must succeed, and parses its JSON.
pub fn json(args: &[&str]) -> Value {
    let out = cli(args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

/// Runs `lstm-accel` with `args`, which must fail saying `says`.
pub fn fails(args: &[&str], says: &str) {
    let out = cli(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert!(err.contains(says), "{args:?}: {err}");
}
