//! The FSDD loader on the real recordings (the folder in `LSTM_ACCEL_FSDD`,
//! else `../shared/data/fsdd` from the project's root): five speakers of 500
//! recordings each, the dataset's own split 2,250 / 250 with every speaker
//! and digit in both, each leave-one-speaker-out split 2,000 / 500, and the
//! files are 8 kHz mono that the wav reader takes.

use lstm_accel_audio::fsdd::{Fsdd, Split};
use std::path::Path;

fn data() -> Fsdd {
    let dir = Fsdd::locate_from(None, &Path::new(env!("CARGO_MANIFEST_DIR")).join(".."));
    Fsdd::open(&dir).unwrap_or_else(|e| panic!("FSDD: {e}"))
}

#[test]
fn the_real_dataset_splits_as_documented() {
    let f = data();
    assert_eq!(f.utterances().len(), 2500);
    let speakers = f.speakers();
    assert_eq!(speakers.len(), 5, "{speakers:?}");
    let (train, test) = f.split(&Split::Own).expect("split");
    assert_eq!((train.len(), test.len()), (2250, 250));
    for d in 0..10u8 {
        for s in &speakers {
            let n = test
                .iter()
                .filter(|u| u.digit == d && &u.speaker == s)
                .count();
            assert_eq!(n, 5, "digit {d}, {s}");
        }
    }
    for s in &speakers {
        let (train, test) = f.split(&Split::LeaveOut(s.clone())).expect("split");
        assert_eq!((train.len(), test.len()), (2000, 500), "{s}");
        assert!(train.iter().all(|u| &u.speaker != s));
    }
}

#[test]
fn its_files_are_8_khz_mono_speech() {
    let f = data();
    for u in f.utterances().iter().step_by(250) {
        let rec = lstm_accel_audio::wav::read(&u.path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rec.sample_rate, 8000, "{}", u.path.display());
        let secs = rec.samples.len() as f64 / 8000.0;
        assert!((0.1..3.0).contains(&secs), "{}: {secs} s", u.path.display());
        assert!(rec.samples.iter().any(|&x| x.abs() > 0.05), "not silence");
    }
}
