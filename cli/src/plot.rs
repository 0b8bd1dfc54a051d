//! Plots of evaluations (plotters, SVG): accuracy against weight bits, one
//! point per model labelled with its file's name, bits on a log axis because compression
//! methods span orders of magnitude. SVG text is drawn by the viewer, so
//! no font library is needed.

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

/// One model on the accuracy plot.
pub struct ModelPoint {
    /// Its label.
    pub label: String,
    /// Its weight bits (codes, tables and biases).
    pub weight_bits: u64,
    /// Its accuracy, 0 to 1.
    pub accuracy: f64,
}

/// Draws `evals` as accuracy (%) against weight bits into `path` (SVG),
/// written whole or not at all.
pub fn accuracy_against_bits(evals: &[ModelPoint], split: &str, path: &Path) -> Result<()> {
    if path.extension().and_then(|e| e.to_str()) != Some("svg") {
        bail!("{}: plots are written as SVG (.svg)", path.display());
    }
    if evals.is_empty() {
        bail!("nothing to plot");
    }
    let bits = |e: &ModelPoint| e.weight_bits.max(1) as f64;
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
                        format!("{} ({:.1} %)", e.label, 100.0 * e.accuracy),
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

/// A named line of points.
pub struct Series {
    /// The legend.
    pub name: String,
    /// (x, y) points, x > 0 (and y > 0 on a log axis).
    pub points: Vec<(f64, f64)>,
}

/// Draws `series` against lanes (a log2 axis) into `path` (SVG), `y` on a
/// log10 axis when `log_y`; written whole or not at all. The axes carry
/// the logarithms and their labels the values, so one linear chart serves
/// both scales.
pub fn against_lanes(
    path: &Path,
    title: &str,
    y_desc: &str,
    series: &[Series],
    log_y: bool,
) -> Result<()> {
    let ty = |y: f64| if log_y { y.max(1e-9).log10() } else { y };
    let pts: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|&(x, y)| (x.max(1.0).log2(), ty(y))))
        .collect();
    if pts.is_empty() {
        bail!("nothing to plot in {title}");
    }
    let (x0, x1) = pts
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (y0, y1) = pts
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let pad = ((y1 - y0) * 0.08).max(if log_y { 0.1 } else { 1.0 });
    let y_lo = if log_y { y0 - pad } else { (y0 - pad).min(0.0) };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 600)).into_drawing_area();
        let err = |e: DrawingAreaErrorKind<_>| anyhow!("drawing the plot: {e:?}");
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d(x0 - 0.3..x1 + 0.3, y_lo..y1 + pad)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("lanes")
            .y_desc(y_desc)
            .x_labels((x1 - x0).round() as usize + 1)
            .x_label_formatter(&|v| format!("{:.0}", 2f64.powf(*v)))
            .y_label_formatter(&|v| {
                if log_y {
                    format!("{:.0}", 10f64.powf(*v))
                } else {
                    format!("{v:.0}")
                }
            })
            .draw()
            .map_err(err)?;
        for (i, s) in series.iter().enumerate() {
            let colour = DARK[i % DARK.len()];
            let line: Vec<(f64, f64)> = s
                .points
                .iter()
                .map(|&(x, y)| (x.max(1.0).log2(), ty(y)))
                .collect();
            chart
                .draw_series(LineSeries::new(line.clone(), colour.stroke_width(2)))
                .map_err(err)?
                .label(s.name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                });
            chart
                .draw_series(line.into_iter().map(|p| Circle::new(p, 4, colour.filled())))
                .map_err(err)?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    lstm_accel_model::io::write_atomic(path, svg.as_bytes())
        .map_err(|e| anyhow!("writing {}: {e}", path.display()))
}
