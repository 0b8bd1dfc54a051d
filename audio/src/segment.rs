//! Words in a stream: a long recording cut into the stretches that hold
//! speech, each then a recording of its own for the model's front end (which
//! trims it again, the way it trims every recording). Energy-based, on the
//! front end's frame levels ([`FeatureExtractor::frame_levels`]): a frame
//! is loud when it is above the stream's noise floor by
//! [`Segmenter::above_noise_db`], within the trim's range of the stream's
//! loudest frame and above the trim's floor; runs of loud frames closer than
//! [`Segmenter::min_gap_ms`] are one word (a stop's closure inside "six" or
//! "eight" is a short silence), and runs shorter than
//! [`Segmenter::min_word_ms`] are clicks, not words.

use crate::features::FeatureExtractor;
use lstm_accel_model::frontend::Trim;
use std::ops::Range;

/// How words are found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Segmenter {
    /// A loud frame is this far above the noise floor (the 10th percentile
    /// of the stream's frame levels), in dB.
    pub above_noise_db: f32,
    /// Silences shorter than this inside a word do not end it.
    pub min_gap_ms: f32,
    /// Shorter runs of loud frames are dropped.
    pub min_word_ms: f32,
    /// Audio kept on each side of a word, in milliseconds.
    pub margin_ms: f32,
    /// The range and floor of loud frames (the model's trim, or
    /// [`Trim::speech`]).
    pub trim: Trim,
}

impl Segmenter {
    /// Spoken digits: 12 dB above the noise, gaps of 120 ms end a word,
    /// words of at least 150 ms, 50 ms of margin.
    pub fn digits(trim: Trim) -> Self {
        Segmenter {
            above_noise_db: 12.0,
            min_gap_ms: 120.0,
            min_word_ms: 150.0,
            margin_ms: 50.0,
            trim,
        }
    }

    /// The words of `samples` (at the front end's rate of `fx`), as sample
    /// ranges in order.
    pub fn words(&self, fx: &FeatureExtractor, samples: &[f32]) -> Vec<Range<usize>> {
        let fe = fx.front_end();
        let levels = fx.frame_levels(samples);
        if levels.is_empty() {
            return Vec::new();
        }
        let mut sorted = levels.clone();
        sorted.sort_by(f32::total_cmp);
        let noise = sorted[sorted.len() / 10];
        let peak = sorted[sorted.len() - 1];
        let threshold = (noise + self.above_noise_db).max(self.trim.threshold_db(peak));
        let hop_ms = fe.hop_ms;
        let frames = |ms: f32| (ms / hop_ms).ceil() as usize;
        let (min_gap, min_word) = (frames(self.min_gap_ms), frames(self.min_word_ms));
        // Runs of loud frames, merged across short gaps.
        let mut runs: Vec<Range<usize>> = Vec::new();
        for (t, &l) in levels.iter().enumerate() {
            if l < threshold {
                continue;
            }
            match runs.last_mut() {
                Some(r) if t - r.end < min_gap => r.end = t + 1,
                _ => runs.push(t..t + 1),
            }
        }
        let (hop, window) = (fe.hop_samples(), fe.window_samples());
        let margin = (self.margin_ms * fe.sample_rate as f32 / 1000.0) as usize;
        runs.into_iter()
            .filter(|r| r.len() >= min_word)
            .map(|r| {
                let start = (r.start * hop).saturating_sub(margin);
                let end = ((r.end - 1) * hop + window + margin).min(samples.len());
                start..end
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lstm_accel_model::frontend::FrontEnd;

    fn burst(freq: f32, ms: f32, amp: f32) -> Vec<f32> {
        (0..(8.0 * ms) as usize)
            .map(|i| amp * (2.0 * std::f32::consts::PI * freq * i as f32 / 8000.0).sin())
            .collect()
    }

    #[test]
    fn bursts_apart_are_words_and_a_short_gap_is_not_a_break() {
        let fx = FeatureExtractor::new(&FrontEnd::speech_8k(Some(13)));
        let seg = Segmenter::digits(Trim::speech());
        let mut x = vec![0.0f32; 4000];
        let first = x.len();
        x.extend(burst(400.0, 300.0, 0.3));
        // A 60 ms closure inside the word, then more of it.
        x.extend(vec![0.0; 480]);
        x.extend(burst(700.0, 150.0, 0.2));
        let first_end = x.len();
        x.extend(vec![0.0; 2400]);
        let second = x.len();
        x.extend(burst(500.0, 400.0, 0.1));
        let second_end = x.len();
        // A click: 30 ms.
        x.extend(vec![0.0; 3000]);
        x.extend(burst(900.0, 30.0, 0.3));
        x.extend(vec![0.0; 3000]);
        let words = seg.words(&fx, &x);
        assert_eq!(words.len(), 2, "{words:?}");
        let near = |a: usize, b: usize| a.abs_diff(b) <= 800;
        assert!(
            near(words[0].start, first) && near(words[0].end, first_end),
            "{words:?}"
        );
        assert!(
            near(words[1].start, second) && near(words[1].end, second_end),
            "{words:?}"
        );
        assert!(seg.words(&fx, &[]).is_empty());
        assert!(seg.words(&fx, &vec![0.0; 8000]).is_empty());
    }
}
