//! The 2 x 256-cell speech model (40 inputs, 10 classes, 8-bit data) in
//! each compressed form the generated design runs, at 16 lanes on ECP5:
//! the model's weight bits, the spec's weight-memory bits and cycles per
//! frame, and Yosys's block RAMs, LUTs and multipliers for the whole design.
//! Slow (a Yosys run of about half a minute per design): an ignored test that prints the
//! table, `cargo test -p lstm-accel-tests --test encodings_2x256 -- --ignored --nocapture`.

use lstm_accel_hdl::accelerator::verilog;
use lstm_accel_hdl::tools::yosys_synth;
use lstm_accel_model::encoding::{LowRank, Matrix};
use lstm_accel_model::random::{self, MatrixKind, ModelShape, ScalarKind};
use lstm_accel_model::Model;
use lstm_accel_spec::spec::{AcceleratorSpec, HwConfig};
use lstm_accel_spec::target::Family;
use lstm_accel_spec::Target;

fn dense(r: &mut impl rand::Rng, rows: usize, cols: usize) -> lstm_accel_model::encoding::Dense {
    match random::matrix(r, rows, cols, MatrixKind::Dense, ScalarKind::Ternary, false) {
        Matrix::Dense(d) => d,
        _ => unreachable!("a dense matrix was asked for"),
    }
}

/// `m` with the input and recurrent matrices of layers `layers` low-rank of
/// `rank`.
fn low_rank(mut m: Model, rank: usize, layers: std::ops::Range<usize>) -> Model {
    let mut r = random::rng(17);
    for l in &mut m.layers[layers] {
        let rows = l.w_x.rows();
        for w in [&mut l.w_x, &mut l.w_h] {
            let cols = w.cols();
            *w = Matrix::LowRank(LowRank {
                u: dense(&mut r, rows, rank),
                v: dense(&mut r, rank, cols),
            });
        }
    }
    m
}

/// `m` with the input and recurrent matrices of layers `layers` made of
/// k x k blocks (Toeplitz, circulant, or Toeplitz-like of rank 2), ternary.
fn blocked(mut m: Model, k: usize, kind: MatrixKind, layers: std::ops::Range<usize>) -> Model {
    let mut r = random::rng(23);
    for l in &mut m.layers[layers] {
        for w in [&mut l.w_x, &mut l.w_h] {
            *w = loop {
                let t =
                    random::matrix(&mut r, w.rows(), w.cols(), kind, ScalarKind::Ternary, false);
                let block = match &t {
                    Matrix::BlockToeplitz(b) | Matrix::BlockCirculant(b) => Some(b.block),
                    Matrix::ToeplitzLike(x) if x.rank == 2 => Some(x.block),
                    _ => None,
                };
                if block == Some(k) {
                    break t;
                }
            };
        }
    }
    m
}

fn model(projection: Option<usize>) -> Model {
    model_of(projection, ScalarKind::Ternary)
}

fn model_of(projection: Option<usize>, scalar: ScalarKind) -> Model {
    let mut r = random::rng(1);
    let shape = ModelShape {
        projection: vec![projection; 2],
        scalar_kinds: vec![scalar],
        ..ModelShape::ternary(40, &[256, 256], 10, 8)
    };
    random::model(&mut r, &shape)
}

#[test]
#[ignore = "Yosys on eleven 2 x 256 designs: minutes"]
fn table_of_the_2x256_model_per_encoding_on_ecp5() {
    let cases: Vec<(&str, Model)> =
        vec![
        ("dense ternary", model(None)),
        ("dense power-of-two", model_of(None, ScalarKind::Pow2)),
        ("power-of-two codebook", model_of(None, ScalarKind::CodebookPow2)),
        ("general codebook", model_of(None, ScalarKind::Codebook)),
        (
            "block-Toeplitz k=16",
            blocked(model(None), 16, MatrixKind::BlockToeplitz, 0..2),
        ),
        (
            "block-circulant k=16",
            blocked(model(None), 16, MatrixKind::BlockCirculant, 0..2),
        ),
        (
            "Toeplitz-like k=16 r=2",
            blocked(model(None), 16, MatrixKind::ToeplitzLike, 0..2),
        ),
        ("low-rank r=32", low_rank(model(None), 32, 0..2)),
        ("shared projection P=64", model(Some(64))),
        (
            "hybrid: block-Toeplitz layer 0, low-rank r=32 layer 1, projections P=64",
            blocked(low_rank(model(Some(64)), 32, 1..2), 16, MatrixKind::BlockToeplitz, 0..1),
        ),
        (
            "hybrid (Lu et al.): Toeplitz-like r=2 layer 0, low-rank r=32 layer 1, projections P=64",
            blocked(low_rank(model(Some(64)), 32, 1..2), 16, MatrixKind::ToeplitzLike, 0..1),
        ),
    ];
    println!("| encoding | weight bits (model) | weight memory bits (spec) | DP16KD | LUT4 | MULT18X18D | cycles/frame |");
    println!("|---|---|---|---|---|---|---|");
    for (name, m) in cases {
        m.validate().expect("valid");
        // A generic target: the power-of-two and codebook forms need more
        // block RAM than an ECP5-85F has; Yosys maps every one for ECP5.
        let hw = HwConfig {
            lanes: 16,
            target: Target::Generic,
            ..HwConfig::default()
        };
        let s = AcceleratorSpec::new(&m, &hw).expect("spec");
        let v = verilog(&m, &s).expect("verilog");
        let st = yosys_synth(&v, "top", Family::Ecp5).unwrap_or_else(|e| panic!("{e}"));
        assert!(st.latches.is_empty());
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} |",
            m.weight_bits().total(),
            s.estimate.weight_memory_bits,
            st.count(&["DP16KD"]),
            st.luts(),
            st.count(&["MULT18X18D"]),
            s.cycles_per_frame()
        );
    }
}
