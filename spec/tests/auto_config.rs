//! The logic estimate and the automatic configuration search: the estimate
//! grows with what the configuration instantiates, the search's choice fits
//! and nothing it passed over fits and is clearly faster at its expected
//! clock, and knobs given as counts stay as given.

use lstm_accel_model::random::{self, ModelShape};
use lstm_accel_model::Model;
use lstm_accel_spec::auto_config::{fastest_fit, Knob, Outcome, LOGIC_HEADROOM, NOT_WORTH};
use lstm_accel_spec::logic_estimate::{LogicEstimate, LogicTerms};
use lstm_accel_spec::spec::{AcceleratorSpec, HwConfig};
use lstm_accel_spec::Target;

fn ternary(input: usize, hidden: &[usize], classes: usize) -> Model {
    let mut r = random::rng(3);
    random::model(&mut r, &ModelShape::ternary(input, hidden, classes, 8))
}

fn on(target: Target, rows: usize, lanes: usize) -> HwConfig {
    HwConfig {
        rows,
        ..HwConfig::on(lanes, target)
    }
}

#[test]
fn knobs_parse_counts_and_auto_and_name_anything_else() {
    assert_eq!("auto".parse::<Knob>(), Ok(Knob::Auto));
    assert_eq!("AUTO".parse::<Knob>(), Ok(Knob::Auto));
    assert_eq!("16".parse::<Knob>(), Ok(Knob::Fixed(16)));
    let e = "sixteen".parse::<Knob>().expect_err("not a knob");
    assert!(e.contains("sixteen"), "{e}");
}

#[test]
fn the_logic_estimate_grows_with_lanes_engines_and_structured_decode() {
    let m = ternary(40, &[64, 64], 10);
    let cells = |rows, lanes| {
        AcceleratorSpec::new(&m, &on(Target::Generic, rows, lanes))
            .expect("spec")
            .estimate
            .logic
            .logic_cells
            .0
    };
    assert!(cells(1, 16) < cells(1, 32) && cells(1, 32) < cells(1, 64));
    assert!(cells(1, 16) < cells(2, 16) && cells(2, 16) < cells(4, 16));
    // A lane that chooses among 16 tap slots costs more than one that reads
    // its own code.
    let plain = LogicTerms {
        engines: 1,
        mac_lanes: 64,
        product_bits: 9,
        code_bits: 2,
        decode_choices: 1,
        boundary_bits: 0,
    };
    let structured = LogicTerms {
        decode_choices: 16,
        ..plain
    };
    let (a, b) = (
        LogicEstimate::new(&plain, 83_640),
        LogicEstimate::new(&structured, 83_640),
    );
    assert!(a.logic_cells.0 < b.logic_cells.0, "{a:?} {b:?}");
    assert_eq!(a.logic_cells.1, 83_640);
    assert!(a.utilisation() > 0.0 && a.utilisation() < 1.0);
    // Several engines' input registers are flip-flops, not logic cells.
    let spec = |rows, lanes| {
        AcceleratorSpec::new(&m, &on(Target::Generic, rows, lanes))
            .expect("spec")
            .estimate
            .logic
            .terms
    };
    assert_eq!(spec(1, 64).boundary_bits, 0);
    // Each engine registers at least its 16 lanes' 2-bit codes; eight
    // engines register them twice (the fan-out tree's lead registers) and
    // the data word once per group of four.
    let four = spec(4, 16);
    assert!(four.boundary_bits >= 4 * 16 * 2, "{four:?}");
    let eight = spec(8, 16);
    assert!(
        eight.boundary_bits >= 2 * 2 * four.boundary_bits + 2 * 16 * 8,
        "{eight:?} {four:?}"
    );
    let registered = LogicEstimate::new(&four, 83_640);
    let unregistered = LogicEstimate::new(
        &LogicTerms {
            boundary_bits: 0,
            ..four
        },
        83_640,
    );
    assert_eq!(registered.logic_cells, unregistered.logic_cells);
    assert_eq!(
        registered.flip_flops.0 - unregistered.flip_flops.0,
        four.boundary_bits as u32
    );
}

