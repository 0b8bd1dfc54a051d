//! The two engines the cross-crate tests build a design in.

use lstm_accel_model::Model;
use lstm_accel_sim::native::NativeDevice;
use lstm_accel_sim::verilator::{VerilatorDevice, VerilatorOptions};
use lstm_accel_spec::spec::AcceleratorSpec;

/// The native engine.
pub fn native(m: &Model, spec: &AcceleratorSpec) -> NativeDevice {
    NativeDevice::new(m, spec).expect("design")
}

/// The Verilator engine, built without optimisation (a sweep compiles a
/// design per model; each runs only a few thousand cycles), cached under
/// the target directory.
pub fn verilator(m: &Model, spec: &AcceleratorSpec) -> VerilatorDevice {
    let options = VerilatorOptions {
        opt_level: 0,
        ..VerilatorOptions::new(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("verilator"))
    };
    VerilatorDevice::new(m, spec, &options).unwrap_or_else(|e| panic!("{e}"))
}
