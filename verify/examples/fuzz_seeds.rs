//! Writes the fuzz targets' seed inputs (`lstm_accel_verify::fuzzing::seeds`)
//! into `DIR/<target>/seed-N`, the corpus folders `scripts/fuzz` starts
//! cargo-fuzz from: `cargo run --example fuzz_seeds -- fuzz/corpus`.

use lstm_accel_verify::fuzzing::{seeds, TARGETS};
use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fuzz/corpus".into()),
    );
    for t in TARGETS {
        let d = dir.join(t);
        std::fs::create_dir_all(&d)?;
        for (i, s) in seeds(t).iter().enumerate() {
            std::fs::write(d.join(format!("seed-{i}")), s)?;
        }
    }
    println!("seeds written to {}", dir.display());
    Ok(())
}
