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
    /// Audio heard before the first frame is judged, in milliseconds.
    pub warmup_ms: f32,
    /// The range and floor of loud frames (the model's trim, or
    /// [`Trim::speech`]).
    pub trim: Trim,
}

impl Segmenter {
    /// Spoken digits: 12 dB above the noise, gaps of 120 ms end a word,
    /// words of at least 150 ms, 50 ms of margin, a second of warm-up.
    pub fn digits(trim: Trim) -> Self {
        Segmenter {
            above_noise_db: 12.0,
            min_gap_ms: 120.0,
            min_word_ms: 150.0,
            margin_ms: 50.0,
            warmup_ms: 1000.0,
            trim,
        }
    }

    /// The words of `samples` (at the front end's rate of `fx`), as sample
    /// ranges in order: a [`WordStream`] given the whole recording at once.
    pub fn words(&self, fx: &FeatureExtractor, samples: &[f32]) -> Vec<Range<usize>> {
        let mut stream = WordStream::new(*self, fx.clone());
        let mut words = stream.push(samples);
        words.extend(stream.finish());
        words
    }
}

/// Width of a level bin of the noise floor's histogram, in dB.
const BIN_DB: f32 = 0.1;
/// Levels below this (dBFS) share the lowest bin (the level floor).
const LOWEST_DB: f32 = -120.0;
/// Levels above this share the highest bin (a full-scale square wave is 0).
const HIGHEST_DB: f32 = 10.0;

/// Words found as audio arrives: feed samples in pieces of any size, and
/// each word comes back as soon as the silence after it is long enough to
/// end it ([`Segmenter::min_gap_ms`]), its sample range counted from the
/// start of the stream.
///
/// The noise floor and the loudest level are those of the stream so far
/// (a histogram of every frame level, 0.1 dB bins), so a quiet room, a
/// louder speaker or a level change later in the stream moves the
/// threshold with it. The first [`Segmenter::warmup_ms`] of frames wait
/// until that much audio has been heard, then are judged against it, so
/// that the floor is not guessed from a handful of frames.
#[derive(Clone)]
pub struct WordStream {
    seg: Segmenter,
    fx: FeatureExtractor,
    /// Samples from `base` on (the next frame's start and after).
    pending: Vec<f32>,
    base: usize,
    /// Samples received.
    received: usize,
    /// Frames measured (the next frame's index).
    frames: usize,
    histogram: Vec<u32>,
    peak: f32,
    /// Levels of the warm-up frames, not judged yet.
    warmup: Vec<f32>,
    warm: bool,
    /// The current run of loud frames (frame indices, end exclusive).
    run: Option<Range<usize>>,
}

impl WordStream {
    /// A stream with nothing heard yet, at the rate of `fx`'s front end.
    pub fn new(seg: Segmenter, fx: FeatureExtractor) -> Self {
        let bins = ((HIGHEST_DB - LOWEST_DB) / BIN_DB) as usize + 1;
        WordStream {
            seg,
            fx,
            pending: Vec::new(),
            base: 0,
            received: 0,
            frames: 0,
            histogram: vec![0; bins],
            peak: f32::NEG_INFINITY,
            warmup: Vec::new(),
            warm: false,
            run: None,
        }
    }

    /// Samples received so far.
    pub fn received(&self) -> usize {
        self.received
    }

    /// The first sample a word still to come may start with: the word in
    /// progress's, else the margin before the next frame (the start of the
    /// stream while warming up); a listener may forget what comes before.
    pub fn keep_from(&self) -> usize {
        let fe = self.fx.front_end();
        let hop = fe.hop_samples();
        let margin = (self.seg.margin_ms * fe.sample_rate as f32 / 1000.0) as usize;
        let first = match (&self.run, self.warm) {
            (_, false) => self.frames - self.warmup.len(),
            (Some(r), true) => r.start,
            (None, true) => self.frames,
        };
        (first * hop).saturating_sub(margin).min(self.received)
    }

    /// The next samples of the stream; returns the words they complete.
    pub fn push(&mut self, samples: &[f32]) -> Vec<Range<usize>> {
        self.pending.extend_from_slice(samples);
        self.received += samples.len();
        let fe = self.fx.front_end();
        let (w, hop) = (fe.window_samples(), fe.hop_samples());
        let mut words = Vec::new();
        // Every frame whose window has arrived.
        while self.frames * hop + w <= self.received {
            let at = self.frames * hop - self.base;
            let level = self.fx.frame_level(&self.pending[at..]);
            self.frame(level, &mut words);
        }
        let keep_from = (self.frames * hop).min(self.received);
        self.pending.drain(..keep_from - self.base);
        self.base = keep_from;
        words
    }

    /// The end of the stream: the frames its last samples start (padded
    /// with zeros, as a recording's last frame is) and the word in
    /// progress.
    pub fn finish(&mut self) -> Vec<Range<usize>> {
        let fe = self.fx.front_end();
        let (hop, total) = (fe.hop_samples(), fe.frames(self.received));
        let mut words = Vec::new();
        while self.frames < total {
            let at = self.frames * hop - self.base;
            let level = self.fx.frame_level(self.pending.get(at..).unwrap_or(&[]));
            self.frame(level, &mut words);
        }
        self.judge_warmup(&mut words);
        if let Some(r) = self.run.take() {
            words.extend(self.word(r));
        }
        words
    }

