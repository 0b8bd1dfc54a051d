//! Soft weight-sharing (Ullrich, Meeds, Welling 2017): retraining under a
//! Gaussian-mixture prior over every weight, then snapping each weight to
//! the mean of its most responsible component, a codebook.
//!
//! The prior has `J` components; component 0 sits at zero with a fixed
//! mixing weight `pi_0`, the other means, every variance and the other
//! mixing weights (`(1 - pi_0) softmax(logits)`) are learned with the
//! network. The training loss is `cross-entropy + tau * mean_w(-log p(w))`,
//! `log p(w) = logsumexp_j(log pi_j + log N(w | mu_j, sigma_j^2))`, over
//! the trainable parameters of every matrix (a structured matrix's own
//! values; biases are stored at full width and take no part). Variances
//! are kept above a floor (a component collapsing on one weight would
//! drive the loss to minus infinity). After retraining, [`MixturePrior::snap`]
//! moves every weight to its most responsible component's mean (optionally
//! rounded to a signed power of two, for a shift-add codebook), so each
//! matrix holds at most `J` distinct values, which the codebook encoding
//! (`J` entries, `ceil(log2 J)` bits per weight) stores exactly.

use crate::TrainError;
use candle_core::{Device, Tensor, Var, D};

/// Smallest standard deviation of a component, relative to the largest
/// initial weight.
pub const MIN_STD: f64 = 1e-3;

/// The mixture and its weight in the loss.
pub struct MixturePrior {
    /// Means of components 1..J.
    means: Var,
    /// Log variances of components 0..J.
    log_var: Var,
    /// Mixing logits of components 1..J.
    logits: Var,
    /// Fixed mixing weight of the zero component.
    zero_mix: f64,
    /// Weight of the prior in the loss.
    tau: f64,
    /// Variance floor (log).
    min_log_var: f64,
    /// Round the means to signed powers of two when snapping.
    pow2_means: bool,
}

impl MixturePrior {
    /// A prior of `components` (2..=16, the zero one included) over weights
    /// whose largest magnitude is `max_abs`: the nonzero means spread evenly
    /// over `±max_abs`, every deviation a quarter of their spacing.
    pub fn new(
        components: usize,
        max_abs: f64,
        zero_mix: f64,
        tau: f64,
        pow2_means: bool,
    ) -> Result<MixturePrior, TrainError> {
        if !(2..=16).contains(&components) {
            return Err(TrainError::Config(format!(
                "{components} mixture components: 2..=16 (the codebook holds 16 entries)"
            )));
        }
        let finite_positive = |x: f64| x.is_finite() && x >= 0.0;
        if !(0.0..1.0).contains(&zero_mix)
            || !finite_positive(tau)
            || !finite_positive(max_abs)
            || max_abs == 0.0
        {
            return Err(TrainError::Config(format!(
                "mixture: zero weight {zero_mix} must be in [0, 1), tau {tau} at least 0, weights not all zero"
            )));
        }
        let device = Device::Cpu;
        let nonzero = components - 1;
        // Half the means negative, half positive (one more positive when odd).
        let neg = nonzero / 2;
        let pos = nonzero - neg;
        let mut means = Vec::with_capacity(nonzero);
        for i in 0..neg {
            means.push(-max_abs * (neg - i) as f64 / neg as f64);
        }
        for i in 1..=pos {
            means.push(max_abs * i as f64 / pos as f64);
        }
        let spacing = max_abs / pos.max(1) as f64;
        let log_var = (0.25 * spacing).powi(2).ln();
        let t = |v: Vec<f64>| -> Result<Var, TrainError> {
            let n = v.len();
            let v: Vec<f32> = v.into_iter().map(|x| x as f32).collect();
            Ok(Var::from_tensor(&Tensor::from_vec(v, n, &device)?)?)
        };
        Ok(MixturePrior {
            means: t(means)?,
            log_var: t(vec![log_var; components])?,
            logits: t(vec![0.0; nonzero])?,
            zero_mix,
            tau,
            min_log_var: (MIN_STD * max_abs).powi(2).ln(),
            pow2_means,
        })
    }

    /// The prior's own variables.
    pub fn vars(&self) -> Vec<Var> {
        vec![
            self.means.clone(),
            self.log_var.clone(),
            self.logits.clone(),
        ]
    }

