//! `lstm-accel spec`: derives the accelerator spec of a model on a hardware
//! configuration (memory map, schedule, predicted cycles, memories and their
//! placement) and prints or writes it.

use anyhow::{bail, Context, Result};
use clap::Args;
use lstm_accel_model::model::Model;
use lstm_accel_spec::auto_config::{fastest_fit, Knob};
use lstm_accel_spec::spec::{AcceleratorSpec, HwConfig, SpecError};
use lstm_accel_spec::Target;
use std::path::PathBuf;

/// Hardware configuration from a file or flags.
#[derive(Args)]
pub struct HwArgs {
    /// Hardware configuration file (JSON fields of `HwConfig`); flags below
    /// override its fields.
    #[arg(long)]
    pub hw: Option<PathBuf>,
    /// MAC lanes of each row engine, or `auto`: the fastest configuration
    /// that fits the target part (from the spec's schedule, memories and
    /// logic estimate).
    #[arg(long)]
    pub lanes: Option<Knob>,
    /// Row engines: rows of a matrix computed at once (multiply-accumulates
    /// per cycle are rows x lanes), or `auto` (as for `--lanes`).
    #[arg(long)]
    pub rows: Option<Knob>,
    /// Activation blocks of the gate unit, 3 to 5: with 5 a cell enters
    /// every cycle; with 4 or 3 the three sigmoids share two blocks or one
    /// and a cell enters every 2 or 3 cycles, in less logic (one row engine).
    #[arg(long)]
    pub activation_units: Option<usize>,
    /// Target part: ice40-up5k, ice40-hx8k, ecp5-25k, ecp5-85k, generic.
    #[arg(long)]
    pub target: Option<Target>,
    /// Target clock in MHz.
    #[arg(long)]
    pub clock_mhz: Option<f64>,
}

impl HwArgs {
    /// The configuration the arguments describe, for `model`: knobs given
    /// as `auto` are chosen by [`fastest_fit`], which says on standard error
    /// what it chose and why.
    pub fn config_for(&self, model: &Model) -> Result<HwConfig> {
        let (rows, lanes) = (self.rows, self.lanes);
        if rows != Some(Knob::Auto) && lanes != Some(Knob::Auto) {
            return self.config();
        }
        let base = self.fixed_config()?;
        let rows = rows.unwrap_or(Knob::Fixed(base.rows));
        let lanes = lanes.unwrap_or(Knob::Fixed(base.lanes));
        let choice = fastest_fit(model, &base, rows, lanes)
            .with_context(|| format!("choosing --rows {rows} --lanes {lanes}"))?;
        eprintln!(
            "automatic configuration on {}: --rows {} --lanes {} ({})",
            base.target, choice.hw.rows, choice.hw.lanes, choice.why
        );
        Ok(choice.hw)
    }

    /// The configuration the arguments describe; `auto` knobs need a model
    /// ([`HwArgs::config_for`]).
    pub fn config(&self) -> Result<HwConfig> {
        if self.rows == Some(Knob::Auto) || self.lanes == Some(Knob::Auto) {
            bail!("--rows auto and --lanes auto choose for a model; this command takes counts");
        }
        self.fixed_config()
    }

    /// The configuration with every `auto` knob left at the file's (or the
    /// default) value.
    fn fixed_config(&self) -> Result<HwConfig> {
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
        if let Some(Knob::Fixed(l)) = self.lanes {
            hw.lanes = l;
        }
        if let Some(Knob::Fixed(r)) = self.rows {
            hw.rows = r;
        }
        if let Some(a) = self.activation_units {
            hw.activation_units = a;
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
    println!(
        "  gate unit(s) {} for {} layer(s), {} activation blocks: a cell every {} cycle(s), h {} cycles after it enters",
        s.gate_units_instanced(),
        s.layers.len(),
        s.hw.activation_units,
        s.pipeline.cell_interval,
        s.pipeline.cell_latency
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
    let (c, ff) = (e.logic.logic_cells, e.logic.flip_flops);
    println!(
        "  logic (estimate) {} of {} logic cells, {} of {} flip-flops ({:.0} % of the part)",
        c.0,
        c.1,
        ff.0,
        ff.1,
        100.0 * e.logic.utilisation()
    );
    if let Some(k) = &e.clock {
        println!(
            "  clock (estimate) Fmax {:.1} MHz on this part, expected {:.1} MHz: {:.2} us per frame",
            k.fmax_mhz, k.expected_mhz, k.frame_latency_us
        );
    }
}

/// Runs `lstm-accel spec`.
pub fn run(a: &SpecArgs) -> Result<()> {
    let model = Model::load(&a.model)?;
    let s = derive_spec(&model, &a.hw.config_for(&model)?)?;
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
