//! Records the target and host triples: the Verilator engine compiles each
//! generated design with the `cc` crate at run time, for this same target.

fn main() {
    for var in ["TARGET", "HOST"] {
        let value = std::env::var(var).unwrap_or_default();
        println!("cargo:rustc-env=LSTM_ACCEL_SIM_{var}={value}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
