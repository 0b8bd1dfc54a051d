//! The audio front end: wav reading in every sample format, resampling,
//! framing, log-mel and MFCC features checked against what a tone must give,
//! normalisation, voice activity trimming, and the quantised frames equal
//! to the reference model's own quantisation of the same features.

use lstm_accel_audio::features::{hz_to_mel, mel_to_hz, speech_frames, FeatureExtractor};
use lstm_accel_audio::resample::resample;
use lstm_accel_audio::{wav, AudioError, AudioInput, Recording};
use lstm_accel_model::frontend::{FrontEnd, RecordingNorm, Trim};
use lstm_accel_model::random::{self, ModelShape};
use lstm_accel_model::reference::Reference;
use std::f32::consts::PI;
use std::path::Path;

fn tone(freq: f32, rate: u32, seconds: f32, amp: f32) -> Vec<f32> {
    let n = (rate as f32 * seconds) as usize;
    (0..n)
        .map(|i| amp * (2.0 * PI * freq * i as f32 / rate as f32).sin())
        .collect()
}

fn write_int(path: &Path, rate: u32, channels: u16, bits: u16, frames: &[Vec<i32>]) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create");
    for f in frames {
        for &s in f {
            w.write_sample(s).expect("write");
        }
    }
    w.finalize().expect("finalize");
}

#[test]
fn wav_files_of_every_format_read_as_mono_in_unit_range() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 16-bit stereo: channels averaged, divided by 2^15.
    let p = dir.path().join("s16.wav");
    write_int(
        &p,
        8000,
        2,
        16,
        &[vec![16384, 0], vec![-32768, -32768], vec![100, 300]],
    );
    let r = wav::read(&p).expect("reads");
    assert_eq!(r.sample_rate, 8000);
    assert_eq!(r.samples, vec![0.25, -1.0, 200.0 / 32768.0]);
    // 8-bit and 24-bit mono.
    let p8 = dir.path().join("s8.wav");
    write_int(&p8, 16000, 1, 8, &[vec![64], vec![-128]]);
    assert_eq!(wav::read(&p8).expect("reads").samples, vec![0.5, -1.0]);
    let p24 = dir.path().join("s24.wav");
    write_int(&p24, 16000, 1, 24, &[vec![1 << 22]]);
    assert_eq!(wav::read(&p24).expect("reads").samples, vec![0.5]);
    // 32-bit float.
    let pf = dir.path().join("f32.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 22050,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(&pf, spec).expect("create");
    for s in [0.125f32, -0.5] {
        w.write_sample(s).expect("write");
    }
    w.finalize().expect("finalize");
    let r = wav::read(&pf).expect("reads");
    assert_eq!((r.samples, r.sample_rate), (vec![0.125, -0.5], 22050));
}

#[test]
fn a_bad_wav_file_is_named_with_its_problem() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("noise.wav");
    std::fs::write(&p, b"RIFF....not a wave at all").expect("write");
    let e = wav::read(&p).expect_err("refused").to_string();
    assert!(
        e.contains("noise.wav") && e.contains("not a readable wav file"),
        "{e}"
    );
    let missing = dir.path().join("missing.wav");
    let e = wav::read(&missing).expect_err("refused").to_string();
    assert!(e.contains("missing.wav"), "{e}");
}

/// Frequency of a tone from its zero crossings.
fn frequency(x: &[f32], rate: u32) -> f32 {
    let crossings = x.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
    crossings as f32 * rate as f32 / x.len() as f32
}

fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt()
}

#[test]
fn resampling_keeps_what_the_new_rate_holds_and_removes_the_rest() {
    let x = tone(1000.0, 16000, 1.0, 0.5);
    let y = resample(&x, 16000, 8000);
    assert_eq!(y.len(), 8000);
    // Away from the edges the tone is intact: same frequency and level.
    let mid = &y[200..7800];
    assert!((frequency(mid, 8000) - 1000.0).abs() < 2.0);
    assert!((rms(mid) - 0.5 / 2f32.sqrt()).abs() < 0.005, "{}", rms(mid));
    // A 5 kHz tone cannot exist at 8 kHz: it is removed, not aliased to 3 kHz.
    let high = resample(&tone(5000.0, 16000, 1.0, 0.5), 16000, 8000);
    assert!(rms(&high[200..7800]) < 0.01, "{}", rms(&high[200..7800]));
    // Upsampling 8 kHz to 11025 Hz keeps a 440 Hz tone.
    let up = resample(&tone(440.0, 8000, 1.0, 0.5), 8000, 11025);
    assert_eq!(up.len(), 11025);
    assert!((frequency(&up[300..10700], 11025) - 440.0).abs() < 2.0);
    assert!((rms(&up[300..10700]) - 0.5 / 2f32.sqrt()).abs() < 0.005);
}

