//! A multiplexer: `y = xs[map[sel]]` (zero for a select past the map's
//! end), purely combinational; the map is the identity unless given. The
//! datapath uses it where layers have units of their own (rounding point,
//! gate unit) and the sequencer's layer index picks the one whose result is
//! live; layers that share a unit map to the same input.
//!
//! [`PipelinedSelect`] is the wide form with a register between its two
//! levels, for a select whose inputs are spread over the die.

use crate::dynamic::{DynSig, DynVal};
use rust_hdl::prelude::*;
use std::fmt::Write;

/// The multiplexer.
#[derive(LogicBlock)]
pub struct Select {
    /// Inputs.
    pub xs: Vec<DynSig<In>>,
    /// Index of the input passed through.
    pub sel: DynSig<In>,
    /// The selected input.
    pub y: DynSig<Out>,
    /// The input of each select value.
    _map: Vec<usize>,
}

impl Select {
    /// `n` inputs of `width` bits, a `sel_bits`-bit index.
    pub fn new(n: usize, width: usize, sel_bits: usize) -> Self {
        Self::mapped((0..n).collect(), width, sel_bits)
    }

    /// Inputs of `width` bits, a `sel_bits`-bit index `s` passing input
    /// `map[s]` (as many inputs as the largest entry needs).
    pub fn mapped(map: Vec<usize>, width: usize, sel_bits: usize) -> Self {
        let n = map.iter().max().map_or(0, |m| m + 1);
        Select {
            xs: (0..n).map(|_| DynSig::new(width)).collect(),
            sel: DynSig::new(sel_bits),
            y: DynSig::new(width),
            _map: map,
        }
    }
}

impl Logic for Select {
    fn update(&mut self) {
        let s = self.sel.val().0;
        self.y.next = match usize::try_from(s).ok().and_then(|s| self._map.get(s)) {
            Some(&i) => self.xs[i].val(),
            None => DynVal(0),
        };
    }
    fn connect(&mut self) {
        self.y.connect();
    }
    fn hdl(&self) -> Verilog {
        Verilog::Custom(select_y(
            "sel",
            self._map.iter().map(|i| format!("xs${i}")).enumerate(),
        ))
    }
}

/// The combinational `y` of a select: `y` is the source of the arm whose
/// value `index` has, zero for any other value.
fn select_y(index: &str, arms: impl Iterator<Item = (usize, String)>) -> String {
    let mut v = format!("always @(*) begin\n    case ({index})\n");
    for (s, src) in arms {
        let _ = writeln!(v, "        {s}: y = {src};");
    }
    v.push_str("        default: y = 0;\n    endcase\nend\n");
    v
}

/// A wide multiplexer in two levels with a register between them: each
/// group of `group` inputs has its select and register, then the groups'
/// registers meet in a second select, so `y` is `xs[sel]` one cycle later.
/// Built unregistered it is a one-level [`Select`] with no delay. The
/// accelerator reads a lane's h out of its 64 data memories through one
/// (the 64-way select into the controller's reply register was 11.1 ns on
/// the ECP5-85F).
#[derive(LogicBlock)]
pub struct PipelinedSelect {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Inputs.
    pub xs: Vec<DynSig<In>>,
    /// Index of the input passed through.
    pub sel: DynSig<In>,
    /// The selected input (a cycle later when registered).
    pub y: DynSig<Out>,
    _group: usize,
    _registered: bool,
    /// Each group's selected input, registered.
    _picked: Vec<i64>,
    /// `sel`, registered with them.
    _sel: i64,
}

impl PipelinedSelect {
    /// `n` inputs of `width` bits, a `sel_bits`-bit index, groups of
    /// `group` inputs (a power of two) when `registered`.
    pub fn new(n: usize, width: usize, sel_bits: usize, group: usize, registered: bool) -> Self {
        assert!(group.is_power_of_two(), "a select group is a power of two");
        PipelinedSelect {
            clock: Signal::default(),
            xs: (0..n).map(|_| DynSig::new(width)).collect(),
            sel: DynSig::new(sel_bits),
            y: DynSig::new(width),
            _group: group,
            _registered: registered,
            _picked: vec![0; n.div_ceil(group)],
            _sel: 0,
        }
    }

    /// Cycles from an input to `y`, built `registered` or not.
    pub fn latency(registered: bool) -> usize {
        usize::from(registered)
    }

    fn input(&self, s: i64) -> DynVal {
        usize::try_from(s)
            .ok()
            .and_then(|s| self.xs.get(s))
            .map_or(DynVal(0), |x| x.val())
    }
}

impl Logic for PipelinedSelect {
    fn update(&mut self) {
        if !self._registered {
            self.y.next = self.input(self.sel.val().0);
            return;
        }
        if self.clock.pos_edge() {
            let s = self.sel.val().0;
            let low = s & (self._group as i64 - 1);
            for g in 0..self._picked.len() {
                self._picked[g] = self.input((g * self._group) as i64 + low).0;
            }
            self._sel = s;
        }
        let g = usize::try_from(self._sel).map_or(usize::MAX, |s| s / self._group);
        self.y.next = DynVal(self._picked.get(g).copied().unwrap_or(0));
    }
    fn connect(&mut self) {
        self.y.connect();
    }
    fn hdl(&self) -> Verilog {
        let n = self.xs.len();
        if !self._registered {
            return Verilog::Custom(select_y("sel", (0..n).map(|i| (i, format!("xs${i}")))));
        }
        let mut v = String::new();
        let (w1, s1) = (self.y.width() - 1, self.sel.width() - 1);
        let g = self._group;
        let _ = writeln!(v, "reg signed [{s1}:0] sel_r;\ninitial sel_r = 0;");
        for p in 0..self._picked.len() {
            let _ = writeln!(v, "reg signed [{w1}:0] p{p};\ninitial p{p} = 0;");
        }
        v.push_str("always @(posedge clock) begin\n    sel_r <= sel;\n");
        for p in 0..self._picked.len() {
            // The group's inputs by the index's low bits; an index past
            // the inputs selects zero, as in the native model.
            let _ = writeln!(v, "    case (sel & {})", g - 1);
            for k in 0..g {
                let i = p * g + k;
                if i < n {
                    let _ = writeln!(v, "        {k}: p{p} <= xs${i};");
                }
            }
            let _ = writeln!(v, "        default: p{p} <= 0;\n    endcase");
        }
        v.push_str("end\n");
        v.push_str(&select_y(
            &format!("sel_r >>> {}", g.trailing_zeros()),
            (0..self._picked.len()).map(|p| (p, format!("p{p}"))),
        ));
        Verilog::Custom(v)
    }
}
