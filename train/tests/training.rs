//! The float classifier learns from real speech: trained on FSDD's
//! recordings of two digits (its own split: indices 5-49 train, 0-4 test,
//! every speaker), a small LSTM tells the held-out recordings apart far
//! above chance, the same seed trains the same weights, and the confusion
//! matrix counts every test recording once. Trained quantized, it exports a
//! model file whose bit-exact reference does the same from the wav files.

use lstm_accel_audio::fsdd::{Fsdd, Split, Utterance};
use lstm_accel_audio::AudioInput;
use lstm_accel_compress::{MatrixSpec, QuantSpec, ScalarSpec, Structure};
use lstm_accel_model::encoding::Matrix;
use lstm_accel_model::float::{FloatMatrix, FloatModel};
use lstm_accel_model::frontend::FrontEnd;
use lstm_accel_model::readout::Readout;
use lstm_accel_model::reference::Reference;
use lstm_accel_train::data::{extract, extract_at_speed, normalise, statistics, Example};
use lstm_accel_train::export::{export_model, reference_predictions};
use lstm_accel_train::network::{accuracy, confusion, Distillation, LstmClassifier, TrainConfig};
use lstm_accel_train::prior::MixturePrior;
use lstm_accel_train::rank::{search_ranks, SearchConfig};
use lstm_accel_train::TrainError;
use std::path::{Path, PathBuf};

/// Digits 0 and 1 of `v`, every `every`-th.
fn pick(v: Vec<&Utterance>, every: usize) -> Vec<&Utterance> {
    v.into_iter()
        .filter(|u| u.digit <= 1)
        .step_by(every)
        .collect()
}

struct TwoDigits {
    train: Vec<Example>,
    test: Vec<Example>,
    test_files: Vec<PathBuf>,
    front_end: FrontEnd,
}

fn two_digits() -> TwoDigits {
    let dir = Fsdd::locate_from(None, &Path::new(env!("CARGO_MANIFEST_DIR")).join(".."));
    let f = Fsdd::open(&dir).unwrap_or_else(|e| panic!("FSDD: {e}"));
    let (train, test) = f.split(&Split::Own).expect("split");
    let fe = FrontEnd::speech_8k(Some(13));
    // A third of the training recordings.
    let test = pick(test, 1);
    let mut train_ex = extract(&pick(train, 3), &fe, |_| {}).expect("features");
    let mut test_ex = extract(&test, &fe, |_| {}).expect("features");
    let (mean, std) = statistics(&train_ex);
    normalise(&mut train_ex, &mean, &std);
    normalise(&mut test_ex, &mean, &std);
    TwoDigits {
        train: train_ex,
        test: test_ex,
        test_files: test.iter().map(|u| u.path.clone()).collect(),
        front_end: FrontEnd { mean, std, ..fe },
    }
}

/// The small float network trained 6 epochs on the two digits.
fn trained_float(d: &TwoDigits) -> LstmClassifier {
    let mut float = LstmClassifier::new(13, &small(6)).expect("model");
    float
        .train(&d.train, &d.test, &small(6), |_, _| {})
        .expect("trains");
    float
}

fn small(epochs: usize) -> TrainConfig {
    TrainConfig {
        hidden: 16,
        projection: None,
        layers: 1,
        classes: 2,
        epochs,
        batch: 16,
        learning_rate: 0.01,
        seed: 3,
        dropout: 0.0,
        readout: Readout::Last,
    }
}

#[test]
fn a_small_lstm_learns_two_spoken_digits() {
    let TwoDigits { train, test, .. } = two_digits();
    assert_eq!((train.len(), test.len()), (150, 50));
    let cfg = small(6);
    let mut net = LstmClassifier::new(13, &cfg).expect("model");
    assert_eq!(net.parameters(), 4 * 16 * (13 + 16 + 1) + 16 * 2 + 2);
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
    let mut again = LstmClassifier::new(13, &cfg).expect("model");
    let epochs2 = again.train(&train, &test, &cfg, |_, _| {}).expect("trains");
    assert_eq!(epochs2[5].loss, epochs[5].loss);
}

