//! The serial design ([`lstm_accel_hdl::serial_top`]: UART, link and
//! accelerator, module `top`) seen at its pins, one clock at a time, and the
//! other end of its serial line.
//!
//! A [`SerialDevice`] takes the level of the line into the design (`rx`)
//! and reports the line out (`tx`) and the two status pins after the
//! rising edge. Engines: [`NativeSerialDevice`] (rust-hdl's simulation of
//! the same description) and
//! [`crate::verilator::VerilatorSerialDevice`] (the generated Verilog).
//!
//! [`UartLine`] is the host's side of the wire at the same clock: it sends
//! bytes as 8N1 frames of `clocks_per_bit` clocks per bit (start bit low,
//! eight data bits least significant first, stop bit high) and decodes the
//! design's line by sampling each bit in its middle, counted from the falling
//! edge of the start bit, as a USB serial bridge does. A frame whose stop bit
//! reads low is dropped and counted, as a real UART reports a framing error.

use crate::SimError;
use lstm_accel_hdl::dynamic::clock_cycle;
use lstm_accel_hdl::serial_top::SerialAccelerator;
use lstm_accel_model::Model;
use lstm_accel_spec::AcceleratorSpec;
use rust_hdl::prelude::*;
use std::collections::VecDeque;

/// The serial design's output pins after one rising edge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SerialPins {
    /// The line to the host.
    pub tx: bool,
    /// A frame runs.
    pub busy: bool,
    /// The link dropped a frame since power-up.
    pub link_error: bool,
}

/// A cycle-accurate simulation of the serial design.
pub trait SerialDevice {
    /// Runs one clock cycle with `rx` as the line into the design.
    fn cycle(&mut self, rx: bool) -> SerialPins;
    /// Drives the design's reset input from the next cycle on.
    fn set_reset(&mut self, asserted: bool);
    /// Cycles run so far.
    fn cycles(&self) -> u64;
    /// The engine's name (`native`, `verilator`).
    fn engine(&self) -> &'static str;
}

/// rust-hdl's simulation of the serial design.
pub struct NativeSerialDevice {
    top: SerialAccelerator,
    cycles: u64,
}

impl NativeSerialDevice {
    /// The serial design of `spec` with `clocks_per_bit` clocks per bit.
    pub fn new(
        model: &Model,
        spec: &AcceleratorSpec,
        clocks_per_bit: u64,
    ) -> Result<Self, SimError> {
        let mut top = SerialAccelerator::new(model, spec, clocks_per_bit)?;
        top.clock.connect();
        top.reset.connect();
        top.rx.connect();
        top.connect_all();
        top.rx.next = true;
        Ok(NativeSerialDevice { top, cycles: 0 })
    }
}

impl SerialDevice for NativeSerialDevice {
    fn cycle(&mut self, rx: bool) -> SerialPins {
        self.top.rx.next = rx;
        clock_cycle(&mut self.top, |t| &mut t.clock);
        self.cycles += 1;
        SerialPins {
            tx: self.top.tx.val(),
            busy: self.top.busy.val(),
            link_error: self.top.link_error.val(),
        }
    }

    fn set_reset(&mut self, asserted: bool) {
        self.top.reset.next = asserted;
    }

    fn cycles(&self) -> u64 {
        self.cycles
    }

    fn engine(&self) -> &'static str {
        "native"
    }
}

/// The host's end of the serial line, clocked with the device.
pub struct UartLine<D: SerialDevice> {
    device: D,
    clocks_per_bit: usize,
    /// Bytes waiting to be sent.
    queue: VecDeque<u8>,
    /// The byte on the wire: its ten levels and the clocks into it.
    sending: Option<(u16, usize)>,
    /// The frame being received: clocks since its start bit's edge, and the
    /// data bits so far.
    receiving: Option<(usize, u8)>,
    framing_errors: u64,
    pins: SerialPins,
}

impl<D: SerialDevice> UartLine<D> {
    /// The line to `device` at `clocks_per_bit` clocks per bit (the design's
    /// own setting).
    pub fn new(device: D, clocks_per_bit: usize) -> Self {
        UartLine {
            device,
            clocks_per_bit: clocks_per_bit.max(1),
            queue: VecDeque::new(),
            sending: None,
            receiving: None,
            framing_errors: 0,
            pins: SerialPins {
                tx: true,
                ..SerialPins::default()
            },
        }
    }

    /// Queues bytes to send.
    pub fn send(&mut self, bytes: &[u8]) {
        self.queue.extend(bytes);
    }

    /// Whether every queued byte is on the other side.
    pub fn sent(&self) -> bool {
        self.queue.is_empty() && self.sending.is_none()
    }

    /// Runs one clock; a byte the device finished sending, if any.
    pub fn step(&mut self) -> Option<u8> {
        if self.sending.is_none() {
            // Start bit 0, data, stop bit 1: bit i of this word is level i.
            self.sending = self
                .queue
                .pop_front()
                .map(|b| ((u16::from(b) << 1) | (1 << 9), 0));
        }
        let rx = match &mut self.sending {
            Some((levels, t)) => {
                let level = (*levels >> (*t / self.clocks_per_bit)) & 1 == 1;
                *t += 1;
                if *t == 10 * self.clocks_per_bit {
                    self.sending = None;
                }
                level
            }
            None => true,
        };
        self.pins = self.device.cycle(rx);
        self.receive(self.pins.tx)
    }

    /// Decodes the device's line.
    fn receive(&mut self, line: bool) -> Option<u8> {
        let cpb = self.clocks_per_bit;
        let Some((t, bits)) = &mut self.receiving else {
            if !line {
                self.receiving = Some((0, 0));
            }
            return None;
        };
        *t += 1;
        if *t < cpb / 2 || (*t - cpb / 2) % cpb != 0 {
            return None;
        }
        match (*t - cpb / 2) / cpb {
            0 if line => {
                // A glitch, not a start bit.
                self.receiving = None;
                None
            }
            bit @ 1..=8 => {
                if line {
                    *bits |= 1 << (bit - 1);
                }
                None
            }
            9 => {
                let byte = *bits;
                self.receiving = None;
                if line {
                    Some(byte)
                } else {
                    self.framing_errors += 1;
                    None
                }
            }
            _ => None,
        }
    }

    /// Runs `cycles` clocks; the bytes the device sent meanwhile.
    pub fn pump(&mut self, cycles: u64) -> Vec<u8> {
        (0..cycles).filter_map(|_| self.step()).collect()
    }

    /// The status pins after the last clock.
    pub fn pins(&self) -> SerialPins {
        self.pins
    }

    /// Frames from the device whose stop bit was low.
    pub fn framing_errors(&self) -> u64 {
        self.framing_errors
    }

    /// Clocks per bit.
    pub fn clocks_per_bit(&self) -> usize {
        self.clocks_per_bit
    }

    /// The device.
    pub fn device(&self) -> &D {
        &self.device
    }

    /// The device, mutably (its reset input).
    pub fn device_mut(&mut self) -> &mut D {
        &mut self.device
    }
}
