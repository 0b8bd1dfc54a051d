//! Frames per second of the bit-exact reference next to the plain f32
//! implementation of the same models (the float twin), in the same run:
//! a 2-layer 256-cell ternary LSTM and a 2-layer 64-cell one, 40 inputs.
//! Criterion's throughput is in frames (elements) per second.
//!
//! The 8-bit variant's f32 twin runs into subnormal floats (its unsaturated
//! pre-activations push some sigmoid outputs below f32's normal range, about
//! 2% of the hidden values), which slows x86 f32 arithmetic several-fold;
//! the 16-bit variants are the like-for-like comparison.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lstm_accel_model::float::{FloatModel, FloatRunner};
use lstm_accel_model::random::{self, ModelShape};
use lstm_accel_model::reference::Reference;
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("frame");
    g.throughput(Throughput::Elements(1));
    for (name, hidden, width) in [
        ("2x256-ternary-16bit", 256, 16),
        ("2x256-ternary-8bit", 256, 8),
        ("2x64-ternary-16bit", 64, 16),
    ] {
        let mut r = random::rng(1);
        let m = random::model(
            &mut r,
            &ModelShape::ternary(40, &[hidden, hidden], 10, width),
        );
        let frames = random::frames(&mut r, &m, 64, 0.0);
        let fm = FloatModel::from_model(&m);
        let fframes: Vec<Vec<f32>> = frames
            .iter()
            .map(|f| {
                f.iter()
                    .map(|&v| m.input.format.to_f64(i64::from(v)) as f32)
                    .collect()
            })
            .collect();

        let mut reference = Reference::new(&m).expect("valid model");
        let mut i = 0;
        g.bench_function(BenchmarkId::new("bit-exact", name), |b| {
            b.iter(|| {
                i = (i + 1) % frames.len();
                black_box(reference.step(black_box(&frames[i])).expect("valid frame"))
            })
        });
        let mut twin = FloatRunner::new(&fm);
        let mut j = 0;
        g.bench_function(BenchmarkId::new("f32", name), |b| {
            b.iter(|| {
                j = (j + 1) % fframes.len();
                black_box(twin.step(black_box(&fframes[j])))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