/// Pooling over time: a network trained on the mean of its head over the
/// frames learns the digits too, reads out differently from the last
/// frame, and exports a model file that says so. The file's bit-exact
/// answers (logits summed over the frames, arg-max) are the reference's
/// per-frame logits pooled by `Answer`, and the float predictions of the
/// same network agree with them on nearly every recording.
#[test]
fn a_network_pooled_over_time_trains_and_its_file_answers_with_the_mean() {
    let d = two_digits();
    let cfg = TrainConfig {
        readout: Readout::Mean,
        ..small(6)
    };
    let mut net = LstmClassifier::new(13, &cfg).expect("model");
    let epochs = net
        .train(&d.train, &d.test, &cfg, |_, _| {})
        .expect("trains");
    let pooled = net.predict(&d.test, 16).expect("predicts");
    let acc = accuracy(&pooled, &d.test);
    println!("two digits, mean readout, float: {:.1} %", 100.0 * acc);
    assert!(acc >= 0.85, "{acc}: {epochs:?}");
    assert_eq!(epochs[5].test_accuracy, acc);
    net.set_readout(Readout::Last);
    let at_last = net.predict(&d.test, 16).expect("predicts");
    assert_ne!(at_last, pooled, "the readout changes some answer");
    let spec = QuantSpec {
        name: "two-digits".into(),
        matrix: MatrixSpec {
            structure: Structure::Dense { per_row: false },
            scalar: ScalarSpec::Codebook {
                entries: 16,
                width: 8,
                pow2: false,
            },
        },
        data_width: 12,
        ..QuantSpec::default()
    };
    let float = net.to_float().expect("float");
    let model =
        export_model(&float, &spec, &d.front_end, Readout::Mean, &d.train).expect("exports");
    assert_eq!(model.readout, Readout::Mean);
    let text = model.to_json().expect("writes");
    let said = text
        .split("\"readout\"")
        .nth(1)
        .and_then(|t| t.split('"').nth(1));
    assert_eq!(said, Some("mean"), "the file says mean");
    assert_eq!(
        lstm_accel_model::Model::from_json(&text).expect("reads"),
        model
    );
    let exact = reference_predictions(&model, &d.test).expect("runs");
    let mut reference = Reference::new(&model).expect("reference");
    for (e, &p) in d.test.iter().zip(&exact) {
        reference.reset();
        let mut sums = [0i64; 2];
        for f in &e.frames {
            let raw = reference.quantize_frame(f);
            reference.step(&raw).expect("steps");
            for (s, z) in sums.iter_mut().zip(reference.logits()) {
                *s += z;
            }
        }
        assert_eq!(p, usize::from(sums[1] > sums[0]));
    }
    let agree = exact.iter().zip(&pooled).filter(|(a, b)| a == b).count();
    assert!(
        10 * agree >= 9 * d.test.len(),
        "{agree} of {}",
        d.test.len()
    );
}

/// Quantization-aware training from a float network: the exported file
/// holds the quantized shadow weights, its bit-exact reference classifies
/// the held-out recordings, and the host's audio path (wav file through the
/// model's own front end) gives the reference the same integers as training
/// did, recording for recording.
#[test]
fn a_quantization_aware_model_exports_what_it_trained_and_the_audio_path_agrees() {
    let d = two_digits();
    let float = trained_float(&d);
    let spec = QuantSpec {
        name: "two-digits".into(),
        matrix: MatrixSpec {
            structure: Structure::Dense { per_row: true },
            scalar: ScalarSpec::Ternary,
        },
        data_width: 12,
        ..QuantSpec::default()
    };
    let mut qat =
        LstmClassifier::from_float(&float.to_float().expect("float"), Some(&spec)).expect("qat");
    let cfg = TrainConfig {
        learning_rate: 0.003,
        ..small(4)
    };
    qat.train(&d.train, &d.test, &cfg, |_, _| {})
        .expect("trains");
    let shadow = qat.to_float().expect("float");
    let model =
        export_model(&shadow, &spec, &d.front_end, Readout::Last, &d.train).expect("exports");
    // Every matrix of the file is its shadow quantized by the spec.
    let file = FloatModel::from_model(&model);
    for (f, s) in file.layers.iter().zip(&shadow.layers) {
        for (fm, sm) in [(&f.w_x, &s.w_x), (&f.w_h, &s.w_h)] {
            let q = lstm_accel_compress::quantize_matrix(sm, &spec.matrix).expect("quantizes");
            assert_eq!(FloatMatrix::from_matrix(&q), *fm);
            assert!(fm
                .data
                .iter()
                .all(|&w| w == 0.0 || (w.abs().log2().fract() == 0.0)));
        }
    }
    let predicted = reference_predictions(&model, &d.test).expect("runs");
    let acc = accuracy(&predicted, &d.test);
    println!("two digits, ternary QAT, bit-exact: {:.1} %", 100.0 * acc);
    assert!(acc >= 0.85, "{acc}");
    // The host's path from the wav files.
    let input = AudioInput::new(&model).expect("front end");
    let mut reference = Reference::new(&model).expect("reference");
    for (file, &p) in d.test_files.iter().zip(&predicted) {
        reference.reset();
        for frame in input.frames_of_file(file).expect("reads") {
            reference.step(&frame).expect("steps");
        }
        assert_eq!(reference.class(), p, "{}", file.display());
    }
}

