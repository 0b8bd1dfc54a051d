//! The spine end to end: random models become designs, the host driver
//! streams weights and frames into each engine (native and Verilator), and
//! every result (class and every logit) equals the reference model's, in
//! exactly the cycles the spec predicts, and every layer's c and h, read
//! back from the design after every frame, equal the reference's. The full 200-model sweeps are the
//! ignored tests `sweep_200_models_native` and `sweep_200_models_verilator`
//! (`cargo test --release -p lstm-accel-tests --test spine -- --ignored`);
//! the suite runs a slice of each.

mod engines;

use engines::{native, verilator};
use lstm_accel_hdl::blocks::row_engines::RowEngines;
use lstm_accel_host::driver::Driver;
use lstm_accel_model::model::Head;
use lstm_accel_model::random::{self, ScalarKind};
use lstm_accel_model::reference::Reference;
use lstm_accel_model::Model;
use lstm_accel_sim::link::{SimLink, Stalls};
use lstm_accel_sim::Device;
use lstm_accel_spec::spec::{AcceleratorSpec, HwConfig};
use lstm_accel_spec::Target;
use lstm_accel_verify::difftest::cases::{
    blocks, case_of, encodings, has_low_rank, random_case, tl_blocks, Mix,
};

/// Runs `frames` frames (a reset in the middle starts a new sequence) and
/// checks every result; returns the number of frames checked.
fn check<D: Device>(
    seed: u64,
    frames: usize,
    stalls: bool,
    engine: impl Fn(&Model, &AcceleratorSpec) -> D,
) -> usize {
    check_case(seed, random_case(seed), frames, stalls, engine)
}

/// [`check`] of a given model and configuration.
fn check_case<D: Device>(
    seed: u64,
    (m, hw): (Model, HwConfig),
    frames: usize,
    stalls: bool,
    engine: impl Fn(&Model, &AcceleratorSpec) -> D,
) -> usize {
    let spec = AcceleratorSpec::new(&m, &hw).expect("spec");
    let dev = engine(&m, &spec);
    let mut link = SimLink::new(dev);
    link.timeout = 20 * spec.cycles_per_frame() + 100_000;
    if stalls {
        link = link.with_stalls(Stalls {
            input: 0.3,
            output: 0.5,
            seed,
        });
    }
    let mut drv = Driver::new(link, spec.clone());
    drv.load(&m).expect("load");
    drv.reset().expect("reset");
    let mut reference = Reference::new(&m).expect("reference");
    let mut r = random::rng(seed ^ 0x5eed);
    // Half the frames saturate the input format.
    let inputs = random::frames(&mut r, &m, frames, 0.5);
    for (i, f) in inputs.iter().enumerate() {
        if i == frames / 2 {
            drv.reset().expect("reset");
            reference.reset();
        }
        let want = reference.step(f).expect("step");
        let ctx = format!(
            "{} engine, seed {seed}, frame {i}, {} layers {:?}, {} x {} lanes, {} activation blocks",
            drv.link().device().engine(),
            m.layers.len(),
            m.layers.iter().map(|l| l.hidden).collect::<Vec<_>>(),
            hw.rows,
            hw.lanes,
            hw.activation_units,
        );
        let got = drv.run_frame(i, f).unwrap_or_else(|e| panic!("{ctx}: {e}"));
        assert_eq!(got.logits, reference.logits(), "logits, {ctx}");
        // A LightRNN class may be -1 (an empty cell): the word is signed.
        assert_eq!(got.class as i32 as usize, want, "class, {ctx}");
        assert_eq!(
            u64::from(got.cycles),
            spec.cycles_per_frame(),
            "cycles, {ctx}"
        );
        assert_eq!(got.frame as usize, i, "frame counter, {ctx}");
        // Every timestep's state, read back from the design's memories.
        let state = drv.read_state().unwrap_or_else(|e| panic!("{ctx}: {e}"));
        for (l, st) in state.iter().enumerate() {
            assert_eq!(st.c, reference.cell(l), "c of layer {l}, {ctx}");
            let h: Vec<i64> = reference.output(l).iter().map(|&v| i64::from(v)).collect();
            assert_eq!(st.h, h, "h of layer {l}, {ctx}");
        }
    }
    let st = drv.status().expect("status");
    assert_eq!(st.frames as usize, frames);
    assert_eq!((st.bad_opcode, st.bad_length, st.refused), (0, 0, 0));
    frames
}

