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
use serde::Serialize;
use std::path::PathBuf;

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

#[derive(Serialize)]
struct Generated {
    files: Vec<String>,
    verilog_lines: usize,
    predicted_cycles_per_frame: u64,
    frame_latency_us: f64,
}

/// Runs `lstm-accel generate`.
pub fn run(a: &GenerateArgs) -> Result<()> {
    let model = Model::load(&a.model)?;
    let hw = a.hw.config_for(&model)?;
    let spec = crate::spec_cmd::derive_spec(&model, &hw)?;
    let v = verilog(&model, &spec)?;
    let images = pack(&model, &spec)?;
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let mut files = Vec::new();
    let mut write = |name: String, bytes: &[u8]| -> Result<()> {
        let p = a.out.join(&name);
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
    if let Some(b) = a.board {
        let d = board_design(&model, &hw, b, a.baud)?;
        write("board.v".into(), d.verilog.as_bytes())?;
        let (name, text) = b.constraints();
        write(name.into(), text.as_bytes())?;
    }
    let rep = Generated {
        files,
        verilog_lines: v.lines().count(),
        predicted_cycles_per_frame: spec.cycles_per_frame(),
        frame_latency_us: spec.estimate.frame_latency_us,
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rep)?);
    } else {
        println!(
            "generated the accelerator of \"{}\" ({} lines of Verilog, {} cycles/frame predicted, {:.1} us at {} MHz):",
            spec.model,
            rep.verilog_lines,
            rep.predicted_cycles_per_frame,
            rep.frame_latency_us,
            spec.hw.clock_mhz
        );
        for f in &rep.files {
            println!("  {f}");
        }
    }
    Ok(())
}
