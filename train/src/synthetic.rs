//! Synthetic training voices: the ten digits spoken by espeak-ng in many
//! voices, variants, speeds and pitches, for the voices FSDD's five
//! speakers lack. They join the training set of every split (no test set
//! holds them). The voice of the demo's own recordings (espeak-ng's
//! `en-us` without a variant) is never used, so that the demo stays a test
//! of voices the model has not heard.

use crate::TrainError;
use lstm_accel_audio::{wav, Recording};
use std::process::Command;

/// The digits as words.
pub const WORDS: [&str; 10] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];

/// The voice of the demo's recordings, never spoken here.
pub const DEMO_VOICE: &str = "en-us";

/// What to synthesise: every voice at every speed and pitch.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntheticVoices {
    /// espeak-ng voices, `language[+variant]`.
    pub voices: Vec<String>,
    /// Words per minute.
    pub speeds: Vec<u32>,
    /// Pitches (0 to 99; espeak-ng's default is 50).
    pub pitches: Vec<u32>,
}

impl SyntheticVoices {
    /// English accents of espeak-ng with its male and female variants:
    /// 84 voices.
    pub fn english() -> Self {
        let accents = [
            "en",
            "en-us",
            "en-gb-scotland",
            "en-gb-x-rp",
            "en-gb-x-gbclan",
            "en-gb-x-gbcwmd",
            "en-029",
        ];
        let variants = [
            "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
        ];
        SyntheticVoices {
            voices: accents
                .iter()
                .flat_map(|a| variants.iter().map(move |v| format!("{a}+{v}")))
                .collect(),
            speeds: vec![120, 170],
            pitches: vec![35, 65],
        }
    }

    /// Recordings in this set.
    pub fn len(&self) -> usize {
        WORDS.len() * self.voices.len() * self.speeds.len() * self.pitches.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every digit in every voice, speed and pitch, with its digit;
    /// `progress` is called after each recording. Needs `espeak-ng` on the
    /// path.
    pub fn speak(
        &self,
        mut progress: impl FnMut(usize),
    ) -> Result<Vec<(Recording, usize)>, TrainError> {
        if let Some(v) = self.voices.iter().find(|v| v.as_str() == DEMO_VOICE) {
            return Err(TrainError::Config(format!(
                "synthetic voice {v}: the demo's own voice is kept out of training"
            )));
        }
        if let Some(p) = self.pitches.iter().find(|&&p| p > 99) {
            return Err(TrainError::Config(format!(
                "synthetic pitch {p}: espeak-ng takes 0 to 99"
            )));
        }
        if let Some(s) = self.speeds.iter().find(|&&s| !(80..=450).contains(&s)) {
            return Err(TrainError::Config(format!(
                "synthetic speed {s} words per minute: espeak-ng takes 80 to 450"
            )));
        }
        let mut out = Vec::with_capacity(self.len());
        for voice in &self.voices {
            for &speed in &self.speeds {
                for &pitch in &self.pitches {
                    for (digit, word) in WORDS.iter().enumerate() {
                        out.push((speak(voice, speed, pitch, word)?, digit));
                        progress(out.len());
                    }
                }
            }
        }
        Ok(out)
    }
}

/// `word` spoken by espeak-ng.
pub fn speak(voice: &str, speed: u32, pitch: u32, word: &str) -> Result<Recording, TrainError> {
    let what = format!("espeak-ng -v {voice} -s {speed} -p {pitch} \"{word}\"");
    let out = Command::new("espeak-ng")
        .args([
            "-v",
            voice,
            "-s",
            &speed.to_string(),
            "-p",
            &pitch.to_string(),
        ])
        .args(["--stdout", word])
        .output()
        .map_err(|e| {
            TrainError::Config(format!(
                "{what}: {e} (synthetic voices need espeak-ng: apt-get install espeak-ng)"
            ))
        })?;
    if !out.status.success() || out.stdout.is_empty() {
        return Err(TrainError::Config(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    // espeak-ng writes its streamed wav with unknown lengths in the header;
    // the reader takes the data that is there.
    Ok(wav::read_bytes(&fix_stream_header(out.stdout), &what)?)
}

/// A wav streamed to a pipe carries 0 or 0xffffffff as its RIFF and data
/// lengths; set them from the bytes that came.
fn fix_stream_header(mut b: Vec<u8>) -> Vec<u8> {
    if b.len() >= 44 && &b[0..4] == b"RIFF" && &b[36..40] == b"data" {
        let total = (b.len() - 8) as u32;
        let data = (b.len() - 44) as u32;
        b[4..8].copy_from_slice(&total.to_le_bytes());
        b[40..44].copy_from_slice(&data.to_le_bytes());
    }
    b
}