fn only_seed() -> Option<u64> {
    std::env::var("SEED").ok().and_then(|s| s.parse().ok())
}

#[test]
fn random_models_run_bit_exact_in_the_predicted_cycles_native() {
    let only = only_seed();
    for seed in (0..12).filter(|s| only.is_none_or(|o| o == *s)) {
        check(seed, 6, false, native);
    }
}

#[test]
fn random_models_run_bit_exact_in_the_predicted_cycles_verilator() {
    let only = only_seed();
    for seed in (0..4).filter(|s| only.is_none_or(|o| o == *s)) {
        check(seed, 6, false, verilator);
    }
}

#[test]
fn stalls_on_both_streams_lose_nothing() {
    for seed in 100..104 {
        check(seed, 4, true, native);
    }
    check(104, 4, true, verilator);
}

#[test]
#[ignore = "the full sweep: 200 models x 20 frames (seconds in release mode)"]
fn sweep_200_models_native() {
    let n: usize = (1000..1200)
        .map(|seed| check(seed, 20, seed % 4 == 0, native))
        .sum();
    assert_eq!(n, 4000);
}

#[test]
#[ignore = "the full sweep: 200 models x 20 frames (a Verilator build per model: minutes)"]
fn sweep_200_models_verilator() {
    let n: usize = (1000..1200)
        .map(|seed| check(seed, 20, seed % 4 == 0, verilator))
        .sum();
    assert_eq!(n, 4000);
}

/// The compressed encodings the generated design runs, each on its own:
/// every matrix a power-of-two codebook, every matrix a general codebook,
/// a LightRNN head on ternary and power-of-two matrices, and projected
/// layers.
fn per_encoding<D: Device>(engine: impl Fn(&Model, &AcceleratorSpec) -> D + Copy) -> usize {
    // Every family but `mixed` (which the random-model tests run).
    let encodings = encodings()
        .into_iter()
        .filter_map(|(what, mix)| Some((what, mix?)));
    // `ENCODING=projection` runs the encodings whose name contains it.
    let only = std::env::var("ENCODING").unwrap_or_default();
    let mut n = 0;
    for (what, mix) in encodings {
        if !what.contains(only.as_str()) {
            continue;
        }
        for seed in 2000..2100 {
            let case = case_of(seed, mix.clone());
            assert!(
                mix.light_rnn == matches!(case.0.head, Head::LightRnn(_)),
                "{what}: seed {seed} has the head it should"
            );
            assert!(
                mix.projections == case.0.layers.iter().any(|l| l.projection.is_some()),
                "{what}: seed {seed} has the projections it should"
            );
            assert!(
                mix.low_rank == has_low_rank(&case.0),
                "{what}: seed {seed} has the low-rank matrices it should"
            );
            assert!(
                mix.structured != blocks(&case.0).is_empty() || mix.toeplitz_like,
                "{what}: seed {seed} has the structured matrices it should"
            );
            assert!(
                mix.toeplitz_like != tl_blocks(&case.0).is_empty(),
                "{what}: seed {seed} has the Toeplitz-like matrices it should"
            );
            n += check_case(seed, case, 20, seed % 4 == 0, engine);
        }
    }
    n
}

#[test]
#[ignore = "per encoding: 9 x 100 models x 20 frames (seconds in release mode)"]
fn sweep_per_encoding_native() {
    let n = per_encoding(native);
    assert!(
        n == 18000 || std::env::var("ENCODING").is_ok(),
        "{n} frames"
    );
}

