//! Runs the open-source tools on generated Verilog: Verilator's linter, Yosys
//! synthesis for iCE40 and ECP5 (with its cell statistics and any inferred
//! latch), and Icarus Verilog simulation. A missing tool is an error that says
//! how to install it, never a silent skip.
//!
//! Verilator waivers (rust-hdl idioms, each documented here):
//! - `WIDTH`: rust-hdl writes literals and `$signed(...)` casts without sizes
//!   and relies on Verilog's context sizing;
//! - `DECLFILENAME`, `UNUSEDSIGNAL` / `UNUSED`: rust-hdl writes every module of
//!   a design into one file and declares every port of a child, used or not;
//! - `MULTITOP`: a test bench file holds the design and its driver.

use lstm_accel_spec::target::Family;
use std::path::Path;
use std::process::Command;

/// Verilator warnings waived for rust-hdl's generated code (see module docs).
pub const VERILATOR_WAIVERS: [&str; 5] = [
    "WIDTH",
    "DECLFILENAME",
    "UNUSEDSIGNAL",
    "UNUSED",
    "MULTITOP",
];

/// Why a tool run failed.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The tool is not installed.
    #[error("{tool} is not installed (scripts/test installs it: {hint})")]
    Missing {
        /// Executable name.
        tool: String,
        /// How to install it.
        hint: String,
    },
    /// The tool ran and reported a failure.
    #[error("{tool} failed:\n{output}")]
    Failed {
        /// Executable name.
        tool: String,
        /// Its output.
        output: String,
    },
    /// Files could not be written.
    #[error("writing the tool's input: {0}")]
    Io(#[from] std::io::Error),
}

fn run(tool: &str, hint: &str, args: &[&str], dir: &Path) -> Result<String, ToolError> {
    let out = Command::new(tool)
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ToolError::Missing {
                tool: tool.into(),
                hint: hint.into(),
            },
            _ => ToolError::Io(e),
        })?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(ToolError::Failed {
            tool: tool.into(),
            output: text,
        })
    }
}

/// `verilator --lint-only -Wall` with the documented waivers; returns its
/// output (empty when clean). Any remaining warning is an error.
pub fn verilator_lint(verilog: &str, top: &str) -> Result<String, ToolError> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("design.v"), verilog)?;
    let mut args = vec!["--lint-only", "-Wall", "--top-module", top];
    let waivers: Vec<String> = VERILATOR_WAIVERS
        .iter()
        .map(|w| format!("-Wno-{w}"))
        .collect();
    args.extend(waivers.iter().map(String::as_str));
    args.push("design.v");
    run("verilator", "apt-get install verilator", &args, dir.path())
}

/// Translates `verilog` (file `design.v` in `dir`) to C++ with
/// `verilator --cc` into `dir/obj`, as the Verilator engine compiles it:
/// `-O3`, X values resolved to zero at start-up and in assignments (the
/// design initialises every register itself), lint warnings left to
/// [`verilator_lint`], optionally with VCD tracing compiled in. Returns the
/// include directory of Verilator's run-time sources.
pub fn verilator_cc(
    verilog: &str,
    top: &str,
    dir: &Path,
    trace: bool,
) -> Result<std::path::PathBuf, ToolError> {
    const HINT: &str = "apt-get install verilator";
    std::fs::write(dir.join("design.v"), verilog)?;
    let mut args = vec![
        "--cc",
        "design.v",
        "--top-module",
        top,
        "--Mdir",
        "obj",
        "-O3",
        "--x-assign",
        "0",
        "--x-initial",
        "0",
        "--noassert",
        "-Wno-fatal",
        "-Wno-lint",
        "-Wno-style",
    ];
    if trace {
        args.push("--trace");
    }
    run("verilator", HINT, &args, dir)?;
    let root = run("verilator", HINT, &["--getenv", "VERILATOR_ROOT"], dir)?;
    Ok(Path::new(root.trim()).join("include"))
}

