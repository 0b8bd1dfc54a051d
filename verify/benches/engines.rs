//! Simulated cycles per second of each engine on the FSDD-size design
//! (2 x 64 cells, 40 inputs, 10 classes, dense ternary weights, 12-bit
//! data, 16 lanes), measured through the host driver exactly as
//! `lstm-accel simulate` runs it: one iteration streams one frame in and
//! its result out. Criterion's throughput is in simulated cycles, so its
//! report reads as cycles per second (goals: native at least 100k/s,
//! Verilator at least 1M/s). Run with `cargo bench -p lstm-accel-host
//! --bench engines` (needs Verilator and a C++ compiler for the second
//! engine).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lstm_accel_host::driver::Driver;
use lstm_accel_model::random::{self, ModelShape};
use lstm_accel_model::Model;
use lstm_accel_sim::link::SimLink;
use lstm_accel_sim::native::NativeDevice;
use lstm_accel_sim::verilator::{VerilatorDevice, VerilatorOptions};
use lstm_accel_sim::Device;
use lstm_accel_spec::spec::{AcceleratorSpec, HwConfig};
use lstm_accel_spec::Target;

fn fsdd_size() -> (Model, AcceleratorSpec) {
    let mut r = random::rng(2026);
    let m = random::model(&mut r, &ModelShape::ternary(40, &[64, 64], 10, 12));
    let hw = HwConfig {
        lanes: 16,
        target: Target::Generic,
        ..HwConfig::default()
    };
    let spec = AcceleratorSpec::new(&m, &hw).expect("spec");
    (m, spec)
}

fn bench_engine<D: Device>(
    c: &mut Criterion,
    name: &str,
    dev: D,
    m: &Model,
    spec: &AcceleratorSpec,
) {
    let mut driver = Driver::new(SimLink::new(dev), spec.clone());
    driver.load(m).expect("load");
    driver.reset().expect("reset");
    let frames = random::frames(&mut random::rng(7), m, 64, 0.2);
    // The load and reset only run with the first frame; after it, one
    // frame's cycles are its computation plus streaming the frame in and
    // the result out, as measured on the device.
    driver.run_frame(0, &frames[0]).expect("frame");
    let before = driver.link().device().cycles();
    driver.run_frame(1, &frames[1]).expect("frame");
    let per_frame = driver.link().device().cycles() - before;
    eprintln!("{name}: {per_frame} simulated cycles per frame, streaming included");
    let mut group = c.benchmark_group("simulated_cycles");
    group.throughput(Throughput::Elements(per_frame));
    group.sample_size(20);
    let mut i = 0usize;
    group.bench_function(name, |b| {
        b.iter(|| {
            i += 1;
            driver
                .run_frame(i, &frames[i % frames.len()])
                .expect("frame")
        })
    });
    group.finish();
}

fn engines(c: &mut Criterion) {
    let (m, spec) = fsdd_size();
    bench_engine(
        c,
        "native",
        NativeDevice::new(&m, &spec).expect("design"),
        &m,
        &spec,
    );
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("verilator");
    let dev = VerilatorDevice::new(&m, &spec, &VerilatorOptions::new(cache))
        .unwrap_or_else(|e| panic!("{e}"));
    bench_engine(c, "verilator", dev, &m, &spec);
}

criterion_group!(benches, engines);
criterion_main!(benches);
