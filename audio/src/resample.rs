//! Sample-rate conversion by band-limited interpolation: every output sample
//! is the input convolved with a Hann-windowed sinc centred on its position
//! in the input, the sinc's cut-off at the lower of the two Nyquist
//! frequencies (times 0.95, so the window's transition band lies below it),
//! 16 zero crossings each side. Downsampling therefore removes what the new
//! rate cannot represent instead of folding it back as aliases.

use std::f64::consts::PI;

/// Zero crossings of the sinc on each side.
const HALF_TAPS: f64 = 16.0;
/// Cut-off as a fraction of the lower Nyquist frequency.
const ROLL_OFF: f64 = 0.95;

/// `samples` at `from` Hz, resampled to `to` Hz (`floor(len * to / from)`
/// samples): a [`StreamResampler`] given the whole recording at once.
pub fn resample(samples: &[f32], from: u32, to: u32) -> Vec<f32> {
    let mut stream = StreamResampler::new(from, to);
    let mut out = stream.push(samples);
    out.extend(stream.finish());
    out
}

/// The same conversion on a stream: feed samples in pieces of any size;
/// each output sample comes back as soon as the input it depends on has
/// arrived (16 zero crossings of the sinc later), and the pieces joined
/// are exactly [`resample`] of the whole.
#[derive(Clone, Debug)]
pub struct StreamResampler {
    /// Output rate over input rate (1 when nothing changes).
    ratio: f64,
    /// Cut-off relative to the input's Nyquist frequency.
    cutoff: f64,
    /// Input samples on each side of an output's position that it reads.
    support: f64,
    /// Input samples from `base` on.
    pending: Vec<f32>,
    base: usize,
    received: usize,
    /// Output samples given so far.
    produced: usize,
}

impl StreamResampler {
    /// From `from` Hz to `to` Hz (a rate of 0 or equal rates pass samples
    /// through).
    pub fn new(from: u32, to: u32) -> Self {
        let ratio = if from == to || from == 0 || to == 0 {
            1.0
        } else {
            f64::from(to) / f64::from(from)
        };
        // Cut-off relative to the input's sample rate (cycles per input
        // sample times two: 1.0 is the input's Nyquist frequency).
        let cutoff = ratio.min(1.0) * ROLL_OFF;
        StreamResampler {
            ratio,
            cutoff,
            support: HALF_TAPS / cutoff,
            pending: Vec::new(),
            base: 0,
            received: 0,
            produced: 0,
        }
    }

    /// The next input samples; returns the output samples they complete.
    pub fn push(&mut self, samples: &[f32]) -> Vec<f32> {
        if self.ratio == 1.0 {
            self.received += samples.len();
            self.produced += samples.len();
            return samples.to_vec();
        }
        self.pending.extend_from_slice(samples);
        self.received += samples.len();
        let mut out = Vec::new();
        // Output m reads inputs up to floor(t + support): wait for them.
        while self.received > 0 {
            let t = self.produced as f64 / self.ratio;
            if (t + self.support).floor() as usize > self.received - 1 {
                break;
            }
            out.push(self.sample_at(t));
            self.produced += 1;
        }
        self.forget();
        out
    }

    /// The end of the input: the output samples that read past it (its
    /// last sample stands for what is missing, as `resample` does).
    pub fn finish(&mut self) -> Vec<f32> {
        if self.ratio == 1.0 || self.received == 0 {
            return Vec::new();
        }
        let total = (self.received as f64 * self.ratio).floor() as usize;
        let mut out = Vec::new();
        while self.produced < total {
            out.push(self.sample_at(self.produced as f64 / self.ratio));
            self.produced += 1;
        }
        out
    }

    /// The input convolved with the windowed sinc centred on input
    /// position `t`, the inputs the stream has (clamped to its ends).
    fn sample_at(&self, t: f64) -> f32 {
        let last = self.received as i64 - 1;
        let lo = ((t - self.support).ceil() as i64).max(0);
        let hi = ((t + self.support).floor() as i64).min(last);
        let mut acc = 0.0;
        for n in lo..=hi {
            let d = t - n as f64;
            let x = self.cutoff * d;
            let sinc = if x.abs() < 1e-12 {
                1.0
            } else {
                (PI * x).sin() / (PI * x)
            };
            let window = 0.5 * (1.0 + (PI * d / self.support).cos());
            acc += f64::from(self.pending[n as usize - self.base]) * self.cutoff * sinc * window;
        }
        acc as f32
    }

    /// Drops the inputs no output still to come reads.
    fn forget(&mut self) {
        let t = self.produced as f64 / self.ratio;
        let first = (((t - self.support).ceil()).max(0.0) as usize).min(self.received);
        if first > self.base {
            self.pending.drain(..first - self.base);
            self.base = first;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_in_pieces_is_the_whole_resampled() {
        let x: Vec<f32> = (0..5000)
            .map(|i| (i as f32 * 0.05).sin() * 0.5 + 0.01 * ((i * 31) % 7) as f32)
            .collect();
        for (from, to) in [(16_000, 8000), (8000, 16_000), (44_100, 8000), (8000, 8000)] {
            let whole = resample(&x, from, to);
            assert_eq!(whole.len(), x.len() * to as usize / from as usize);
            for piece in [1usize, 7, 100, 4999] {
                let mut s = StreamResampler::new(from, to);
                let mut got = Vec::new();
                for c in x.chunks(piece) {
                    got.extend(s.push(c));
                }
                got.extend(s.finish());
                assert_eq!(got, whole, "{from} -> {to} in pieces of {piece}");
            }
        }
        assert!(resample(&[], 16_000, 8000).is_empty());
    }
}
