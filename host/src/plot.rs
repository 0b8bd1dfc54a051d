//! Plots of evaluations (plotters, SVG): accuracy against weight bits, one
//! point per model labelled with its file's name, bits on a log axis because compression
//! methods span orders of magnitude. SVG text is drawn by the viewer, so
//! no font library is needed.

use crate::eval::ModelEval;
use anyhow::{anyhow, bail, Result};
use plotters::prelude::*;
use std::path::Path;

/// Colours that read on white.
const DARK: [RGBColor; 8] = [
    RGBColor(200, 30, 30),
    RGBColor(30, 60, 200),
    RGBColor(0, 128, 0),
    RGBColor(150, 0, 150),
    RGBColor(220, 110, 0),
    RGBColor(0, 130, 140),
    RGBColor(90, 90, 90),
    RGBColor(120, 70, 20),
];

/// A point's label: the model file's name without its extension (names
/// inside files repeat across methods).
fn label(e: &ModelEval) -> String {
    Path::new(&e.file)
        .file_stem()
        .map_or_else(|| e.name.clone(), |s| s.to_string_lossy().into_owned())
}

/// Draws `evals` as accuracy (%) against weight bits into `path` (SVG),
/// written whole or not at all.
pub fn accuracy_against_bits(evals: &[ModelEval], split: &str, path: &Path) -> Result<()> {
    if path.extension().and_then(|e| e.to_str()) != Some("svg") {
        bail!("{}: plots are written as SVG (.svg)", path.display());
    }
    if evals.is_empty() {
        bail!("nothing to plot");
    }
    let bits = |e: &ModelEval| e.weight_bits.max(1) as f64;
    let (lo, hi) = evals.iter().fold((f64::MAX, 0f64), |(lo, hi), e| {
        (lo.min(bits(e)), hi.max(bits(e)))
    });
    let acc_lo = evals
        .iter()
        .map(|e| 100.0 * e.accuracy)
        .fold(100.0, f64::min);
    let y_lo = (acc_lo - 5.0).clamp(0.0, 95.0).floor();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 600)).into_drawing_area();
        let err = |e: DrawingAreaErrorKind<_>| anyhow!("drawing the plot: {e:?}");
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("FSDD accuracy ({split} split) against weight bits"),
                ("sans-serif", 22),
            )
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(60)
            .build_cartesian_2d((lo / 2.0..hi * 2.0).log_scale(), y_lo..100.5)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("weight bits (codes, tables and biases)")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .y_desc("accuracy (%)")
            .draw()
            .map_err(err)?;
        chart
            .draw_series(evals.iter().enumerate().map(|(i, e)| {
                let colour = DARK[i % DARK.len()];
                EmptyElement::at((bits(e), 100.0 * e.accuracy))
                    + Circle::new((0, 0), 5, colour.filled())
                    + Text::new(
                        format!("{} ({:.1} %)", label(e), 100.0 * e.accuracy),
                        (8, -12),
                        ("sans-serif", 13),
                    )
            }))
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    lstm_accel_model::io::write_atomic(path, svg.as_bytes())
        .map_err(|e| anyhow!("writing {}: {e}", path.display()))
}
