//! Icarus Verilog as a third, independent engine: the generated design runs
//! in an event-driven, four-state simulator under a generated, self-checking
//! test bench, with no foreign call per cycle.
//!
//! The test bench reads the input stream (every word the host driver sends,
//! `tlast` in bit 32) and the expected output stream (the reference's
//! replies) from hex files, offers the input words in order, takes every
//! output word, and compares each with the expected word at its position.
//! Optional random stalls (an xorshift generator seeded from the job) drop
//! `tvalid` and `tready` on random cycles. It writes every output word to a
//! file (so that the caller can name a difference the way the other engines
//! do) and ends with one summary line: cycles, words sent and received,
//! mismatched words, and whether it stopped because nothing moved for the
//! idle limit. After the last expected word it runs `drain` more cycles, so
//! that an extra output word is caught too. Because Icarus keeps `x`, an
//! output word with an undefined bit is reported as such, which the
//! two-state engines cannot see.
//!
//! A design is compiled once ([`IcarusDesign::compile`]); each
//! [`IcarusDesign::run`] is a fresh simulation from power-up, so one
//! compiled design serves any number of weight sets of its shape.

use crate::link::Stalls;
use crate::{SimError, StreamWord};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The test bench's top module.
pub const TESTBENCH_TOP: &str = "lstm_accel_tb";

/// One run of the test bench.
pub struct TestbenchJob<'a> {
    /// Words offered on the input stream, in order.
    pub input: &'a [StreamWord],
    /// Words the output stream must carry, in order.
    pub expected: &'a [StreamWord],
    /// Random stalls on both streams.
    pub stalls: Option<Stalls>,
    /// Give up after this many cycles in which no word moved on either
    /// stream while words are still to be sent or expected.
    pub idle_limit: u64,
    /// Cycles to keep running after the last expected word (extra words
    /// count as mismatches).
    pub drain: u64,
    /// Record every signal to this VCD file.
    pub vcd: Option<&'a Path>,
}

/// What the test bench saw.
#[derive(Clone, Debug, PartialEq)]
pub struct IcarusOutcome {
    /// Every word the design sent, in order.
    pub outputs: Vec<StreamWord>,
    /// Input words the design took.
    pub sent: u64,
    /// Output words that differ from the expected ones (extra words
    /// included), as the test bench counted them.
    pub mismatched_words: u64,
    /// The position of the first of them.
    pub first_mismatch: Option<u64>,
    /// Cycles simulated.
    pub cycles: u64,
    /// The run stopped because nothing moved for the idle limit.
    pub timed_out: bool,
    /// Wall-clock seconds of the simulation (compilation excluded).
    pub seconds: f64,
}

/// A generated design compiled with Icarus Verilog, ready to run test
/// benches.
pub struct IcarusDesign {
    dir: tempfile::TempDir,
    /// Compiled test benches by (input, expected) capacity.
    compiled: HashMap<(usize, usize), PathBuf>,
}

impl IcarusDesign {
    /// Checks that Icarus is installed and keeps `verilog` (top module
    /// `top`, the accelerator's stream ports) for compilation.
    pub fn compile(verilog: &str) -> Result<Self, SimError> {
        let dir = tempfile::Builder::new()
            .prefix("lstm-accel-icarus-")
            .tempdir()
            .map_err(|e| SimError::Io {
                path: std::env::temp_dir().display().to_string(),
                source: e,
            })?;
        write(&dir.path().join("design.v"), verilog)?;
        write(&dir.path().join("tb.v"), &testbench())?;
        let mut d = IcarusDesign {
            dir,
            compiled: HashMap::new(),
        };
        // Compile now, so that a design Icarus rejects fails here.
        d.vvp(1, 1)?;
        Ok(d)
    }

