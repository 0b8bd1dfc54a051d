//! The row engines' Verilog: the wiring of every engine's children, each
//! from its input registers (or, with one engine, the engines' inputs), in
//! the order [`RowEngines::engine_inputs`] lists them, and of the fan-out
//! tree's group and lead registers: the same wiring as the native
//! simulation's `drive_tree`, `drive_boundary` and `drive_children`.

use super::{RowEngines, Source};
use std::fmt::Write;

impl RowEngines {
    /// The wiring of every engine, as `update` does it.
    pub(super) fn verilog(&self) -> String {
        let (e, banks, phases) = (self._engines, self._banks, self._phases);
        let at = self.input_index();
        let mut v = String::from("always @(*) begin\n");
        let name = |(port, index): (&str, Option<usize>)| match index {
            Some(i) => format!("{port}${i}"),
            None => port.to_string(),
        };
        // The fan-out tree: each group's shared inputs and data word, each
        // engine's own inputs.
        for g in 0..self.group.len() {
            let _ = writeln!(v, "    group${g}$clock = clock;");
            let shared = self
                .engine_inputs(g * Self::FANOUT)
                .into_iter()
                .filter(|(_, _, s)| *s)
                .map(|(_, n, _)| name(n))
                .chain((0..self.xs.len()).map(|i| format!("xs${i}")));
            for (i, n) in shared.enumerate() {
                let _ = writeln!(v, "    group${g}$d${i} = {n};");
            }
        }
        for k in 0..self.lead.len() {
            let _ = writeln!(v, "    lead${k}$clock = clock;");
            let own = self.engine_inputs(k).into_iter().filter(|(_, _, s)| !*s);
            for (i, (_, n, _)) in own.enumerate() {
                let _ = writeln!(v, "    lead${k}$d${i} = {};", name(n));
            }
        }
        let first_x = self.group_data_slot();
        for k in 0..e {
            // The names engine k's boundary registers (or, with one engine,
            // its children) read its inputs from.
            let names: Vec<String> = self
                .engine_inputs(k)
                .into_iter()
                .enumerate()
                .map(
                    |(i, (_, n, _))| match self.sources.get(k).map_or(Source::Input, |s| s[i]) {
                        Source::Input => name(n),
                        Source::Group(g, j) => format!("group${g}$q${j}"),
                        Source::Lead(e, j) => format!("lead${e}$q${j}"),
                    },
                )
                .collect();
            let names: Vec<String> = if self.boundary.is_empty() {
                names
            } else {
                let _ = writeln!(v, "    boundary${k}$clock = clock;");
                names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| {
                        let _ = writeln!(v, "    boundary${k}$d${i} = {n};");
                        format!("boundary${k}$q${i}")
                    })
                    .collect()
            };
            let dec = &self.wdec[k];
            let d = format!("wdec${k}");
            let m = format!("mac${k}");
            let _ = writeln!(v, "    {d}$clock = clock;");
            for (b, n) in names.iter().enumerate().take(banks) {
                let _ = writeln!(v, "    {d}$words${b} = {n};");
            }
            for t in 0..dec.taps.len() {
                let _ = writeln!(v, "    {d}$taps${t} = {};", names[at.taps + t]);
            }
            for (i, x) in ["mode", "window", "matrix"].iter().enumerate() {
                let _ = writeln!(v, "    {d}${x} = {};", names[at.mode + i]);
            }
            for t in 0..dec.table_we.len() {
                let _ = writeln!(v, "    {d}$table_we${t} = {};", names[at.table_we + t]);
            }
            let _ = writeln!(v, "    {d}$table_addr = {};", names[at.table_addr]);
            let _ = writeln!(v, "    {d}$table_data = {};", names[at.table_addr + 1]);
            let _ = writeln!(v, "    {m}$clock = clock;");
            for i in 0..self.mac[k].codes.len() {
                let _ = writeln!(v, "    {m}$codes${i} = {d}$codes${i};");
                let x = match first_x {
                    Some(f) => format!("group${}$q${}", k / Self::FANOUT, f + i),
                    None => format!("xs${i}"),
                };
                let _ = writeln!(v, "    {m}$xs${i} = {x};");
            }
            for (i, x) in ["first", "last", "valid", "shift"].iter().enumerate() {
                let _ = writeln!(v, "    {m}${x} = {};", names[at.first + i]);
            }
            let _ = writeln!(
                v,
                "    bias_add${k}$clock = clock;\n    bias_add${k}$acc = {m}$acc;\n    bias_add${k}$bias = {};\n    bias_add${k}$shift = {};",
                names[at.first + 4],
                names[at.first + 5]
            );
            for p in 0..phases {
                let r = format!("rounding${}", k * phases + p);
                let _ = writeln!(
                    v,
                    "    {r}$clock = clock;\n    {r}$x = bias_add${k}$y;\n    preact${k}$xs${p} = {r}$y;"
                );
            }
            let _ = writeln!(
                v,
                "    preact${k}$sel = {};\n    values${k} = preact${k}$y;",
                names[at.first + 6]
            );
        }
        v.push_str(
            "    done_delay$clock = clock;\n    done_delay$d = mac$0$row_done;\n    done = done_delay$q;\nend\n",
        );
        v
    }
}