    fn bin(level: f32) -> usize {
        let b = ((level.clamp(LOWEST_DB, HIGHEST_DB) - LOWEST_DB) / BIN_DB) as usize;
        b.min(((HIGHEST_DB - LOWEST_DB) / BIN_DB) as usize)
    }

    /// The level a loud frame reaches now: above the noise floor (the 10th
    /// percentile of the levels so far) by `above_noise_db`, and within the
    /// trim's range of the loudest.
    fn threshold(&self) -> f32 {
        let total: u64 = self.histogram.iter().map(|&c| u64::from(c)).sum();
        let mut below = 0u64;
        let mut noise = LOWEST_DB;
        for (i, &c) in self.histogram.iter().enumerate() {
            below += u64::from(c);
            if below * 10 > total {
                noise = LOWEST_DB + i as f32 * BIN_DB;
                break;
            }
        }
        (noise + self.seg.above_noise_db).max(self.seg.trim.threshold_db(self.peak))
    }

    fn frame(&mut self, level: f32, words: &mut Vec<Range<usize>>) {
        self.histogram[Self::bin(level)] += 1;
        self.peak = self.peak.max(level);
        self.frames += 1;
        if self.warm {
            self.judge(self.frames - 1, level, words);
        } else {
            self.warmup.push(level);
            let hop_ms = self.fx.front_end().hop_ms;
            if self.warmup.len() as f32 * hop_ms >= self.seg.warmup_ms {
                self.judge_warmup(words);
            }
        }
    }

    fn judge_warmup(&mut self, words: &mut Vec<Range<usize>>) {
        if self.warm {
            return;
        }
        self.warm = true;
        let first = self.frames - self.warmup.len();
        for (i, level) in std::mem::take(&mut self.warmup).into_iter().enumerate() {
            self.judge(first + i, level, words);
        }
    }

    /// Frame `t` at `level`: extends, starts or ends a run.
    fn judge(&mut self, t: usize, level: f32, words: &mut Vec<Range<usize>>) {
        let hop_ms = self.fx.front_end().hop_ms;
        let min_gap = (self.seg.min_gap_ms / hop_ms).ceil() as usize;
        if level >= self.threshold() {
            match &mut self.run {
                Some(r) if t - r.end < min_gap => r.end = t + 1,
                _ => {
                    if let Some(r) = self.run.replace(t..t + 1) {
                        words.extend(self.word(r));
                    }
                }
            }
        } else if let Some(r) = &self.run {
            // Silence long enough: nothing later can join this run.
            if t + 1 - r.end >= min_gap {
                let r = r.clone();
                self.run = None;
                words.extend(self.word(r));
            }
        }
    }

    /// A finished run as a word's sample range, or `None` for a click.
    fn word(&self, r: Range<usize>) -> Option<Range<usize>> {
        let fe = self.fx.front_end();
        let min_word = (self.seg.min_word_ms / fe.hop_ms).ceil() as usize;
        if r.len() < min_word {
            return None;
        }
        let (hop, window) = (fe.hop_samples(), fe.window_samples());
        let margin = (self.seg.margin_ms * fe.sample_rate as f32 / 1000.0) as usize;
        let start = (r.start * hop).saturating_sub(margin);
        let end = ((r.end - 1) * hop + window + margin).min(self.received);
        Some(start..end)
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

    /// Pieces of any size give the words of the whole recording, and each
    /// word comes back as soon as the silence after it ends it: within the
    /// gap (120 ms), a frame and a piece after its last sample.
    #[test]
    fn a_stream_in_pieces_finds_each_word_once_its_silence_has_passed() {
        let fx = FeatureExtractor::new(&FrontEnd::speech_8k(Some(13)));
        let seg = Segmenter::digits(Trim::speech());
        let mut x: Vec<f32> = (0..12_000)
            .map(|i| 0.001 * ((i * 7919) % 13) as f32)
            .collect();
        x.extend(burst(400.0, 350.0, 0.3));
        x.extend(vec![0.0; 4000]);
        x.extend(burst(600.0, 250.0, 0.05));
        x.extend(vec![0.0; 4000]);
        let whole = seg.words(&fx, &x);
        assert_eq!(whole.len(), 2, "{whole:?}");
        for piece in [1usize, 37, 80, 799, 8000] {
            let mut stream = WordStream::new(seg, fx.clone());
            let mut found = Vec::new();
            for chunk in x.chunks(piece) {
                for w in stream.push(chunk) {
                    // Heard at most the gap, a window and a piece later.
                    assert!(
                        stream.received() <= w.end + 960 + 200 + piece,
                        "piece {piece}: {w:?} reported at {}",
                        stream.received()
                    );
                    found.push(w);
                }
            }
            found.extend(stream.finish());
            assert_eq!(found, whole, "piece {piece}");
        }
    }
}
