//! The accelerator spec: cycle prediction against the ideal bound, the
//! schedule's invariants, the memory map, validation errors.

use lstm_accel_model::encoding::{LowRank, Matrix};
use lstm_accel_model::random::{self, MatrixKind, ModelShape, ScalarKind};
use lstm_accel_model::Model;
use lstm_accel_spec::schedule::{Op, Unit};
use lstm_accel_spec::spec::{AcceleratorSpec, HwConfig, Placement, SpecError};
use lstm_accel_spec::Target;

fn ternary(input: usize, hidden: &[usize], classes: usize) -> Model {
    let mut r = random::rng(1);
    random::model(&mut r, &ModelShape::ternary(input, hidden, classes, 8))
}

fn hw(lanes: usize, target: Target) -> HwConfig {
    HwConfig {
        lanes,
        target,
        ..HwConfig::default()
    }
}

#[test]
fn two_by_256_ternary_is_within_ten_percent_of_the_ideal_at_16_and_64_lanes() {
    let m = ternary(40, &[256, 256], 10);
    for lanes in [16, 64] {
        let s = AcceleratorSpec::new(&m, &hw(lanes, Target::Generic)).expect("spec");
        let e = &s.estimate;
        println!(
            "2x256 ternary, 40 inputs, {lanes} lanes: {} cycles/frame, ideal {:.0} (MACs {} / lanes), ratio {:.4}, {:.1} us at {} MHz",
            s.cycles_per_frame(),
            e.ideal_cycles,
            e.macs_per_frame,
            e.efficiency_ratio,
            e.frame_latency_us,
            s.hw.clock_mhz
        );
        assert_eq!(e.macs_per_frame, 1024 * (40 + 256) + 1024 * 512 + 10 * 256);
        assert!(e.efficiency_ratio <= 1.10, "ratio {}", e.efficiency_ratio);
    }
}

#[test]
fn one_layer_cycle_count_has_the_closed_form_of_the_pipeline() {
    // 1 layer of 5 cells, 7 inputs, 3 classes, 4 lanes: row = 2 + 2 words.
    let m = ternary(7, &[5], 3);
    let s = AcceleratorSpec::new(&m, &hw(4, Target::Generic)).expect("spec");
    let p = s.pipeline;
    let row_words = 7u64.div_ceil(4) + 5u64.div_ceil(4);
    let head_words = 5u64.div_ceil(4);
    // Rows, the last row's results and cell update, the switch to the head,
    // its rows and results, and the decode.
    let expect = 4 * 5 * row_words
        + p.mac_latency
        + p.cell_latency
        + p.phase_switch
        + 3 * head_words
        + p.mac_latency
        + p.decode_latency;
    assert_eq!(s.cycles_per_frame(), expect);
    assert_eq!(s.schedule.mac_busy, 4 * 5 * row_words + 3 * head_words);
}

