//! The generated Verilog of whole accelerators: Verilator lints it with
//! only the documented waivers, Yosys synthesises it for iCE40 and ECP5
//! without latches, and Icarus Verilog, fed the host driver's stream with
//! output back-pressure, produces the same output words in the same cycles
//! as the native engine, which the spine test proves equal to the reference.

use lstm_accel_hdl::accelerator::verilog;
use lstm_accel_hdl::tools::{icarus_values, verilator_lint, yosys_synth};
use lstm_accel_host::driver::Driver;
use lstm_accel_host::link::{Link, LinkError};
use lstm_accel_model::random::{self, MatrixKind, ModelShape, ScalarKind};
use lstm_accel_model::Model;
use lstm_accel_sim::link::packet_words;
use lstm_accel_sim::native::NativeDevice;
use lstm_accel_sim::{Device, StreamWord};
use lstm_accel_spec::protocol::{header, READ_STATE, RESULT, STATE_REPLY};
use lstm_accel_spec::spec::{AcceleratorSpec, HwConfig};
use lstm_accel_spec::target::Family;
use lstm_accel_spec::Target;
use std::fmt::Write;

/// A link that records what the driver sends.
#[derive(Default)]
struct Recorder(Vec<StreamWord>);

impl Link for Recorder {
    fn send(&mut self, packet: &[u32]) -> Result<(), LinkError> {
        self.0.extend(packet_words(packet));
        Ok(())
    }
    fn receive(&mut self) -> Result<Vec<u32>, LinkError> {
        Err(LinkError::Timeout(0))
    }
}

fn model(seed: u64, layers: usize, per_row: bool) -> Model {
    model_with(seed, layers, per_row, false)
}

/// [`model`]; with `compressed`, a LightRNN head, codebook matrices
/// (power-of-two and general) among the others, and a projection on every
/// other layer (the first one's smaller than its cells).
fn model_with(seed: u64, layers: usize, per_row: bool, compressed: bool) -> Model {
    let mut r = random::rng(seed);
    let shape = ModelShape {
        input: 7,
        hidden: vec![5; layers],
        projection: (0..layers)
            .map(|l| (compressed && l % 2 == 0).then_some(3 + 4 * l))
            .collect(),
        classes: if compressed { 7 } else { 4 },
        light_rnn: compressed,
        matrix_kinds: vec![if per_row {
            MatrixKind::DensePerRow
        } else {
            MatrixKind::Dense
        }],
        scalar_kinds: if compressed {
            vec![
                ScalarKind::CodebookPow2,
                ScalarKind::Codebook,
                ScalarKind::Ternary,
            ]
        } else {
            vec![ScalarKind::Ternary, ScalarKind::Pow2]
        },
        extreme: true,
        data_width: None,
    };
    random::model(&mut r, &shape)
}

/// A model with block-Toeplitz, block-circulant, Toeplitz-like and
/// low-rank matrices whose block sizes suit `lanes` (drawn until at least
/// one of each structure is in it).
fn structured_model(seed: u64, lanes: usize) -> Model {
    structured_model_on(seed, lanes, 1)
}

/// [`structured_model`] for `rows` row engines (whose groups must lie in
/// one block row).
fn structured_model_on(seed: u64, lanes: usize, rows: usize) -> Model {
    use lstm_accel_model::encoding::Matrix;
    let mut r = random::rng(seed);
    let shape = ModelShape {
        input: 9,
        hidden: vec![6, 4],
        projection: vec![None, Some(5)],
        classes: 5,
        light_rnn: false,
        matrix_kinds: vec![
            MatrixKind::BlockToeplitz,
            MatrixKind::BlockCirculant,
            MatrixKind::ToeplitzLike,
            MatrixKind::LowRank,
        ],
        scalar_kinds: vec![ScalarKind::Ternary, ScalarKind::Pow2],
        extreme: true,
        data_width: None,
    };
    loop {
        let m = random::model(&mut r, &shape);
        let ms = m.matrices();
        let fits = ms.iter().all(|(_, x)| match x {
            Matrix::BlockToeplitz(b) | Matrix::BlockCirculant(b) => {
                b.block % lanes == 0 || lanes % b.block == 0
            }
            Matrix::ToeplitzLike(t) => t.block % lanes == 0,
            _ => true,
        });
        let has = |f: fn(&Matrix) -> bool| ms.iter().any(|(_, x)| f(x));
        let hw = HwConfig {
            rows,
            ..HwConfig::on(lanes, Target::Generic)
        };
        if fits
            && AcceleratorSpec::new(&m, &hw).is_ok()
            && has(|x| matches!(x, Matrix::BlockToeplitz(_)))
            && has(|x| matches!(x, Matrix::BlockCirculant(_)))
            && has(|x| matches!(x, Matrix::LowRank(_)))
            && has(|x| matches!(x, Matrix::ToeplitzLike(_)))
        {
            return m;
        }
    }
}

fn spec(m: &Model, lanes: usize) -> AcceleratorSpec {
    spec_rows(m, lanes, 1)
}

