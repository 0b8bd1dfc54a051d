//! `lstm-accel import`: a PyTorch `nn.LSTM` (+ `nn.Linear` head) state dict
//! saved as safetensors, or an ONNX graph of standard `LSTM` nodes and a
//! dense head, quantized into the accelerator's model format by the
//! post-training quantizers of `lstm-accel-compress`. Weights that the ONNX
//! file quantized (behind `DequantizeLinear`) get the exact code their
//! levels fit, and the summary says which matrices were snapped instead.

use crate::report::{print_summary, summarize, ModelSummary};
use anyhow::{Context, Result};
use clap::Args;
use lstm_accel_compress::quantize::{quantize_model, QuantSpec};
use lstm_accel_model::import::{import_safetensors, HeadNames, ImportNames};
use lstm_accel_onnx::{import_onnx, quantize_import, MatrixReport};
use serde::Serialize;
use std::path::PathBuf;

/// Arguments of `lstm-accel import`.
#[derive(Args)]
pub struct ImportArgs {
    /// The state dict (`torch.save` of `model.state_dict()` via `safetensors.torch.save_file`).
    #[arg(long, required_unless_present = "onnx", conflicts_with = "onnx")]
    pub safetensors: Option<PathBuf>,
    /// An ONNX model: standard `LSTM` nodes (stacked, forward, zero initial
    /// state) and a `Gemm` or `MatMul` + `Add` head; float weights or
    /// weights behind `DequantizeLinear`.
    #[arg(long)]
    pub onnx: Option<PathBuf>,
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
    #[arg(long, conflicts_with = "onnx")]
    pub lstm_prefix: Option<String>,
    /// Key prefix of a dense `nn.Linear` head, e.g. `fc.` (detected when absent).
    #[arg(long, conflicts_with_all = ["lightrnn", "onnx"])]
    pub head_prefix: Option<String>,
    /// A LightRNN head: key prefixes of the row and column `nn.Linear`s.
    #[arg(long, num_args = 2, value_names = ["ROW_PREFIX", "COL_PREFIX"], conflicts_with = "onnx")]
    pub lightrnn: Option<Vec<String>>,
    /// Machine-readable summary.
    #[arg(long)]
    pub json: bool,
}

/// The JSON summary of an ONNX import: the model's, and what became of
/// each matrix the file had quantized.
#[derive(Serialize)]
struct OnnxSummary {
    #[serde(flatten)]
    model: ModelSummary,
    opset: i64,
    lstm_nodes: Vec<String>,
    head_node: String,
    quantized_matrices: Vec<MatrixReport>,
}

fn read_spec(a: &ImportArgs) -> Result<Option<QuantSpec>> {
    let Some(p) = &a.spec else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
    let spec = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a valid quantization spec", p.display()))?;
    Ok(Some(spec))
}

/// Runs the import.
pub fn run(a: &ImportArgs) -> Result<()> {
    let spec = read_spec(a)?;
    if let Some(onnx) = &a.onnx {
        return run_onnx(a, onnx, spec.as_ref());
    }
    let Some(safetensors) = &a.safetensors else {
        anyhow::bail!("give --safetensors FILE or --onnx FILE");
    };
    let spec = spec.unwrap_or_default();
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
    let float = import_safetensors(safetensors, &names)?;
    let model = quantize_model(&float, &spec)?;
    model.save(&a.out)?;
    let s = summarize(&model);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        println!("imported {} -> {}", safetensors.display(), a.out.display());
        print_summary(&s);
    }
    Ok(())
}

fn run_onnx(a: &ImportArgs, file: &std::path::Path, spec: Option<&QuantSpec>) -> Result<()> {
    let imp = import_onnx(file)?;
    if a.show_spec {
        let used = lstm_accel_onnx::quant::spec_for(&imp, spec);
        println!("{}", serde_json::to_string_pretty(&used)?);
    }
    let (model, reports) = quantize_import(&imp, spec)?;
    model.save(&a.out)?;
    let s = summarize(&model);
    if a.json {
        let out = OnnxSummary {
            model: s,
            opset: imp.opset,
            lstm_nodes: imp.lstm_nodes.clone(),
            head_node: imp.head_node.clone(),
            quantized_matrices: reports,
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "imported {} (opset {}; {} -> {}) -> {}",
        file.display(),
        imp.opset,
        imp.lstm_nodes.join(", "),
        imp.head_node,
        a.out.display()
    );
    print_summary(&s);
    for r in &reports {
        match &r.reason {
            None => println!("  {}: exact codes from {}", r.path, r.node),
            Some(why) => eprintln!(
                "warning: {} from {} is snapped (max |change| {:e}): {why}",
                r.path, r.node, r.max_abs_diff
            ),
        }
    }
    Ok(())
}