#[test]
#[ignore = "per encoding: 9 x 100 models x 20 frames (a Verilator build per model: minutes)"]
fn sweep_per_encoding_verilator() {
    let n = per_encoding(verilator);
    assert!(
        n == 18000 || std::env::var("ENCODING").is_ok(),
        "{n} frames"
    );
}

/// Block-Toeplitz and block-circulant matrices (block codes in the tap
/// memory, each lane's code picked by its row's window), with dense and
/// low-rank ones, codebooks among the codes: a slice of the per-encoding
/// sweep in each engine.
#[test]
fn structured_matrices_run_bit_exact_in_the_predicted_cycles() {
    let mix = |seed: u64| Mix {
        light_rnn: seed % 2 == 0,
        projections: seed % 3 == 1,
        low_rank: seed % 4 == 3,
        structured: true,
        toeplitz_like: false,
        kinds: if seed % 3 == 2 {
            vec![
                ScalarKind::CodebookPow2,
                ScalarKind::Codebook,
                ScalarKind::Ternary,
            ]
        } else {
            vec![ScalarKind::Ternary, ScalarKind::Pow2]
        },
    };
    for seed in 4000..4012 {
        check_case(seed, case_of(seed, mix(seed)), 6, seed % 4 == 1, native);
    }
    for seed in 4000..4003 {
        check_case(seed, case_of(seed, mix(seed)), 4, false, verilator);
    }
}

/// The banked weight memory (a pipelined read four cycles longer, the MAC
/// array's other inputs delayed as much) with small banks, so that every
/// random model spans several: plain, codebook and LightRNN cases, and
/// structured ones (whose taps are delayed too), under stalls, in both
/// engines.
#[test]
fn a_banked_weight_memory_runs_bit_exact_in_the_predicted_cycles() {
    let banked = |(m, hw): (Model, HwConfig), depth: usize| {
        let hw = HwConfig {
            weight_bank_depth: Some(depth),
            ..hw
        };
        let spec = AcceleratorSpec::new(&m, &hw).expect("spec");
        let extra = lstm_accel_hdl::blocks::ram::Ram::BANKED_READ_LATENCY as u64 - 1;
        assert_eq!(
            spec.pipeline.weight_read_extra, extra,
            "the weights are banked"
        );
        (m, hw)
    };
    let structured = |seed: u64| Mix {
        structured: true,
        light_rnn: seed % 2 == 0,
        ..Mix::of(vec![ScalarKind::Ternary, ScalarKind::Codebook])
    };
    for seed in 5000..5006 {
        check_case(seed, banked(random_case(seed), 4), 4, seed % 2 == 1, native);
        check_case(
            seed,
            banked(case_of(seed, structured(seed)), 8),
            4,
            false,
            native,
        );
    }
    for seed in 5000..5002 {
        check_case(seed, banked(random_case(seed), 4), 3, false, verilator);
        check_case(
            seed,
            banked(case_of(seed, structured(seed)), 8),
            3,
            false,
            verilator,
        );
    }
}

/// ECP5 designs: the activations' second output register, the banked
/// weights (small banks, so that small models have several), the row-shift
/// memory's output register and the registered data-memory writes, in both
/// engines (simulators run the plain-Verilog form of the `DP16KD`
/// instances).
#[test]
fn ecp5_designs_run_bit_exact_in_the_predicted_cycles() {
    let ecp5 = |(m, hw): (Model, HwConfig)| {
        let hw = HwConfig {
            target: Target::Ecp5_85k,
            weight_bank_depth: Some(8),
            ..hw
        };
        let spec = AcceleratorSpec::new(&m, &hw).expect("spec");
        assert!(spec.pipeline.second_activation_register);
        (m, hw)
    };
    for seed in 6000..6006 {
        check_case(seed, ecp5(random_case(seed)), 4, seed % 2 == 1, native);
    }
    for seed in 6000..6002 {
        check_case(seed, ecp5(random_case(seed)), 3, false, verilator);
    }
}