/// The spec of `m` on `rows` row engines of `lanes` lanes.
fn spec_rows(m: &Model, lanes: usize, rows: usize) -> AcceleratorSpec {
    let hw = HwConfig {
        rows,
        ..HwConfig::on(lanes, Target::Generic)
    };
    AcceleratorSpec::new(m, &hw).expect("spec")
}

/// The driver's stream for loading `m`, a reset and `frames` frames, each
/// followed by a state read-back request.
fn stream(m: &Model, s: &AcceleratorSpec, frames: usize) -> Vec<StreamWord> {
    let mut d = Driver::new(Recorder::default(), s.clone());
    d.load(m).expect("load");
    d.reset().expect("reset");
    let mut r = random::rng(9);
    for (i, f) in random::frames(&mut r, m, frames, 0.3).iter().enumerate() {
        d.send_frame(i, f).expect("frame");
        d.link_mut()
            .send(&[header(READ_STATE, 0)])
            .expect("recorded");
    }
    d.link().0.clone()
}

/// Output back-pressure pattern shared by both engines.
fn out_ready(cycle: u64) -> bool {
    cycle % 3 != 1
}

/// (cycle, data, last) of every output word in the native engine.
fn native_outputs(
    m: &Model,
    s: &AcceleratorSpec,
    words: &[StreamWord],
    cycles: u64,
) -> Vec<Vec<i64>> {
    let mut dev = NativeDevice::new(m, s).expect("design");
    let mut i = 0;
    let mut out = Vec::new();
    for c in 0..cycles {
        let e = dev.cycle(words.get(i).copied(), out_ready(c));
        if e.accepted {
            i += 1;
        }
        if let Some(w) = e.output {
            out.push(vec![c as i64, i64::from(w.data as i32), i64::from(w.last)]);
        }
    }
    out
}

