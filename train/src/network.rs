//! The LSTM classifier and its training: `layers` LSTM layers (gates i, f,
//! g, o, one bias per gate row, the cell clipped to the accelerator's cell
//! range, an optional projection `y = P h`), the same cell as the reference
//! model's float twin (`FloatModel`), and a linear head on the last layer's
//! output at each sequence's last frame, or its mean over the sequence's
//! frames (`Readout::Mean`, pooling over time). Sequences of a batch are
//! padded at the end to the longest; the head reads each one's own frames,
//! so padding never reaches it.
//!
//! Every weight matrix is a [`TrainedMatrix`]: float, or quantized in the
//! forward pass with a straight-through gradient (quantization-aware
//! training, [`crate::weights`]) by the same `QuantSpec` that exports the
//! model. Training minimises the cross-entropy with AdamW (learning rate on
//! a cosine from `learning_rate` down to a twentieth) over batches of
//! sequences of similar length, shuffled per epoch, seeded. A network is
//! built from a `FloatModel` and gives one back, so a float model trained
//! here (or imported from PyTorch) is the start of a quantized one.
//!
//! Two aids for voices the training set lacks: variational dropout (one
//! mask per sequence, the same at every frame, on every layer's input and
//! on the head's; inverted, so nothing changes at inference) and distillation from a fixed float teacher (the loss mixes
//! the cross-entropy with the teacher's softened class probabilities,
//! `(1 - a) CE + a T^2 KL(p_teacher,T || p_student,T)`), which keeps a
//! quantized student's answers close to the float network it starts from.

use crate::data::Example;
use crate::prior::MixturePrior;
use crate::weights::{Constraint, TrainedMatrix};
use crate::TrainError;
use candle_core::{DType, Device, Tensor, Var, D};
use candle_nn::Optimizer;
use lstm_accel_compress::QuantSpec;
use lstm_accel_model::float::{FloatHead, FloatLayer, FloatMatrix, FloatModel};
use lstm_accel_model::readout::Readout;
use rand::seq::SliceRandom;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// How much faster than the weights a mixture prior's parameters learn.
pub const PRIOR_LR_FACTOR: f64 = 10.0;

/// The cell clipping of trained layers: the accelerator's standard cell
/// format holds `|c| < 8` (`standard_formats`), so training sees the same
/// saturation.
pub const CELL_CLIP: f32 = 8.0;

/// What to train.
#[derive(Clone, Debug, Serialize)]
pub struct TrainConfig {
    /// Cells per layer.
    pub hidden: usize,
    /// Each layer's output projected to this size (`y = P h`, shared by
    /// the layer's recurrence and the next layer: Lu et al.'s shared low
    /// rank); `None`: the output is h.
    pub projection: Option<usize>,
    /// LSTM layers.
    pub layers: usize,
    /// Classes.
    pub classes: usize,
    /// Passes over the training set.
    pub epochs: usize,
    /// Sequences per batch.
    pub batch: usize,
    /// AdamW's initial learning rate.
    pub learning_rate: f64,
    /// Seed of the initialisation, the batch order and stochastic codes.
    pub seed: u64,
    /// Dropout probability in training (variational: one mask per
    /// sequence and layer input, kept over the frames); 0 disables it.
    #[serde(default)]
    pub dropout: f32,
    /// The answer of a sequence: the head at its last frame, or the mean
    /// of the head over its frames (pooling over time); the model file
    /// carries it.
    #[serde(default)]
    pub readout: Readout,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            hidden: 64,
            projection: None,
            layers: 2,
            classes: 10,
            epochs: 30,
            batch: 32,
            learning_rate: 0.005,
            seed: 1,
            dropout: 0.0,
            readout: Readout::Last,
        }
    }
}

/// One epoch's figures.
#[derive(Clone, Debug, Serialize)]
pub struct Epoch {
    /// Mean training cross-entropy (a prior's term not included).
    pub loss: f32,
    /// Training-set accuracy (as the batches ran).
    pub train_accuracy: f64,
    /// Test-set accuracy after the epoch.
    pub test_accuracy: f64,
}

struct TrainedLayer {
    hidden: usize,
    w_x: TrainedMatrix,
    w_h: TrainedMatrix,
    bias: Var,
    projection: Option<TrainedMatrix>,
    cell_clip: Option<f32>,
}

