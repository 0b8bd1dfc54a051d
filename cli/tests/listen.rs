//! `lstm-accel listen` on long recordings made here from the shipped
//! speech: 20 digits with silence and a noise floor between them, some
//! following closely; every word is found in order, where it is, run
//! through the design and equal to the reference; the same words come from
//! raw PCM on standard input, each printed while the stream is still open;
//! bad input is refused clearly.

mod common;

use common::{fails, json};
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The shipped recording of `digit` (22,050 Hz, 16-bit).
fn speech(digit: usize) -> (Vec<f32>, u32) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/speech");
    let entry = std::fs::read_dir(dir)
        .expect("assets/speech")
        .filter_map(Result::ok)
        .find(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("{digit}-"))
        })
        .expect("the digit's recording");
    let mut r = hound::WavReader::open(entry.path()).expect("wav");
    let rate = r.spec().sample_rate;
    let x = r
        .samples::<i16>()
        .map(|s| f32::from(s.expect("sample")) / 32768.0)
        .collect();
    (x, rate)
}

/// `digits` with the gaps after each (seconds) over white noise of `noise`
/// amplitude: the samples, their rate, and each digit's start in seconds.
fn long_recording(digits: &[usize], gaps: &[f32], noise: f32) -> (Vec<f32>, u32, Vec<f32>) {
    let rate = speech(0).1;
    let mut x = vec![0.0f32; (0.4 * rate as f32) as usize];
    let mut starts = Vec::new();
    for (&d, &g) in digits.iter().zip(gaps) {
        starts.push(x.len() as f32 / rate as f32);
        x.extend(speech(d).0);
        x.extend(vec![0.0; (g * rate as f32) as usize]);
    }
    let mut state = 7u32;
    for v in &mut x {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        *v += noise * (f32::from((state >> 16) as u16) / 32768.0 - 1.0);
    }
    (x, rate, starts)
}

fn write_wav(path: &Path, x: &[f32], rate: u32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create");
    for &v in x {
        w.write_sample(to_i16(v)).expect("write");
    }
    w.finalize().expect("finalize");
}

/// A sample as the 16-bit integer of the wav files and the raw PCM.
fn to_i16(v: f32) -> i16 {
    (v.clamp(-1.0, 1.0) * 32767.0) as i16
}

/// Raw signed 16-bit little-endian PCM of `x`.
fn pcm(x: &[f32]) -> Vec<u8> {
    x.iter().flat_map(|&v| to_i16(v).to_le_bytes()).collect()
}