fn testbench(words: &[StreamWord], cycles: u64) -> String {
    let n = words.len();
    let mut tb = String::new();
    let _ = writeln!(
        tb,
        "module tb;
reg clock = 0;
reg signed [31:0] s_tdata;
reg s_tvalid, s_tlast, m_tready;
wire s_tready, m_tvalid, m_tlast;
wire signed [31:0] m_tdata;
wire signed [1:0] busy;
reg [32:0] words [0:{n1}];
integer i = 0;
integer cycle = 0;
top uut(.clock(clock), .reset(1'b0), .s_tdata(s_tdata), .s_tvalid(s_tvalid), .s_tlast(s_tlast), .s_tready(s_tready),
        .m_tdata(m_tdata), .m_tvalid(m_tvalid), .m_tlast(m_tlast), .m_tready(m_tready), .busy(busy));
initial begin",
        n1 = n.max(1) - 1
    );
    for (k, w) in words.iter().enumerate() {
        let _ = writeln!(
            tb,
            "    words[{k}] = 33'h{:09x};",
            (u64::from(w.last) << 32) | u64::from(w.data)
        );
    }
    let _ = writeln!(
        tb,
        "end
always @(*) begin
    s_tvalid = i < {n};
    s_tdata = words[i < {n} ? i : 0][31:0];
    s_tlast = words[i < {n} ? i : 0][32];
    m_tready = (cycle % 3) != 1;
end
always #5 clock = ~clock;
always @(posedge clock) begin
    if (s_tvalid && s_tready)
        i <= i + 1;
    if (m_tvalid && m_tready)
        $display(\"%0d %0d %0d\", cycle, m_tdata, m_tlast);
    cycle <= cycle + 1;
    if (cycle == {last})
        $finish;
end
endmodule",
        last = cycles - 1
    );
    tb
}

#[test]
fn icarus_runs_the_generated_design_like_the_native_engine() {
    for (seed, layers, lanes, rows, per_row, compressed) in [
        (1, 1, 4, 1, false, false),
        (2, 2, 3, 1, true, false),
        (6, 1, 2, 1, false, true),
        // Structured and low-rank matrices, blocks wider and narrower than
        // the lanes.
        (10, 2, 4, 1, false, false),
        (11, 2, 1, 1, false, false),
        // Row engines: per-row scales and padding groups, the compressed
        // forms, structured matrices sharing a tap word.
        (2, 2, 3, 3, true, false),
        (6, 1, 2, 4, false, true),
        (14, 2, 2, 2, false, false),
        // As many row engines as a block has rows: one window, lanes wired
        // to their taps.
        (15, 2, 4, 4, false, false),
    ] {
        let m = if seed >= 10 {
            structured_model_on(seed, lanes, rows)
        } else {
            model_with(seed, layers, per_row, compressed)
        };
        let s = spec_rows(&m, lanes, rows);
        if seed >= 10 {
            assert!(s.layout.tap_words > 0 && !s.layout.factors().is_empty());
        }
        if seed == 15 {
            let lay = &s.layout;
            assert!(
                lay.conv_modes
                    .iter()
                    .any(|c| c.issued_windows(lanes, rows).len() == 1),
                "a block of {rows} rows: {:?}",
                lay.conv_modes
            );
        }
        if compressed {
            // Codebooks (general ones: multiplier lanes), a LightRNN head
            // and a projection.
            assert!(s.layout.lane_values && s.layout.head.light_rnn.is_some());
            assert!(s.layout.layers[0].projection.is_some());
        }
        let words = stream(&m, &s, 3);
        let cycles = words.len() as u64 * 2 + 4 * (s.cycles_per_frame() + 200);
        let native = native_outputs(&m, &s, &words, cycles);
        let packets = native.iter().filter(|w| w[2] == 1).count();
        assert_eq!(packets, 6, "three results, three states (seed {seed})");
        let headers: Vec<u32> = native
            .iter()
            .enumerate()
            .filter(|(k, _)| *k == 0 || native[k - 1][2] == 1)
            .map(|(_, w)| w[1] as u32 >> 24)
            .collect();
        assert_eq!(headers, [RESULT, STATE_REPLY].repeat(3), "seed {seed}");
        let v = verilog(&m, &s).expect("verilog");
        let icarus = icarus_values(&format!("{v}\n{}", testbench(&words, cycles)), "tb")
            .expect("icarus runs");
        assert_eq!(icarus, native, "seed {seed}, {rows} rows");
    }
}

#[test]
fn verilator_lints_the_whole_design() {
    for (seed, layers, lanes, per_row, compressed) in [
        (3, 1, 1, false, false),
        (4, 3, 16, true, false),
        (7, 2, 4, true, true),
    ] {
        let m = model_with(seed, layers, per_row, compressed);
        let v = verilog(&m, &spec(&m, lanes)).expect("verilog");
        let out = verilator_lint(&v, "top").unwrap_or_else(|e| panic!("{e}"));
        assert!(out.trim().is_empty(), "{out}");
    }
    for (lanes, rows) in [(4, 1), (1, 1), (2, 2)] {
        let m = structured_model_on(12, lanes, rows);
        let v = verilog(&m, &spec_rows(&m, lanes, rows)).expect("verilog");
        let out = verilator_lint(&v, "top").unwrap_or_else(|e| panic!("{e}"));
        assert!(
            out.trim().is_empty(),
            "structured, {rows} x {lanes} lanes: {out}"
        );
    }
    // Row engines with codebooks (each engine's tables), a LightRNN head
    // and per-row scales.
    // Six engines take their shared inputs through the fan-out tree's
    // group registers (a group of four and a short one of two).
    let m = model_with(7, 2, true, true);
    for rows in [3, 6] {
        let v = verilog(&m, &spec_rows(&m, 4, rows)).expect("verilog");
        let out = verilator_lint(&v, "top").unwrap_or_else(|e| panic!("{e}"));
        assert!(out.trim().is_empty(), "{rows} row engines: {out}");
    }
}

/// The same 2 x 24-cell, 8-lane design at 8-bit and at 16-bit data (every
/// other width follows from the model): Yosys's LUT count for iCE40 must be
/// clearly lower at 8 bits.
#[test]
fn an_8_bit_design_takes_clearly_fewer_luts_than_a_16_bit_one() {
    let luts = |width: u32| {
        let mut r = random::rng(21);
        let m = random::model(&mut r, &ModelShape::ternary(16, &[24, 24], 10, width));
        let v = verilog(&m, &spec(&m, 8)).expect("verilog");
        let st = yosys_synth(&v, "top", Family::Ice40).unwrap_or_else(|e| panic!("{e}"));
        assert!(st.latches.is_empty());
        st.luts()
    };
    let (l8, l16) = (luts(8), luts(16));
    println!("iCE40 LUTs: 8-bit {l8}, 16-bit {l16}");
    assert!(l8 * 4 < l16 * 3, "8-bit {l8} LUTs vs 16-bit {l16}");
}

#[test]
fn yosys_synthesises_the_whole_design_without_latches() {
    let m = model(5, 2, true);
    let v = verilog(&m, &spec(&m, 8)).expect("verilog");
    // Every compressed form the design runs: codebooks, LightRNN,
    // projection; structured and low-rank matrices.
    let c = model_with(8, 2, true, true);
    let sm = structured_model(13, 4);
    let rm = structured_model_on(13, 2, 2);
    for (what, m, lanes, rows) in [
        ("compressed", &c, 4, 1),
        ("structured", &sm, 4, 1),
        ("compressed, 4 row engines", &c, 4, 4),
        ("compressed, 6 row engines (fan-out tree)", &c, 2, 6),
        ("structured, 2 row engines", &rm, 2, 2),
    ] {
        let vc = verilog(m, &spec_rows(m, lanes, rows)).expect("verilog");
        let st = yosys_synth(&vc, "top", Family::Ecp5).unwrap_or_else(|e| panic!("{e}"));
        assert!(st.latches.is_empty(), "{what}: {:?}", st.latches);
    }
    for family in [Family::Ice40, Family::Ecp5] {
        let st = yosys_synth(&v, "top", family).unwrap_or_else(|e| panic!("{e}"));
        assert!(st.latches.is_empty(), "{family:?}: {:?}", st.latches);
        assert!(st.luts() > 0);
    }
}
