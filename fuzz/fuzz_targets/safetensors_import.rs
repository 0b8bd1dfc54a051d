//! Fuzz target: `lstm_accel_verify::fuzzing::safetensors_import` (see there).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lstm_accel_verify::fuzzing::safetensors_import(data);
});
