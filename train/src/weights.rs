//! Trainable weight matrices and the matrix each one lends the forward pass.
//!
//! A matrix is a full-precision *shadow* (the parameters of its structure,
//! [`crate::shadow`]: every entry of a dense matrix, the few values of a
//! structured one) and a [`Constraint`]. Unconstrained, the
//! forward pass uses the shadow itself. Quantized (Ott et al.'s
//! quantization-aware training), it uses `Q(W)`, the matrix the accelerator
//! will hold: `compress::quantize_matrix_with` with the matrix's own spec
//! (structure and scalar code), decoded to reals. The gradient passes
//! straight through the quantizer: the forward tensor is
//! `W + (Q(W) - W)` with the bracket detached, so `dL/dW = dL/dQ(W)`.
//! The same function quantizes the exported model, so a deterministic
//! model's forward weights and its file's weights are the same numbers.
//! With stochastic rounding each forward pass draws fresh codes (ternary:
//! `sign(w)` with probability `|w| / 2^exp`; power of two: the neighbouring
//! exponent with linear probability), unbiased, which acts as a regulariser.

use crate::shadow::Shadow;
use crate::TrainError;
use candle_core::{Device, Tensor, Var};
use lstm_accel_compress::{decode_matrix, quantize_matrix_with, MatrixSpec, Structure};
use lstm_accel_model::float::FloatMatrix;
use rand::RngCore;

/// What the forward pass uses of a shadow matrix.
#[derive(Clone, Debug, PartialEq)]
pub enum Constraint {
    /// The shadow itself (float training).
    Float,
    /// The shadow in a structure, its values in float.
    Structured(Structure),
    /// The shadow quantized as `spec` says, straight-through gradient.
    Quantized {
        /// Structure and scalar code of the matrix.
        spec: MatrixSpec,
        /// Stochastic rounding of ternary and power-of-two codes in training.
        stochastic: bool,
    },
}

/// A trainable matrix.
pub struct TrainedMatrix {
    /// Tensor path in the model (`layers[0].w_x`, `head.w`), for errors.
    pub path: String,
    shadow: Shadow,
    rows: usize,
    cols: usize,
    constraint: Constraint,
}

impl TrainedMatrix {
    /// A trainable copy of `m`.
    pub fn new(
        path: String,
        m: &FloatMatrix,
        constraint: Constraint,
        device: &Device,
    ) -> Result<Self, TrainError> {
        let spec = match &constraint {
            Constraint::Float => None,
            Constraint::Structured(s) => Some(MatrixSpec {
                structure: s.clone(),
                scalar: lstm_accel_compress::ScalarSpec::Ternary,
            }),
            Constraint::Quantized { spec, .. } => Some(spec.clone()),
        };
        if let Some(spec) = spec {
            spec.check(m.rows, m.cols)
                .map_err(|e| TrainError::Config(format!("{path}: {e}")))?;
        }
        let structure = match &constraint {
            Constraint::Float => Structure::Dense { per_row: false },
            Constraint::Structured(s) => s.clone(),
            Constraint::Quantized { spec, .. } => spec.structure.clone(),
        };
        Ok(TrainedMatrix {
            shadow: Shadow::fit(m, &structure, device)?,
            path,
            rows: m.rows,
            cols: m.cols,
            constraint,
        })
    }

    /// The rank search's relaxation of `m` (float, [`Shadow::SoftRank`]).
    pub fn soft_rank(path: String, m: &FloatMatrix, device: &Device) -> Result<Self, TrainError> {
        Ok(TrainedMatrix {
            shadow: Shadow::soft_rank(m, device)?,
            path,
            rows: m.rows,
            cols: m.cols,
            constraint: Constraint::Float,
        })
    }

    /// The continuous rank and the mask's temperature setter of a soft-rank
    /// matrix; `None` for others.
    pub fn soft_rank_state(&mut self) -> Option<(&Var, &mut f64)> {
        match &mut self.shadow {
            Shadow::SoftRank {
                rho, temperature, ..
            } => Some((rho, temperature)),
            _ => None,
        }
    }

    /// Whether this is a soft-rank relaxation.
    pub fn is_soft_rank(&self) -> bool {
        matches!(self.shadow, Shadow::SoftRank { .. })
    }

    /// The variables the optimiser updates (the structure's parameters).
    pub fn vars(&self) -> Vec<&Var> {
        self.shadow.vars()
    }

    /// The constraint.
    pub fn constraint(&self) -> &Constraint {
        &self.constraint
    }

    /// The shadow weights.
    pub fn shadow(&self) -> Result<FloatMatrix, TrainError> {
        let data = self
            .shadow
            .matrix(self.rows, self.cols)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        Ok(FloatMatrix::new(self.rows, self.cols, data))
    }

