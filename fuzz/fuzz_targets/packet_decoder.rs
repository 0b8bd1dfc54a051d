//! Fuzz target: `lstm_accel_verify::fuzzing::packet_decoder` (see there).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lstm_accel_verify::fuzzing::packet_decoder(data);
});