#[test]
fn frames_follow_the_window_and_hop() {
    let fe = FrontEnd::speech_8k(Some(13));
    assert_eq!((fe.window_samples(), fe.hop_samples()), (200, 80));
    assert_eq!(fe.frames(8000), 1 + (8000 - 200) / 80);
    assert_eq!(fe.frames(100), 1);
    let x = FeatureExtractor::new(&fe);
    assert_eq!(x.raw(&tone(300.0, 8000, 1.0, 0.3)).len(), 98);
    // Shorter than a window: one zero-padded frame of 13 coefficients.
    let short = x.raw(&[0.1; 50]);
    assert_eq!((short.len(), short[0].len()), (1, 13));
}

#[test]
fn a_tone_lights_the_mel_band_around_its_frequency() {
    let mut fe = FrontEnd::speech_8k(None);
    fe.pre_emphasis = 0.0;
    let x = FeatureExtractor::new(&fe);
    let (m_lo, m_hi) = (hz_to_mel(fe.f_min), hz_to_mel(fe.f_max));
    let centre = |b: usize| mel_to_hz(m_lo + (m_hi - m_lo) * (b + 1) as f32 / 41.0);
    for f in [250.0, 1000.0, 2500.0] {
        let mels = x.log_mel(&tone(f, 8000, 0.5, 0.5));
        for frame in &mels {
            let peak = (0..40)
                .max_by(|&a, &b| frame[a].total_cmp(&frame[b]))
                .expect("bands");
            let nearest = (0..40)
                .min_by(|&a, &b| (centre(a) - f).abs().total_cmp(&(centre(b) - f).abs()))
                .expect("bands");
            assert!(
                peak.abs_diff(nearest) <= 1,
                "{f} Hz: band {peak}, nearest {nearest}"
            );
            // Far bands hold only the window's leakage.
            assert!(frame[peak] - frame[(peak + 20) % 40] > 8.0);
        }
    }
    // Silence is the energy floor in every band.
    let silent = x.log_mel(&[0.0; 800]);
    assert!(silent.iter().flatten().all(|&v| v == 1e-10f32.ln()));
}

#[test]
fn mfcc_is_the_orthonormal_dct_of_the_log_mel_energies() {
    let fe_mel = FrontEnd::speech_8k(None);
    let fe = FrontEnd::speech_8k(Some(40));
    let x = tone(700.0, 8000, 0.3, 0.4);
    let mel = FeatureExtractor::new(&fe_mel).raw(&x);
    let cep = FeatureExtractor::new(&fe).raw(&x);
    for (m, c) in mel.iter().zip(&cep) {
        // Orthonormal: energy preserved, and c0 is sqrt(N) times the mean.
        let em: f32 = m.iter().map(|v| v * v).sum();
        let ec: f32 = c.iter().map(|v| v * v).sum();
        assert!((em - ec).abs() < 1e-3 * em, "{em} vs {ec}");
        let mean = m.iter().sum::<f32>() / 40.0;
        assert!((c[0] - mean * 40f32.sqrt()).abs() < 1e-3 * c[0].abs().max(1.0));
    }
}

fn model_with(fe: FrontEnd) -> lstm_accel_model::Model {
    let mut r = random::rng(4);
    let mut m = random::model(&mut r, &ModelShape::ternary(fe.features(), &[6], 3, 10));
    m.input.front_end = Some(fe);
    m.validate().expect("valid");
    m
}

#[test]
fn frames_are_normalised_features_quantised_like_the_reference_does() {
    let mut fe = FrontEnd::speech_8k(Some(13));
    fe.mean = (0..13).map(|i| i as f32 - 6.0).collect();
    fe.std = (0..13).map(|i| 1.0 + i as f32).collect();
    let m = model_with(fe.clone());
    let input = AudioInput::new(&m).expect("front end");
    // A 16 kHz recording: resampled to 8 kHz first.
    let rec = Recording {
        samples: tone(600.0, 16000, 0.5, 0.3),
        sample_rate: 16000,
    };
    let raw = FeatureExtractor::new(&fe).raw(&resample(&rec.samples, 16000, 8000));
    let feats = input.features(&rec);
    assert_eq!(feats.len(), fe.frames(4000));
    for (f, r) in feats.iter().zip(&raw) {
        for i in 0..13 {
            assert!((f[i] - (r[i] - fe.mean[i]) / fe.std[i]).abs() < 1e-5);
        }
    }
    let reference = Reference::new(&m).expect("reference");
    let frames = input.frames(&rec);
    for (q, f) in frames.iter().zip(&feats) {
        assert_eq!(q, &reference.quantize_frame(f));
        assert!(q.iter().all(|&v| m.input.format.contains(i64::from(v))));
    }
}

