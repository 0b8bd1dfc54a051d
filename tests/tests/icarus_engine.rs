//! Icarus Verilog as the third engine: the generated self-checking test
//! bench, fed the host driver's exact stream, finds every result and every
//! state read-back equal to the reference under stalls on both streams; it
//! counts a wrong word where it is and stops, rather than hangs, when the
//! stream ends early.

use lstm_accel_hdl::accelerator::verilog;
use lstm_accel_host::crosscheck::{cross_check, expected_replies};
use lstm_accel_host::driver::Driver;
use lstm_accel_model::random::{self, MatrixKind, ModelShape, ScalarKind};
use lstm_accel_model::Model;
use lstm_accel_sim::icarus::{IcarusDesign, TestbenchJob};
use lstm_accel_sim::link::{packet_words, ScriptedLink, Stalls};
use lstm_accel_sim::StreamWord;
use lstm_accel_spec::spec::{AcceleratorSpec, HwConfig};
use lstm_accel_spec::Target;
use lstm_accel_verify::icarus_check::icarus_cross_check;

fn spec(m: &Model, lanes: usize) -> AcceleratorSpec {
    let hw = HwConfig::on(lanes, Target::Generic);
    AcceleratorSpec::new(m, &hw).expect("spec")
}

/// Codebooks, a LightRNN head and a projection (multiplier lanes), or
/// structured and low-rank matrices.
fn model(seed: u64, structured: bool) -> Model {
    let mut shape = ModelShape::ternary(5, &[6, 4], 5, 8);
    if structured {
        shape.matrix_kinds = vec![
            MatrixKind::BlockCirculant,
            MatrixKind::BlockToeplitz,
            MatrixKind::LowRank,
        ];
        shape.scalar_kinds = vec![ScalarKind::Ternary, ScalarKind::Pow2];
    } else {
        shape.scalar_kinds = vec![ScalarKind::Ternary, ScalarKind::Pow2, ScalarKind::Codebook];
        shape.light_rnn = true;
        shape.projection = vec![Some(3), None];
    }
    random::model(&mut random::rng(seed), &shape)
}

#[test]
fn icarus_runs_random_models_bit_exact_under_stalls_with_state_read_back() {
    for (seed, structured, lanes) in [(1, false, 3), (2, true, 1)] {
        let m = model(seed, structured);
        let s = spec(&m, lanes);
        let mut r = random::rng(seed);
        // Half the input values at the format's limits.
        let seqs: Vec<_> = (0..2).map(|_| random::frames(&mut r, &m, 3, 0.5)).collect();
        let mut design =
            IcarusDesign::compile(&verilog(&m, &s).expect("verilog")).expect("iverilog");
        let stalls = Stalls {
            input: 0.3,
            output: 0.5,
            seed,
        };
        let run = icarus_cross_check(&mut design, &m, &s, &seqs, true, Some(stalls), None)
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert_eq!(run.check.frames, 6);
        assert!(
            run.check.mismatches.is_empty(),
            "{:?}",
            run.check.mismatches
        );
        let cpf = s.cycles_per_frame();
        assert_eq!(run.check.measured_cycles_per_frame, (cpf, cpf));
        let t = &run.testbench;
        assert_eq!(t.mismatched_words, 0, "{t:?}");
        assert_eq!(t.words_sent as usize, t.words_offered, "{t:?}");
        assert_eq!(t.words_received, t.words_expected, "{t:?}");
        // Stalls stretch the run beyond its frames' cycles.
        assert!(t.cycles > 6 * cpf, "{t:?}");
    }
}

fn job<'a>(input: &'a [StreamWord], expected: &'a [StreamWord], idle: u64) -> TestbenchJob<'a> {
    TestbenchJob {
        input,
        expected,
        stalls: None,
        idle_limit: idle,
        drain: 100,
        vcd: None,
    }
}

#[test]
fn the_test_bench_names_a_wrong_word_and_stops_when_the_stream_ends_early() {
    let m = model(3, false);
    let s = spec(&m, 2);
    let seqs = vec![random::frames(&mut random::rng(3), &m, 2, 0.2)];
    let expected = expected_replies(&m, &s, &seqs, false).expect("reference");
    let mut rec = Driver::new(ScriptedLink::new(expected.clone()), s.clone());
    cross_check(&mut rec, &m, &s, &seqs, false, |_| {}).expect("scripted");
    let input = rec.into_link().sent;
    let mut words: Vec<_> = expected.iter().flat_map(|p| packet_words(p)).collect();
    let mut design = IcarusDesign::compile(&verilog(&m, &s).expect("verilog")).expect("iverilog");
    let idle = 20 * s.cycles_per_frame() + 1_000;
    let clean = design.run(&job(&input, &words, idle)).expect("runs");
    assert_eq!((clean.mismatched_words, clean.timed_out), (0, false));
    assert_eq!(clean.outputs, words);
    // The second result's third logit, as if the reference said otherwise.
    let k = expected[0].len() + 1 + 3 + 2;
    words[k].data ^= 0x10;
    let one = design.run(&job(&input, &words, idle)).expect("runs");
    assert_eq!(
        (one.mismatched_words, one.first_mismatch),
        (1, Some(k as u64))
    );
    words[k].data ^= 0x10;
    // The last frame packet cut off: the second result never comes, the
    // bench gives up after its idle limit instead of hanging.
    let frame_words = 1 + m.input.size;
    let cut = &input[..input.len() - frame_words];
    let early = design.run(&job(cut, &words, idle)).expect("runs");
    assert!(early.timed_out);
    assert_eq!(early.outputs, words[..expected[0].len()]);
    assert!(early.cycles < 2 * idle + 10_000);
}