/// The classifier.
pub struct LstmClassifier {
    input_size: usize,
    layers: Vec<TrainedLayer>,
    head_w: TrainedMatrix,
    head_b: Var,
    stochastic_seed: Option<u64>,
    prior: Option<MixturePrior>,
    rank_penalty: Option<RankPenalty>,
    teacher: Option<Teacher>,
    readout: Readout,
    device: Device,
}

/// Distillation's settings.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Distillation {
    /// Share `a` of the teacher's term in the loss (0..=1).
    pub weight: f64,
    /// Temperature `T` both distributions are softened by.
    pub temperature: f64,
}

impl Distillation {
    /// An error unless the weight is in 0..=1 and the temperature positive.
    pub fn check(&self) -> Result<(), TrainError> {
        let temperature_ok = self.temperature.is_finite() && self.temperature > 0.0;
        if !(0.0..=1.0).contains(&self.weight) || !temperature_ok {
            return Err(TrainError::Config(format!(
                "distillation weight {} (0..=1) and temperature {} (> 0)",
                self.weight, self.temperature
            )));
        }
        Ok(())
    }
}

/// An error unless `p` is a dropout probability (`0 <= p < 1`).
pub fn check_dropout(p: f32) -> Result<(), TrainError> {
    if !(0.0..1.0).contains(&p) {
        return Err(TrainError::Config(format!(
            "dropout {p}: a probability in 0..1"
        )));
    }
    Ok(())
}

/// A fixed network whose softened answers the student learns.
struct Teacher {
    net: Box<LstmClassifier>,
    weights: PassWeights,
    settings: Distillation,
}

/// The rank search's budget term: the soft-rank matrices' cost, linear in
/// their ranks (`costs[m]` per unit of rank, in the order of the model's
/// matrices), against what the budget leaves them.
#[derive(Clone, Debug)]
pub struct RankPenalty {
    /// Cost of one unit of rank, per soft-rank matrix.
    pub costs: Vec<f64>,
    /// What the budget leaves the soft-rank matrices.
    pub budget: f64,
    /// Weight of the overrun in the loss.
    pub lambda: f64,
}

/// The weights of one forward pass (quantized where constrained).
struct PassWeights {
    layers: Vec<(Tensor, Tensor, Option<Tensor>)>,
    head: Tensor,
}

