//! The datapath's hardware blocks, one per file. Leaves (registers, the
//! shift-add lane, the adder tree, the accumulator, delay lines) carry their
//! Verilog body as text generated for their run-time widths, and simulate the
//! same arithmetic in Rust, taking it from `lstm_accel_model` where the model
//! defines it; parents wire leaves with `#[hdl_gen]`. Every block is checked in
//! simulation against the reference and against Icarus Verilog.

pub mod accumulator;
pub mod activation_unit;
pub mod adder_tree;
pub mod argmax;
pub mod arith;
pub mod bias_add;
pub mod collector;
pub mod controller;
pub mod crc16;
pub mod delay_line;
pub mod fanout;
pub mod gate_unit;
pub mod header_check;
pub mod lightrnn_decoder;
pub mod link_rx;
pub mod link_tx;
pub mod mac_array;
pub mod pipeline_registers;
pub mod ram;
pub mod requantizer;
pub mod reset_hold;
pub mod result_queue;
pub mod row_engines;
pub mod select;
pub mod sequencer;
pub mod shift_add_lane;
pub mod sigmoid_slots;
pub mod state_reader;
pub mod stream_slice;
pub mod uart;
pub mod weight_decoder;

/// The value of a dynamic signal as an unsigned bit pattern of `bits` bits.
pub(crate) fn pattern(v: i64, bits: usize) -> u64 {
    if bits >= 64 {
        v as u64
    } else {
        (v as u64) & ((1u64 << bits) - 1)
    }
}
