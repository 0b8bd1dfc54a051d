//! The driver library's example (`host/examples/run_on_board.rs`), the
//! program a user starts their own host software from, run as its
//! documentation says: against `lstm-accel virtual-board` behind a
//! pseudo-terminal, with the spec `lstm-accel generate` wrote for the same
//! model. Every frame's class equals the reference's.

#[allow(dead_code)]
#[path = "../../host/examples/run_on_board.rs"]
mod example;

use lstm_accel_model::random::{self, ModelShape};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn the_driver_example_runs_a_model_on_the_virtual_board() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = random::model(&mut random::rng(44), &ModelShape::ternary(6, &[8], 4, 8));
    let path = dir.path().join("m.json");
    model.save(&path).expect("saved");
    let m = path.to_str().expect("utf-8");
    let out = dir.path().join("design");
    let generated = Command::new(env!("CARGO_BIN_EXE_lstm-accel"))
        .args(["generate", "--model", m, "--lanes", "4", "--out"])
        .arg(&out)
        .output()
        .expect("generate runs");
    assert!(
        generated.status.success(),
        "{}",
        String::from_utf8_lossy(&generated.stderr)
    );
    let mut board = Command::new(env!("CARGO_BIN_EXE_lstm-accel"))
        .args(["virtual-board", "--model", m, "--lanes", "4"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("virtual-board starts");
    let mut first = String::new();
    BufReader::new(board.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("the terminal's path");
    let port = first.trim().to_string();
    let differ = example::run_on_board(&port, &path, &out.join("spec.json"), 4);
    let _ = board.kill();
    let board = board.wait_with_output().expect("the board ends");
    let differ = differ.unwrap_or_else(|e| {
        panic!(
            "the example failed on {port}: {e}\nboard: {}",
            String::from_utf8_lossy(&board.stderr)
        )
    });
    assert_eq!(differ, 0, "every class equals the reference's");
}