impl LstmClassifier {
    /// A float classifier of `features` inputs, drawn from `cfg.seed`:
    /// uniform in `±1/sqrt(hidden)` (PyTorch's LSTM initialisation), from a
    /// seeded generator because candle's CPU generator cannot be seeded and
    /// a training run must be repeatable.
    pub fn new(features: usize, cfg: &TrainConfig) -> Result<LstmClassifier, TrainError> {
        if cfg.layers == 0
            || cfg.hidden == 0
            || cfg.classes < 2
            || cfg.batch == 0
            || cfg.projection == Some(0)
        {
            return Err(TrainError::Config(format!(
                "a classifier needs layers, cells, two classes and a batch: {cfg:?}"
            )));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let k = 1.0 / (cfg.hidden as f32).sqrt();
        let mut draw = |rows: usize, cols: usize| {
            let data = (0..rows * cols).map(|_| rng.random_range(-k..k)).collect();
            FloatMatrix::new(rows, cols, data)
        };
        let h4 = 4 * cfg.hidden;
        let y = cfg.projection.unwrap_or(cfg.hidden);
        let layers = (0..cfg.layers)
            .map(|l| FloatLayer {
                hidden: cfg.hidden,
                w_x: draw(h4, if l == 0 { features } else { y }),
                w_h: draw(h4, y),
                bias: draw(1, h4).data,
                projection: cfg.projection.map(|p| draw(p, cfg.hidden)),
                cell_clip: Some(CELL_CLIP),
            })
            .collect();
        let head = FloatHead::Dense {
            w: draw(cfg.classes, y),
            bias: draw(1, cfg.classes).data,
        };
        let model = FloatModel {
            input_size: features,
            layers,
            head,
        };
        LstmClassifier::from_float(&model, None)
    }

    /// A classifier holding `model`'s weights; with `quant`, every matrix is
    /// trained quantized as `quant` says (its overrides per tensor path),
    /// with stochastic codes when it has a `stochastic_seed`.
    pub fn from_float(
        model: &FloatModel,
        quant: Option<&QuantSpec>,
    ) -> Result<LstmClassifier, TrainError> {
        LstmClassifier::build(model, quant, true)
    }

    /// A classifier whose matrices have `quant`'s structures, trained in
    /// float (the forward pass uses the structured shadows themselves): the
    /// start of soft weight-sharing, whose codebook comes after training.
    pub fn structured_float(
        model: &FloatModel,
        quant: &QuantSpec,
    ) -> Result<LstmClassifier, TrainError> {
        LstmClassifier::build(model, Some(quant), false)
    }

    fn build(
        model: &FloatModel,
        quant: Option<&QuantSpec>,
        quantized_forward: bool,
    ) -> Result<LstmClassifier, TrainError> {
        model
            .validate()
            .map_err(|e| TrainError::Config(e.to_string()))?;
        let device = Device::Cpu;
        let constraint = |path: &str| match quant {
            None => Constraint::Float,
            Some(q) => {
                let spec = q.overrides.get(path).unwrap_or(&q.matrix).clone();
                if quantized_forward {
                    Constraint::Quantized {
                        spec,
                        stochastic: q.stochastic_seed.is_some(),
                    }
                } else {
                    Constraint::Structured(spec.structure)
                }
            }
        };
        let matrix = |path: String, m: &FloatMatrix| {
            let c = constraint(&path);
            TrainedMatrix::new(path, m, c, &device)
        };
        let vector = |v: &[f32]| -> Result<Var, TrainError> {
            Ok(Var::from_tensor(&Tensor::from_vec(
                v.to_vec(),
                v.len(),
                &device,
            )?)?)
        };
        let mut layers = Vec::with_capacity(model.layers.len());
        for (i, l) in model.layers.iter().enumerate() {
            layers.push(TrainedLayer {
                hidden: l.hidden,
                w_x: matrix(format!("layers[{i}].w_x"), &l.w_x)?,
                w_h: matrix(format!("layers[{i}].w_h"), &l.w_h)?,
                bias: vector(&l.bias)?,
                projection: l
                    .projection
                    .as_ref()
                    .map(|p| matrix(format!("layers[{i}].projection"), p))
                    .transpose()?,
                cell_clip: l.cell_clip,
            });
        }
        let FloatHead::Dense { w, bias } = &model.head else {
            return Err(TrainError::Config(
                "training takes a dense head (a LightRNN head is not trained here)".into(),
            ));
        };
        Ok(LstmClassifier {
            input_size: model.input_size,
            layers,
            head_w: matrix("head.w".into(), w)?,
            head_b: vector(bias)?,
            stochastic_seed: quant.and_then(|q| q.stochastic_seed),
            prior: None,
            rank_penalty: None,
            teacher: None,
            readout: Readout::Last,
            device,
        })
    }

    /// Reads each sequence out as `readout` says, in training and in
    /// [`LstmClassifier::predict`] (`train` sets its config's).
    pub fn set_readout(&mut self, readout: Readout) {
        self.readout = readout;
    }

    /// Distils `teacher` (a float network, fixed) into this one: its
    /// softened class probabilities join the loss as `settings` say.
    pub fn set_teacher(
        &mut self,
        teacher: &FloatModel,
        settings: Distillation,
    ) -> Result<(), TrainError> {
        settings.check()?;
        if teacher.input_size != self.input_size {
            return Err(TrainError::Config(format!(
                "the teacher takes {} features, the student {}",
                teacher.input_size, self.input_size
            )));
        }
        let net = LstmClassifier::from_float(teacher, None)?;
        let weights = net.pass_weights(None)?;
        self.teacher = Some(Teacher {
            net: Box::new(net),
            weights,
            settings,
        });
        Ok(())
    }

    /// Retrain under `prior` (soft weight-sharing): its negative log
    /// likelihood of every matrix parameter joins the loss, and its own
    /// parameters are learned too.
    pub fn set_prior(&mut self, prior: MixturePrior) {
        self.prior = Some(prior);
    }

    /// The prior set, if any.
    pub fn prior(&self) -> Option<&MixturePrior> {
        self.prior.as_ref()
    }

    /// Every trainable matrix parameter (a structure's own values).
    fn matrix_params(&self) -> Vec<Tensor> {
        self.matrices()
            .flat_map(|m| m.vars().into_iter().map(|v| v.as_tensor().clone()))
            .collect()
    }

    /// The largest magnitude of any matrix parameter.
    pub fn max_abs_weight(&self) -> Result<f64, TrainError> {
        let mut m = 0f64;
        for t in self.matrix_params() {
            m = m.max(f64::from(t.abs()?.max_all()?.to_scalar::<f32>()?));
        }
        Ok(m)
    }

    /// Moves every matrix parameter to its prior's codebook value (soft
    /// weight-sharing's quantization); an error without a prior.
    pub fn snap_to_prior(&mut self) -> Result<(), TrainError> {
        let prior = self
            .prior
            .as_ref()
            .ok_or_else(|| TrainError::Config("no prior to snap the weights to".into()))?;
        for m in self.matrices() {
            for v in m.vars() {
                v.set(&prior.snap(v.as_tensor())?)?;
            }
        }
        Ok(())
    }

    /// The shadow weights as a float model (the input of the exporter).
    pub fn to_float(&self) -> Result<FloatModel, TrainError> {
        let vector = |v: &Var| -> Result<Vec<f32>, TrainError> { Ok(v.as_tensor().to_vec1()?) };
        let layers = self
            .layers
            .iter()
            .map(|l| {
                Ok(FloatLayer {
                    hidden: l.hidden,
                    w_x: l.w_x.shadow()?,
                    w_h: l.w_h.shadow()?,
                    bias: vector(&l.bias)?,
                    projection: l.projection.as_ref().map(|p| p.shadow()).transpose()?,
                    cell_clip: l.cell_clip,
                })
            })
            .collect::<Result<Vec<_>, TrainError>>()?;
        Ok(FloatModel {
            input_size: self.input_size,
            layers,
            head: FloatHead::Dense {
                w: self.head_w.shadow()?,
                bias: vector(&self.head_b)?,
            },
        })
    }

    fn matrices(&self) -> impl Iterator<Item = &TrainedMatrix> {
        self.layers
            .iter()
            .flat_map(|l| [Some(&l.w_x), Some(&l.w_h), l.projection.as_ref()])
            .flatten()
            .chain(std::iter::once(&self.head_w))
    }

    fn matrices_mut(&mut self) -> impl Iterator<Item = &mut TrainedMatrix> {
        self.layers
            .iter_mut()
            .flat_map(|l| [Some(&mut l.w_x), Some(&mut l.w_h), l.projection.as_mut()])
            .flatten()
            .chain(std::iter::once(&mut self.head_w))
    }

    /// The rank search's network: `model`'s weights, fixed, with the
    /// matrices at `paths` relaxed to soft ranks, whose continuous ranks
    /// alone are trained, under [`RankPenalty`] (`costs` per path).
    pub fn with_soft_ranks(
        model: &FloatModel,
        paths: &[String],
        penalty: RankPenalty,
    ) -> Result<LstmClassifier, TrainError> {
        if penalty.costs.len() != paths.len() {
            return Err(TrainError::Config(format!(
                "{} rank costs for {} matrices",
                penalty.costs.len(),
                paths.len()
            )));
        }
        let mut net = LstmClassifier::build(model, None, true)?;
        let device = net.device.clone();
        let mut found = 0;
        for m in net.matrices_mut() {
            if paths.contains(&m.path) {
                *m = TrainedMatrix::soft_rank(m.path.clone(), &m.shadow()?, &device)?;
                found += 1;
            }
        }
        if found != paths.len() {
            return Err(TrainError::Config(format!(
                "rank search: of {paths:?} only {found} are matrices of the model"
            )));
        }
        // The costs in the order the network keeps its matrices.
        let costs = net
            .matrices()
            .filter(|m| m.is_soft_rank())
            .filter_map(|m| paths.iter().position(|p| *p == m.path))
            .map(|i| penalty.costs[i])
            .collect();
        net.rank_penalty = Some(RankPenalty { costs, ..penalty });
        Ok(net)
    }

    /// Sets the soft-rank masks' temperature (the search's stages).
    pub fn set_rank_temperature(&mut self, t: f64) {
        for m in self.matrices_mut() {
            if let Some((_, temp)) = m.soft_rank_state() {
                *temp = t;
            }
        }
    }

    /// The continuous ranks, per soft-rank matrix path.
    pub fn soft_ranks(&mut self) -> Result<Vec<(String, f64)>, TrainError> {
        let mut out = Vec::new();
        for m in self.matrices_mut() {
            let path = m.path.clone();
            if let Some((rho, _)) = m.soft_rank_state() {
                out.push((path, f64::from(rho.as_tensor().to_vec1::<f32>()?[0])));
            }
        }
        Ok(out)
    }

    fn rank_vars(&self) -> Vec<Var> {
        self.matrices()
            .filter(|m| m.is_soft_rank())
            .flat_map(|m| m.vars().into_iter().cloned())
            .collect()
    }

    /// `lambda * max(0, sum_m c_m rho_m - budget) / budget`.
    fn rank_loss(&self, p: &RankPenalty) -> Result<Tensor, TrainError> {
        let rhos = Tensor::cat(
            &self
                .rank_vars()
                .iter()
                .map(|v| v.as_tensor().clone())
                .collect::<Vec<_>>(),
            0,
        )?;
        let c: Vec<f32> = p.costs.iter().map(|&c| c as f32).collect();
        let n = c.len();
        let cost = rhos
            .mul(&Tensor::from_vec(c, n, &self.device)?)?
            .sum_all()?;
        Ok(((cost - p.budget)?.relu()? * (p.lambda / p.budget.max(1e-9)))?)
    }

    fn vars(&self) -> Vec<Var> {
        let mut v: Vec<Var> = self
            .matrices()
            .flat_map(|m| m.vars().into_iter().cloned())
            .collect();
        v.extend(self.layers.iter().map(|l| l.bias.clone()));
        v.push(self.head_b.clone());
        v
    }

    /// Every network variable the optimiser updates; in a rank search the
    /// continuous ranks only (a prior's have their own optimiser).
    fn trained_vars(&self) -> Vec<Var> {
        if self.rank_penalty.is_some() {
            return self.rank_vars();
        }
        self.vars()
    }

    /// Trainable numbers: every weight (shadow) and bias.
    pub fn parameters(&self) -> usize {
        self.vars().iter().map(|v| v.elem_count()).sum()
    }

    fn pass_weights(
        &self,
        mut rng: Option<&mut (dyn RngCore + '_)>,
    ) -> Result<PassWeights, TrainError> {
        let mut fwd =
            |m: &TrainedMatrix| m.forward(rng.as_mut().map(|r| &mut **r as &mut dyn RngCore));
        let mut layers = Vec::with_capacity(self.layers.len());
        for l in &self.layers {
            layers.push((
                fwd(&l.w_x)?.t()?.contiguous()?,
                fwd(&l.w_h)?.t()?.contiguous()?,
                l.projection
                    .as_ref()
                    .map(|p| -> Result<Tensor, TrainError> { Ok(fwd(p)?.t()?.contiguous()?) })
                    .transpose()?,
            ));
        }
        Ok(PassWeights {
            layers,
            head: fwd(&self.head_w)?.t()?.contiguous()?,
        })
    }

    /// The logits of a batch: `x` is [batch, frames, features], `last`
    /// [batch, frames, 1] one-hot at each sequence's last frame. With
    /// `dropout`, every layer's input and the head's are masked (one mask
    /// per sequence, kept over the frames).
    fn forward(
        &self,
        w: &PassWeights,
        x: &Tensor,
        last: &Tensor,
        mut dropout: Option<(f32, &mut dyn RngCore)>,
    ) -> Result<Tensor, TrainError> {
        let (b, t, _) = x.dims3()?;
        let mut seq = x.clone();
        for (l, (wx_t, wh_t, proj_t)) in self.layers.iter().zip(&w.layers) {
            let n_in = seq.dim(2)?;
            if let Some((p, rng)) = dropout.as_mut() {
                let mask = self.dropout_mask(b, n_in, *p, &mut **rng)?;
                seq = seq.broadcast_mul(&mask.unsqueeze(1)?)?;
            }
            let h4 = 4 * l.hidden;
            // Every frame's input term at once, the bias added.
            let xw = seq
                .reshape((b * t, n_in))?
                .matmul(wx_t)?
                .broadcast_add(l.bias.as_tensor())?
                .reshape((b, t, h4))?;
            let y_size = wh_t.dim(0)?;
            let mut y = Tensor::zeros((b, y_size), DType::F32, &self.device)?;
            let mut c = Tensor::zeros((b, l.hidden), DType::F32, &self.device)?;
            let mut outs = Vec::with_capacity(t);
            for k in 0..t {
                let g = xw.narrow(1, k, 1)?.squeeze(1)?.add(&y.matmul(wh_t)?)?;
                let gate = |n: usize| g.narrow(1, n * l.hidden, l.hidden);
                let i = candle_nn::ops::sigmoid(&gate(0)?)?;
                let f = candle_nn::ops::sigmoid(&gate(1)?)?;
                let cand = gate(2)?.tanh()?;
                let o = candle_nn::ops::sigmoid(&gate(3)?)?;
                c = f.mul(&c)?.add(&i.mul(&cand)?)?;
                if let Some(clip) = l.cell_clip {
                    c = c.clamp(-clip, clip)?;
                }
                let h = o.mul(&c.tanh()?)?;
                y = match proj_t {
                    Some(p) => h.matmul(p)?,
                    None => h,
                };
                outs.push(y.clone());
            }
            seq = Tensor::stack(&outs, 1)?;
        }
        let mut final_y = seq.broadcast_mul(last)?.sum(1)?;
        if let Some((p, rng)) = dropout.as_mut() {
            let mask = self.dropout_mask(b, final_y.dim(1)?, *p, &mut **rng)?;
            final_y = final_y.mul(&mask)?;
        }
        Ok(final_y
            .matmul(&w.head)?
            .broadcast_add(self.head_b.as_tensor())?)
    }

    /// An inverted dropout mask of `[rows, cols]`: 0 with probability `p`,
    /// else `1 / (1 - p)`, from the seeded generator (candle's own cannot be
    /// seeded on the CPU).
    fn dropout_mask(
        &self,
        rows: usize,
        cols: usize,
        p: f32,
        rng: &mut dyn RngCore,
    ) -> Result<Tensor, TrainError> {
        let keep = 1.0 / (1.0 - p);
        let data = (0..rows * cols)
            .map(|_| if rng.random::<f32>() < p { 0.0 } else { keep })
            .collect();
        Ok(Tensor::from_vec(data, (rows, cols), &self.device)?)
    }

    /// The distillation term of a batch: `T^2` times the cross-entropy of
    /// the student's softened distribution against the teacher's (the
    /// KL divergence up to the teacher's entropy, a constant).
    fn distillation_loss(
        &self,
        teacher: &Teacher,
        x: &Tensor,
        last: &Tensor,
        logits: &Tensor,
    ) -> Result<Tensor, TrainError> {
        let temp = teacher.settings.temperature;
        let target = candle_nn::ops::softmax_last_dim(
            &(teacher.net.forward(&teacher.weights, x, last, None)? / temp)?.detach(),
        )?;
        let log_student = candle_nn::ops::log_softmax(&(logits / temp)?, D::Minus1)?;
        let rows = logits.dim(0)? as f64;
        Ok((target.mul(&log_student)?.sum_all()? * (-temp * temp / rows))?)
    }

    /// A batch's tensors: features padded to the longest, the readout's
    /// weights per frame (one-hot at the last frame, or `1/frames` on
    /// each), the labels.
    fn batch(&self, set: &[&Example]) -> Result<(Tensor, Tensor, Tensor), TrainError> {
        let t = set.iter().map(|e| e.frames.len()).max().unwrap_or(1);
        let f = self.input_size;
        let mut x = vec![0f32; set.len() * t * f];
        let mut last = vec![0f32; set.len() * t];
        for (b, e) in set.iter().enumerate() {
            for (k, frame) in e.frames.iter().enumerate() {
                if frame.len() != f {
                    return Err(TrainError::Config(format!(
                        "a frame of {} features; the network takes {f}",
                        frame.len()
                    )));
                }
                x[(b * t + k) * f..(b * t + k + 1) * f].copy_from_slice(frame);
            }
            if e.frames.is_empty() {
                return Err(TrainError::Config("an example without frames".into()));
            }
            let n = e.frames.len();
            match self.readout {
                Readout::Last => last[b * t + n - 1] = 1.0,
                // The head is linear: its mean over the frames is the head
                // of the mean output, and padding gets no weight.
                Readout::Mean => last[b * t..b * t + n].fill(1.0 / n as f32),
            }
        }
        let labels: Vec<u32> = set.iter().map(|e| e.label as u32).collect();
        Ok((
            Tensor::from_vec(x, (set.len(), t, f), &self.device)?,
            Tensor::from_vec(last, (set.len(), t, 1), &self.device)?,
            Tensor::from_vec(labels, set.len(), &self.device)?,
        ))
    }

    /// The predicted class of every example, with the weights the exported
    /// model holds (deterministic codes).
    pub fn predict(&self, set: &[Example], batch: usize) -> Result<Vec<usize>, TrainError> {
        let w = self.pass_weights(None)?;
        let mut order: Vec<usize> = (0..set.len()).collect();
        // Similar lengths together: less padding to compute.
        order.sort_by_key(|&i| set[i].frames.len());
        let mut classes = vec![0; set.len()];
        for chunk in order.chunks(batch.max(1)) {
            let refs: Vec<&Example> = chunk.iter().map(|&i| &set[i]).collect();
            let (x, last, _) = self.batch(&refs)?;
            let p = self
                .forward(&w, &x, &last, None)?
                .argmax(D::Minus1)?
                .to_vec1::<u32>()?;
            for (&i, c) in chunk.iter().zip(p) {
                classes[i] = c as usize;
            }
        }
        Ok(classes)
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
        check_dropout(cfg.dropout)?;
        self.readout = cfg.readout;
        let mut opt = candle_nn::AdamW::new(
            self.trained_vars(),
            candle_nn::ParamsAdamW {
                lr: cfg.learning_rate,
                weight_decay: 1e-4,
                ..Default::default()
            },
        )?;
        // The prior's means, variances and mixing weights move faster than
        // the weights, so that components follow the clusters they form.
        let mut prior_opt = match &self.prior {
            Some(p) => Some(candle_nn::AdamW::new(
                p.vars(),
                candle_nn::ParamsAdamW {
                    lr: PRIOR_LR_FACTOR * cfg.learning_rate,
                    weight_decay: 0.0,
                    ..Default::default()
                },
            )?),
            None => None,
        };
        // Batches of similar lengths; their order shuffled every epoch.
        let mut order: Vec<&Example> = train.iter().collect();
        order.sort_by_key(|e| e.frames.len());
        let mut batches: Vec<Vec<&Example>> =
            order.chunks(cfg.batch).map(<[&Example]>::to_vec).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let mut codes = self.stochastic_seed.map(ChaCha8Rng::seed_from_u64);
        // Its own stream, so that dropout leaves the batch order alone.
        let mut masks = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x5eed_d80f);
        let steps = (cfg.epochs * batches.len()).max(1) as f64;
        let mut step = 0usize;
        let mut epochs = Vec::with_capacity(cfg.epochs);
        for e in 0..cfg.epochs {
            batches.shuffle(&mut rng);
            let (mut loss_sum, mut right, mut seen) = (0f32, 0usize, 0usize);
            for b in &batches {
                let cosine = 0.5 * (1.0 + (std::f64::consts::PI * step as f64 / steps).cos());
                opt.set_learning_rate(cfg.learning_rate * (0.05 + 0.95 * cosine));
                step += 1;
                let w = self.pass_weights(codes.as_mut().map(|r| r as &mut dyn RngCore))?;
                let (x, last, y) = self.batch(b)?;
                let dropout =
                    (cfg.dropout > 0.0).then_some((cfg.dropout, &mut masks as &mut dyn RngCore));
                let logits = self.forward(&w, &x, &last, dropout)?;
                let ce = candle_nn::loss::cross_entropy(&logits, &y)?;
                let mut loss = match &self.teacher {
                    Some(t) => {
                        let a = t.settings.weight;
                        ((&ce * (1.0 - a))?
                            + (self.distillation_loss(t, &x, &last, &logits)? * a)?)?
                    }
                    None => ce.clone(),
                };
                if let Some(p) = &self.prior {
                    loss = (loss + p.penalty(&self.matrix_params())?)?;
                }
                if let Some(p) = &self.rank_penalty {
                    loss = (loss + self.rank_loss(p)?)?;
                }
                let grads = loss.backward()?;
                opt.step(&grads)?;
                if let Some(p) = prior_opt.as_mut() {
                    p.step(&grads)?;
                }
                loss_sum += ce.to_scalar::<f32>()? * b.len() as f32;
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