/// Time-multiplexed gate units (the sigmoids on two activation blocks or
/// one, a cell every two or three cycles), on ECP5 (the activations' second
/// output register, tables as `DP16KD` in synthesis) and generic targets,
/// in both engines. The random cases draw them too, a third of those with
/// one row engine.
#[test]
fn time_multiplexed_gate_units_run_bit_exact_in_the_predicted_cycles() {
    let shared = |(m, hw): (Model, HwConfig), units: usize, target: Target| {
        let hw = HwConfig {
            rows: 1,
            activation_units: units,
            target,
            ..hw
        };
        let spec = AcceleratorSpec::new(&m, &hw).expect("spec");
        assert_eq!(spec.pipeline.cell_interval, [3, 2][units - 3]);
        (m, hw)
    };
    for seed in 6100..6106 {
        let target = if seed % 2 == 0 {
            Target::Ecp5_85k
        } else {
            Target::Generic
        };
        let units = 3 + (seed as usize / 2) % 2;
        check_case(
            seed,
            shared(random_case(seed), units, target),
            4,
            seed % 3 == 0,
            native,
        );
    }
    for (seed, units) in [(6100, 3), (6103, 4)] {
        check_case(
            seed,
            shared(random_case(seed), units, Target::Ecp5_85k),
            3,
            false,
            verilator,
        );
    }
}

/// ECP5 designs with structured matrices: the tap memory's output register
/// (`Pipeline::tap_read_extra`), with the weight words delayed to match or,
/// with banked weights, the taps delayed to the banked read; banked taps
/// (small banks, so that small models have several); on the most
/// row engines (of 4, 3, 2) the model allows, so the engines' input
/// registers take both; in both engines.
#[test]
fn ecp5_structured_designs_run_bit_exact_in_the_predicted_cycles() {
    let mix = |seed: u64| Mix {
        structured: true,
        projections: seed % 3 == 1,
        ..Mix::of(vec![ScalarKind::Ternary, ScalarKind::Pow2])
    };
    let ecp5 = |seed: u64| {
        (seed..seed + 500)
            .find_map(|s| {
                let (m, hw) = case_of(s, mix(s));
                [4, 3, 2].into_iter().find_map(|rows| {
                    let hw = HwConfig {
                        target: Target::Ecp5_85k,
                        rows,
                        weight_bank_depth: (seed % 2 == 1).then_some(8),
                        tap_bank_depth: (seed % 4 >= 2).then_some(2),
                        ..hw.clone()
                    };
                    AcceleratorSpec::new(&m, &hw)
                        .ok()
                        .map(|spec| (s, spec, (m.clone(), hw)))
                })
            })
            .expect("a structured model that admits row engines")
    };
    for seed in [6100, 6201, 6302, 6403] {
        let (s, spec, case) = ecp5(seed);
        let banked_taps = seed % 4 >= 2;
        // A banked read's cycles beyond the block's output register.
        let banked = lstm_accel_hdl::blocks::ram::Ram::BANKED_READ_LATENCY as u64 - 2;
        assert_eq!(
            spec.pipeline.tap_read_extra,
            1 + banked * u64::from(banked_taps)
        );
        assert_eq!(
            spec.pipeline.read_extra(),
            1 + banked * (seed % 2).max(u64::from(banked_taps))
        );
        check_case(s, case, 4, seed % 4 == 1, native);
    }
    for seed in [6100, 6201, 6302] {
        let (s, _, case) = ecp5(seed);
        check_case(s, case, 3, false, verilator);
    }
}