#[test]
fn a_model_without_or_with_a_wrong_front_end_is_refused_clearly() {
    let mut r = random::rng(4);
    let m = random::model(&mut r, &ModelShape::ternary(13, &[4], 3, 10));
    let e = AudioInput::new(&m).err().expect("refused");
    assert!(matches!(e, AudioError::Model(_)));
    assert!(e.to_string().contains("no audio front end"), "{e}");
    let mut fe = FrontEnd::speech_8k(Some(12));
    fe.mean = vec![0.0; 12];
    fe.std = vec![1.0; 12];
    let mut bad = m.clone();
    bad.input.front_end = Some(fe);
    let e = bad
        .validate()
        .expect_err("12 features for 13 inputs")
        .to_string();
    assert!(
        e.contains("input.front_end") && e.contains("12 features"),
        "{e}"
    );
    let mut fe = FrontEnd::speech_8k(Some(13));
    fe.fft_size = 128;
    let mut bad = m;
    bad.input.front_end = Some(fe);
    let e = bad
        .validate()
        .expect_err("window longer than the FFT")
        .to_string();
    assert!(e.contains("fft_size"), "{e}");
}

#[test]
fn recording_normalisation_removes_what_every_frame_shares() {
    let plain = FrontEnd::speech_8k(Some(13));
    let cmn = FrontEnd {
        recording_norm: RecordingNorm::Mean,
        ..plain.clone()
    };
    let cmvn = FrontEnd {
        recording_norm: RecordingNorm::MeanVariance,
        ..plain.clone()
    };
    // Two tones one after the other, so every feature moves over the
    // recording, over a little noise, so that no band sits at the energy
    // floor (where a gain would not be a shift).
    let mut x = tone(500.0, 8000, 0.3, 0.3);
    x.extend(tone(1500.0, 8000, 0.3, 0.1));
    let mut seed = 12345u32;
    for v in &mut x {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        *v += 0.01 * (f32::from((seed >> 16) as u16) / 32768.0 - 1.0);
    }
    let raw = FeatureExtractor::new(&plain).raw(&x);
    let centred = FeatureExtractor::new(&cmn).raw(&x);
    let scaled = FeatureExtractor::new(&cmvn).raw(&x);
    let n = raw.len() as f32;
    for k in 0..13 {
        let mean = raw.iter().map(|f| f[k]).sum::<f32>() / n;
        let sd = (raw.iter().map(|f| (f[k] - mean).powi(2)).sum::<f32>() / n).sqrt();
        for ((r, c), s) in raw.iter().zip(&centred).zip(&scaled) {
            assert!((c[k] - (r[k] - mean)).abs() < 1e-3, "feature {k}");
            assert!((s[k] - (r[k] - mean) / sd).abs() < 1e-3, "feature {k}");
        }
    }
    // The same recording 20 dB louder: a gain shifts every log energy by
    // the same amount, which only c0 sees, and the mean takes it away.
    let loud: Vec<f32> = x.iter().map(|v| 10.0 * v).collect();
    let raw_loud = FeatureExtractor::new(&plain).raw(&loud);
    assert!((raw_loud[3][0] - raw[3][0]).abs() > 10.0);
    for (a, b) in FeatureExtractor::new(&cmn).raw(&loud).iter().zip(&centred) {
        for (u, v) in a.iter().zip(b) {
            assert!((u - v).abs() < 1e-3, "{u} vs {v}");
        }
    }
    // Digital silence: every feature constant; the floored deviation keeps
    // the frames finite (all zero).
    let silent = FeatureExtractor::new(&cmvn).raw(&vec![0.0; 2000]);
    assert!(silent.iter().flatten().all(|&v| v == 0.0));
    // The setting travels with the model file, and is left out when off.
    let text = serde_json::to_string(&cmn).expect("serialises");
    assert!(text.contains("\"recording_norm\":\"mean\""), "{text}");
    assert_eq!(
        serde_json::from_str::<FrontEnd>(&text).expect("parses"),
        cmn
    );
    assert!(!serde_json::to_string(&plain)
        .expect("serialises")
        .contains("recording_norm"));
}

/// Seeded white noise at `amp` (uniform in +-amp).
fn noise(n: usize, amp: f32, seed: u32) -> Vec<f32> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            amp * (f32::from((state >> 16) as u16) / 32768.0 - 1.0)
        })
        .collect()
}

#[test]
fn frame_levels_are_in_db_relative_to_full_scale() {
    let fx = FeatureExtractor::new(&FrontEnd::speech_8k(Some(13)));
    // A full-scale sine: -3 dBFS; 20 dB quieter: -23; silence at the floor.
    let full = fx.frame_levels(&tone(1000.0, 8000, 0.2, 1.0));
    let quiet = fx.frame_levels(&tone(1000.0, 8000, 0.2, 0.1));
    for (f, q) in full.iter().zip(&quiet) {
        assert!((f + 3.01).abs() < 0.1, "{f}");
        assert!((q + 23.01).abs() < 0.1, "{q}");
    }
    assert!(fx.frame_levels(&[0.0; 800]).iter().all(|&l| l == -120.0));
    assert_eq!(full.len(), FrontEnd::speech_8k(None).frames(1600));
}

