//! The Verilator engine: the generated Verilog itself, translated to C++ by
//! `verilator --cc`, compiled with the `cc` crate together with a small C
//! shim (`verilator_shim.cpp`) into a shared library, and loaded into this
//! process. One foreign call runs one clock cycle, so the engine runs the
//! exact Verilog a bitstream is made from at millions of cycles a second.
//!
//! Building happens at run time because the design depends on the model
//! (its widths, layer count and lanes). Builds are cached by design: a
//! directory per Verilog text and options holds the library and the Verilog
//! it was made from (compared in full before a reuse), and Verilator's own
//! run-time objects are compiled once per option set. Directories are
//! filled under a temporary name and renamed into place, so concurrent
//! builds and interrupted ones never leave a half-written cache entry.
//!
//! The same machinery builds the serial design (UART, link and accelerator)
//! as a [`VerilatorSerialDevice`] for the virtual board.
//!
//! The crates.io `verilator` crate expects Verilator 4's file names; this
//! engine works with Verilator 5.
#![allow(unsafe_code)]

use crate::serial::{SerialDevice, SerialPins};
use crate::{Device, Edge, SimError, StreamWord};
use lstm_accel_hdl::accelerator::verilog;
use lstm_accel_hdl::tools::{verilator_cc, ToolError};
use lstm_accel_model::Model;
use lstm_accel_spec::AcceleratorSpec;
use std::ffi::{c_char, c_int, c_void, CString};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

/// The C shim compiled into every design's library.
const SHIM: &str = include_str!("verilator_shim.cpp");
/// Verilator's run-time sources the library needs.
const RUNTIME: [&str; 2] = ["verilated.cpp", "verilated_threads.cpp"];
/// And with tracing.
const RUNTIME_TRACE: &str = "verilated_vcd_c.cpp";
const ACCEPTED: u32 = 1;
const OUT_VALID: u32 = 2;
const OUT_LAST: u32 = 4;

/// How a design is built.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VerilatorOptions {
    /// Where builds are cached.
    pub cache: PathBuf,
    /// The C++ compiler's optimisation level (0 builds fastest; 2 runs
    /// fastest).
    pub opt_level: u32,
    /// Compile VCD tracing in (slower; needed for [`VerilatorDevice::record_vcd`]).
    pub trace: bool,
}

impl VerilatorOptions {
    /// Options for a cache directory: optimised, no tracing.
    pub fn new(cache: impl Into<PathBuf>) -> Self {
        VerilatorOptions {
            cache: cache.into(),
            opt_level: 2,
            trace: false,
        }
    }

    /// The user's cache directory: `$XDG_CACHE_HOME/lstm-accel/verilator`,
    /// else `$HOME/.cache/...`, else the system's temporary directory.
    pub fn default_cache() -> PathBuf {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        base.join("lstm-accel").join("verilator")
    }
}

type NewFn = unsafe extern "C" fn() -> *mut c_void;
type FreeFn = unsafe extern "C" fn(*mut c_void);
type TraceFn = unsafe extern "C" fn(*mut c_void, *const c_char) -> c_int;
type CycleFn = unsafe extern "C" fn(*mut c_void, u32, u32, *mut u32) -> u32;
type SerialCycleFn = unsafe extern "C" fn(*mut c_void, u32) -> u32;

/// Which ports the design's top has, and so which shim it is built with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Ports {
    /// The accelerator's AXI4-Stream ports.
    Stream,
    /// The serial design's line and status pins.
    Serial,
}

/// A design's loaded library and its live model.
struct Loaded {
    handle: *mut c_void,
    free: FreeFn,
    trace: TraceFn,
    library: PathBuf,
    // Dropped after `Drop::drop` freed the model: the functions point into it.
    lib: libloading::Library,
}

