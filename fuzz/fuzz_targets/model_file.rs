//! Fuzz target: `lstm_accel_verify::fuzzing::model_file` (see there).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lstm_accel_verify::fuzzing::model_file(data);
});
