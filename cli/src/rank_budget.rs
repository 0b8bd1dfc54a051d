//! `lstm-accel train --rank-budget`: the LSTM matrices of a trained float
//! model factorised as `U V`, their ranks chosen together by the continuous
//! search of `lstm_accel_train::rank` under a budget that is the exported
//! model's stored parameters, its weight bits, or the accelerator's
//! predicted cycles per frame (the spec this hardware configuration
//! derives). Each candidate set of ranks is measured on the real
//! quantized model, so the budget holds for the file that is written.

use crate::spec_cmd::derive_spec;
use anyhow::Result;
use clap::ValueEnum;
use lstm_accel_compress::{quantize_model, MatrixSpec, QuantSpec, Structure};
use lstm_accel_model::float::FloatModel;
use lstm_accel_spec::spec::HwConfig;
use lstm_accel_train::data::Example;
use lstm_accel_train::rank::{search_ranks, RankSearch, SearchConfig};
use lstm_accel_train::TrainError;
use serde::Serialize;

/// What a rank budget counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetKind {
    /// Stored parameters of the whole model (codes and biases).
    Params,
    /// Weight bits of the whole model (codes, tables and biases).
    Memory,
    /// The accelerator's predicted cycles per frame.
    Cycles,
}

/// `base` with the matrices at `paths` factorised at `ranks`, each with
/// the scalar code `base` gives it.
pub fn low_rank_spec(base: &QuantSpec, paths: &[String], ranks: &[usize]) -> QuantSpec {
    let mut spec = base.clone();
    for (p, &rank) in paths.iter().zip(ranks) {
        let scalar = base.overrides.get(p).unwrap_or(&base.matrix).scalar.clone();
        spec.overrides.insert(
            p.clone(),
            MatrixSpec {
                structure: Structure::LowRank { rank },
                scalar,
            },
        );
    }
    spec
}

/// Runs the search on `float` (training subset `train`) within `budget` of
/// `kind` and returns the quantization spec with the chosen ranks, and the
/// search's record.
pub fn choose_ranks(
    float: &FloatModel,
    base: &QuantSpec,
    (kind, budget): (BudgetKind, f64),
    hw: &HwConfig,
    train: &[Example],
    cfg: &SearchConfig,
    progress: impl FnMut(&str, usize, usize),
) -> Result<(QuantSpec, RankSearch)> {
    let paths: Vec<String> = (0..float.layers.len())
        .flat_map(|i| [format!("layers[{i}].w_x"), format!("layers[{i}].w_h")])
        .collect();
    let cost = |ranks: &[usize]| -> Result<f64, TrainError> {
        let model = quantize_model(float, &low_rank_spec(base, &paths, ranks))?;
        Ok(match kind {
            BudgetKind::Params => model.params() as f64,
            BudgetKind::Memory => model.weight_bits().total() as f64,
            BudgetKind::Cycles => derive_spec(&model, hw)
                .map_err(|e| TrainError::Config(format!("{e:#}")))?
                .cycles_per_frame() as f64,
        })
    };
    let search = search_ranks(float, &paths, budget, &cost, train, cfg, progress)?;
    let ranks: Vec<usize> = search.choices.iter().map(|c| c.rank).collect();
    Ok((low_rank_spec(base, &paths, &ranks), search))
}