impl Loaded {
    fn new(verilog: &str, ports: Ports, options: &VerilatorOptions) -> Result<Self, SimError> {
        let library = build(verilog, ports, options)?;
        // SAFETY: the library was built by `build` from the shim above; the
        // symbols below have exactly these C signatures, and the `Library`
        // is kept alive (and dropped last) alongside the pointers.
        unsafe {
            let lib = libloading::Library::new(&library).map_err(|e| load_error(&library, e))?;
            let new: NewFn = *lib
                .get::<NewFn>(b"lstm_accel_new\0")
                .map_err(|e| load_error(&library, e))?;
            let free: FreeFn = *lib
                .get::<FreeFn>(b"lstm_accel_free\0")
                .map_err(|e| load_error(&library, e))?;
            let trace: TraceFn = *lib
                .get::<TraceFn>(b"lstm_accel_trace\0")
                .map_err(|e| load_error(&library, e))?;
            let handle = new();
            Ok(Loaded {
                handle,
                free,
                trace,
                library,
                lib,
            })
        }
    }

    /// The function `name` of the shim.
    ///
    /// # Safety
    /// `T` must be the function's C signature.
    unsafe fn function<T: Copy>(&self, name: &[u8]) -> Result<T, SimError> {
        self.lib
            .get::<T>(name)
            .map(|f| *f)
            .map_err(|e| load_error(&self.library, e))
    }

    fn record_vcd(&mut self, path: &Path) -> Result<(), SimError> {
        let c = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| SimError::Io {
            path: path.display().to_string(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "NUL in the path"),
        })?;
        // SAFETY: `handle` is live until drop; `c` outlives the call.
        let missing = unsafe { (self.trace)(self.handle, c.as_ptr()) } != 0;
        if missing {
            return Err(SimError::Build(
                "this design was built without tracing: build it with trace enabled".into(),
            ));
        }
        Ok(())
    }
}

impl Drop for Loaded {
    fn drop(&mut self) {
        // SAFETY: `handle` came from `lstm_accel_new` and is freed once.
        unsafe { (self.free)(self.handle) }
    }
}

/// The Verilator engine.
pub struct VerilatorDevice {
    cycle: CycleFn,
    reset: bool,
    cycles: u64,
    loaded: Loaded,
}

impl VerilatorDevice {
    /// Builds (or takes from the cache) the design of `spec` for `model`.
    pub fn new(
        model: &Model,
        spec: &AcceleratorSpec,
        options: &VerilatorOptions,
    ) -> Result<Self, SimError> {
        Self::from_verilog(&verilog(model, spec)?, options)
    }

    /// Builds (or takes from the cache) a generated design with the
    /// accelerator's ports (top module `top`).
    pub fn from_verilog(verilog: &str, options: &VerilatorOptions) -> Result<Self, SimError> {
        let loaded = Loaded::new(verilog, Ports::Stream, options)?;
        // SAFETY: the shim defines it with this signature.
        let cycle = unsafe { loaded.function::<CycleFn>(b"lstm_accel_cycle\0")? };
        Ok(VerilatorDevice {
            cycle,
            reset: false,
            cycles: 0,
            loaded,
        })
    }

    /// The shared library this device runs.
    pub fn library(&self) -> &Path {
        &self.loaded.library
    }

    /// Records every signal to `path` from now on (needs
    /// [`VerilatorOptions::trace`]).
    pub fn record_vcd(&mut self, path: &Path) -> Result<(), SimError> {
        self.loaded.record_vcd(path)
    }
}

impl Device for VerilatorDevice {
    fn cycle(&mut self, input: Option<StreamWord>, out_ready: bool) -> Edge {
        let (data, mut flags) = match input {
            Some(w) => (w.data, 1 | if w.last { 2 } else { 0 }),
            None => (0, 0),
        };
        if out_ready {
            flags |= 4;
        }
        if self.reset {
            flags |= 8;
        }
        let mut out = 0u32;
        // SAFETY: `handle` is live until drop; `out` is a valid u32.
        let r = unsafe { (self.cycle)(self.loaded.handle, data, flags, &mut out) };
        self.cycles += 1;
        Edge {
            accepted: r & ACCEPTED != 0,
            output: (r & OUT_VALID != 0).then_some(StreamWord {
                data: out,
                last: r & OUT_LAST != 0,
            }),
        }
    }

