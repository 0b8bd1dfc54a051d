//! What `lstm-accel train` trains and validates on beyond the FSDD
//! recordings of its split: the synthetic voices (`--synthetic-voices`,
//! plain and with their augmented copies) and the validation speaker
//! (`--validation-speaker`).

use crate::progress::progress_bar;
use crate::train_args::TrainArgs;
use anyhow::{bail, Context, Result};
use lstm_accel_audio::fsdd::{Fsdd, Split};
use lstm_accel_model::frontend::FrontEnd;
use lstm_accel_train::augment::Augmentation;
use lstm_accel_train::data::Example;
use lstm_accel_train::synthetic::SyntheticVoices;

/// The validation speaker of `split` (`--validation-speaker`): the one
/// named, or with `auto` the speaker after the held-out one in
/// alphabetical order (the first after the last; the first for the own
/// split).
pub fn validation_speaker(a: &TrainArgs, fsdd: &Fsdd, split: &Split) -> Result<Option<String>> {
    let Some(v) = &a.validation_speaker else {
        return Ok(None);
    };
    if v != "auto" {
        return Ok(Some(v.clone()));
    }
    let speakers = fsdd.speakers();
    let next = match split {
        Split::LeaveOut(t) => speakers
            .iter()
            .position(|s| s == t)
            .map(|i| speakers[(i + 1) % speakers.len()].clone()),
        Split::Own => speakers.first().cloned(),
    };
    next.map(Some)
        .context("--validation-speaker auto: no speaker to keep out")
}

/// The synthetic voices' examples (`--synthetic-voices`), plain and with
/// their augmented copies.
pub fn synthetic_examples(
    a: &TrainArgs,
    fe: &FrontEnd,
    augment: &Augmentation,
) -> Result<Vec<Example>> {
    if a.synthetic_voices == 0 {
        return Ok(Vec::new());
    }
    let mut voices = SyntheticVoices::english();
    if a.synthetic_voices > voices.voices.len() {
        bail!(
            "--synthetic-voices {}: there are {} English voices",
            a.synthetic_voices,
            voices.voices.len()
        );
    }
    // Spread over the accents and variants rather than the first ones.
    let step = voices.voices.len() as f64 / a.synthetic_voices as f64;
    voices.voices = (0..a.synthetic_voices)
        .map(|i| voices.voices[(i as f64 * step) as usize].clone())
        .collect();
    let bar = progress_bar(!a.json, voices.len() as u64, "synthetic voices");
    let spoken = voices.speak(|i| bar.set_position(i as u64))?;
    bar.finish_and_clear();
    let fx = lstm_accel_audio::FeatureExtractor::new(fe);
    let mut out: Vec<Example> = spoken
        .iter()
        .map(|(rec, digit)| Example {
            frames: fx.raw(&lstm_accel_audio::resample::resample(
                &rec.samples,
                rec.sample_rate,
                fe.sample_rate,
            )),
            label: *digit,
        })
        .collect();
    if augment.copies > 0 {
        // Their own streams: indices after FSDD's.
        let shifted = Augmentation {
            seed: augment.seed ^ 0x5e_7e7c,
            ..augment.clone()
        };
        out.extend(
            shifted
                .copies_of(&spoken, fe, |_| {})?
                .into_iter()
                .flatten(),
        );
    }
    Ok(out)
}
