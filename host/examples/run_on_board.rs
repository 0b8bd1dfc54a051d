//! Runs a model on a board over its serial port with nothing but the driver
//! library: the program to start your own host software from.
//!
//! The board runs the design of the model and hardware configuration that
//! `lstm-accel` built it from. `lstm-accel generate --model M.json --board
//! icebreaker --out build` writes that design's spec as `build/spec.json`
//! (and `lstm-accel synth` with the same flags its bitstream). Then:
//!
//! ```text
//! cargo run -p lstm-accel-host --example run_on_board -- /dev/ttyUSB1 M.json build/spec.json
//! ```
//!
//! It checks that the board runs this design, loads the weights, runs ten
//! test frames and prints each class beside the bit-exact reference's.
//! Without hardware, `lstm-accel virtual-board --model M.json` serves the
//! same design behind a pseudo-terminal whose path it prints first; give
//! that path as the port. Your own program replaces the test frames with
//! audio features (`Reference::quantize_frame` turns float features into
//! the raw values a frame carries).

use lstm_accel_host::driver::Driver;
use lstm_accel_host::serial::{SerialLink, SerialPortBytes};
use lstm_accel_model::reference::Reference;
use lstm_accel_model::{random, Model};
use lstm_accel_spec::{protocol, AcceleratorSpec};
use std::error::Error;
use std::path::Path;
use std::time::Duration;

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [port, model, spec] = &args[..] else {
        return Err("usage: run_on_board PORT MODEL.json SPEC.json".into());
    };
    let differ = run_on_board(port, Path::new(model), Path::new(spec), 10)?;
    if differ > 0 {
        return Err(format!("{differ} frames differ from the reference").into());
    }
    Ok(())
}

/// Runs `frames` test frames on the board on `port` and in the reference;
/// prints each class and returns how many differ.
pub fn run_on_board(
    port: &str,
    model: &Path,
    spec: &Path,
    frames: usize,
) -> Result<usize, Box<dyn Error>> {
    let model = Model::load(model)?;
    let spec: AcceleratorSpec = serde_json::from_str(&std::fs::read_to_string(spec)?)?;

    // 115,200 baud 8N1 (the boards' default); a second without a byte and
    // the link asks again.
    let bytes = SerialPortBytes::open(port, 115_200, Duration::from_secs(1))?;
    let mut board = Driver::new(SerialLink::new(bytes), spec.clone());

    // The status packet carries the signature of the layout the bitstream
    // was built for: a board with another design would misread the weights.
    let status = board.status()?;
    if status.signature != protocol::signature(&spec.layout) {
        return Err("the board runs another design: rebuild it from this model and spec".into());
    }
    board.load(&model)?;
    board.reset()?;

    let mut reference = Reference::new(&model)?;
    let inputs = random::frames(&mut random::rng(1), &model, frames, 0.2);
    let mut differ = 0;
    for (i, frame) in inputs.iter().enumerate() {
        let result = board.run_frame(i, frame)?;
        let expected = reference.step(frame)?;
        println!(
            "frame {i}: class {} in {} cycles (reference: {expected})",
            result.class, result.cycles
        );
        differ += usize::from(result.class as usize != expected);
    }
    Ok(differ)
}