/// Structured matrices trained as such (every forward pass uses the
/// block-circulant projection of the shadow, quantized), with a projected
/// output shared by the recurrence and the head: the file stores the
/// structure's parameters only, and still tells the digits apart.
#[test]
fn a_structured_projected_network_trains_and_exports_its_structure() {
    let d = two_digits();
    let cfg = TrainConfig {
        projection: Some(8),
        ..small(8)
    };
    let spec = QuantSpec {
        name: "circulant".into(),
        matrix: MatrixSpec {
            structure: Structure::BlockCirculant { block: 4 },
            scalar: ScalarSpec::Pow2 { octaves: 6 },
        },
        data_width: 12,
        ..QuantSpec::default()
    };
    let start = LstmClassifier::new(13, &cfg)
        .expect("model")
        .to_float()
        .expect("float");
    assert_eq!(
        start.layers[0]
            .projection
            .as_ref()
            .map(|p| (p.rows, p.cols)),
        Some((8, 16))
    );
    let mut net = LstmClassifier::from_float(&start, Some(&spec)).expect("structured");
    net.train(&d.train, &d.test, &cfg, |_, _| {})
        .expect("trains");
    let model = export_model(
        &net.to_float().expect("float"),
        &spec,
        &d.front_end,
        Readout::Last,
        &d.train,
    )
    .expect("exports");
    let l = &model.layers[0];
    assert!(matches!(l.w_h, Matrix::BlockCirculant(_)), "{:?}", l.w_h);
    assert!(l.projection.is_some());
    // 64 x 13 and 64 x 8 in 4 x 4 circulant blocks: 16 x 4 and 16 x 2
    // blocks of 4 parameters; the projection 8 x 16 (2 x 4 blocks); the
    // head 2 x 8 (1 x 2 blocks); biases 64 + 2.
    assert_eq!(
        model.params(),
        16 * 4 * 4 + 16 * 2 * 4 + 2 * 4 * 4 + 2 * 4 + 64 + 2
    );
    let acc = accuracy(
        &reference_predictions(&model, &d.test).expect("runs"),
        &d.test,
    );
    println!(
        "two digits, block-circulant with projection, bit-exact: {:.1} %",
        100.0 * acc
    );
    assert!(acc >= 0.8, "{acc}");
}

#[test]
fn a_configuration_that_cannot_train_is_refused() {
    let bad = TrainConfig {
        layers: 0,
        ..TrainConfig::default()
    };
    let e = LstmClassifier::new(13, &bad).err().expect("refused");
    assert!(e.to_string().contains("needs layers"), "{e}");
}

/// Dropout is seeded like the rest of training (the same run twice gives
/// the same loss) and changes it; inference does not drop anything.
#[test]
fn dropout_is_repeatable_and_only_acts_in_training() {
    let TwoDigits { train, test, .. } = two_digits();
    let cfg = TrainConfig {
        dropout: 0.3,
        ..small(2)
    };
    let run = |cfg: &TrainConfig| {
        let mut net = LstmClassifier::new(13, cfg).expect("model");
        let e = net.train(&train, &test, cfg, |_, _| {}).expect("trains");
        (net, e)
    };
    let (net, with) = run(&cfg);
    let (_, again) = run(&cfg);
    let (_, without) = run(&small(2));
    assert_eq!(with[1].loss, again[1].loss);
    assert_ne!(with[1].loss, without[1].loss);
    // Predictions are deterministic: no mask at inference.
    let p = net.predict(&test, 16).expect("predicts");
    assert_eq!(p, net.predict(&test, 16).expect("predicts"));
    assert!(accuracy(&p, &test) >= 0.8, "{with:?}");
    for bad in [1.0, -0.1] {
        let cfg = TrainConfig {
            dropout: bad,
            ..small(1)
        };
        let mut net = LstmClassifier::new(13, &cfg).expect("model");
        let e = net
            .train(&train, &test, &cfg, |_, _| {})
            .expect_err("refused");
        assert!(e.to_string().contains("dropout"), "{e}");
    }
}

