//! The command-line tests' helpers: run `lstm-accel` from the repository
//! root (where the default FSDD folder, `../shared/data/fsdd`, is found).
// Each test file uses the helpers it needs.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

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

/// Starts `lstm-accel virtual-board` with `args` and returns it with the
/// pseudo-terminal it prints first (empty if it printed none; its stderr
/// says why once it is stopped).
pub fn virtual_board(args: &[&str]) -> (Child, String) {
    let mut board = Command::new(env!("CARGO_BIN_EXE_lstm-accel"))
        .arg("virtual-board")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("virtual-board starts");
    let mut first = String::new();
    BufReader::new(board.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("the terminal's path");
    (board, first.trim().to_string())
}

/// Stops a board `virtual_board` started; its output.
pub fn stop(mut board: Child) -> Output {
    let _ = board.kill();
    board.wait_with_output().expect("the board ends")
}
