//! Rank selection for low-rank factorisation by a continuous search under
//! a budget (Aghababaei-Harandi & Amini 2024).
//!
//! Every candidate matrix `W = U S V` (its SVD) is relaxed to
//! `U diag(mask(rho)) S V`, `mask_i = sigmoid((rho - i - 1/2) / T)`, with a
//! continuous rank `rho` per matrix; the network's weights stay fixed and
//! only the ranks are learned, on a few hundred training recordings, by
//! minimising `cross-entropy + lambda * max(0, cost(rho) - budget) / budget`.
//! The cost is whatever the caller measures on a real model (stored
//! parameters, weight bits, or the accelerator's predicted cycles per
//! frame), linearised per matrix by finite differences:
//! `cost(r) ~ base + sum_m c_m (r_m - 1)`. The search runs in two stages, a
//! coarse one at a high temperature (ranks move freely) and a fine one at a
//! low temperature (the mask close to a step). The continuous ranks are then
//! rounded and repaired against the *true* cost: while over budget, the
//! term whose singular value buys the least per unit of cost is dropped;
//! while a term fits, the one that buys the most is added. The chosen
//! ranks then train (quantization-aware) in a short fine-tuning.

use crate::data::Example;
use crate::network::{LstmClassifier, RankPenalty, TrainConfig};
use crate::TrainError;
use lstm_accel_compress::structure::fit_low_rank;
use lstm_accel_model::float::{FloatMatrix, FloatModel};
use lstm_accel_model::readout::Readout;
use serde::Serialize;

/// How the search runs.
#[derive(Clone, Debug, Serialize)]
pub struct SearchConfig {
    /// Epochs over the search subset at the coarse temperature.
    pub coarse_epochs: usize,
    /// Epochs at the fine temperature.
    pub fine_epochs: usize,
    /// Training recordings the search uses.
    pub examples: usize,
    /// Learning rate of the ranks (units of rank per step, roughly).
    pub learning_rate: f64,
    /// Weight of a budget overrun in the loss.
    pub lambda: f64,
    /// Temperatures of the two stages.
    pub temperatures: (f64, f64),
    /// Sequences per batch.
    pub batch: usize,
    /// Seed of the batch order.
    pub seed: u64,
    /// The readout the network is trained with.
    pub readout: Readout,
}

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig {
            coarse_epochs: 3,
            fine_epochs: 2,
            examples: 600,
            learning_rate: 0.5,
            lambda: 20.0,
            temperatures: (2.0, 0.3),
            batch: 32,
            seed: 1,
            readout: Readout::Last,
        }
    }
}

/// One matrix's rank.
#[derive(Clone, Debug, Serialize)]
pub struct RankChoice {
    /// Tensor path.
    pub path: String,
    /// Its full rank, `min(rows, cols)`.
    pub full_rank: usize,
    /// The continuous rank the search ended at.
    pub continuous: f64,
    /// The chosen rank.
    pub rank: usize,
    /// Cost of one unit of its rank.
    pub unit_cost: f64,
}

/// The search's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct RankSearch {
    /// Per matrix.
    pub choices: Vec<RankChoice>,
    /// The true cost of the chosen ranks.
    pub cost: f64,
    /// The budget.
    pub budget: f64,
    /// The cost with every rank at 1.
    pub smallest_cost: f64,
}

fn matrix<'m>(model: &'m FloatModel, path: &str) -> Option<&'m FloatMatrix> {
    model.layers.iter().enumerate().find_map(|(i, l)| {
        if path == format!("layers[{i}].w_x") {
            Some(&l.w_x)
        } else if path == format!("layers[{i}].w_h") {
            Some(&l.w_h)
        } else {
            None
        }
    })
}

/// Squared singular values of `m`, largest first.
fn energies(m: &FloatMatrix) -> Vec<f64> {
    let full = m.rows.min(m.cols);
    let w: Vec<f64> = m.data.iter().map(|&v| f64::from(v)).collect();
    let (u, _) = fit_low_rank(&w, m.rows, m.cols, full);
    // |u_i|^2 = s_i (the square root split into both factors).
    (0..full)
        .map(|i| {
            let n: f64 = (0..m.rows).map(|r| u[r * full + i].powi(2)).sum();
            n * n
        })
        .collect()
}

