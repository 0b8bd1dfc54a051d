//! Reading wav files (hound): integer PCM of 8 to 32 bits or 32-bit float,
//! any number of channels, mixed down to mono by averaging, scaled to
//! [-1, 1) (an integer sample is divided by 2^(bits-1)).

use crate::AudioError;
use std::path::Path;

/// A mono recording.
#[derive(Clone, Debug, PartialEq)]
pub struct Recording {
    /// Samples in [-1, 1).
    pub samples: Vec<f32>,
    /// Samples per second.
    pub sample_rate: u32,
}

/// Reads a wav file; the error names the file and what is wrong with it.
pub fn read(path: &Path) -> Result<Recording, AudioError> {
    let file = std::fs::File::open(path).map_err(|e| AudioError::Wav {
        path: path.display().to_string(),
        problem: format!("cannot open: {e}"),
    })?;
    decode(std::io::BufReader::new(file), &path.display().to_string())
}

/// Reads wav data from memory (e.g. a recording built into the program);
/// `name` is what an error calls it.
pub fn read_bytes(bytes: &[u8], name: &str) -> Result<Recording, AudioError> {
    decode(std::io::Cursor::new(bytes), name)
}

fn decode<R: std::io::Read>(input: R, name: &str) -> Result<Recording, AudioError> {
    let fail = |problem: String| AudioError::Wav {
        path: name.to_string(),
        problem,
    };
    let mut reader =
        hound::WavReader::new(input).map_err(|e| fail(format!("not a readable wav file: {e}")))?;
    let spec = reader.spec();
    let channels = usize::from(spec.channels);
    if channels == 0 {
        return Err(fail("the file declares no channel".into()));
    }
    if spec.sample_rate == 0 {
        return Err(fail("the file declares a sample rate of 0 Hz".into()));
    }
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader
            .samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(|e| fail(format!("bad sample: {e}")))?,
        hound::SampleFormat::Int => {
            if !(8..=32).contains(&spec.bits_per_sample) {
                return Err(fail(format!(
                    "{}-bit integer samples, readable are 8 to 32",
                    spec.bits_per_sample
                )));
            }
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f64;
            reader
                .samples::<i32>()
                .map(|s| s.map(|v| (f64::from(v) * scale) as f32))
                .collect::<Result<_, _>>()
                .map_err(|e| fail(format!("bad sample: {e}")))?
        }
    };
    if interleaved.len() % channels != 0 {
        return Err(fail(format!(
            "{} samples do not divide into {channels} channels",
            interleaved.len()
        )));
    }
    let samples = interleaved
        .chunks_exact(channels)
        .map(|c| c.iter().sum::<f32>() / channels as f32)
        .collect();
    Ok(Recording {
        samples,
        sample_rate: spec.sample_rate,
    })
}
