//! The host driver: speaks the accelerator's packet protocol
//! ([`lstm_accel_spec::protocol`]) over any [`Link`], a simulated device or
//! (through a serial transport) a board, with the same code. It loads a
//! model's memory images, resets the state, streams frames and parses the
//! results and status packets, checking every header and length.

use crate::link::{Link, LinkError};
use crate::pack::{pack, stream_words, PackError};
use lstm_accel_model::Model;
use lstm_accel_spec::protocol::{self as p, header, parse_header};
use lstm_accel_spec::AcceleratorSpec;

/// Why the driver failed.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The link failed.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// The model does not pack into the spec.
    #[error(transparent)]
    Pack(#[from] PackError),
    /// The model cannot run in the reference.
    #[error(transparent)]
    Model(#[from] lstm_accel_model::ModelError),
    /// The device answered something unexpected.
    #[error("the device answered {0}")]
    Protocol(String),
    /// A frame has the wrong size or a value outside the input format.
    #[error("frame {frame}: {problem}")]
    Frame {
        /// The frame's index.
        frame: usize,
        /// What is wrong.
        problem: String,
    },
}

/// One frame's result as the device reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameResult {
    /// The device's frame counter.
    pub frame: u32,
    /// The decoded class.
    pub class: u32,
    /// Cycles the frame took, measured by the device.
    pub cycles: u32,
    /// Raw logits.
    pub logits: Vec<i64>,
}

/// The device's status counters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// Frames run.
    pub frames: u32,
    /// Packets with an unknown opcode.
    pub bad_opcode: u32,
    /// Packets of the wrong length.
    pub bad_length: u32,
    /// Frames refused because a memory was not loaded.
    pub refused: u32,
    /// Mask of loaded memories.
    pub loaded: u32,
    /// The design's layout signature.
    pub signature: u32,
}

/// One layer's recurrent state as read from the device (raw values).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerState {
    /// Cell states c.
    pub c: Vec<i64>,
    /// Outputs h.
    pub h: Vec<i64>,
}

/// The driver.
pub struct Driver<L: Link> {
    link: L,
    spec: AcceleratorSpec,
}

impl<L: Link> Driver<L> {
    /// A driver for a device built from `spec`.
    pub fn new(link: L, spec: AcceleratorSpec) -> Self {
        Driver { link, spec }
    }

    /// The link.
    pub fn link(&self) -> &L {
        &self.link
    }

    /// The link, mutably.
    pub fn link_mut(&mut self) -> &mut L {
        &mut self.link
    }

    /// Gives the link back.
    pub fn into_link(self) -> L {
        self.link
    }

    /// Loads `model`'s weights, biases and row shifts.
    pub fn load(&mut self, model: &Model) -> Result<(), DriverError> {
        for img in pack(model, &self.spec)? {
            let op = match img.name.as_str() {
                "weights" => p::LOAD_WEIGHTS,
                "biases" => p::LOAD_BIASES,
                "row_shifts" => p::LOAD_ROW_SHIFTS,
                "class_table" => p::LOAD_CLASS_TABLE,
                "codebooks" => p::LOAD_CODEBOOKS,
                "taps" => p::LOAD_TAPS,
                other => {
                    return Err(DriverError::Protocol(format!(
                        "no load packet for memory {other}"
                    )))
                }
            };
            let words = stream_words(&img, &self.spec.layout);
            let mut packet = Vec::with_capacity(words.len() + 1);
            packet.push(header(op, words.len()));
            packet.extend(words);
            self.link.send(&packet)?;
        }
        Ok(())
    }

    /// Zeroes the device's state (a new sequence).
    pub fn reset(&mut self) -> Result<(), DriverError> {
        self.link.send(&[header(p::RESET, 0)])?;
        Ok(())
    }

    /// Reads the status counters.
    pub fn status(&mut self) -> Result<Status, DriverError> {
        self.link.send(&[header(p::STATUS, 0)])?;
        let w = self.link.receive()?;
        expect(&w, p::STATUS_REPLY, p::STATUS_WORDS)?;
        Ok(Status {
            frames: w[1],
            bad_opcode: w[2],
            bad_length: w[3],
            refused: w[4],
            loaded: w[5],
            signature: w[6],
        })
    }

    /// Reads every layer's cell states and outputs: the state the next
    /// frame starts from.
    pub fn read_state(&mut self) -> Result<Vec<LayerState>, DriverError> {
        let lay = &self.spec.layout;
        self.link.send(&[header(p::READ_STATE, 0)])?;
        let w = self.link.receive()?;
        expect(&w, p::STATE_REPLY, p::state_words(lay))?;
        let mut values = w[1..].iter().map(|&v| i64::from(v as i32));
        Ok(lay
            .layers
            .iter()
            .map(|l| LayerState {
                c: values.by_ref().take(l.hidden).collect(),
                h: values.by_ref().take(l.outputs).collect(),
            })
            .collect())
    }

    /// Sends a frame of raw input values without waiting for its result.
    pub fn send_frame(&mut self, index: usize, frame: &[i32]) -> Result<(), DriverError> {
        let lay = &self.spec.layout;
        if frame.len() != lay.input_size {
            return Err(DriverError::Frame {
                frame: index,
                problem: format!("{} values, the model takes {}", frame.len(), lay.input_size),
            });
        }
        if let Some(i) = frame
            .iter()
            .position(|&v| !lay.input.contains(i64::from(v)))
        {
            return Err(DriverError::Frame {
                frame: index,
                problem: format!(
                    "value {} at {i} is outside the input format {}",
                    frame[i], lay.input
                ),
            });
        }
        let mut packet = Vec::with_capacity(frame.len() + 1);
        packet.push(header(p::FRAME, frame.len()));
        packet.extend(frame.iter().map(|&v| v as u32));
        self.link.send(&packet)?;
        Ok(())
    }

    /// Receives one result packet.
    pub fn receive_result(&mut self) -> Result<FrameResult, DriverError> {
        let rows = self.spec.layout.head.rows;
        let w = self.link.receive()?;
        expect(&w, p::RESULT, p::RESULT_FIXED_WORDS + rows)?;
        Ok(FrameResult {
            frame: w[1],
            class: w[2],
            cycles: w[3],
            logits: w[4..].iter().map(|&v| i64::from(v as i32)).collect(),
        })
    }

    /// Runs one frame and returns its result.
    pub fn run_frame(&mut self, index: usize, frame: &[i32]) -> Result<FrameResult, DriverError> {
        self.send_frame(index, frame)?;
        self.receive_result()
    }
}

fn expect(w: &[u32], opcode: u32, payload: usize) -> Result<(), DriverError> {
    let (op, len) = w
        .first()
        .map(|&h| parse_header(h))
        .ok_or_else(|| DriverError::Protocol("an empty packet".into()))?;
    if op != opcode || len != payload || w.len() != payload + 1 {
        return Err(DriverError::Protocol(format!(
            "a packet with opcode {op:#04x}, declared length {len} and {} payload words where opcode {opcode:#04x} with {payload} was expected",
            w.len().saturating_sub(1)
        )));
    }
    Ok(())
}