#[test]
fn the_schedule_respects_units_and_dependencies() {
    let mut r = random::rng(3);
    for case in 0..30 {
        let shape = ModelShape {
            input: 1 + case % 13,
            hidden: vec![1 + case % 7, 3 + case % 5],
            projection: vec![None, None],
            classes: 2 + case % 9,
            light_rnn: false,
            matrix_kinds: vec![MatrixKind::Dense, MatrixKind::DensePerRow],
            scalar_kinds: vec![ScalarKind::Ternary, ScalarKind::Pow2],
            extreme: false,
            data_width: None,
        };
        let m = random::model(&mut r, &shape);
        let cfg = HwConfig {
            lanes: 1 + case % 9,
            activation_units: 3 + case % 3,
            gate_units: 1 + case % 3,
            ..HwConfig::default()
        };
        let s = AcceleratorSpec::new(&m, &cfg).expect("spec");
        let slots = &s.schedule.slots;
        // The MAC array runs one op at a time, in program order.
        let mac: Vec<_> = slots.iter().filter(|x| x.unit == Unit::MacArray).collect();
        for w in mac.windows(2) {
            assert!(
                w[1].start >= w[0].start + w[0].busy,
                "case {case}: MAC overlap"
            );
        }
        // A gate unit takes a cell at most every `cell_interval` cycles.
        let mut gate_free = vec![0u64; cfg.gate_units];
        for x in slots {
            if let Unit::GateUnit(k) = x.unit {
                assert!(x.start >= gate_free[k], "case {case}: gate unit overlap");
                gate_free[k] = x.start + s.pipeline.cell_interval;
            }
        }
        // A cell starts after its four rows are ready; a layer's rows start
        // after the previous layer's last output.
        let mut layer_done = vec![0u64; m.layers.len()];
        for x in slots {
            match x.op {
                Op::Cell { layer, cell } => {
                    for y in slots {
                        if let Op::Row {
                            layer: l, cell: c, ..
                        } = y.op
                        {
                            if l == layer && c == cell {
                                assert!(x.start >= y.ready, "case {case}: cell before its row");
                            }
                        }
                    }
                    layer_done[layer] = layer_done[layer].max(x.ready);
                }
                Op::Projection { layer, .. } => {
                    assert!(x.start >= layer_done[layer]);
                }
                _ => {}
            }
        }
        for x in slots {
            if let Op::Row { layer, .. } = x.op {
                if layer > 0 {
                    assert!(
                        x.start >= layer_done[layer - 1],
                        "case {case}: layer {layer} too early"
                    );
                }
            }
        }
        let last = slots.last().expect("slots");
        assert_eq!(last.op, Op::Decode);
        assert_eq!(s.cycles_per_frame(), last.ready);
        assert!(s.cycles_per_frame() >= s.schedule.mac_busy);
        // The weight memory holds every row's words, contiguously.
        let mut next = 0;
        for l in &s.layers {
            assert_eq!(l.weight_base, next);
            next += 4 * l.hidden * l.row_words;
            if let Some((p, base)) = &l.projection {
                assert_eq!(*base, next);
                next += p.rows * p.words_per_row;
            }
        }
        assert_eq!(s.head.weight_base, next);
        assert_eq!(s.memories[0].name, "weights");
        assert!(s.estimate.weight_memory_bits >= m.weight_bits().codes);
    }
}

#[test]
fn the_spec_survives_serialisation() {
    let m = ternary(13, &[16, 16], 10);
    let s = AcceleratorSpec::new(&m, &hw(8, Target::Ice40Up5k)).expect("spec");
    let text = serde_json::to_string(&s).expect("json");
    let back: AcceleratorSpec = serde_json::from_str(&text).expect("parse");
    assert_eq!(back, s);
}

#[test]
fn unsupported_encodings_and_bad_configurations_are_named() {
    let mut r = random::rng(4);
    let mut shape = ModelShape::ternary(8, &[4], 3, 8);
    shape.matrix_kinds = vec![MatrixKind::BlockCirculant];
    let m = random::model(&mut r, &shape);
    let e = AcceleratorSpec::new(&m, &HwConfig::default()).expect_err("unsupported");
    assert!(matches!(e, SpecError::Unsupported { .. }), "{e}");
    assert!(
        e.to_string().starts_with("layers[0].w_x: block-circulant"),
        "{e}"
    );

    let m = ternary(8, &[4], 3);
    for (cfg, what) in [
        (
            HwConfig {
                lanes: 0,
                ..HwConfig::default()
            },
            "lanes = 0",
        ),
        (
            HwConfig {
                activation_units: 9,
                ..HwConfig::default()
            },
            "activation_units = 9",
        ),
        (
            HwConfig {
                activation_units: 3,
                rows: 2,
                ..HwConfig::default()
            },
            "activation_units = 3 with 2 row engines",
        ),
        (
            HwConfig {
                clock_mhz: f64::NAN,
                ..HwConfig::default()
            },
            "clock_mhz = NaN",
        ),
    ] {
        let e = AcceleratorSpec::new(&m, &cfg).expect_err("bad config");
        assert!(e.to_string().contains(what), "{e}");
    }
}

