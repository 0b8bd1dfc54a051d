//! The float LSTM classifier and its training: `layers` LSTM layers of
//! `hidden` cells (candle's `LSTM`, gates i, f, g, o like the reference
//! model's cell), and a linear head on the last layer's h at each sequence's
//! last frame. Sequences of a batch are padded at the end to the longest;
//! the head reads each one's own last frame, so padding never reaches it.
//! Training minimises the cross-entropy with AdamW over batches of sequences
//! of similar length (sorted by length, then the batches shuffled per epoch,
//! seeded).

use crate::data::Example;
use crate::TrainError;
use candle_core::{DType, Device, Tensor, D};
use candle_nn::rnn::{LSTMConfig, RNN};
use candle_nn::{Linear, Module, Optimizer, VarBuilder, VarMap, LSTM};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// What to train.
#[derive(Clone, Debug, Serialize)]
pub struct TrainConfig {
    /// Cells per layer.
    pub hidden: usize,
    /// LSTM layers.
    pub layers: usize,
    /// Classes.
    pub classes: usize,
    /// Passes over the training set.
    pub epochs: usize,
    /// Sequences per batch.
    pub batch: usize,
    /// AdamW's learning rate.
    pub learning_rate: f64,
    /// Seed of the initialisation and the batch order.
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            hidden: 64,
            layers: 2,
            classes: 10,
            epochs: 30,
            batch: 32,
            learning_rate: 0.005,
            seed: 1,
        }
    }
}

/// One epoch's figures.
#[derive(Clone, Debug, Serialize)]
pub struct Epoch {
    /// Mean training loss.
    pub loss: f32,
    /// Training-set accuracy (as the batches ran).
    pub train_accuracy: f64,
    /// Test-set accuracy after the epoch.
    pub test_accuracy: f64,
}

/// The trained classifier.
pub struct FloatLstm {
    layers: Vec<LSTM>,
    head: Linear,
    varmap: VarMap,
    device: Device,
}