#[test]
fn the_automatic_choice_fits_and_nothing_clearly_faster_does() {
    let m = ternary(40, &[64, 64], 10);
    for target in [Target::Ice40Up5k, Target::Ecp5_25k, Target::Ecp5_85k] {
        let base = on(target, 1, 8);
        let c = fastest_fit(&m, &base, Knob::Auto, Knob::Auto).expect("a choice");
        // The choice is an ordinary spec of its configuration, within the
        // headroom.
        let again = AcceleratorSpec::new(&m, &c.hw).expect("spec");
        assert_eq!(again, c.spec);
        assert!(c.spec.estimate.logic.utilisation() <= LOGIC_HEADROOM);
        let time = c
            .candidates
            .iter()
            .find(|x| (x.rows, x.lanes) == (c.hw.rows, c.hw.lanes))
            .and_then(|x| x.latency_us())
            .expect("the choice fits");
        // The time is the cycles at the expected clock: the configuration's
        // or the estimated Fmax, whichever is lower.
        let clock = c.spec.estimate.clock.expect("a part has a clock estimate");
        assert!(clock.expected_mhz <= c.hw.clock_mhz && clock.expected_mhz <= clock.fmax_mhz);
        assert!((clock.frame_latency_us - time).abs() < 1e-9);
        assert!((time - c.spec.cycles_per_frame() as f64 / clock.expected_mhz).abs() < 1e-9);
        let macs = c.hw.rows * c.hw.lanes;
        let chosen_logic = c.spec.estimate.logic.utilisation();
        for cand in &c.candidates {
            if let Outcome::Fits { logic, .. } = cand.outcome {
                let t = cand.latency_us().expect("fits");
                assert!(logic <= LOGIC_HEADROOM);
                // Nothing that fits is faster by the margin...
                assert!(
                    t >= time / (1.0 + NOT_WORTH) - 1e-9,
                    "{target}: {} x {} takes {t} us, the choice {time}",
                    cand.rows,
                    cand.lanes
                );
                // ...and nothing as fast is smaller: fewer multiply-
                // accumulates, or as many in less logic.
                if t <= time * (1.0 + NOT_WORTH) {
                    assert!(cand.macs() >= macs, "{target}: {cand:?}");
                    if cand.macs() == macs {
                        assert!(logic >= chosen_logic, "{target}: {cand:?}");
                    }
                }
            }
        }
        assert!(
            c.why
                .starts_with(&format!("{} x {}", c.hw.rows, c.hw.lanes)),
            "{}",
            c.why
        );
        // A larger part never gets a slower design.
        println!("{target}: {} x {}: {}", c.hw.rows, c.hw.lanes, c.why);
    }
    let time = |t| {
        fastest_fit(&m, &on(t, 1, 8), Knob::Auto, Knob::Auto)
            .expect("a choice")
            .spec
            .estimate
            .clock
            .expect("a part")
            .frame_latency_us
    };
    let (small, large) = (time(Target::Ice40Up5k), time(Target::Ecp5_85k));
    assert!(large < small, "ECP5-85F {large} us, UP5K {small} us");
}

#[test]
fn a_knob_given_as_a_count_stays_and_the_search_says_why_it_stopped() {
    let m = ternary(40, &[64, 64], 10);
    let c = fastest_fit(&m, &on(Target::Ecp5_85k, 1, 8), Knob::Auto, Knob::Fixed(16))
        .expect("a choice");
    assert_eq!(c.hw.lanes, 16);
    assert!(c.candidates.iter().all(|x| x.lanes == 16));
    // The next row count up is named with what it came to.
    let next = format!("{} x 16", c.hw.rows * 2);
    assert!(
        c.why.contains(&next) || c.why.contains("the largest configuration searched"),
        "{}",
        c.why
    );
}

#[test]
fn a_model_that_fits_nowhere_gets_the_parts_own_refusal() {
    // 2 x 1024 cells of ternary weights: far more than the UP5K's memories.
    let m = ternary(153, &[1024, 1024], 10);
    let e = fastest_fit(&m, &on(Target::Ice40Up5k, 1, 8), Knob::Auto, Knob::Auto)
        .expect_err("does not fit");
    assert!(e.to_string().contains("ice40-up5k"), "{e}");
}