    fn set_reset(&mut self, asserted: bool) {
        self.reset = asserted;
    }

    fn cycles(&self) -> u64 {
        self.cycles
    }

    fn engine(&self) -> &'static str {
        "verilator"
    }
}

/// The serial design (UART, link and accelerator) in Verilator.
pub struct VerilatorSerialDevice {
    cycle: SerialCycleFn,
    reset: bool,
    cycles: u64,
    loaded: Loaded,
}

impl VerilatorSerialDevice {
    /// Builds (or takes from the cache) the serial design of `spec` with
    /// `clocks_per_bit` clocks per bit.
    pub fn new(
        model: &Model,
        spec: &AcceleratorSpec,
        clocks_per_bit: u64,
        options: &VerilatorOptions,
    ) -> Result<Self, SimError> {
        let v = lstm_accel_hdl::serial_top::serial_verilog(model, spec, clocks_per_bit)?;
        let loaded = Loaded::new(&v, Ports::Serial, options)?;
        // SAFETY: the shim defines it with this signature.
        let cycle = unsafe { loaded.function::<SerialCycleFn>(b"lstm_accel_serial_cycle\0")? };
        Ok(VerilatorSerialDevice {
            cycle,
            reset: false,
            cycles: 0,
            loaded,
        })
    }

    /// Records every signal to `path` from now on (needs
    /// [`VerilatorOptions::trace`]).
    pub fn record_vcd(&mut self, path: &Path) -> Result<(), SimError> {
        self.loaded.record_vcd(path)
    }
}

impl SerialDevice for VerilatorSerialDevice {
    fn cycle(&mut self, rx: bool) -> SerialPins {
        // SAFETY: `handle` is live until drop.
        let pins = u32::from(rx) | (u32::from(self.reset) << 1);
        let r = unsafe { (self.cycle)(self.loaded.handle, pins) };
        self.cycles += 1;
        SerialPins {
            tx: r & 1 != 0,
            busy: r & 2 != 0,
            link_error: r & 4 != 0,
        }
    }

    fn set_reset(&mut self, asserted: bool) {
        self.reset = asserted;
    }

    fn cycles(&self) -> u64 {
        self.cycles
    }

    fn engine(&self) -> &'static str {
        "verilator"
    }
}

fn load_error(path: &Path, e: libloading::Error) -> SimError {
    SimError::Build(format!("loading {}: {e}", path.display()))
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> SimError + '_ {
    move |source| SimError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn tool_error(e: ToolError) -> SimError {
    SimError::Build(e.to_string())
}

/// A cache key (not stable across Rust releases, which only costs a rebuild:
/// every entry is compared with what it was built from before a reuse).
fn key(what: impl Hash) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    what.hash(&mut h);
    format!("{:016x}", h.finish())
}

/// Makes `dir` by filling a temporary sibling with `fill` and renaming it;
/// if another build got there first, keeps theirs.
fn create_atomically(
    dir: &Path,
    fill: impl FnOnce(&Path) -> Result<(), SimError>,
) -> Result<(), SimError> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io_error(parent))?;
    let tmp = tempfile::Builder::new()
        .prefix(".building-")
        .tempdir_in(parent)
        .map_err(io_error(parent))?;
    fill(tmp.path())?;
    let tmp = tmp.keep();
    if std::fs::rename(&tmp, dir).is_err() {
        // Another process finished the same build first.
        let _ = std::fs::remove_dir_all(&tmp);
        if !dir.exists() {
            return Err(SimError::Build(format!(
                "could not create {}",
                dir.display()
            )));
        }
    }
    Ok(())
}

fn compiler(options: &VerilatorOptions, out: &Path, include: &Path) -> cc::Build {
    let mut b = cc::Build::new();
    b.cpp(true)
        .target(env!("LSTM_ACCEL_SIM_TARGET"))
        .host(env!("LSTM_ACCEL_SIM_HOST"))
        .opt_level(options.opt_level)
        .debug(false)
        .pic(true)
        .warnings(false)
        .cargo_metadata(false)
        .cargo_warnings(false)
        .out_dir(out)
        .include(include)
        .include(include.join("vltstd"))
        .flag("-std=c++17")
        .flag("-fno-gnu-unique");
    if options.trace {
        b.define("VM_TRACE", "1");
        b.define("LSTM_ACCEL_TRACE", None);
    }
    b
}