/// Chooses the ranks of the LSTM matrices at `paths` (`layers[i].w_x`,
/// `layers[i].w_h`) of the trained `model` within `budget` as `cost`
/// measures it; `progress` hears each stage's epochs.
pub fn search_ranks(
    model: &FloatModel,
    paths: &[String],
    budget: f64,
    cost: &dyn Fn(&[usize]) -> Result<f64, TrainError>,
    train: &[Example],
    cfg: &SearchConfig,
    mut progress: impl FnMut(&str, usize, usize),
) -> Result<RankSearch, TrainError> {
    let mats: Vec<&FloatMatrix> = paths
        .iter()
        .map(|p| {
            matrix(model, p).ok_or_else(|| {
                TrainError::Config(format!(
                    "rank search: {p} is not an LSTM matrix of the model"
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    let full: Vec<usize> = mats.iter().map(|m| m.rows.min(m.cols)).collect();
    let ones = vec![1usize; paths.len()];
    let base = cost(&ones)?;
    if base > budget {
        return Err(TrainError::Config(format!(
            "budget {budget} is below the smallest factorisation (every rank 1), which costs {base}"
        )));
    }
    let mut unit = Vec::with_capacity(paths.len());
    for (m, &r) in full.iter().enumerate() {
        if r <= 1 {
            unit.push(0.0);
            continue;
        }
        let mut ranks = ones.clone();
        ranks[m] = r;
        unit.push(((cost(&ranks)? - base) / (r - 1) as f64).max(0.0));
    }
    let soft_budget = budget - base + unit.iter().sum::<f64>();
    let mut net = LstmClassifier::with_soft_ranks(
        model,
        paths,
        RankPenalty {
            costs: unit.clone(),
            budget: soft_budget,
            lambda: cfg.lambda,
        },
    )?;
    let subset: Vec<Example> = train
        .iter()
        .step_by((train.len() / cfg.examples.max(1)).max(1))
        .take(cfg.examples)
        .cloned()
        .collect();
    let stage = |epochs: usize| TrainConfig {
        hidden: 1,
        projection: None,
        layers: 1,
        classes: 2,
        epochs,
        batch: cfg.batch,
        learning_rate: cfg.learning_rate,
        seed: cfg.seed,
        dropout: 0.0,
        readout: cfg.readout,
    };
    for (name, epochs, t) in [
        ("coarse", cfg.coarse_epochs, cfg.temperatures.0),
        ("fine", cfg.fine_epochs, cfg.temperatures.1),
    ] {
        net.set_rank_temperature(t);
        net.train(&subset, &[], &stage(epochs), |e, _| {
            progress(name, e, epochs)
        })?;
    }
    let soft = net.soft_ranks()?;
    let continuous: Vec<f64> = paths
        .iter()
        .map(|p| soft.iter().find(|(q, _)| q == p).map_or(0.0, |(_, r)| *r))
        .collect();
    let mut ranks: Vec<usize> = continuous
        .iter()
        .zip(&full)
        .map(|(&c, &f)| (c.round().max(1.0) as usize).min(f))
        .collect();
    // Repair against the true cost: the value of a term is its share of the
    // matrix's energy per unit of cost.
    let energy: Vec<Vec<f64>> = mats.iter().map(|m| energies(m)).collect();
    let value = |m: usize, term: usize| {
        let total: f64 = energy[m].iter().sum::<f64>().max(1e-30);
        energy[m].get(term).copied().unwrap_or(0.0) / total / unit[m].max(1e-9)
    };
    let mut now = cost(&ranks)?;
    while now > budget {
        let Some(m) = (0..ranks.len())
            .filter(|&m| ranks[m] > 1)
            .min_by(|&a, &b| value(a, ranks[a] - 1).total_cmp(&value(b, ranks[b] - 1)))
        else {
            break;
        };
        ranks[m] -= 1;
        now = cost(&ranks)?;
    }
    loop {
        let mut order: Vec<usize> = (0..ranks.len()).filter(|&m| ranks[m] < full[m]).collect();
        order.sort_by(|&a, &b| value(b, ranks[b]).total_cmp(&value(a, ranks[a])));
        let mut grew = false;
        for m in order {
            ranks[m] += 1;
            let c = cost(&ranks)?;
            if c <= budget {
                now = c;
                grew = true;
                break;
            }
            ranks[m] -= 1;
        }
        if !grew {
            break;
        }
    }
    Ok(RankSearch {
        choices: paths
            .iter()
            .enumerate()
            .map(|(m, p)| RankChoice {
                path: p.clone(),
                full_rank: full[m],
                continuous: continuous[m],
                rank: ranks[m],
                unit_cost: unit[m],
            })
            .collect(),
        cost: now,
        budget,
        smallest_cost: base,
    })
}