#[test]
fn weights_that_do_not_fit_the_part_are_reported_with_the_numbers() {
    let m = ternary(40, &[256, 256], 10);
    let e = AcceleratorSpec::new(&m, &hw(16, Target::Ice40Hx8k)).expect_err("too big");
    let text = e.to_string();
    println!("{text}");
    assert!(matches!(e, SpecError::DoesNotFit { .. }), "{text}");
    assert!(
        text.contains("need 448 block RAMs of 4096 bits, ice40-hx8k has 32"),
        "{text}"
    );
    // On the UP5K the weights of a 2 x 64 model move to SPRAM.
    let small = ternary(40, &[64, 64], 10);
    let s = AcceleratorSpec::new(&small, &hw(16, Target::Ice40Up5k)).expect("fits");
    let w = &s.memories[0];
    println!(
        "2x64 on ice40-up5k: weights {}x{} in {:?} ({} blocks); block RAMs {:?}",
        w.depth, w.width, w.placement, w.blocks, s.estimate.bram_blocks
    );
    assert!(s.estimate.bram_blocks.0 <= 30);
    assert!(w.placement == Placement::Spram || w.placement == Placement::BlockRam);
    // The same model fits an ECP5-85F in block RAM.
    let s = AcceleratorSpec::new(&small, &hw(16, Target::Ecp5_85k)).expect("fits");
    assert_eq!(s.memories[0].placement, Placement::BlockRam);
}

/// Lu et al.'s shared projection: a 2 x 64-cell model with a 16-entry
/// projection on each layer. The projection runs once per frame (16 rows in
/// the schedule) and its y feeds both the layer's recurrence and the next
/// layer, so recurrent and next-layer input rows read 16 values, not 64:
/// the weight memory shrinks by the ratio the matrix shapes give, and the
/// cycle prediction follows.
#[test]
fn a_shared_projection_runs_once_per_frame_and_shrinks_the_rows_that_read_it() {
    let spec_of = |projection: Option<usize>| {
        let mut r = random::rng(4);
        let shape = ModelShape {
            projection: vec![projection; 2],
            ..ModelShape::ternary(40, &[64, 64], 10, 8)
        };
        let m = random::model(&mut r, &shape);
        AcceleratorSpec::new(&m, &hw(16, Target::Generic)).expect("spec")
    };
    let (plain, proj) = (spec_of(None), spec_of(Some(16)));
    // Words per gate row: layer 0 reads 40 inputs + 64 h or 16 y; layer 1
    // reads 64 + 64 or 16 + 16; then 16 projection rows of 64 h.
    let words = |x: usize, h: usize| 4 * 64 * (x.div_ceil(16) + h.div_ceil(16));
    assert_eq!(
        plain.layout.weight_words,
        words(40, 64) + words(64, 64) + 10 * 4
    );
    assert_eq!(
        proj.layout.weight_words,
        words(40, 16) + 16 * 4 + words(16, 16) + 16 * 4 + 10
    );
    for (l, x) in proj.layout.layers.iter().enumerate() {
        let p = x.projection.as_ref().expect("projection phase");
        assert_eq!((p.rows, p.words, x.outputs, x.h_words), (16, 4, 16, 1));
        // The scratch buffer for h is apart from the two output buffers.
        assert!(!x.h_buffers.contains(&p.scratch), "layer {l}");
        let rows = proj
            .schedule
            .slots
            .iter()
            .filter(|s| matches!(s.op, Op::Projection { layer, .. } if layer == l))
            .count();
        assert_eq!(rows, 16, "layer {l}: the projection runs once per frame");
    }
    assert_eq!(proj.layout.layers[1].x_words, 1, "layer 1 reads y, not h");
    assert!(proj.cycles_per_frame() * 2 < plain.cycles_per_frame());
    println!(
        "2x64, 16 lanes: weight words {} -> {}, cycles/frame {} -> {}",
        plain.layout.weight_words,
        proj.layout.weight_words,
        plain.cycles_per_frame(),
        proj.cycles_per_frame()
    );
}