    /// The compiled test bench for at least `inputs` input and `expected`
    /// expected words (capacities are powers of two, so that runs of
    /// similar sizes share one compilation).
    fn vvp(&mut self, inputs: usize, expected: usize) -> Result<PathBuf, SimError> {
        let cap = (
            inputs.max(1).next_power_of_two(),
            expected.max(1).next_power_of_two(),
        );
        if let Some(p) = self.compiled.get(&cap) {
            return Ok(p.clone());
        }
        let out = self.dir.path().join(format!("tb-{}-{}.vvp", cap.0, cap.1));
        let o = Command::new("iverilog")
            .args(["-g2012", "-s", TESTBENCH_TOP])
            .arg(format!("-P{TESTBENCH_TOP}.IN_MAX={}", cap.0))
            .arg(format!("-P{TESTBENCH_TOP}.EXP_MAX={}", cap.1))
            .arg("-o")
            .arg(&out)
            .arg("design.v")
            .arg("tb.v")
            .current_dir(self.dir.path())
            .output()
            .map_err(missing("iverilog"))?;
        if !o.status.success() {
            return Err(SimError::Build(format!(
                "iverilog rejected the design:\n{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )));
        }
        self.compiled.insert(cap, out.clone());
        Ok(out)
    }

    /// Runs one test bench from power-up.
    pub fn run(&mut self, job: &TestbenchJob) -> Result<IcarusOutcome, SimError> {
        let vvp = self.vvp(job.input.len(), job.expected.len())?;
        let run = tempfile::Builder::new()
            .prefix("run-")
            .tempdir_in(self.dir.path())
            .map_err(|e| SimError::Io {
                path: self.dir.path().display().to_string(),
                source: e,
            })?;
        let (input, expected, output) = (
            run.path().join("in.hex"),
            run.path().join("expected.hex"),
            run.path().join("out.txt"),
        );
        write(&input, &hex(job.input))?;
        write(&expected, &hex(job.expected))?;
        let (p_in, p_out, seed) = job.stalls.map_or((0, 0, 1), |s| {
            (
                (s.input.clamp(0.0, 1.0) * 1000.0) as u32,
                (s.output.clamp(0.0, 1.0) * 1000.0) as u32,
                s.seed,
            )
        });
        let mut cmd = Command::new("vvp");
        cmd.arg("-n")
            .arg(&vvp)
            .arg(format!("+in={}", input.display()))
            .arg(format!("+expected={}", expected.display()))
            .arg(format!("+out={}", output.display()))
            .arg(format!("+n_in={}", job.input.len()))
            .arg(format!("+n_exp={}", job.expected.len()))
            .arg(format!("+p_in={p_in}"))
            .arg(format!("+p_out={p_out}"))
            // xorshift32 must not start at zero.
            .arg(format!(
                "+seed={}",
                (seed as u32 ^ (seed >> 32) as u32).max(1)
            ))
            .arg(format!("+idle={}", job.idle_limit.max(1)))
            .arg(format!("+drain={}", job.drain));
        if let Some(v) = job.vcd {
            cmd.arg(format!("+vcd={}", v.display()));
        }
        let start = Instant::now();
        let o = cmd.output().map_err(missing("vvp"))?;
        let seconds = start.elapsed().as_secs_f64();
        let printed = String::from_utf8_lossy(&o.stdout);
        let summary = printed
            .lines()
            .find(|l| l.starts_with("LSTM_ACCEL_TB "))
            .ok_or_else(|| {
                SimError::Build(format!(
                    "the Icarus test bench ended without its summary:\n{printed}{}",
                    String::from_utf8_lossy(&o.stderr)
                ))
            })?;
        let field = |name: &str| -> Result<i64, SimError> {
            summary
                .split_whitespace()
                .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| SimError::Build(format!("no {name} in the summary: {summary}")))
        };
        let text = std::fs::read_to_string(&output).map_err(|e| SimError::Io {
            path: output.display().to_string(),
            source: e,
        })?;
        let outputs = text
            .lines()
            .enumerate()
            .map(|(k, l)| parse_output(k, l))
            .collect::<Result<Vec<_>, _>>()?;
        let first = field("first")?;
        Ok(IcarusOutcome {
            outputs,
            sent: field("sent")? as u64,
            mismatched_words: field("mismatches")? as u64,
            first_mismatch: (first >= 0).then_some(first as u64),
            cycles: field("cycles")? as u64,
            timed_out: field("timeout")? != 0,
            seconds,
        })
    }
}

fn parse_output(k: usize, line: &str) -> Result<StreamWord, SimError> {
    let mut f = line.split_whitespace();
    let (data, last) = (f.next().unwrap_or(""), f.next().unwrap_or(""));
    let undefined = || {
        SimError::Build(format!(
            "output word {k} has undefined bits (Icarus printed `{line}`): the design drives x or z onto the stream"
        ))
    };
    Ok(StreamWord {
        data: u32::from_str_radix(data, 16).map_err(|_| undefined())?,
        last: match last {
            "0" => false,
            "1" => true,
            _ => return Err(undefined()),
        },
    })
}

fn missing(tool: &'static str) -> impl FnOnce(std::io::Error) -> SimError {
    move |e| {
        SimError::Build(format!(
            "running {tool}: {e} (Icarus Verilog is not installed? scripts/test installs it: apt-get install iverilog)"
        ))
    }
}

fn write(path: &Path, text: &str) -> Result<(), SimError> {
    std::fs::write(path, text).map_err(|e| SimError::Io {
        path: path.display().to_string(),
        source: e,
    })
}

/// One 33-bit word per line: `tlast` then `tdata`.
fn hex(words: &[StreamWord]) -> String {
    let mut s = String::with_capacity(words.len() * 10);
    for w in words {
        let _ = writeln!(s, "{:09x}", (u64::from(w.last) << 32) | u64::from(w.data));
    }
    s
}

/// The self-checking test bench (see the module documentation).
fn testbench() -> String {
    format!(
        r#"`timescale 1ns/1ps
module {TESTBENCH_TOP};
parameter IN_MAX = 1;
parameter EXP_MAX = 1;
reg clock = 0;
reg [32:0] in_words [0:IN_MAX-1];
reg [32:0] exp_words [0:EXP_MAX-1];
reg [8*1024-1:0] in_file, exp_file, out_file, vcd_file;
integer n_in = 0, n_exp = 0, p_in = 0, p_out = 0, idle_limit = 1, drain = 0;
integer out_fd, i = 0, k = 0, cycle = 0, idle = 0, after = 0;
integer mismatches = 0, first_bad = -1;
reg [31:0] rng = 1;
reg stall_in = 0, stall_out = 0;
wire s_tready, m_tvalid, m_tlast;
wire [31:0] m_tdata;
wire [32:0] word = in_words[(i < n_in) ? i : 0];
wire s_tvalid = (i < n_in) && !stall_in;
wire m_tready = !stall_out;
top uut(.clock(clock), .reset(1'b0),
        .s_tdata(word[31:0]), .s_tvalid(s_tvalid), .s_tlast(word[32]), .s_tready(s_tready),
        .m_tdata(m_tdata), .m_tvalid(m_tvalid), .m_tlast(m_tlast), .m_tready(m_tready), .busy());
initial begin
    if (!$value$plusargs("in=%s", in_file) || !$value$plusargs("expected=%s", exp_file)
        || !$value$plusargs("out=%s", out_file) || !$value$plusargs("n_in=%d", n_in)
        || !$value$plusargs("n_exp=%d", n_exp)) begin
        $display("LSTM_ACCEL_TB_ERROR missing plusargs");
        $finish;
    end
    if (n_in > IN_MAX || n_exp > EXP_MAX) begin
        $display("LSTM_ACCEL_TB_ERROR streams longer than the compiled capacity");
        $finish;
    end
    if ($value$plusargs("p_in=%d", p_in)) ;
    if ($value$plusargs("p_out=%d", p_out)) ;
    if ($value$plusargs("seed=%d", rng)) ;
    if ($value$plusargs("idle=%d", idle_limit)) ;
    if ($value$plusargs("drain=%d", drain)) ;
    if (n_in > 0) $readmemh(in_file, in_words, 0, n_in - 1);
    if (n_exp > 0) $readmemh(exp_file, exp_words, 0, n_exp - 1);
    out_fd = $fopen(out_file, "w");
    if ($value$plusargs("vcd=%s", vcd_file)) begin
        $dumpfile(vcd_file);
        $dumpvars(0, {TESTBENCH_TOP});
    end
end
always #5 clock = ~clock;
always @(posedge clock) begin
    cycle <= cycle + 1;
    // xorshift32: the stall pattern of a seed is the same on every run.
    rng = rng ^ (rng << 13);
    rng = rng ^ (rng >> 17);
    rng = rng ^ (rng << 5);
    stall_in <= (rng % 1000) < p_in;
    stall_out <= ((rng >> 12) % 1000) < p_out;
    if (s_tvalid && s_tready)
        i <= i + 1;
    if (m_tvalid && m_tready) begin
        $fdisplay(out_fd, "%h %0d", m_tdata, m_tlast);
        if (k >= n_exp || {{m_tlast, m_tdata}} !== exp_words[k]) begin
            mismatches = mismatches + 1;
            if (first_bad < 0) first_bad = k;
        end
        k <= k + 1;
    end
    if ((s_tvalid && s_tready) || (m_tvalid && m_tready))
        idle <= 0;
    else
        idle <= idle + 1;
    if (i >= n_in && k >= n_exp)
        after <= after + 1;
    if (after >= drain || (idle >= idle_limit && (i < n_in || k < n_exp))) begin
        $display("LSTM_ACCEL_TB cycles=%0d sent=%0d received=%0d mismatches=%0d first=%0d timeout=%0d",
                 cycle + 1, i, k, mismatches, first_bad, (after < drain) ? 1 : 0);
        $fclose(out_fd);
        $finish;
    end
end
endmodule
"#
    )
}