#[test]
fn speech_frames_run_from_the_first_to_the_last_loud_frame_with_the_margin() {
    let t = Trim {
        range_db: 30.0,
        floor_db: -50.0,
        margin_frames: 1,
    };
    let levels = [
        -90.0, -70.0, -40.0, -10.0, -45.0, -60.0, -20.0, -80.0, -90.0,
    ];
    // Loudest -10: speech at -40 or more (frames 2, 3, 6), one more frame
    // each side.
    assert_eq!(speech_frames(&levels, &t), 1..8);
    // The floor wins over the range for a quiet recording...
    let quiet = [-90.0, -55.0, -52.0, -49.0, -80.0];
    assert_eq!(
        speech_frames(
            &quiet,
            &Trim {
                margin_frames: 0,
                ..t
            }
        ),
        3..4
    );
    // ...the margin stops at the ends, and silence keeps every frame.
    assert_eq!(
        speech_frames(
            &[-5.0, -90.0],
            &Trim {
                margin_frames: 3,
                ..t
            }
        ),
        0..2
    );
    assert_eq!(speech_frames(&[-100.0; 4], &t), 0..4);
    assert_eq!(speech_frames(&[], &t), 0..0);
}

/// The same word with more or less silence (or a quiet room) around it
/// gives the same features once trimmed; untrimmed, the padding shows.
#[test]
fn trimming_makes_leading_and_trailing_silence_irrelevant() {
    let fe = FrontEnd {
        trim: Some(Trim::speech()),
        recording_norm: RecordingNorm::Mean,
        ..FrontEnd::speech_8k(Some(13))
    };
    let plain = FrontEnd {
        trim: None,
        ..fe.clone()
    };
    let hop = fe.hop_samples();
    // A "word": two tones with an onset, 0.4 s.
    let mut word = tone(300.0, 8000, 0.2, 0.4);
    word.extend(tone(900.0, 8000, 0.2, 0.2));
    // The room's noise before the word runs backwards from it, so that
    // the samples next to the word are the same whatever the padding.
    let padded = |before_hops: usize, after: usize, room: f32, seed: u32| {
        let mut x = noise(before_hops * hop, room, seed);
        x.reverse();
        x.extend(
            word.iter()
                .zip(noise(word.len(), room, seed + 1))
                .map(|(w, n)| w + n),
        );
        x.extend(noise(after, room, seed + 2));
        x
    };
    let fx = FeatureExtractor::new(&fe);
    // Digital silence, hop-aligned: exactly the same frames.
    let short = fx.raw(&padded(10, 500, 0.0, 1));
    let long = fx.raw(&padded(150, 9000, 0.0, 1));
    assert_eq!(short, long);
    // The word's own frames and the margin on each side, and at most two
    // more per side: the windows that overlap the word only partly (a 25 ms
    // window every 10 ms) can be loud enough.
    let own = fe.frames(word.len()) + 2 * 2;
    assert!(
        (own..=own + 4).contains(&short.len()),
        "{} frames",
        short.len()
    );
    // A quiet room (white noise at about -65 dBFS, far under the word):
    // the noise is no word, and the same frames come out whatever the
    // padding.
    let a = fx.raw(&padded(20, 800, 0.001, 7));
    let b = fx.raw(&padded(300, 12000, 0.001, 7));
    assert_eq!(a, b);
    assert!((own..=own + 4).contains(&a.len()), "{} frames", a.len());
    // Without the trim the padding changes the frame count and, through
    // the recording mean, every frame.
    let px = FeatureExtractor::new(&plain);
    let (ps, pl) = (
        px.raw(&padded(10, 500, 0.0, 1)),
        px.raw(&padded(150, 9000, 0.0, 1)),
    );
    assert!(pl.len() > ps.len() + 200);
    // The setting travels with the model file, left out when off, and a
    // bad value is refused by name.
    let text = serde_json::to_string(&fe).expect("serialises");
    assert!(text.contains("\"trim\":{\"range_db\":35.0"), "{text}");
    assert_eq!(serde_json::from_str::<FrontEnd>(&text).expect("parses"), fe);
    assert!(!serde_json::to_string(&plain)
        .expect("serialises")
        .contains("trim"));
    let bad = FrontEnd {
        trim: Some(Trim {
            range_db: -3.0,
            ..Trim::speech()
        }),
        ..fe
    };
    let e = bad.validate(13).expect_err("refused").to_string();
    assert!(e.contains("input.front_end.trim.range_db"), "{e}");
}