/// A LightRNN head over V classes computes and stores 2 sqrt(V) logit rows
/// where a dense head needs V: head weight words and head cycles scale with
/// rows + cols. Only its class table (one entry per class, a few bits each)
/// grows with V.
#[test]
fn a_lightrnn_heads_cycles_and_weights_grow_with_two_sqrt_v_not_v() {
    let spec_of = |classes: usize, light_rnn: bool| {
        let mut r = random::rng(9);
        let shape = ModelShape {
            light_rnn,
            ..ModelShape::ternary(16, &[64], classes, 8)
        };
        let m = random::model(&mut r, &shape);
        AcceleratorSpec::new(&m, &hw(16, Target::Generic)).expect("spec")
    };
    let head_cycles = |s: &AcceleratorSpec| {
        let first = s
            .schedule
            .slots
            .iter()
            .find(|x| matches!(x.op, Op::HeadRow { .. }))
            .expect("head rows");
        s.cycles_per_frame() - first.start
    };
    let table_bits = |s: &AcceleratorSpec| {
        s.memories
            .iter()
            .find(|m| m.name == "class_table")
            .map_or(0, |m| m.bits())
    };
    for v in [256usize, 1024, 4096] {
        let (dense, light) = (spec_of(v, false), spec_of(v, true));
        let side = (v as f64).sqrt() as usize;
        assert_eq!(light.head.rows, 2 * side, "V = {v}");
        assert_eq!(dense.head.rows, v);
        let words = |s: &AcceleratorSpec| s.layout.weight_words - s.head.weight_base;
        println!(
            "V = {v}: head weight words dense {} / LightRNN {}, head cycles dense {} / LightRNN {}, class table {} bits",
            words(&dense),
            words(&light),
            head_cycles(&dense),
            head_cycles(&light),
            table_bits(&light)
        );
        // Weights: exactly rows + cols head rows of the same words.
        assert_eq!(words(&light) * v, words(&dense) * 2 * side);
        // Cycles: the rows' words plus two drains and the table reads.
        let per_row = light.layout.head.words as u64;
        assert!(head_cycles(&light) <= 2 * side as u64 * per_row + 3 * light.pipeline.mac_latency);
        assert!(head_cycles(&dense) >= v as u64 * per_row);
        assert!(
            table_bits(&light) <= (v as u64) * u64::from(light.layout.widths().class_bits as u32)
        );
    }
}

/// A 2 x 256-cell model (40 inputs) whose input and recurrent matrices are
/// low-rank `U V` of rank `rank`, ternary factors.
fn low_rank_2x256(rank: usize) -> Model {
    let mut m = ternary(40, &[256, 256], 10);
    let mut r = random::rng(17);
    for l in &mut m.layers {
        let (rows, x, h) = (l.w_x.rows(), l.w_x.cols(), l.w_h.cols());
        let factors = |r: &mut rand_chacha::ChaCha8Rng, cols: usize| {
            let d = |r: &mut rand_chacha::ChaCha8Rng, rows, cols| match random::matrix(
                r,
                rows,
                cols,
                MatrixKind::Dense,
                ScalarKind::Ternary,
                false,
            ) {
                Matrix::Dense(d) => d,
                _ => unreachable!("a dense matrix was asked for"),
            };
            Matrix::LowRank(LowRank {
                u: d(r, rows, rank),
                v: d(r, rank, cols),
            })
        };
        l.w_x = factors(&mut r, x);
        l.w_h = factors(&mut r, h);
    }
    m.validate().expect("valid");
    m
}

