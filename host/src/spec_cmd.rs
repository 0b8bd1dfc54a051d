//! `lstm-accel spec`: derives the accelerator spec of a model on a hardware
//! configuration (memory map, schedule, predicted cycles, memories and their
//! placement) and prints or writes it.

use anyhow::{Context, Result};
use clap::Args;
use lstm_accel_hdl::spec::{AcceleratorSpec, HwConfig, SpecError};
use lstm_accel_hdl::Target;
use lstm_accel_model::model::Model;
use std::path::PathBuf;

/// Hardware configuration from a file or flags.
#[derive(Args)]
pub struct HwArgs {
    /// Hardware configuration file (JSON fields of `HwConfig`); flags below
    /// override its fields.
    #[arg(long)]
    pub hw: Option<PathBuf>,
    /// MAC lanes of each row engine.
    #[arg(long)]
    pub lanes: Option<usize>,
    /// Row engines: rows of a matrix computed at once (multiply-accumulates
    /// per cycle are rows x lanes).
    #[arg(long)]
    pub rows: Option<usize>,
    /// Target part: ice40-up5k, ice40-hx8k, ecp5-25k, ecp5-85k, generic.
    #[arg(long)]
    pub target: Option<Target>,
    /// Target clock in MHz.
    #[arg(long)]
    pub clock_mhz: Option<f64>,
}

impl HwArgs {
    /// The configuration the arguments describe.
    pub fn config(&self) -> Result<HwConfig> {
        let mut hw = match &self.hw {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading {}", p.display()))?;
                serde_json::from_str(&text).with_context(|| {
                    format!("{}: not a valid hardware configuration", p.display())
                })?
            }
            None => HwConfig::default(),
        };
        if let Some(l) = self.lanes {
            hw.lanes = l;
        }
        if let Some(r) = self.rows {
            hw.rows = r;
        }
        if let Some(t) = self.target {
            hw.target = t;
        }
        if let Some(c) = self.clock_mhz {
            hw.clock_mhz = c;
        }
        Ok(hw)
    }
}

/// The spec of `model` on `hw`; when the memories do not fit the part, the
/// error names the largest lane count (halving) at which they do.
pub fn derive_spec(model: &Model, hw: &HwConfig) -> Result<AcceleratorSpec> {
    match AcceleratorSpec::new(model, hw) {
        Err(e @ SpecError::DoesNotFit { .. }) => {
            let fits = std::iter::successors(Some(hw.lanes / 2), |&l| (l > 1).then_some(l / 2))
                .take_while(|&l| l >= 1)
                .find(|&lanes| {
                    let smaller = HwConfig {
                        lanes,
                        ..hw.clone()
                    };
                    AcceleratorSpec::new(model, &smaller).is_ok()
                });
            match fits {
                Some(l) => Err(anyhow::anyhow!("{e}; the memories fit with --lanes {l}")),
                None => Err(e.into()),
            }
        }
        r => Ok(r?),
    }
}

/// Arguments of `lstm-accel spec`.
#[derive(Args)]
pub struct SpecArgs {
    /// Model file.
    #[arg(long)]
    pub model: PathBuf,
    /// Hardware configuration.
    #[command(flatten)]
    pub hw: HwArgs,
    /// Write the whole spec (with every scheduled operation) as JSON here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the whole spec as JSON.
    #[arg(long)]
    pub json: bool,
}

/// One line per fact a user checks first.
pub fn print_spec(s: &AcceleratorSpec) {
    let e = &s.estimate;
    println!(
        "accelerator for \"{}\": {} row engine(s) x {} lanes, {} MHz, {}",
        s.model, s.hw.rows, s.hw.lanes, s.hw.clock_mhz, s.hw.target
    );
    println!(
        "  {} cycles/frame predicted ({:.1} us per frame), ideal {:.0} = {} MACs / {} MACs per cycle, ratio {:.3}",
        s.cycles_per_frame(),
        e.frame_latency_us,
        e.ideal_cycles,
        e.macs_per_frame,
        s.hw.rows * s.hw.lanes,
        e.efficiency_ratio
    );
    for m in &s.memories {
        println!(
            "  memory {:<12} {:>6} x {:<4} {:>9} bits  {:?} ({} blocks)",
            m.name,
            m.depth,
            m.width,
            m.bits(),
            m.placement,
            m.blocks
        );
    }
    println!(
        "  block RAMs {}/{}, SPRAMs {}/{}",
        e.bram_blocks.0, e.bram_blocks.1, e.spram_blocks.0, e.spram_blocks.1
    );
}

/// Runs `lstm-accel spec`.
pub fn run(a: &SpecArgs) -> Result<()> {
    let model = Model::load(&a.model)?;
    let s = derive_spec(&model, &a.hw.config()?)?;
    if let Some(p) = &a.out {
        lstm_accel_model::io::write_atomic(p, serde_json::to_string_pretty(&s)?.as_bytes())
            .with_context(|| format!("writing {}", p.display()))?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        print_spec(&s);
    }
    Ok(())
}