/// Distillation: trained on its teacher's answers alone (weight 1), a
/// student learns the teacher even when every training label is wrong;
/// on the labels alone (weight 0) it learns the wrong labels.
#[test]
fn a_distilled_student_follows_its_teacher_not_the_labels() {
    let d = two_digits();
    let teacher = trained_float(&d).to_float().expect("float");
    let teacher_says = LstmClassifier::from_float(&teacher, None)
        .expect("teacher")
        .predict(&d.test, 16)
        .expect("predicts");
    assert!(accuracy(&teacher_says, &d.test) >= 0.85);
    let flipped: Vec<_> = d
        .train
        .iter()
        .cloned()
        .map(|mut e| {
            e.label = 1 - e.label;
            e
        })
        .collect();
    let cfg = small(6);
    let student = |weight: f64| {
        let mut net = LstmClassifier::new(
            13,
            &TrainConfig {
                seed: 9,
                ..cfg.clone()
            },
        )
        .expect("model");
        net.set_teacher(
            &teacher,
            Distillation {
                weight,
                temperature: 2.0,
            },
        )
        .expect("teacher");
        net.train(&flipped, &d.test, &cfg, |_, _| {})
            .expect("trains");
        net.predict(&d.test, 16).expect("predicts")
    };
    let agree = |p: &[usize]| {
        p.iter().zip(&teacher_says).filter(|(a, b)| a == b).count() as f64 / p.len() as f64
    };
    let distilled = student(1.0);
    let labelled = student(0.0);
    println!(
        "agreement with the teacher: distilled {:.2}, wrong labels {:.2}",
        agree(&distilled),
        agree(&labelled)
    );
    assert!(agree(&distilled) >= 0.85, "{}", agree(&distilled));
    assert!(agree(&labelled) <= 0.3, "{}", agree(&labelled));
    let mut net = LstmClassifier::new(13, &cfg).expect("model");
    for (weight, temperature) in [(1.5, 2.0), (0.5, 0.0)] {
        let e = net
            .set_teacher(
                &teacher,
                Distillation {
                    weight,
                    temperature,
                },
            )
            .expect_err("refused");
        assert!(e.to_string().contains("distillation"), "{e}");
    }
}

/// Soft weight-sharing: retrained under the mixture prior and snapped,
/// every matrix holds at most as many distinct values as the mixture has
/// components, the codebook file stores exactly those, and the snapped
/// network still tells the digits apart.
#[test]
fn soft_weight_sharing_snaps_every_matrix_to_the_mixtures_codebook() {
    let d = two_digits();
    let float = trained_float(&d);
    let spec = QuantSpec {
        name: "shared".into(),
        matrix: MatrixSpec {
            structure: Structure::Dense { per_row: false },
            scalar: ScalarSpec::Codebook {
                entries: 4,
                width: 8,
                pow2: false,
            },
        },
        data_width: 12,
        ..QuantSpec::default()
    };
    let mut net = LstmClassifier::structured_float(&float.to_float().expect("float"), &spec)
        .expect("network");
    let prior =
        MixturePrior::new(4, net.max_abs_weight().expect("max"), 0.5, 0.05, false).expect("prior");
    net.set_prior(prior);
    let cfg = TrainConfig {
        learning_rate: 0.003,
        ..small(4)
    };
    net.train(&d.train, &d.test, &cfg, |_, _| {})
        .expect("trains");
    net.snap_to_prior().expect("snaps");
    let book = net.prior().expect("prior").codebook().expect("codebook");
    let snapped = net.to_float().expect("float");
    let mut distinct = std::collections::BTreeSet::new();
    for l in &snapped.layers {
        for w in l.w_x.data.iter().chain(&l.w_h.data) {
            assert!(book.contains(w), "{w} is not in {book:?}");
            distinct.insert(w.to_bits());
        }
    }
    assert!(distinct.len() <= 4);
    let model =
        export_model(&snapped, &spec, &d.front_end, Readout::Last, &d.train).expect("exports");
    let file = FloatModel::from_model(&model);
    for (f, s) in file.layers.iter().zip(&snapped.layers) {
        for (a, b) in f.w_x.data.iter().zip(&s.w_x.data) {
            // The entries are stored with 8 bits: within half a step.
            assert!(
                (a - b).abs() <= 1.0 / 128.0 * b.abs().max(1.0),
                "{a} vs {b}"
            );
        }
    }
    let acc = accuracy(
        &reference_predictions(&model, &d.test).expect("runs"),
        &d.test,
    );
    println!(
        "two digits, soft weight-sharing (4 entries), bit-exact: {:.1} %",
        100.0 * acc
    );
    assert!(acc >= 0.8, "{acc}");
}