    /// The matrix the forward pass uses. `rng` draws stochastic codes when
    /// the constraint asks for them and the pass is a training one (`Some`).
    pub fn forward(&self, rng: Option<&mut (dyn RngCore + '_)>) -> Result<Tensor, TrainError> {
        let w = self.shadow.matrix(self.rows, self.cols)?;
        let Constraint::Quantized { spec, stochastic } = &self.constraint else {
            return Ok(w);
        };
        let rng = if *stochastic { rng } else { None };
        let q = self.quantized(spec, rng)?;
        let q = Tensor::from_vec(q, (self.rows, self.cols), w.device())?;
        // W + (Q(W) - W), the bracket a constant: the value is Q(W), the
        // gradient W's.
        Ok(w.add(&q.sub(&w.detach())?)?)
    }

    /// `Q(W)` decoded, row-major.
    fn quantized(
        &self,
        spec: &MatrixSpec,
        rng: Option<&mut (dyn RngCore + '_)>,
    ) -> Result<Vec<f32>, TrainError> {
        let m = quantize_matrix_with(&self.shadow()?, spec, rng)
            .map_err(|e| TrainError::Config(format!("{}: {e}", self.path)))?;
        Ok(decode_matrix(&m).into_iter().map(|v| v as f32).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lstm_accel_compress::ScalarSpec;

    fn matrix() -> FloatMatrix {
        FloatMatrix::new(2, 4, vec![0.9, -0.05, 0.4, -0.7, 0.02, 0.3, -0.6, 0.1])
    }

    #[test]
    fn quantized_forward_is_the_exported_matrix_and_its_gradient_passes_straight_through(
    ) -> Result<(), TrainError> {
        let spec = MatrixSpec {
            structure: Structure::Dense { per_row: true },
            scalar: ScalarSpec::Ternary,
        };
        let m = TrainedMatrix::new(
            "w".into(),
            &matrix(),
            Constraint::Quantized {
                spec: spec.clone(),
                stochastic: false,
            },
            &Device::Cpu,
        )?;
        let fwd = m.forward(None)?;
        let expected = decode_matrix(
            &lstm_accel_compress::quantize_matrix(&matrix(), &spec).map_err(TrainError::Config)?,
        );
        let got = fwd.flatten_all()?.to_vec1::<f32>()?;
        for (g, e) in got.iter().zip(&expected) {
            assert_eq!(f64::from(*g), *e);
        }
        // d(sum(c * Q(W)))/dW = c, whatever Q does.
        let c = Tensor::from_vec((1..=8).map(|v| v as f32).collect(), (2, 4), &Device::Cpu)?;
        let grads = fwd.mul(&c)?.sum_all()?.backward()?;
        let g = grads
            .get(m.vars()[0].as_tensor())
            .ok_or_else(|| TrainError::Config("no gradient".into()))?
            .flatten_all()?
            .to_vec1::<f32>()?;
        assert_eq!(g, (1..=8).map(|v| v as f32).collect::<Vec<_>>());
        Ok(())
    }

    #[test]
    fn a_float_matrix_is_its_shadow_and_a_bad_spec_names_the_matrix() -> Result<(), TrainError> {
        let m = TrainedMatrix::new("w".into(), &matrix(), Constraint::Float, &Device::Cpu)?;
        assert_eq!(
            m.forward(None)?.flatten_all()?.to_vec1::<f32>()?,
            matrix().data
        );
        let bad = TrainedMatrix::new(
            "layers[0].w_h".into(),
            &matrix(),
            Constraint::Quantized {
                spec: MatrixSpec {
                    structure: Structure::LowRank { rank: 3 },
                    scalar: ScalarSpec::Ternary,
                },
                stochastic: false,
            },
            &Device::Cpu,
        );
        let Err(e) = bad else {
            panic!("rank 3 of a 2x4 matrix was accepted")
        };
        assert!(e.to_string().contains("layers[0].w_h"), "{e}");
        Ok(())
    }

    #[test]
    fn stochastic_codes_are_drawn_only_when_asked() -> Result<(), TrainError> {
        let spec = MatrixSpec {
            structure: Structure::Dense { per_row: true },
            scalar: ScalarSpec::Pow2 { octaves: 3 },
        };
        let m = TrainedMatrix::new(
            "w".into(),
            &matrix(),
            Constraint::Quantized {
                spec,
                stochastic: true,
            },
            &Device::Cpu,
        )?;
        let det = m.forward(None)?.flatten_all()?.to_vec1::<f32>()?;
        let mut rng = lstm_accel_model::random::rng(3);
        let draws: Vec<Vec<f32>> = (0..20)
            .map(|_| {
                m.forward(Some(&mut rng))
                    .and_then(|t| Ok(t.flatten_all()?.to_vec1::<f32>()?))
            })
            .collect::<Result<_, _>>()?;
        assert!(draws.iter().any(|d| *d != det), "no draw differed");
        Ok(())
    }
}