/// Low-rank matrices (Aghababaei-Harandi & Amini): the weight memory and
/// the cycles of a layer's matrices scale with the rank r. At 16 lanes a
/// gate row reads ceil(r/16) words of t per matrix, and each factor pass
/// `V v` has r rows of the input's words, so the layers' weight words are
/// exactly `r/16 * (4 * 256 * 2 + 40/16 rounded up + 256/16 * 3)` per layer
/// pair: doubling r doubles them.
#[test]
fn low_rank_weight_memory_and_cycles_scale_with_the_rank() {
    let head_words = 10 * 16;
    let layer_words = |rank: usize| {
        let t = rank.div_ceil(16);
        // Layer 0: V_x (40 inputs: 3 words), V_h (256: 16 words), gate rows.
        let l0 = rank * 3 + rank * 16 + 4 * 256 * 2 * t;
        // Layer 1: V_x and V_h both read 256 values.
        let l1 = rank * 16 + rank * 16 + 4 * 256 * 2 * t;
        l0 + l1
    };
    let mut rows = Vec::new();
    for rank in [16, 32, 64] {
        let m = low_rank_2x256(rank);
        let s = AcceleratorSpec::new(&m, &hw(16, Target::Generic)).expect("spec");
        assert_eq!(
            s.layout.weight_words,
            layer_words(rank) + head_words,
            "rank {rank}"
        );
        assert_eq!(s.layout.factors().len(), 4);
        rows.push((
            rank,
            s.layout.weight_words - head_words,
            s.cycles_per_frame(),
        ));
    }
    for w in rows.windows(2) {
        let ((r0, w0, c0), (r1, w1, c1)) = (w[0], w[1]);
        assert_eq!(w1 * r0, w0 * r1, "weight words scale with the rank");
        // Cycles: the same, plus a fixed pipeline overhead per pass.
        assert!(
            c1 * 10 > c0 * 19 && c1 * 10 < c0 * 21,
            "cycles {c0} -> {c1}"
        );
        println!("rank {r0} -> {r1}: layer weight words {w0} -> {w1}, cycles {c0} -> {c1}");
    }
    let dense = AcceleratorSpec::new(&ternary(40, &[256, 256], 10), &hw(16, Target::Generic))
        .expect("spec");
    println!(
        "dense 2x256: layer weight words {}, cycles {}",
        dense.layout.weight_words - head_words,
        dense.cycles_per_frame()
    );
}

/// A deep weight memory on ECP5 is banked on its own (four cycles more per
/// pass, counted in the prediction); a shallow one, other targets and the
/// iCE40s are not, unless the configuration asks; a bank depth that is not
/// a power of two is refused.
#[test]
fn deep_weight_memories_on_ecp5_are_banked() {
    let big = ternary(40, &[256, 256], 10);
    let small = ternary(40, &[64, 64], 10);
    let extra = |m: &Model, hw: HwConfig| {
        let s = AcceleratorSpec::new(m, &hw).expect("spec");
        (s.pipeline.weight_read_extra, s.cycles_per_frame())
    };
    let (banked, cycles) = extra(&big, hw(16, Target::Ecp5_85k));
    let (plain, generic_cycles) = extra(&big, hw(16, Target::Generic));
    println!("2x256 at 16 lanes: {cycles} cycles banked on ECP5, {generic_cycles} plain");
    let longer = lstm_accel_spec::datapath::ram::BANKED_READ_LATENCY as u64 - 1;
    assert_eq!(banked, longer);
    assert_eq!(plain, 0);
    // Three passes (the two layers' rows, the head), each `longer` cycles
    // longer; each layer's h two more (the activations' second output
    // register on ECP5, twice on the path to h).
    assert_eq!(cycles - generic_cycles, 3 * longer + 2 * 2);
    assert_eq!(extra(&small, hw(16, Target::Ecp5_85k)).0, 0);
    let asked = HwConfig {
        weight_bank_depth: Some(64),
        ..hw(16, Target::Generic)
    };
    assert_eq!(extra(&small, asked).0, longer);
    let bad = HwConfig {
        weight_bank_depth: Some(100),
        ..hw(16, Target::Generic)
    };
    let e = AcceleratorSpec::new(&small, &bad).expect_err("refused");
    assert!(e.to_string().contains("weight_bank_depth = 100"), "{e}");
}

