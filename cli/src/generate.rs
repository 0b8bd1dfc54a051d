//! `lstm-accel generate`: the accelerator of a model as files: the Verilog
//! (top module `top`), the spec it was generated from (JSON, with the
//! predicted cycles per frame), the memory images of the model's weights
//! (`$readmemh` text) that the host streams into it, and a FuseSoC core
//! (`lstm_accel_<model>.core` with its Verilog, modules named after the
//! model) for other projects. Each file is written atomically.

use anyhow::{Context, Result};
use clap::Args;
use lstm_accel_hdl::accelerator::verilog;
use lstm_accel_hdl::board::{board_design, Board};
use lstm_accel_hdl::fusesoc;
use lstm_accel_host::pack::pack;
use lstm_accel_model::io::write_atomic;
use lstm_accel_model::Model;
use lstm_accel_spec::spec::HwConfig;
use serde::Serialize;
use std::path::{Path, PathBuf};

use crate::spec_cmd::HwArgs;

/// Arguments of `lstm-accel generate`.
#[derive(Args)]
pub struct GenerateArgs {
    /// Model file.
    #[arg(long)]
    pub model: PathBuf,
    /// Hardware configuration.
    #[command(flatten)]
    pub hw: HwArgs,
    /// Output directory (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Also write the design for a board (`board.v`: the accelerator behind
    /// its UART bridge, in the board's top with its PLL) and the board's pin
    /// constraints: icebreaker, ulx3s, arty-a7.
    #[arg(long)]
    pub board: Option<Board>,
    /// Baud rate of the board's UART.
    #[arg(long, default_value_t = 115_200)]
    pub baud: u32,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// What `generate` wrote.
#[derive(Serialize)]
pub struct Generated {
    /// The files, in the order written.
    pub files: Vec<String>,
    /// Lines of `accelerator.v`.
    pub verilog_lines: usize,
    /// The spec's cycles per frame.
    pub predicted_cycles_per_frame: u64,
    /// The spec's latency per frame at its clock.
    pub frame_latency_us: f64,
    /// The spec's clock.
    pub clock_mhz: f64,
}

/// Writes the accelerator of `model` for `hw` into `out` (created if
/// missing): the Verilog, its FuseSoC core, `spec.json`, the memory images
/// and, with `board`, the board's top and constraints.
pub fn generate_files(
    model: &Model,
    hw: &HwConfig,
    out: &Path,
    board: Option<Board>,
    baud: u32,
) -> Result<Generated> {
    let spec = crate::spec_cmd::derive_spec(model, hw)?;
    let v = verilog(model, &spec)?;
    let images = pack(model, &spec)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut files = Vec::new();
    let mut write = |name: String, bytes: &[u8]| -> Result<()> {
        let p = out.join(&name);
        write_atomic(&p, bytes).with_context(|| format!("writing {}", p.display()))?;
        files.push(p.display().to_string());
        Ok(())
    };
    write("accelerator.v".into(), v.as_bytes())?;
    let module = fusesoc::module_name(&spec.model);
    write(
        format!("{module}.v"),
        fusesoc::renamed_verilog(&v, &module).as_bytes(),
    )?;
    let description = format!(
        "LSTM accelerator for {}: {} lanes, {} cycles per frame",
        spec.model,
        spec.hw.lanes,
        spec.cycles_per_frame()
    );
    write(
        format!("{module}.core"),
        fusesoc::core_file(&module, &format!("{module}.v"), &description).as_bytes(),
    )?;
    write(
        "spec.json".into(),
        serde_json::to_string_pretty(&spec)?.as_bytes(),
    )?;
    for img in &images {
        write(format!("{}.hex", img.name), img.to_readmemh().as_bytes())?;
    }
    if let Some(b) = board {
        let d = board_design(model, hw, b, baud)?;
        write("board.v".into(), d.verilog.as_bytes())?;
        let (name, text) = b.constraints();
        write(name.into(), text.as_bytes())?;
    }
    Ok(Generated {
        files,
        verilog_lines: v.lines().count(),
        predicted_cycles_per_frame: spec.cycles_per_frame(),
        frame_latency_us: spec.estimate.frame_latency_us,
        clock_mhz: spec.hw.clock_mhz,
    })
}

/// Runs `lstm-accel generate`.
pub fn run(a: &GenerateArgs) -> Result<()> {
    let model = Model::load(&a.model)?;
    let hw = a.hw.config_for(&model)?;
    let rep = generate_files(&model, &hw, &a.out, a.board, a.baud)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rep)?);
    } else {
        println!(
            "generated the accelerator of \"{}\" ({} lines of Verilog, {} cycles/frame predicted, {:.1} us at {} MHz):",
            model.name,
            rep.verilog_lines,
            rep.predicted_cycles_per_frame,
            rep.frame_latency_us,
            rep.clock_mhz
        );
        for f in &rep.files {
            println!("  {f}");
        }
    }
    Ok(())
}