/// The installed Verilator's version line (`Verilator 5.006 ...`).
pub fn verilator_version() -> Result<String, ToolError> {
    let dir = std::env::temp_dir();
    Ok(run(
        "verilator",
        "apt-get install verilator",
        &["--version"],
        &dir,
    )?
    .trim()
    .to_string())
}

/// What Yosys made of a design.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SynthStats {
    /// Cells by type, e.g. `SB_LUT4` or `LUT4`.
    pub cells: std::collections::BTreeMap<String, u64>,
    /// Signals Yosys inferred a latch for (must be empty).
    pub latches: Vec<String>,
}

impl SynthStats {
    /// Cells whose type starts with any of `prefixes`.
    pub fn count(&self, prefixes: &[&str]) -> u64 {
        self.cells
            .iter()
            .filter(|(k, _)| prefixes.iter().any(|p| k.starts_with(p)))
            .map(|(_, v)| v)
            .sum()
    }

    /// Look-up tables (`SB_LUT4` on iCE40, `LUT4` on ECP5).
    pub fn luts(&self) -> u64 {
        self.count(&["SB_LUT4", "LUT4"])
    }

    /// Flip-flops.
    pub fn flip_flops(&self) -> u64 {
        self.count(&["SB_DFF", "TRELLIS_FF"])
    }
}

/// Synthesises `verilog` for `family` with Yosys and reads its statistics.
pub fn yosys_synth(verilog: &str, top: &str, family: Family) -> Result<SynthStats, ToolError> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("design.v"), verilog)?;
    let synth = match family {
        Family::Ice40 => "synth_ice40",
        Family::Ecp5 => "synth_ecp5",
    };
    let script = format!("read_verilog design.v; {synth} -top {top}; tee -o stat.json stat -json");
    let log = run(
        "yosys",
        "apt-get install yosys",
        &["-p", &script],
        dir.path(),
    )?;
    let text = std::fs::read_to_string(dir.path().join("stat.json"))?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| ToolError::Failed {
        tool: "yosys".into(),
        output: format!("unreadable statistics: {e}"),
    })?;
    let cells = json["design"]["num_cells_by_type"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default();
    let latches = log
        .lines()
        .filter(|l| l.contains("Latch inferred for"))
        .map(|l| l.trim().to_string())
        .collect();
    Ok(SynthStats { cells, latches })
}

/// Compiles `sources` with Icarus Verilog (`iverilog -g2012`) and runs the
/// simulation; returns what it printed.
pub fn icarus_run(sources: &str, top: &str) -> Result<String, ToolError> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("sim.v"), sources)?;
    run(
        "iverilog",
        "apt-get install iverilog",
        &["-g2012", "-s", top, "-o", "sim.vvp", "sim.v"],
        dir.path(),
    )?;
    run(
        "vvp",
        "apt-get install iverilog",
        &["-n", "sim.vvp"],
        dir.path(),
    )
}

/// [`icarus_run`], keeping the lines that consist of integers only (what a
/// test bench `$display`s), each as its values.
pub fn icarus_values(sources: &str, top: &str) -> Result<Vec<Vec<i64>>, ToolError> {
    Ok(icarus_run(sources, top)?
        .lines()
        .filter_map(|l| {
            let v: Result<Vec<i64>, _> = l.split_whitespace().map(str::parse).collect();
            v.ok().filter(|v| !v.is_empty())
        })
        .collect())
}

/// The first cycle where Icarus's values differ from the native engine's,
/// described with the next few cycles of both (a whole run's values are too
/// many to print); `None` when every cycle agrees and the counts match.
pub fn first_difference(icarus: &[Vec<i64>], native: &[Vec<i64>]) -> Option<String> {
    if icarus.len() != native.len() {
        return Some(format!(
            "{} cycles from Icarus, {} from the native engine",
            icarus.len(),
            native.len()
        ));
    }
    let t = (0..native.len()).find(|&t| icarus[t] != native[t])?;
    let end = (t + 3).min(native.len());
    Some(format!(
        "cycle {t}: icarus {:?}, native {:?}",
        &icarus[t..end],
        &native[t..end]
    ))
}
