//! Weight packing: the images have the spec's sizes and read back to the
//! model's codes exactly, for any lane and row-engine count, encoding mix and
//! model shape.

use lstm_accel_host::pack::{pack, unpack_weights, PackError};
use lstm_accel_model::encoding::Matrix;
use lstm_accel_model::random::{self, MatrixKind, ModelShape, ScalarKind};
use lstm_accel_spec::spec::{AcceleratorSpec, HwConfig};
use lstm_accel_spec::Target;

#[test]
fn packed_images_have_the_spec_sizes_and_unpack_to_the_model_codes() {
    let mut r = random::rng(8);
    for case in 0..40usize {
        let shape = ModelShape {
            input: 1 + case % 17,
            hidden: vec![1 + case % 6, 2 + case % 9],
            projection: vec![None, None],
            classes: 2 + case % 7,
            light_rnn: false,
            matrix_kinds: vec![MatrixKind::Dense, MatrixKind::DensePerRow],
            scalar_kinds: vec![ScalarKind::Ternary, ScalarKind::Pow2],
            extreme: case % 2 == 0,
            data_width: None,
        };
        let m = random::model(&mut r, &shape);
        let rows = 1 + case % 4;
        let hw = HwConfig {
            lanes: 1 + case % 11,
            rows,
            target: Target::Generic,
            ..HwConfig::default()
        };
        let spec = AcceleratorSpec::new(&m, &hw).expect("spec");
        let images = pack(&m, &spec).expect("pack");
        for img in &images {
            let mem = spec
                .memories
                .iter()
                .find(|x| x.name == img.name)
                .expect("every image fills a spec memory");
            // Bias and row-shift entries: a bank per row engine, streamed
            // bank-minor.
            let banks = if matches!(img.name.as_str(), "biases" | "row_shifts") {
                rows
            } else {
                1
            };
            assert_eq!(
                img.words.len(),
                mem.depth * banks,
                "case {case}: {}",
                img.name
            );
            assert_eq!(img.width * banks as u32, mem.width);
            assert!(img.words.iter().all(|w| w.len() == img.width as usize));
        }
        let back = unpack_weights(&m, &spec, &images[0]);
        let mats: Vec<&Matrix> = m.matrices().into_iter().map(|(_, w)| w).collect();
        assert_eq!(back.len(), mats.len());
        for ((tensor, codes), mat) in back.iter().zip(mats) {
            match mat {
                Matrix::Dense(d) => assert_eq!(codes, &d.values.codes, "case {case}: {tensor}"),
                _ => unreachable!("only dense matrices reach the packer"),
            }
        }
        let hex = images[0].to_readmemh();
        assert_eq!(hex.lines().count(), spec.memories[0].depth);
        assert!(hex
            .lines()
            .all(|l| l.len() == spec.word_bits.div_ceil(4) as usize));
    }
}

#[test]
fn a_spec_of_another_model_is_refused() {
    let mut r = random::rng(2);
    let a = random::model(&mut r, &ModelShape::ternary(8, &[4], 3, 8));
    let b = random::model(&mut r, &ModelShape::ternary(8, &[4, 4], 3, 8));
    let spec = AcceleratorSpec::new(&b, &HwConfig::default()).expect("spec");
    let e = pack(&a, &spec).expect_err("mismatch");
    assert!(matches!(e, PackError::Mismatch(_)), "{e}");
    assert!(
        e.to_string()
            .contains("1 layers in the model, 2 in the spec"),
        "{e}"
    );
}

#[test]
fn lane_layout_is_lsb_first_with_zero_padding() {
    // One ternary row [+1, -1, 0, +1, -1] at 4 lanes: word 0 = lanes 0..4,
    // word 1 = lane 0 only.
    let mut r = random::rng(1);
    let mut m = random::model(&mut r, &ModelShape::ternary(5, &[1], 2, 8));
    if let Matrix::Dense(d) = &mut m.layers[0].w_x {
        d.row_exp = None;
        d.values.codes = [1, -1, 0, 1, -1].repeat(4);
    }
    let hw = HwConfig {
        lanes: 4,
        ..HwConfig::default()
    };
    let spec = AcceleratorSpec::new(&m, &hw).expect("spec");
    let img = &pack(&m, &spec).expect("pack")[0];
    let hex = img.to_readmemh();
    let first: Vec<&str> = hex.lines().take(2).collect();
    // Lanes 0..4 = 01, 11, 00, 01 (LSB first) -> 0b01_00_11_01 = 0x4d.
    assert_eq!(first, vec!["4d", "03"]);
}