/// Toeplitz-like matrices (displacement rank r): a first pass of
/// skew-circulant blocks computes every u = Z-1(h) x exactly, then the rows
/// run block-circulant over their block row's part of u; with block-circulant
/// and dense matrices and projections: a slice of the per-encoding sweep in
/// each engine.
#[test]
fn toeplitz_like_matrices_run_bit_exact_in_the_predicted_cycles() {
    let mix = |seed: u64| Mix {
        light_rnn: seed % 2 == 0,
        projections: seed % 3 == 1,
        toeplitz_like: true,
        ..Mix::of(vec![ScalarKind::Ternary, ScalarKind::Pow2])
    };
    for seed in 5000..5012 {
        check_case(seed, case_of(seed, mix(seed)), 6, seed % 4 == 1, native);
    }
    for seed in 5000..5003 {
        check_case(seed, case_of(seed, mix(seed)), 4, false, verilator);
    }
}

/// Projected layers (y = P h feeding the recurrence and the next layer)
/// and low-rank matrices (U (V x) through an exact intermediate), alone and
/// together: a slice of the per-encoding sweep in each engine.
#[test]
fn projections_and_low_rank_matrices_run_bit_exact_in_the_predicted_cycles() {
    let mix = |seed: u64| Mix {
        light_rnn: seed % 2 == 0,
        projections: seed % 3 != 1,
        low_rank: seed % 3 != 0,
        structured: false,
        toeplitz_like: false,
        kinds: vec![ScalarKind::Ternary, ScalarKind::Pow2],
    };
    for seed in 3000..3012 {
        check_case(seed, case_of(seed, mix(seed)), 6, seed % 4 == 1, native);
    }
    for seed in 3000..3003 {
        check_case(seed, case_of(seed, mix(seed)), 4, false, verilator);
    }
}

/// Row engines: several MAC arrays compute a row group at once (a layer's
/// gate rows of consecutive cells, sharing the data word and, for
/// structured matrices, the tap word), their results handed on one per
/// cycle by the result queue. Every encoding family on the most row
/// engines its model allows, of 4, 3, 2 (each engine's input registers fed
/// by the source) and of 8, 6, 5 (fed through the fan-out tree's group
/// registers, the last group short with 5 or 6), in both engines;
/// structured models are drawn until one admits several (its groups must
/// lie in one block row). The random-model tests draw row engines for half
/// their models too.
#[test]
fn row_engines_run_bit_exact_in_the_predicted_cycles() {
    const DIRECT: [usize; 3] = [4, 3, 2];
    const TREE: [usize; 3] = [8, 6, 5];
    let most_rows = |(m, hw): &(Model, HwConfig), choices: &[usize]| {
        choices
            .iter()
            .copied()
            .find(|&rows| AcceleratorSpec::new(m, &HwConfig { rows, ..hw.clone() }).is_ok())
    };
    // Case `seed` of `mix` or the next seed whose model admits row engines.
    let case = |seed: u64, mix: &Mix, choices: &[usize]| {
        (seed..seed + 500)
            .find_map(|s| {
                let c = case_of(s, mix.clone());
                most_rows(&c, choices).map(|rows| (s, (c.0, HwConfig { rows, ..c.1 })))
            })
            .expect("a model that admits row engines")
    };
    let families: Vec<Mix> = encodings().into_iter().filter_map(|(_, m)| m).collect();
    assert!(families.iter().any(|m| m.structured) && families.iter().any(|m| m.toeplitz_like));
    for (i, mix) in families.iter().enumerate() {
        for (base, choices) in [(7000, DIRECT), (7100, DIRECT), (7300, TREE)] {
            let (seed, c) = case(base + 1000 * i as u64, mix, &choices);
            assert!(c.1.rows > 1);
            assert_eq!(RowEngines::groups(c.1.rows) > 0, choices == TREE);
            check_case(seed, c, 4, seed % 2 == 1, native);
        }
    }
    for (i, mix) in families.iter().enumerate().step_by(3) {
        for (base, choices) in [(7200, DIRECT), (7400, TREE)] {
            let (seed, c) = case(base + 1000 * i as u64, mix, &choices);
            check_case(seed, c, 3, false, verilator);
        }
    }
}
