//! The float classifier learns from real speech: trained on FSDD's
//! recordings of two digits (its own split: indices 5-49 train, 0-4 test,
//! every speaker), a small LSTM tells the held-out recordings apart far
//! above chance, the same seed trains the same weights, and the confusion
//! matrix counts every test recording once.

use lstm_accel_audio::fsdd::{Fsdd, Split, Utterance};
use lstm_accel_model::frontend::FrontEnd;
use lstm_accel_train::data::{extract, normalise, statistics, Example};
use lstm_accel_train::float::{accuracy, confusion, FloatLstm, TrainConfig};
use std::path::Path;

/// Digits 0 and 1 of `v`, every `every`-th.
fn pick(v: Vec<&Utterance>, every: usize) -> Vec<&Utterance> {
    v.into_iter()
        .filter(|u| u.digit <= 1)
        .step_by(every)
        .collect()
}

fn two_digits() -> (Vec<Example>, Vec<Example>) {
    let dir = Fsdd::locate_from(None, &Path::new(env!("CARGO_MANIFEST_DIR")).join(".."));
    let f = Fsdd::open(&dir).unwrap_or_else(|e| panic!("FSDD: {e}"));
    let (train, test) = f.split(&Split::Own).expect("split");
    let fe = FrontEnd::speech_8k(Some(13));
    // A third of the training recordings.
    let mut train = extract(&pick(train, 3), &fe, |_| {}).expect("features");
    let mut test = extract(&pick(test, 1), &fe, |_| {}).expect("features");
    let (mean, std) = statistics(&train);
    normalise(&mut train, &mean, &std);
    normalise(&mut test, &mean, &std);
    (train, test)
}

#[test]
fn a_small_lstm_learns_two_spoken_digits() {
    let (train, test) = two_digits();
    assert_eq!((train.len(), test.len()), (150, 50));
    let cfg = TrainConfig {
        hidden: 16,
        layers: 1,
        classes: 2,
        epochs: 6,
        batch: 16,
        learning_rate: 0.01,
        seed: 3,
    };
    let mut net = FloatLstm::new(13, &cfg).expect("model");
    assert_eq!(net.parameters(), 4 * 16 * (13 + 16 + 2) + 16 * 2 + 2);
    let epochs = net.train(&train, &test, &cfg, |_, _| {}).expect("trains");
    assert_eq!(epochs.len(), 6);
    assert!(epochs[5].loss < epochs[0].loss, "{epochs:?}");
    let predicted = net.predict(&test, 16).expect("predicts");
    let acc = accuracy(&predicted, &test);
    println!(
        "two digits: {:.1} % on {} held-out recordings",
        100.0 * acc,
        test.len()
    );
    assert!(acc >= 0.85, "{acc}: {epochs:?}");
    let m = confusion(&predicted, &test, 2);
    assert_eq!(m.iter().flatten().sum::<usize>(), test.len());
    // The same seed, the same training.
    let mut again = FloatLstm::new(13, &cfg).expect("model");
    let epochs2 = again.train(&train, &test, &cfg, |_, _| {}).expect("trains");
    assert_eq!(epochs2[5].loss, epochs[5].loss);
}

#[test]
fn a_configuration_that_cannot_train_is_refused() {
    let bad = TrainConfig {
        layers: 0,
        ..TrainConfig::default()
    };
    let e = FloatLstm::new(13, &bad).err().expect("refused");
    assert!(e.to_string().contains("needs layers"), "{e}");
}