impl FloatLstm {
    /// A classifier of `features` inputs, initialised from `cfg.seed`.
    pub fn new(features: usize, cfg: &TrainConfig) -> Result<FloatLstm, TrainError> {
        if cfg.layers == 0 || cfg.hidden == 0 || cfg.classes < 2 || cfg.batch == 0 {
            return Err(TrainError::Config(format!(
                "a classifier needs layers, cells, two classes and a batch: {cfg:?}"
            )));
        }
        let device = Device::Cpu;
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &device);
        let layers = (0..cfg.layers)
            .map(|l| {
                let inputs = if l == 0 { features } else { cfg.hidden };
                candle_nn::lstm(
                    inputs,
                    cfg.hidden,
                    LSTMConfig::default(),
                    vb.pp(format!("lstm{l}")),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        let head = candle_nn::linear(cfg.hidden, cfg.classes, vb.pp("head"))?;
        reinitialise(&varmap, cfg.hidden, cfg.seed)?;
        Ok(FloatLstm {
            layers,
            head,
            varmap,
            device,
        })
    }

    /// Trainable numbers: every LSTM weight and bias and the head's.
    pub fn parameters(&self) -> usize {
        self.varmap.all_vars().iter().map(|v| v.elem_count()).sum()
    }

    /// The logits of a batch: `x` is [batch, frames, features], `last`
    /// [batch, frames, 1] one-hot at each sequence's last frame.
    fn forward(&self, x: &Tensor, last: &Tensor) -> Result<Tensor, TrainError> {
        let mut h = x.clone();
        for l in &self.layers {
            let states = l.seq(&h)?;
            h = l.states_to_tensor(&states)?;
        }
        let final_h = h.broadcast_mul(last)?.sum(1)?;
        Ok(self.head.forward(&final_h)?)
    }

    /// A batch's tensors: features padded to the longest, the last-frame
    /// mask, the labels.
    fn batch(&self, set: &[&Example]) -> Result<(Tensor, Tensor, Tensor), TrainError> {
        let t = set.iter().map(|e| e.frames.len()).max().unwrap_or(1);
        let f = set
            .first()
            .and_then(|e| e.frames.first())
            .map_or(0, Vec::len);
        let mut x = vec![0f32; set.len() * t * f];
        let mut last = vec![0f32; set.len() * t];
        for (b, e) in set.iter().enumerate() {
            for (k, frame) in e.frames.iter().enumerate() {
                x[(b * t + k) * f..(b * t + k + 1) * f].copy_from_slice(frame);
            }
            last[b * t + e.frames.len() - 1] = 1.0;
        }
        let labels: Vec<u32> = set.iter().map(|e| e.label as u32).collect();
        Ok((
            Tensor::from_vec(x, (set.len(), t, f), &self.device)?,
            Tensor::from_vec(last, (set.len(), t, 1), &self.device)?,
            Tensor::from_vec(labels, set.len(), &self.device)?,
        ))
    }

    /// The predicted class of every example.
    pub fn predict(&self, set: &[Example], batch: usize) -> Result<Vec<usize>, TrainError> {
        let mut out = Vec::with_capacity(set.len());
        for chunk in set.chunks(batch.max(1)) {
            let refs: Vec<&Example> = chunk.iter().collect();
            let (x, last, _) = self.batch(&refs)?;
            let p = self
                .forward(&x, &last)?
                .argmax(D::Minus1)?
                .to_vec1::<u32>()?;
            out.extend(p.into_iter().map(|c| c as usize));
        }
        Ok(out)
    }

    /// Trains on `train` for `cfg.epochs`, reporting each epoch (with the
    /// accuracy on `test`) to `progress`.
    pub fn train(
        &mut self,
        train: &[Example],
        test: &[Example],
        cfg: &TrainConfig,
        mut progress: impl FnMut(usize, &Epoch),
    ) -> Result<Vec<Epoch>, TrainError> {
        if train.is_empty() {
            return Err(TrainError::Config("no training examples".into()));
        }
        let mut opt = candle_nn::AdamW::new(
            self.varmap.all_vars(),
            candle_nn::ParamsAdamW {
                lr: cfg.learning_rate,
                weight_decay: 1e-4,
                ..Default::default()
            },
        )?;
        // Batches of similar lengths; their order shuffled every epoch.
        let mut order: Vec<&Example> = train.iter().collect();
        order.sort_by_key(|e| e.frames.len());
        let mut batches: Vec<Vec<&Example>> =
            order.chunks(cfg.batch).map(<[&Example]>::to_vec).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let mut epochs = Vec::with_capacity(cfg.epochs);
        for e in 0..cfg.epochs {
            batches.shuffle(&mut rng);
            let (mut loss_sum, mut right, mut seen) = (0f32, 0usize, 0usize);
            for b in &batches {
                let (x, last, y) = self.batch(b)?;
                let logits = self.forward(&x, &last)?;
                let loss = candle_nn::loss::cross_entropy(&logits, &y)?;
                opt.backward_step(&loss)?;
                loss_sum += loss.to_scalar::<f32>()? * b.len() as f32;
                let p = logits.argmax(D::Minus1)?.to_vec1::<u32>()?;
                right += p
                    .iter()
                    .zip(b.iter())
                    .filter(|(p, e)| **p as usize == e.label)
                    .count();
                seen += b.len();
            }
            let epoch = Epoch {
                loss: loss_sum / seen as f32,
                train_accuracy: right as f64 / seen as f64,
                test_accuracy: accuracy(&self.predict(test, cfg.batch)?, test),
            };
            progress(e + 1, &epoch);
            epochs.push(epoch);
        }
        Ok(epochs)
    }
}

/// Every parameter drawn again, uniform in `±1/sqrt(hidden)` (PyTorch's
/// LSTM initialisation), from `seed`, in the order of their names: the CPU
/// device's own generator cannot be seeded, and a training run must be
/// repeatable.
fn reinitialise(varmap: &VarMap, hidden: usize, seed: u64) -> Result<(), TrainError> {
    use rand::Rng;
    let data = varmap
        .data()
        .lock()
        .map_err(|_| TrainError::Config("the parameter store is poisoned".into()))?;
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let k = 1.0 / (hidden as f32).sqrt();
    for name in names {
        let var = &data[name];
        let n = var.elem_count();
        let values: Vec<f32> = (0..n).map(|_| rng.random_range(-k..k)).collect();
        var.set(&Tensor::from_vec(values, var.shape(), var.device())?)?;
    }
    Ok(())
}

/// The share of `set` whose label `predicted` gives.
pub fn accuracy(predicted: &[usize], set: &[Example]) -> f64 {
    if set.is_empty() {
        return 0.0;
    }
    let right = predicted
        .iter()
        .zip(set)
        .filter(|(p, e)| **p == e.label)
        .count();
    right as f64 / set.len() as f64
}

/// `m[true][predicted]` counts.
pub fn confusion(predicted: &[usize], set: &[Example], classes: usize) -> Vec<Vec<usize>> {
    let mut m = vec![vec![0; classes]; classes];
    for (p, e) in predicted.iter().zip(set) {
        if e.label < classes && *p < classes {
            m[e.label][*p] += 1;
        }
    }
    m
}
