//! A FuseSoC core (CAPI2) for a generated accelerator, so that it drops
//! into other projects: the design's Verilog with its modules renamed after
//! the model (rust-hdl names the root `top` and its children `top$...`,
//! names another project may well use), a `default` target and a Verilator
//! `lint` target with the waivers of [`crate::tools::VERILATOR_WAIVERS`].

use crate::tools::VERILATOR_WAIVERS;

/// The module (and file) name for a model: `lstm_accel_` and the model's
/// name in lower case, every other character an underscore.
pub fn module_name(model: &str) -> String {
    let tail: String = model
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("lstm_accel_{}", tail.trim_matches('_'))
}

/// `verilog` (rust-hdl's, root module `top`) with the root named `module`
/// and every child `module$...`.
pub fn renamed_verilog(verilog: &str, module: &str) -> String {
    verilog
        .lines()
        .map(|l| {
            let l = l.replace("top$", &format!("{module}$"));
            match l.strip_prefix("module top(") {
                Some(rest) => format!("module {module}({rest}"),
                None => l,
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// The core file for `module` in `verilog_file`; `description` says what
/// the accelerator runs.
pub fn core_file(module: &str, verilog_file: &str, description: &str) -> String {
    let waivers: Vec<String> = VERILATOR_WAIVERS
        .iter()
        .map(|w| format!("-Wno-{w}"))
        .collect();
    format!(
        "CAPI=2:\n\
name: lstm-accel:generated:{module}:0.1.0\n\
description: \"{}\"\n\
\n\
filesets:\n\
\x20 rtl:\n\
\x20   files:\n\
\x20     - {verilog_file}\n\
\x20   file_type: verilogSource\n\
\n\
targets:\n\
\x20 default:\n\
\x20   filesets: [rtl]\n\
\x20   toplevel: {module}\n\
\x20 lint:\n\
\x20   default_tool: verilator\n\
\x20   filesets: [rtl]\n\
\x20   toplevel: {module}\n\
\x20   tools:\n\
\x20     verilator:\n\
\x20       mode: lint-only\n\
\x20       verilator_options: [-Wall, {}]\n",
        description.replace('"', "'"),
        waivers.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_renaming() {
        assert_eq!(
            module_name("demo-ternary 2x64!"),
            "lstm_accel_demo_ternary_2x64"
        );
        let v = "module top(clock);\n    top$argmax argmax(\n);\nendmodule\nmodule top$argmax(clock);\nendmodule";
        let r = renamed_verilog(v, "lstm_accel_x");
        assert!(r.contains("module lstm_accel_x(clock);"));
        assert!(r.contains("lstm_accel_x$argmax argmax("));
        assert!(r.contains("module lstm_accel_x$argmax(clock);"));
        assert!(!r.contains("top"));
    }
}
