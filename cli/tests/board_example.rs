//! The driver library's example (`host/examples/run_on_board.rs`), the
//! program a user starts their own host software from, run as its
//! documentation says: against `lstm-accel virtual-board` behind a
//! pseudo-terminal, with the spec `lstm-accel generate` wrote for the same
//! model. Every frame's class equals the reference's.

#[allow(dead_code)]
#[path = "../../host/examples/run_on_board.rs"]
mod example;

mod common;

use common::{stop, virtual_board};
use lstm_accel_model::random::{self, ModelShape};
use std::process::Command;

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
    let (board, port) = virtual_board(&["--model", m, "--lanes", "4"]);
    let differ = example::run_on_board(&port, &path, &out.join("spec.json"), 4);
    let board = stop(board);
    let differ = differ.unwrap_or_else(|e| {
        panic!(
            "the example failed on {port}: {e}\nboard: {}",
            String::from_utf8_lossy(&board.stderr)
        )
    });
    assert_eq!(differ, 0, "every class equals the reference's");
}
