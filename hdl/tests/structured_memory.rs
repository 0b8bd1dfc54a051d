//! Block-Toeplitz weights in the generated design hold `2k-1` codes per
//! `k x k` block where a dense matrix holds `k^2`: the tap memory of a
//! block-Toeplitz model against the weight memory of the same model dense
//! and ternary, from the spec's memory map and from Yosys's block-RAM count
//! (ECP5 DP16KD) of the memory banks the design instantiates.

use lstm_accel_hdl::blocks::ram::Ram;
use lstm_accel_hdl::tools::yosys_synth;
use lstm_accel_model::encoding::Matrix;
use lstm_accel_model::random::{self, MatrixKind, ModelShape, ScalarKind};
use lstm_accel_model::Model;
use lstm_accel_spec::spec::{AcceleratorSpec, HwConfig};
use lstm_accel_spec::target::Family;
use lstm_accel_spec::Target;
use rust_hdl::prelude::*;

/// One 256-cell layer on 240 inputs with a 16-class head: every matrix
/// dense ternary, or every matrix block-Toeplitz with k x k ternary blocks.
/// (240 inputs keep both memories just under a power-of-two depth, so the
/// block count reflects the bits rather than the depth's rounding.)
fn model(block: Option<usize>) -> Model {
    let mut r = random::rng(8);
    let mut m = random::model(&mut r, &ModelShape::ternary(240, &[256], 16, 8));
    if let Some(k) = block {
        let mut r = random::rng(9);
        let mut toeplitz = |w: &Matrix| loop {
            let t = random::matrix(
                &mut r,
                w.rows(),
                w.cols(),
                MatrixKind::BlockToeplitz,
                ScalarKind::Ternary,
                false,
            );
            if matches!(&t, Matrix::BlockToeplitz(b) if b.block == k) {
                break t;
            }
        };
        for l in &mut m.layers {
            l.w_x = toeplitz(&l.w_x);
            l.w_h = toeplitz(&l.w_h);
        }
        if let lstm_accel_model::model::Head::Dense(h) = &mut m.head {
            h.w = toeplitz(&h.w);
        }
    }
    m.validate().expect("valid");
    m
}

fn spec(m: &Model) -> AcceleratorSpec {
    let hw = HwConfig {
        lanes: 16,
        target: Target::Ecp5_85k,
        ..HwConfig::default()
    };
    AcceleratorSpec::new(m, &hw).expect("spec")
}

/// Yosys's DP16KD count for banks of `depth` words of the given widths, each
/// the design's own RAM block.
fn brams(depth: usize, widths: &[u32]) -> u64 {
    widths
        .iter()
        .map(|&w| {
            let mut ram = Ram::new(depth, w as usize);
            ram.clock.connect();
            ram.write_enable.connect();
            ram.write_address.connect();
            ram.write_data.connect();
            ram.read_address.connect();
            ram.connect_all();
            let v = generate_verilog(&ram);
            let st = yosys_synth(&v, "top", Family::Ecp5).unwrap_or_else(|e| panic!("{e}"));
            st.count(&["DP16KD"])
        })
        .sum()
}

#[test]
fn block_toeplitz_weights_take_2k_minus_1_over_k_squared_of_the_dense_memory() {
    let dense = spec(&model(None));
    let lay = &dense.layout;
    let dense_bits = (lay.weight_words * lay.lanes) as u64 * u64::from(lay.code_bits);
    let dense_banks: Vec<u32> = (0..lay.weight_banks).map(|b| lay.bank_bits(b)).collect();
    let dense_brams = brams(lay.weight_words, &dense_banks);
    for k in [8usize, 16] {
        let s = spec(&model(Some(k)));
        let t = &s.layout;
        // Every matrix is structured: one zero weight word is left, in logic.
        assert_eq!(t.weight_words, 1);
        // The row engine still takes one word of `lanes` entries a cycle.
        let e = &s.estimate;
        assert!(
            (1.0..1.1).contains(&e.efficiency_ratio),
            "k = {k}: {} cycles for {} ideal",
            s.cycles_per_frame(),
            e.ideal_cycles
        );
        let tap_bits = (t.tap_words * t.tap_slots) as u64 * u64::from(t.code_bits);
        let (num, den) = ((2 * k - 1) as u64, (k * k) as u64);
        // Every matrix's sides are multiples of k: exactly the ratio.
        assert_eq!(tap_bits * den, dense_bits * num, "k = {k}");
        let tap_banks: Vec<u32> = (0..t.tap_banks).map(|b| t.tap_bank_bits(b)).collect();
        let tap_brams = brams(t.tap_words, &tap_banks);
        println!(
            "k = {k}: weight memory bits dense {dense_bits}, taps {tap_bits} (ratio {:.4}, (2k-1)/k^2 = {:.4}); ECP5 DP16KD dense {dense_brams}, taps {tap_brams} (ratio {:.4})",
            tap_bits as f64 / dense_bits as f64,
            num as f64 / den as f64,
            tap_brams as f64 / dense_brams as f64
        );
        // Whole blocks, yet at most the ratio: the tap banks are as wide as
        // the block RAM's aspect ratio at their depth packs without waste
        // (k = 16: 31 two-bit codes in 18 + 18 + 18 + 8 bits, 7 blocks at
        // 2K x 9, where two 32 + 30-bit banks would take 8).
        assert!(
            tap_brams * den <= dense_brams * num,
            "k = {k}: {tap_brams} vs {dense_brams} block RAMs, banks {tap_banks:?}"
        );
        // The spec's own estimate is Yosys's count.
        let spec_taps = s
            .memories
            .iter()
            .find(|m| m.name == "taps")
            .map(|m| m.blocks);
        assert_eq!(spec_taps, Some(tap_brams as u32), "k = {k}");
    }
}