/// The rank search keeps the true cost within the budget, fills it, and
/// with a budget that affords every term keeps every matrix at full rank.
#[test]
fn the_rank_search_chooses_ranks_within_the_budget() {
    let d = two_digits();
    let float = trained_float(&d);
    let float = float.to_float().expect("float");
    let paths = vec!["layers[0].w_x".to_string(), "layers[0].w_h".to_string()];
    let (rows, cols_x, cols_h) = (64, 13, 16);
    // Parameters of the factors: r (rows + cols) each.
    let cost = |r: &[usize]| -> Result<f64, TrainError> {
        Ok((r[0] * (rows + cols_x) + r[1] * (rows + cols_h)) as f64)
    };
    let cfg = SearchConfig {
        examples: 60,
        coarse_epochs: 2,
        fine_epochs: 1,
        ..SearchConfig::default()
    };
    let budget = 1200.0;
    let s = search_ranks(&float, &paths, budget, &cost, &d.train, &cfg, |_, _, _| {})
        .expect("searches");
    let ranks: Vec<usize> = s.choices.iter().map(|c| c.rank).collect();
    println!("ranks within {budget}: {ranks:?}, cost {}", s.cost);
    assert!(s.cost <= budget && s.cost == cost(&ranks).expect("cost"));
    // Filled: one more term of either matrix would not fit.
    assert!(budget - s.cost < (rows + cols_x) as f64 || ranks[0] == 13);
    assert!(ranks
        .iter()
        .zip([13, 16])
        .all(|(&r, f)| (1..=f).contains(&r)));
    assert_eq!(s.choices[0].unit_cost, (rows + cols_x) as f64);
    let all =
        search_ranks(&float, &paths, 1e9, &cost, &d.train, &cfg, |_, _, _| {}).expect("searches");
    assert_eq!(
        all.choices.iter().map(|c| c.rank).collect::<Vec<_>>(),
        vec![13, 16]
    );
    let e = search_ranks(&float, &paths, 10.0, &cost, &d.train, &cfg, |_, _, _| {})
        .expect_err("a budget below rank 1 is refused");
    assert!(e.to_string().contains("every rank 1"), "{e}");
}

/// Speed perturbation plays a recording faster or slower: its frames
/// scale with the inverse of the speed, and speed 1 is the plain features.
#[test]
fn speed_perturbation_scales_a_recordings_length() {
    let dir = Fsdd::locate_from(None, &Path::new(env!("CARGO_MANIFEST_DIR")).join(".."));
    let f = Fsdd::open(&dir).expect("FSDD");
    let some: Vec<&Utterance> = f.utterances().iter().step_by(250).collect();
    let fe = FrontEnd::speech_8k(Some(13));
    let plain = extract(&some, &fe, |_| {}).expect("features");
    assert_eq!(
        extract_at_speed(&some, &fe, 1.0, |_| {}).expect("features")[0].frames,
        plain[0].frames
    );
    for speed in [0.8, 1.25] {
        let p = extract_at_speed(&some, &fe, speed, |_| {}).expect("features");
        for (a, b) in plain.iter().zip(&p) {
            let expected = a.frames.len() as f64 / speed;
            assert!(
                (b.frames.len() as f64 - expected).abs() <= 3.0,
                "speed {speed}: {} frames, {} at speed 1",
                b.frames.len(),
                a.frames.len()
            );
        }
    }
    assert!(extract_at_speed(&some, &fe, 3.0, |_| {}).is_err());
}