/// Row engines multiply the multiply-accumulates per cycle: the 2 x 256
/// model at 4 x 16 and 16 x 16 stays within 10 % of its ideal (MACs over
/// rows x lanes), one weight word holds every engine's codes, the bias
/// memory has a bank per engine, and the closed form of a one-layer frame
/// has the result queue's register and the last group's drain in it.
#[test]
fn row_engines_divide_the_cycles_and_bank_the_per_row_memories() {
    let m = ternary(40, &[256, 256], 10);
    let one = AcceleratorSpec::new(&m, &hw(16, Target::Generic)).expect("spec");
    for rows in [4, 16] {
        let h = HwConfig {
            rows,
            ..hw(16, Target::Generic)
        };
        let s = AcceleratorSpec::new(&m, &h).expect("spec");
        let e = &s.estimate;
        println!(
            "2x256 ternary, {rows} x 16: {} cycles/frame (1 x 16: {}), ideal {:.0}, ratio {:.4}",
            s.cycles_per_frame(),
            one.cycles_per_frame(),
            e.ideal_cycles,
            e.efficiency_ratio
        );
        assert!(e.efficiency_ratio <= 1.10, "ratio {}", e.efficiency_ratio);
        assert!((e.ideal_cycles - one.estimate.ideal_cycles / rows as f64).abs() < 1e-9);
        assert_eq!(s.word_bits, one.word_bits * rows as u32);
        assert_eq!(s.layout.weight_banks, one.layout.weight_banks * rows);
        // Gate rows split evenly; the 10 logits in groups, the last padded.
        let head_words = 256 / 16;
        let gate_words = one.layout.weight_words - 10 * head_words;
        assert_eq!(
            s.layout.weight_words,
            gate_words / rows + 10usize.div_ceil(rows) * head_words
        );
        let biases = s
            .memories
            .iter()
            .find(|x| x.name == "biases")
            .expect("biases");
        assert_eq!(
            biases.depth,
            (one.layout.rows - 10) / rows + 10usize.div_ceil(rows)
        );
        assert_eq!(biases.width, rows as u32 * s.layout.bias_width);
    }
    // 1 layer of 5 cells, 7 inputs, 3 classes, 3 engines of 4 lanes: two
    // cell groups of two words and two, a head group of 3 logits.
    let m = ternary(7, &[5], 3);
    let h = HwConfig {
        rows: 3,
        ..hw(4, Target::Generic)
    };
    let s = AcceleratorSpec::new(&m, &h).expect("spec");
    let p = s.pipeline;
    assert_eq!((p.queue_latency, p.queue_drain), (1, 2));
    let row_words = 7u64.div_ceil(4) + 5u64.div_ceil(4);
    // The last group's rows (cells 3 and 4, two cells through the gate
    // unit), the switch, the head's one group, its three logits through
    // the queue, the decode.
    let expect = 2 * 4 * row_words
        + p.mac_latency
        + 1
        + p.cell_latency
        + p.phase_switch
        + 5u64.div_ceil(4)
        + p.mac_latency
        + 2
        + p.decode_latency;
    assert_eq!(s.cycles_per_frame(), expect);
}

/// A row group shares one tap word: row engines must divide a structured
/// matrix's block size and a structured layer's cells; the error says so.
#[test]
fn row_engines_that_split_a_block_row_are_refused() {
    let mut r = random::rng(5);
    let shape = ModelShape {
        matrix_kinds: vec![MatrixKind::BlockCirculant],
        ..ModelShape::ternary(8, &[8], 4, 8)
    };
    let m = random::model(&mut r, &shape);
    let k = m
        .matrices()
        .iter()
        .find_map(|(_, x)| match x {
            Matrix::BlockCirculant(b) => Some(b.block),
            _ => None,
        })
        .expect("a block-circulant matrix");
    let ok = HwConfig {
        rows: 1,
        ..hw(1, Target::Generic)
    };
    assert!(AcceleratorSpec::new(&m, &ok).is_ok());
    let bad = HwConfig {
        rows: k + 1,
        ..ok.clone()
    };
    let err = AcceleratorSpec::new(&m, &bad)
        .expect_err("refused")
        .to_string();
    assert!(
        err.contains("row engines") && err.contains("block"),
        "{err}"
    );
    let zero = HwConfig { rows: 0, ..ok };
    let err = AcceleratorSpec::new(&m, &zero)
        .expect_err("refused")
        .to_string();
    assert!(err.contains("rows = 0"), "{err}");
}
