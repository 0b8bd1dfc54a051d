//! From a trained network to the accelerator: the model file and its
//! bit-exact accuracy.
//!
//! The network's shadow weights (a `FloatModel`) are quantized by
//! `compress::quantize_model_calibrated` with the same `QuantSpec` that
//! constrained training, so a quantization-aware model's file holds the
//! weights its forward pass used. Post-training quantization is the same
//! call on a float network. The register formats of logits (and of
//! projections) come from the ranges seen on a calibration run over
//! training recordings. The model carries its front end, with the training
//! set's normalisation, so the host driver turns a wav file into the
//! integers the network was trained on. [`reference_predictions`] runs
//! the bit-exact reference model (the numbers the accelerator computes)
//! on feature sequences: each one's answer, as the model's readout says.

use crate::data::Example;
use crate::TrainError;
use lstm_accel_compress::{quantize_model_calibrated, QuantSpec};
use lstm_accel_model::float::FloatModel;
use lstm_accel_model::frontend::FrontEnd;
use lstm_accel_model::readout::Readout;
use lstm_accel_model::reference::Reference;
use lstm_accel_model::Model;

/// Training recordings the calibration run goes through.
pub const CALIBRATION_RECORDINGS: usize = 32;

/// The model file of `float` quantized as `quant` says, taking audio
/// through `front_end` and answering as `readout` says (as it was trained);
/// `calibration` are normalised training sequences.
pub fn export_model(
    float: &FloatModel,
    quant: &QuantSpec,
    front_end: &FrontEnd,
    readout: Readout,
    calibration: &[Example],
) -> Result<Model, TrainError> {
    front_end.validate(float.input_size)?;
    let frames: Vec<Vec<f32>> = calibration
        .iter()
        .take(CALIBRATION_RECORDINGS)
        .flat_map(|e| e.frames.iter().cloned())
        .collect();
    let mut model = quantize_model_calibrated(float, quant, &frames)?;
    model.input.front_end = Some(front_end.clone());
    model.readout = readout;
    model.validate()?;
    Ok(model)
}

/// The bit-exact reference model's answer to each sequence of normalised
/// features (the model's readout: its class after the last frame, or the
/// arg-max of its logits summed over the frames), each from a reset.
pub fn reference_predictions(model: &Model, set: &[Example]) -> Result<Vec<usize>, TrainError> {
    let mut reference = Reference::new(model)?;
    set.iter()
        .map(|e| {
            reference.reset();
            for f in &e.frames {
                let raw = reference.quantize_frame(f);
                reference.step(&raw)?;
            }
            Ok(reference.answer())
        })
        .collect()
}