/// Verilator's run-time objects for these options, compiled once.
fn runtime(options: &VerilatorOptions, include: &Path) -> Result<Vec<PathBuf>, SimError> {
    let version = lstm_accel_hdl::tools::verilator_version().map_err(tool_error)?;
    let name = key((&version, options.opt_level, options.trace));
    let dir = options.cache.join(format!("runtime-{name}"));
    if !dir.join("done").exists() {
        create_atomically(&dir, |tmp| {
            let mut b = compiler(options, tmp, include);
            b.files(RUNTIME.iter().map(|f| include.join(f)));
            if options.trace {
                b.file(include.join(RUNTIME_TRACE));
            }
            b.try_compile_intermediates()
                .map_err(|e| SimError::Build(format!("compiling Verilator's run time: {e}")))?;
            std::fs::write(tmp.join("done"), &version).map_err(io_error(tmp))
        })?;
    }
    objects(&dir)
}

fn objects(dir: &Path) -> Result<Vec<PathBuf>, SimError> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io_error(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "o"))
        .collect();
    v.sort();
    Ok(v)
}

/// Builds the shared library of `verilog`, or finds it in the cache.
fn build(verilog: &str, ports: Ports, options: &VerilatorOptions) -> Result<PathBuf, SimError> {
    // The shim is part of the key: an entry built with another shim is not reused.
    let name = key((verilog, SHIM, ports, options.opt_level, options.trace));
    let dir = options.cache.join(format!("design-{name}"));
    let lib = dir.join("libdesign.so");
    let same = std::fs::read_to_string(dir.join("design.v")).is_ok_and(|v| v == verilog);
    if same && lib.exists() {
        return Ok(lib);
    }
    if dir.exists() {
        // A hash collision or a damaged entry: rebuild it.
        std::fs::remove_dir_all(&dir).map_err(io_error(&dir))?;
    }
    create_atomically(&dir, |tmp| {
        let include = verilator_cc(verilog, "top", tmp, options.trace).map_err(tool_error)?;
        let obj = tmp.join("obj");
        let shim = tmp.join("shim.cpp");
        std::fs::write(&shim, SHIM).map_err(io_error(&shim))?;
        let mut sources: Vec<PathBuf> = std::fs::read_dir(&obj)
            .map_err(io_error(&obj))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "cpp"))
            .collect();
        sources.sort();
        sources.push(shim);
        let mut b = compiler(options, &tmp.join("o"), &include);
        b.include(&obj).files(&sources);
        if ports == Ports::Serial {
            b.define("LSTM_ACCEL_SERIAL", None);
        }
        let mut objs = b
            .try_compile_intermediates()
            .map_err(|e| SimError::Build(format!("compiling the design: {e}")))?;
        objs.extend(runtime(options, &include)?);
        let tool = b
            .try_get_compiler()
            .map_err(|e| SimError::Build(format!("finding a C++ compiler: {e}")))?;
        let out = tmp.join("libdesign.so");
        let status = tool
            .to_command()
            .arg("-shared")
            // Each design's library keeps its own copy of Verilator's run
            // time, so that several designs can be loaded at once.
            .arg("-Wl,-Bsymbolic")
            .arg("-o")
            .arg(&out)
            .args(&objs)
            .arg("-pthread")
            .output()
            .map_err(io_error(&out))?;
        if !status.status.success() {
            return Err(SimError::Build(format!(
                "linking {}: {}",
                out.display(),
                String::from_utf8_lossy(&status.stderr)
            )));
        }
        // Only what a reuse needs stays: the library and its Verilog.
        for d in ["obj", "o"] {
            let _ = std::fs::remove_dir_all(tmp.join(d));
        }
        Ok(())
    })?;
    Ok(lib)
}