    /// Means (zero first), variances and log mixing weights, as tensors
    /// of shape [1, J].
    fn components(&self) -> Result<(Tensor, Tensor, Tensor), TrainError> {
        let dev = self.means.device();
        let zero = Tensor::zeros(1, self.means.dtype(), dev)?;
        let mu = Tensor::cat(&[&zero, self.means.as_tensor()], 0)?.unsqueeze(0)?;
        let log_var = self
            .log_var
            .as_tensor()
            .clamp(self.min_log_var, f64::INFINITY)?
            .unsqueeze(0)?;
        let log_mix_rest = (candle_nn::ops::log_softmax(self.logits.as_tensor(), 0)?
            + (1.0 - self.zero_mix).max(1e-12).ln())?;
        let log_zero = Tensor::full(self.zero_mix.max(1e-12).ln() as f32, 1, dev)?;
        let log_mix = Tensor::cat(&[&log_zero, &log_mix_rest], 0)?.unsqueeze(0)?;
        Ok((mu, log_var, log_mix))
    }

    /// `log pi_j + log N(w | mu_j, sigma_j^2)` of every weight and
    /// component: [n, J].
    fn joint(&self, w: &Tensor) -> Result<Tensor, TrainError> {
        let (mu, log_var, log_mix) = self.components()?;
        let w = w.flatten_all()?.unsqueeze(1)?;
        let d2 = w.broadcast_sub(&mu)?.sqr()?;
        let ln_2pi = (2.0 * std::f64::consts::PI).ln();
        let log_n = ((d2.broadcast_div(&log_var.exp()?)? * -0.5)?
            .broadcast_sub(&((log_var * 0.5)? + 0.5 * ln_2pi)?))?;
        Ok(log_n.broadcast_add(&log_mix)?)
    }

    /// `tau * mean(-log p(w))` over every value of `weights`.
    pub fn penalty(&self, weights: &[Tensor]) -> Result<Tensor, TrainError> {
        let flat: Vec<Tensor> = weights
            .iter()
            .map(Tensor::flatten_all)
            .collect::<Result<_, _>>()?;
        let all = Tensor::cat(&flat, 0)?;
        let log_p = self.joint(&all)?.log_sum_exp(D::Minus1)?;
        Ok((log_p.mean_all()? * -self.tau)?)
    }

    /// The codebook: the zero and the learned means (rounded to signed
    /// powers of two with `pow2_means`).
    pub fn codebook(&self) -> Result<Vec<f32>, TrainError> {
        let mut v = vec![0f32];
        for m in self.means.as_tensor().to_vec1::<f32>()? {
            v.push(if self.pow2_means && m != 0.0 {
                m.signum() * 2f32.powf(m.abs().log2().round())
            } else {
                m
            });
        }
        Ok(v)
    }

    /// Every value of `w` moved to the codebook value of its most
    /// responsible component.
    pub fn snap(&self, w: &Tensor) -> Result<Tensor, TrainError> {
        let book = self.codebook()?;
        let best = self.joint(w)?.argmax(D::Minus1)?.to_vec1::<u32>()?;
        let snapped: Vec<f32> = best.iter().map(|&j| book[j as usize]).collect();
        Ok(Tensor::from_vec(snapped, w.shape(), w.device())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_penalty_is_the_mixtures_negative_log_likelihood() -> Result<(), TrainError> {
        let p = MixturePrior::new(3, 1.0, 0.5, 2.0, false)?;
        // Means 0, -1, +1; sigma 0.25 each; mixing 0.5, 0.25, 0.25.
        let w = [0.1f64, -0.8, 0.95];
        let n = |x: f64, mu: f64| {
            let s = 0.25f64;
            (-(x - mu).powi(2) / (2.0 * s * s)).exp() / (s * (2.0 * std::f64::consts::PI).sqrt())
        };
        let expected = 2.0
            * w.iter()
                .map(|&x| -(0.5 * n(x, 0.0) + 0.25 * n(x, -1.0) + 0.25 * n(x, 1.0)).ln())
                .sum::<f64>()
            / 3.0;
        let t = Tensor::from_vec(w.iter().map(|&x| x as f32).collect(), 3, &Device::Cpu)?;
        let got = f64::from(p.penalty(&[t])?.to_scalar::<f32>()?);
        assert!((got - expected).abs() < 1e-4, "{got} vs {expected}");
        Ok(())
    }

    #[test]
    fn snapping_picks_the_most_responsible_mean() -> Result<(), TrainError> {
        let p = MixturePrior::new(5, 1.0, 0.5, 1.0, false)?;
        assert_eq!(p.codebook()?, vec![0.0, -1.0, -0.5, 0.5, 1.0]);
        let w = Tensor::from_vec(vec![0.05f32, -0.9, 0.4, 0.8, -0.3], 5, &Device::Cpu)?;
        let s = p.snap(&w)?.to_vec1::<f32>()?;
        assert_eq!(s, vec![0.0, -1.0, 0.5, 1.0, -0.5]);
        let p2 = MixturePrior::new(3, 0.7, 0.5, 1.0, true)?;
        assert_eq!(p2.codebook()?, vec![0.0, -0.5, 0.5]);
        assert!(MixturePrior::new(17, 1.0, 0.5, 1.0, false).is_err());
        Ok(())
    }
}
