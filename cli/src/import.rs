//! `lstm-accel import`: a PyTorch `nn.LSTM` (+ `nn.Linear` head) state dict
//! saved as safetensors, quantized into the accelerator's model format by the
//! post-training quantizers of `lstm-accel-compress`.

use crate::report::{print_summary, summarize};
use anyhow::{Context, Result};
use clap::Args;
use lstm_accel_compress::quantize::{quantize_model, QuantSpec};
use lstm_accel_model::import::{import_safetensors, HeadNames, ImportNames};
use std::path::PathBuf;

/// Arguments of `lstm-accel import`.
#[derive(Args)]
pub struct ImportArgs {
    /// The state dict (`torch.save` of `model.state_dict()` via `safetensors.torch.save_file`).
    #[arg(long)]
    pub safetensors: PathBuf,
    /// Where to write the quantized model.
    #[arg(long)]
    pub out: PathBuf,
    /// Quantization spec (JSON, the fields of `QuantSpec`); defaults to dense
    /// per-row ternary with 8-bit data. `--show-spec` prints the spec used.
    #[arg(long)]
    pub spec: Option<PathBuf>,
    /// Print the quantization spec in use, as JSON, before importing.
    #[arg(long)]
    pub show_spec: bool,
    /// Key prefix of the `nn.LSTM` tensors (detected when absent).
    #[arg(long)]
    pub lstm_prefix: Option<String>,
    /// Key prefix of a dense `nn.Linear` head, e.g. `fc.` (detected when absent).
    #[arg(long, conflicts_with = "lightrnn")]
    pub head_prefix: Option<String>,
    /// A LightRNN head: key prefixes of the row and column `nn.Linear`s.
    #[arg(long, num_args = 2, value_names = ["ROW_PREFIX", "COL_PREFIX"])]
    pub lightrnn: Option<Vec<String>>,
    /// Machine-readable summary.
    #[arg(long)]
    pub json: bool,
}

/// Runs the import.
pub fn run(a: &ImportArgs) -> Result<()> {
    let spec: QuantSpec = match &a.spec {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("{}: not a valid quantization spec", p.display()))?
        }
        None => QuantSpec::default(),
    };
    if a.show_spec {
        println!("{}", serde_json::to_string_pretty(&spec)?);
    }
    let head = match (&a.head_prefix, &a.lightrnn) {
        (Some(p), _) => HeadNames::Dense { prefix: p.clone() },
        (None, Some(v)) if v.len() == 2 => HeadNames::LightRnn {
            row_prefix: v[0].clone(),
            col_prefix: v[1].clone(),
        },
        _ => HeadNames::Auto,
    };
    let names = ImportNames {
        lstm_prefix: a.lstm_prefix.clone(),
        head,
    };
    let float = import_safetensors(&a.safetensors, &names)?;
    let model = quantize_model(&float, &spec)?;
    model.save(&a.out)?;
    let s = summarize(&model);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        println!(
            "imported {} -> {}",
            a.safetensors.display(),
            a.out.display()
        );
        print_summary(&s);
    }
    Ok(())
}
