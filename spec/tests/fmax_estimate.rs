//! The Fmax estimate: its constants are the least-squares fit of the routed
//! designs it lists (so a new measurement changes them through the table,
//! not by hand), every listed design is within the stated error, and the
//! spec carries the estimate and the clock a design is expected to run at.

use lstm_accel_model::random::{self, ModelShape};
use lstm_accel_spec::fmax_estimate::{
    FmaxFit, Measured, ECP5_FIT, ECP5_MEASURED, ICE40_FIT, ICE40_MEASURED,
};
use lstm_accel_spec::spec::{AcceleratorSpec, HwConfig};
use lstm_accel_spec::Target;

/// Ordinary least squares of `fmax = a + b * x` over the points.
fn line(points: &[(f64, f64)]) -> (f64, f64) {
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let b = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    (my - b * mx, b)
}

fn worst_error(fit: &FmaxFit, measured: &[Measured]) -> f64 {
    measured
        .iter()
        .map(|m| (fit.fmax_mhz(m.block_rams) / m.fmax_mhz - 1.0).abs())
        .fold(0.0, f64::max)
}

/// A fit's constants must be the least-squares line of its designs over
/// their block-RAM use, or their mean when it has no slope, and every
/// design within `tolerance`.
fn assert_least_squares(family: &str, fit: &FmaxFit, measured: &[Measured], tolerance: f64) {
    let points: Vec<(f64, f64)> = measured
        .iter()
        .map(|m| (m.block_rams, m.fmax_mhz))
        .collect();
    let (a, b) = if fit.per_block_ram == 0.0 {
        (
            points.iter().map(|p| p.1).sum::<f64>() / points.len() as f64,
            0.0,
        )
    } else {
        line(&points)
    };
    assert!((fit.ceiling_mhz - a).abs() < 0.05, "{family}: ceiling {a}");
    assert!((fit.per_block_ram + b).abs() < 0.05, "{family}: slope {b}");
    let e = worst_error(fit, measured);
    assert!(e < tolerance, "{family}: worst error {e}");
}

#[test]
fn each_fit_is_the_least_squares_line_of_its_measured_designs() {
    // ECP5: block-RAM use explains the designs' Fmax, within the placement
    // noise the module states (several per cent between seeds). iCE40: no
    // trend, the mean.
    const { assert!(ECP5_FIT.per_block_ram > 0.0 && ICE40_FIT.per_block_ram == 0.0) };
    assert_least_squares("ECP5", &ECP5_FIT, &ECP5_MEASURED, 0.10);
    assert_least_squares("iCE40", &ICE40_FIT, &ICE40_MEASURED, 0.10);
}

#[test]
fn the_spec_expects_the_lower_of_the_asked_clock_and_the_estimate() {
    let mut r = random::rng(5);
    let m = random::model(&mut r, &ModelShape::ternary(40, &[64, 64], 10, 8));
    let spec = |target, clock_mhz| {
        AcceleratorSpec::new(
            &m,
            &HwConfig {
                clock_mhz,
                ..HwConfig::on(16, target)
            },
        )
        .expect("spec")
    };
    // The generic target is no part: no estimate.
    assert_eq!(spec(Target::Generic, 100.0).estimate.clock, None);
    for (target, slow, fast) in [
        (Target::Ecp5_85k, 20.0, 400.0),
        (Target::Ice40Up5k, 5.0, 400.0),
    ] {
        let s = spec(target, slow);
        let c = s.estimate.clock.expect("a part");
        // Asked below the estimate: the asked clock.
        assert!(c.fmax_mhz > slow, "{target}: {c:?}");
        assert_eq!(c.expected_mhz, slow);
        assert!((c.frame_latency_us - s.estimate.frame_latency_us).abs() < 1e-9);
        // Asked above it: the estimate, and a longer frame than the asked
        // clock would give.
        let s = spec(target, fast);
        let c = s.estimate.clock.expect("a part");
        assert_eq!(c.expected_mhz, c.fmax_mhz);
        assert!(c.frame_latency_us > s.estimate.frame_latency_us);
        assert!(
            (c.frame_latency_us - s.cycles_per_frame() as f64 / c.fmax_mhz).abs() < 1e-9,
            "{target}: {c:?}"
        );
    }
    // More of the part's block RAMs, a lower estimate.
    assert!(ECP5_FIT.fmax_mhz(0.5) < ECP5_FIT.fmax_mhz(0.1));
}