/// `lstm-accel` with `args` from the project's root, standard input and
/// output piped, standard error to `stderr`.
fn spawn(args: &[&str], stderr: Stdio) -> Child {
    Command::new(env!("CARGO_BIN_EXE_lstm-accel"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("runs")
}

const MODEL: &str = "assets/models/fsdd-digits.json";
/// A quick design for the native engine.
const HW: [&str; 4] = ["--rows", "4", "--lanes", "16"];

#[test]
fn listen_finds_twenty_digits_in_order_and_runs_them_bit_exact() {
    let digits = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4];
    // Every fourth gap is short (150 ms): digits that follow closely.
    let gaps: Vec<f32> = (0..digits.len())
        .map(|i| {
            if i % 4 == 1 {
                0.15
            } else {
                0.3 + 0.1 * (i % 5) as f32
            }
        })
        .collect();
    // Noise at about -55 dBFS between and under the words.
    let (x, rate, starts) = long_recording(&digits, &gaps, 0.003);
    let dir = tempfile::tempdir().expect("tempdir");
    let wav = dir.path().join("long.wav");
    write_wav(&wav, &x, rate);
    let wav_arg = wav.to_str().expect("utf-8");
    let mut args = vec!["listen", "--model", MODEL, "--wav", wav_arg, "--json"];
    args.extend(HW);
    let v = json(&args);
    let words = v["words"].as_array().expect("words");
    assert_eq!(words.len(), digits.len(), "{v}");
    let mut right = 0;
    for ((w, &start), &digit) in words.iter().zip(&starts).zip(&digits) {
        let at = w["start_s"].as_f64().expect("start") as f32;
        // The word starts where the digit does, less the segmenter's
        // margin (and the recording's own lead-in).
        assert!((at - start).abs() < 0.15, "{w} against {start}");
        assert_eq!(w["digit"], w["reference_digit"], "{w}");
        right += usize::from(w["digit"].as_u64() == Some(digit as u64));
    }
    assert!(v["check"]["mismatches"]
        .as_array()
        .expect("list")
        .is_empty());
    println!("{right} of {} digits right", digits.len());
    // What the shipped model hears of the demo's voice (the demo's own
    // figure), here in a stream.
    assert!(
        right * 10 >= digits.len() * 7,
        "{right} of {}",
        digits.len()
    );
}

#[test]
fn listen_takes_raw_pcm_on_standard_input_like_a_wav() {
    let (x, rate, _) = long_recording(&[7, 0, 2], &[0.2, 0.5, 0.3], 0.002);
    let dir = tempfile::tempdir().expect("tempdir");
    let wav = dir.path().join("three.wav");
    write_wav(&wav, &x, rate);
    let mut args = vec!["listen", "--model", MODEL, "--json"];
    args.extend(HW);
    let from_wav = {
        let mut a = args.clone();
        a.extend(["--wav", wav.to_str().expect("utf-8")]);
        json(&a)
    };
    let rate_arg = rate.to_string();
    let mut child = spawn(
        &[&args[..], &["--stdin", "--rate", &rate_arg]].concat(),
        Stdio::piped(),
    );
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&pcm(&x))
        .expect("writes");
    let out = child.wait_with_output().expect("finishes");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let from_stdin: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(from_stdin["words"], from_wav["words"]);
    assert_eq!(from_wav["words"].as_array().expect("words").len(), 3);
    // Bad input: a missing file, an odd byte count on standard input.
    fails(
        &["listen", "--model", MODEL, "--wav", "/nonexistent.wav"],
        "nonexistent.wav",
    );
    let mut child = spawn(&["listen", "--model", MODEL, "--stdin"], Stdio::piped());
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&[1, 2, 3])
        .expect("writes");
    let out = child.wait_with_output().expect("finishes");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("odd number of bytes"), "{err}");
}

/// Continuous listening: with standard input still open, each digit is
/// printed once the silence after it has been heard, before the stream
/// goes on.
#[test]
fn listen_answers_each_word_while_the_stream_is_still_open() {
    let (x, rate, _) = long_recording(&[4, 8], &[1.0, 1.0], 0.002);
    let second = (rate as f32 * 1.4) as usize + speech(4).0.len();
    let rate_arg = rate.to_string();
    let mut child = spawn(
        &[
            &["listen", "--model", MODEL, "--stdin", "--rate", &rate_arg][..],
            &HW,
        ]
        .concat(),
        Stdio::null(),
    );
    let mut stdin = child.stdin.take().expect("stdin");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            if tx.send(line.expect("utf-8")).is_err() {
                break;
            }
        }
    });
    // The first digit and the second of silence after it; the stream stays
    // open.
    stdin.write_all(&pcm(&x[..second])).expect("writes");
    stdin.flush().expect("flushes");
    let first = rx
        .recv_timeout(std::time::Duration::from_secs(300))
        .expect("the first word is printed while standard input is open");
    // "    0.36 s  4": the first digit, where it starts (0.4 s, less the
    // margin and the recording's lead-in).
    let at: f32 = first
        .split_whitespace()
        .next()
        .and_then(|t| t.parse().ok())
        .expect("a start time");
    assert!((at - 0.4).abs() < 0.15, "{first}");
    stdin.write_all(&pcm(&x[second..])).expect("writes");
    drop(stdin);
    let status = child.wait().expect("finishes");
    reader.join().expect("reader");
    let rest: Vec<String> = rx.try_iter().collect();
    assert!(status.success(), "{rest:?}");
    assert!(
        rest.iter().any(|l| l.contains("2 words")),
        "{first} {rest:?}"
    );
}
