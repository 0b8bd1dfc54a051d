//! The sequencer's Verilog: the same registers and transitions as its
//! `update`, with the phase constants as case tables.

use super::phases::state_of;
use super::Sequencer;
use super::{PROJ, ROWS};
use crate::verilog::{initial_block, lit, reset_clause};
use std::fmt::Write;

/// The power-up values of the main block's registers, which reset restores.
const RESET_VALUES: &str = "state = IDLE; layer = 0; cell_n = 0; gate = 0; word = 0; row = 0; weight = 0; seen = 0; full = 0; count = 0;
    parity_r = 0; i_valid = 0; i_first = 0; i_last = 0; i_h = 0; s_valid = 0; s_first = 0; s_last = 0; s_h = 0;
    start_out = 0; done_r = 0; i_weight = 0; i_data = 0; i_row = 0; class_r = 0; cycles_r = 0;";

/// The structured parts' counters that the main block assigns: a reset in
/// the middle of a row must not leave a tap word count behind (a phase's
/// start does not clear them; a part's last word does). The per-gate block
/// counters need none: a phase's first cell reads its constants instead.
/// `first_cell` is `cell_n == 0` kept as a register of its own.
const CONV_RESET_VALUES: &str =
    "sub = 0; tw = 0; i_tap = 0; i_win = 0; i_mode = 0; first_cell = 1;";

/// The issue of a word in a design with structured matrices: the tap word
/// and window of a structured part; the weight address steps on dense
/// words only.
const CONV_ISSUE: &str = "                i_mode <= cur_mode;
                i_tap <= cur_o + tw;
                i_win <= cur_a - sub * LANES;
                if (cur_mode == 0)
                    weight <= weight + 1;
                if (word == k_x_last || word == k_row_last) begin
                    sub <= 0; tw <= 0;
                end else if (sub + 1 == cur_r) begin
                    sub <= 0; tw <= tw + 1;
                end else
                    sub <= sub + 1;
";

impl Sequencer {
    /// Bits of the constant tables and of the counters that meet them: the
    /// widest constant, address or count they hold, signed, with a bit to
    /// spare for the sums they form (`word + 1`, `k_x_base + word`). The
    /// compares on the issue path (`word == k_row_last`) are then as
    /// shallow as the design allows; at 32 bits they set its Fmax.
    fn table_width(&self) -> usize {
        let lay = &self._lay;
        let s = self._s;
        let mut most = self.finish_wait().max(4).max(lay.engines as i64);
        for ph in 0..lay.phase_count() {
            for p in 0..2 {
                let c = self.consts(ph, p);
                let mut all = vec![
                    c.row_words,
                    c.x_words,
                    c.count,
                    c.groups,
                    c.span,
                    i64::from(c.align_x),
                    i64::from(c.align_h),
                    i64::from(c.align_bias),
                    c.cell_base,
                    c.x_base,
                    c.h_base,
                    c.h_write,
                    c.next,
                ];
                for cc in c.conv {
                    all.extend([
                        cc.mode,
                        cc.block,
                        cc.block_row_words,
                        cc.words_per_tap,
                        cc.taps_base,
                        cc.dstride,
                        cc.dperiod,
                        cc.dwrap,
                    ]);
                    for q in 0..4 {
                        all.extend([cc.a0[q], cc.off0[q], cc.d0[q], cc.dc0[q], cc.dw0[q]]);
                    }
                }
                most = all.into_iter().fold(most, |m, x| m.max(x.abs()));
            }
        }
        let value = (64 - most.unsigned_abs().leading_zeros()) as usize;
        let addresses = [
            s.weight_addr_bits,
            s.data_addr_bits,
            s.row_addr_bits,
            s.tap_addr_bits,
            s.window_bits,
            2 * lay.row_shift_bits as usize + 1,
        ];
        // Sign and a spare bit.
        addresses.into_iter().fold(value, usize::max) + 2
    }

    /// The Verilog body: the same registers and transitions as `update`,
    /// with the layout's per-layer constants as case tables.
    pub(super) fn verilog(&self) -> String {
        let lay = &self._lay;
        let s = self._s;
        let w = |bits: usize| format!("signed [{}:0]", bits - 1);
        let cw = self.table_width();
        let mut v = String::new();
        let _ = writeln!(
            v,
            "localparam IDLE = 3'd0, ROWS = 3'd1, DRAIN = 3'd2, HEAD = 3'd3, HEAD_DRAIN = 3'd4, FINISH = 3'd5, PROJ = 3'd6, PROJ_DRAIN = 3'd7;
reg [2:0] state;
reg {pw} layer;
reg signed [{c1}:0] cell_n, gate, word, row, weight, seen;
reg full;
reg signed [31:0] count;
reg parity_r;
reg i_valid, i_first, i_last, i_h, s_valid, s_first, s_last, s_h, start_out, done_r;
reg {ww} i_weight;
reg {dw} i_data;
reg {rw} i_row;
reg {kw} class_r;
reg signed [32:0] cycles_r;
reg signed [{c1}:0] k_row_words, k_row_last, k_x_words, k_x_last, k_x_base, k_h_rel, k_hidden, k_hidden_last, k_groups_last, k_span_last, k_align_x, k_align_h, k_align_bias, k_h_write, k_cell_base, k_next;
reg [2:0] k_next_state;
reg k_next_start;
wire h_w = h_write != 0;
wire l_v = logit_valid != 0;
{initial}",
            pw = w(s.phase_bits),
            ww = w(s.weight_addr_bits),
            dw = w(s.data_addr_bits),
            rw = w(s.row_addr_bits),
            kw = w(s.class_bits),
            c1 = cw - 1,
            initial = initial_block(RESET_VALUES),
        );
        // Constant tables of the current phase, registered: they are read
        // at the next values of `layer` and `parity_r`, so that they always
        // hold the current phase's constants without a table lookup on the
        // paths that use them (on an iCE40 the lookup feeding the issue
        // compares was the critical path).
        let _ = writeln!(
            v,
            "reg {pw} layer_n;
reg parity_n;
always @(*) begin
    layer_n = layer;
    if (state == IDLE && start != 0)
        layer_n = {first};
    if ((state == DRAIN || state == PROJ_DRAIN || state == HEAD_DRAIN) && full && k_next_state != FINISH)
        layer_n = k_next;
    parity_n = parity_r;
    if (clear != 0)
        parity_n = 0;
    if (state == FINISH && !(gate < {wait}))
        parity_n = !parity_r;
    // Reset: the tables then hold phase 0's constants, as at power-up.
    if (reset) begin
        layer_n = 0;
        parity_n = 0;
    end
end",
            pw = w(s.phase_bits),
            first = self._first,
            wait = self.finish_wait(),
        );
        let table_init = {
            let c0 = self.consts(0, 0);
            format!(
                "initial begin
    k_row_words = {}; k_row_last = {}; k_x_words = {}; k_x_last = {}; k_hidden = {}; k_hidden_last = {}; k_groups_last = {}; k_span_last = {}; k_align_x = {}; k_align_h = {}; k_align_bias = {}; k_cell_base = {};
    k_x_base = {}; k_h_rel = {}; k_h_write = {}; k_next = {}; k_next_state = 3'd{}; k_next_start = {};
end
",
                lit(c0.row_words, cw),
                lit(c0.row_words - 1, cw),
                lit(c0.x_words, cw),
                lit(c0.x_words - 1, cw),
                lit(c0.count, cw),
                lit(c0.count - 1, cw),
                lit(c0.groups - 1, cw),
                lit(c0.span - 1, cw),
                lit(i64::from(c0.align_x), cw),
                lit(i64::from(c0.align_h), cw),
                lit(i64::from(c0.align_bias), cw),
                lit(c0.cell_base, cw),
                lit(c0.x_base, cw),
                lit(c0.h_base - c0.x_words, cw),
                lit(c0.h_write, cw),
                lit(c0.next, cw),
                c0.next_state,
                c0.next_start,
            )
        };
        v.push_str(&table_init);
        v.push_str("always @(posedge clock) begin\n    case (layer_n)\n");
        let k = |x: i64| lit(x, cw);
        for l in 0..lay.phase_count() {
            let (c0, c1) = (self.consts(l, 0), self.consts(l, 1));
            let _ = writeln!(
                v,
                "        {l}: begin
            k_row_words <= {}; k_row_last <= {}; k_x_words <= {}; k_x_last <= {}; k_hidden <= {}; k_hidden_last <= {}; k_groups_last <= {}; k_span_last <= {}; k_align_x <= {}; k_align_h <= {}; k_align_bias <= {}; k_cell_base <= {};
            k_x_base <= parity_n ? {} : {}; k_h_rel <= parity_n ? {} : {}; k_h_write <= parity_n ? {} : {};
            k_next <= {}; k_next_state <= 3'd{}; k_next_start <= {};
        end",
                k(c0.row_words),
                k(c0.row_words - 1),
                k(c0.x_words),
                k(c0.x_words - 1),
                k(c0.count),
                k(c0.count - 1),
                k(c0.groups - 1),
                k(c0.span - 1),
                k(i64::from(c0.align_x)),
                k(i64::from(c0.align_h)),
                k(i64::from(c0.align_bias)),
                k(c0.cell_base),
                k(c1.x_base),
                k(c0.x_base),
                k(c1.h_base - c1.x_words),
                k(c0.h_base - c0.x_words),
                k(c1.h_write),
                k(c0.h_write),
                k(c0.next),
                c0.next_state,
                c0.next_start,
            );
        }
        v.push_str(
            "        default: begin
            k_row_words <= 1; k_row_last <= 0; k_x_words <= 1; k_x_last <= 0; k_hidden <= 0; k_hidden_last <= -1; k_groups_last <= -1; k_span_last <= 0; k_align_x <= 0; k_align_h <= 0; k_align_bias <= 0; k_cell_base <= 0;
            k_x_base <= 0; k_h_rel <= -1; k_h_write <= 0; k_next <= 0; k_next_state <= 3'd0; k_next_start <= 0;
        end
    endcase
end
",
        );
        let has_conv = !lay.conv_modes.is_empty();
        if has_conv {
            v.push_str(&self.conv_verilog());
        }
        // The row-shift words of the word at the MAC arrays (the memories'
        // output registers), one per row engine.
        let b = lay.row_shift_bits;
        for e in 0..Self::row_shift_ports(lay) {
            let _ = writeln!(
                v,
                "wire [{h1}:0] s_rs_{e} = row_shift${e};
wire signed [{c1}:0] rs_x_{e} = {{{pad}'d0, s_rs_{e}[{x1}:0]}};
wire signed [{c1}:0] rs_h_{e} = {{{pad}'d0, s_rs_{e}[{h1}:{b}]}};",
                c1 = cw - 1,
                pad = cw - b as usize,
                x1 = b - 1,
                h1 = 2 * b - 1,
            );
        }
        // The alignment of each engine's word: its part's, plus its row's
        // shift for that part.
        let mut shifts = String::new();
        for e in 0..Self::shift_ports(lay) {
            let (rx, rh) = if lay.row_shifts {
                (format!(" + rs_x_{e}"), format!(" + rs_h_{e}"))
            } else {
                (String::new(), String::new())
            };
            let _ = writeln!(
                shifts,
                "    mac_shift${e} = s_h ? (k_align_h{rh}) : (k_align_x{rx});"
            );
        }
        let _ = writeln!(
            v,
            "
always @(*) begin
    weight_addr = i_weight;
    tap_addr = {tap_addr};
    conv_mode = {conv_mode};
    window = {window};
    data_addr = i_data;
    row_addr = i_row;
    shift_addr = row;
    mac_valid = {{1'b0, s_valid}};
    mac_first = {{1'b0, s_first}};
    mac_last = {{1'b0, s_last}};
{shifts}    phase_rows = k_hidden;
    matrix = layer * 2 + s_h;
    bias_shift = k_align_bias;
    phase = layer;
    head = (state == HEAD || state == HEAD_DRAIN || state == FINISH) ? 2'sd1 : 2'sd0;
    project = (state == PROJ || state == PROJ_DRAIN) ? 2'sd1 : 2'sd0;
    phase_start = {{1'b0, start_out}};
    h_base = k_h_write;
    cell_base = k_cell_base;
    busy = (state != IDLE) ? 2'sd1 : 2'sd0;
    parity = {{1'b0, parity_r}};
    done = {{1'b0, done_r}};
    decoded = class_r;
    cycles = cycles_r;
end

always @(posedge clock) begin
    s_valid <= i_valid; s_first <= i_first; s_last <= i_last; s_h <= i_h;
    start_out <= 0;
    done_r <= 0;
    i_valid <= 0;
    i_first <= 0;
    i_last <= 0;
    i_row <= row;
    count <= count + 1;
    // `full` follows `seen` (it changes only with it, and restarts with
    // it), so no adder or wide compare sits behind the results' strobes.
    if (h_w || l_v) begin
        seen <= seen + 1;
        full <= (seen == k_hidden_last);
    end
    layer <= layer_n;
    parity_r <= parity_n;
    case (state)
        IDLE: if (start != 0) begin
            state <= {first_state};
            cell_n <= 0; gate <= 0; word <= 0; row <= 0; weight <= 0; seen <= 0; full <= 0;{fc_set}
            start_out <= 1;
            count <= 0;
        end
        ROWS, HEAD, PROJ: begin
            // The row's words; a span's idle cycles past them issue nothing.
            if (word < k_row_words) begin
                i_valid <= 1;
                i_first <= (word == 0);
                i_last <= (word == k_row_last);
                i_h <= (word >= k_x_words);
                i_weight <= weight;
                i_data <= ((word < k_x_words) ? (k_x_base + word) : (k_h_rel + word)){data_off};
{conv_issue}                if (word == k_row_last)
                    row <= row + 1;
            end
            if (word == k_span_last) begin
                word <= 0;
                if (state != ROWS) begin
                    cell_n <= cell_n + 1;{fc_clear}
                    if (cell_n == k_groups_last)
                        state <= (state == HEAD) ? HEAD_DRAIN : PROJ_DRAIN;
                end else if (gate == 3) begin
                    gate <= 0;
                    cell_n <= cell_n + 1;{fc_clear}
                    if (cell_n == k_groups_last)
                        state <= DRAIN;
                end else
                    gate <= gate + 1;
            end else
                word <= word + 1;
        end
        DRAIN, PROJ_DRAIN, HEAD_DRAIN: if (full) begin
            if (k_next_state == FINISH) begin
                gate <= 0;
                state <= FINISH;
            end else begin
                cell_n <= 0; gate <= 0; word <= 0; seen <= 0; full <= 0;{fc_set}
                start_out <= k_next_start;
                state <= k_next_state;
            end
        end
        default: if (gate < {wait})
            gate <= gate + 1;
        else begin
            class_r <= argmax;
            cycles_r <= count;
            done_r <= 1;
            state <= IDLE;
        end
    endcase
{reset}end",
            first_state = match state_of(lay, self._first) {
                ROWS => "ROWS",
                PROJ => "PROJ",
                _ => "HEAD",
            },
            data_off = if has_conv { " + cur_d" } else { "" },
            fc_set = if has_conv { " first_cell <= 1;" } else { "" },
            fc_clear = if has_conv { " first_cell <= 0;" } else { "" },
            tap_addr = if has_conv { "i_tap" } else { "0" },
            conv_mode = if has_conv { "s_mode" } else { "0" },
            window = if has_conv { "s_win" } else { "0" },
            conv_issue = if has_conv {
                CONV_ISSUE
            } else {
                "                weight <= weight + 1;\n"
            },
            wait = self.finish_wait(),
            shifts = shifts,
            reset = reset_clause(&if has_conv {
                format!("{RESET_VALUES} {CONV_RESET_VALUES}")
            } else {
                RESET_VALUES.to_string()
            }),
        );
        v
    }

    /// The structured parts' counters (only in designs with structured
    /// matrices): per phase and part the tap constants, per part and gate
    /// the row in its block and its block row's first tap word.
    ///
    /// The constants are registered tables read at the next phase, like the
    /// main block's, and each is stored in the form its one use needs, so
    /// that the issue path and the counters' updates hold no table lookup
    /// and no adder before a compare: a block row's first tap word is
    /// absolute (`taps_base` added in), the block's end is compared as
    /// `a == block - engines`, the period's as `c < period - 1`, the wrap's
    /// as `y == wrap - 1` (negative: never).
    fn conv_verilog(&self) -> String {
        let lay = &self._lay;
        let cw = self.table_width();
        let k = |x: i64| lit(x, cw);
        let engines = lay.engines.max(1) as i64;
        // Per part: mode, block end, block row words, words per tap, data
        // stride, period end, wrap end; per part and gate: a, first tap
        // word, data offset, period count, step count.
        let part_consts = |cc: &super::phases::ConvConsts| -> [(&str, i64); 7] {
            [
                ("cm", cc.mode),
                ("ce", cc.block - engines),
                ("cw", cc.block_row_words),
                ("cr", cc.words_per_tap.max(1)),
                ("cs", cc.dstride),
                ("cq", cc.dperiod.max(1) - 1),
                ("cx", cc.dwrap - 1),
            ]
        };
        let gate_consts = |cc: &super::phases::ConvConsts, q: usize| -> [(&str, i64); 5] {
            [
                ("ca", cc.a0[q]),
                ("co", cc.taps_base + cc.off0[q]),
                ("cd", cc.d0[q]),
                ("cc", cc.dc0[q]),
                ("cy", cc.dw0[q]),
            ]
        };
        let assignments = |ph: usize, op: &str| -> String {
            let c = self.consts(ph, 0).conv;
            let mut a = String::new();
            for (p, cc) in c.iter().enumerate() {
                for (n, x) in part_consts(cc) {
                    let _ = write!(a, " k_{n}_{p} {op} {};", k(x));
                }
                for q in 0..4 {
                    for (n, x) in gate_consts(cc, q) {
                        let _ = write!(a, " k_{n}_{p}_{q} {op} {};", k(x));
                    }
                }
            }
            a
        };
        let mut names = Vec::new();
        let blank = super::phases::ConvConsts::default();
        for p in 0..2 {
            names.extend(part_consts(&blank).map(|(n, _)| format!("k_{n}_{p}")));
            for q in 0..4 {
                names.extend(gate_consts(&blank, q).map(|(n, _)| format!("k_{n}_{p}_{q}")));
            }
        }
        let mut v = format!(
            "reg signed [{c1}:0] {};\ninitial begin{}\nend\nalways @(posedge clock) begin\n    case (layer_n)\n",
            names.join(", "),
            assignments(0, "="),
            c1 = cw - 1
        );
        for l in 0..lay.phase_count() {
            let _ = writeln!(v, "        {l}: begin{} end", assignments(l, "<="));
        }
        // Out of the program (never run): one word per tap, no wrap.
        v.push_str("        default: begin");
        for n in &names {
            let x = if n.starts_with("k_cr") {
                1
            } else if n.starts_with("k_cx") {
                -1
            } else {
                0
            };
            let _ = write!(v, " {n} <= {};", k(x));
        }
        v.push_str(" end\n    endcase\nend\n");
        let mut regs = Vec::new();
        for p in 0..2 {
            for q in 0..4 {
                for n in ["ca", "co", "cd", "cc", "cy"] {
                    regs.push(format!("{n}_{p}_{q}"));
                }
            }
        }
        let _ = writeln!(
            v,
            "reg signed [{c1}:0] {}, sub, tw, i_tap, i_win, i_mode, s_win, s_mode;
reg first_cell;
initial begin
    {} sub = 0; tw = 0; i_tap = 0; i_win = 0; i_mode = 0; s_win = 0; s_mode = 0; first_cell = 1;
end
wire part_h = (word >= k_x_words);",
            regs.join(", "),
            regs.iter()
                .map(|r| format!("{r} = 0;"))
                .collect::<Vec<_>>()
                .join(" "),
            c1 = cw - 1
        );
        for p in 0..2 {
            for q in 0..4 {
                let _ = writeln!(
                    v,
                    "wire signed [{c1}:0] ea_{p}_{q} = first_cell ? k_ca_{p}_{q} : ca_{p}_{q};\nwire signed [{c1}:0] eo_{p}_{q} = first_cell ? k_co_{p}_{q} : co_{p}_{q};",
                    c1 = cw - 1
                );
                let _ = writeln!(
                    v,
                    "wire signed [{c1}:0] ed_{p}_{q} = first_cell ? k_cd_{p}_{q} : cd_{p}_{q};\nwire signed [{c1}:0] ec_{p}_{q} = first_cell ? k_cc_{p}_{q} : cc_{p}_{q};\nwire signed [{c1}:0] ey_{p}_{q} = first_cell ? k_cy_{p}_{q} : cy_{p}_{q};",
                    c1 = cw - 1
                );
            }
        }
        let _ = writeln!(
            v,
            "reg signed [{c1}:0] cur_a, cur_o, cur_d, cur_mode, cur_r;
always @(*) begin
    cur_mode = part_h ? k_cm_1 : k_cm_0;
    cur_r = part_h ? k_cr_1 : k_cr_0;
    case ({{part_h, gate[1:0]}})",
            c1 = cw - 1
        );
        for p in 0..2 {
            for q in 0..4 {
                let _ = writeln!(
                    v,
                    "        3'd{}: begin cur_a = ea_{p}_{q}; cur_o = eo_{p}_{q}; cur_d = ed_{p}_{q}; end",
                    p * 4 + q
                );
            }
        }
        v.push_str(
            "        default: begin cur_a = 0; cur_o = 0; cur_d = 0; end\n    endcase\nend\n",
        );
        let _ = writeln!(v, "localparam signed [{}:0] LANES = {};", cw - 1, lay.lanes);
        let _ = writeln!(
            v,
            "localparam signed [{}:0] ENGINES = {};",
            cw - 1,
            lay.engines.max(1)
        );
        v.push_str("wire cell_step = (word == k_row_last) && (state != ROWS || gate == 3);\n");
        v.push_str("always @(posedge clock) begin\n    s_win <= i_win; s_mode <= i_mode;\n");
        v.push_str("    if ((state == ROWS || state == HEAD || state == PROJ) && word < k_row_words && (cell_step || first_cell)) begin\n");
        for p in 0..2 {
            for q in 0..4 {
                let _ = writeln!(
                    v,
                    "        if (!cell_step) begin ca_{p}_{q} <= ea_{p}_{q}; co_{p}_{q} <= eo_{p}_{q}; cd_{p}_{q} <= ed_{p}_{q}; cc_{p}_{q} <= ec_{p}_{q}; cy_{p}_{q} <= ey_{p}_{q}; end
        else if (ea_{p}_{q} == k_ce_{p}) begin
            ca_{p}_{q} <= 0; co_{p}_{q} <= eo_{p}_{q} + k_cw_{p};
            if (ec_{p}_{q} < k_cq_{p}) begin cd_{p}_{q} <= ed_{p}_{q}; cc_{p}_{q} <= ec_{p}_{q} + 1; cy_{p}_{q} <= ey_{p}_{q}; end
            else if (k_cx_{p} >= 0 && ey_{p}_{q} == k_cx_{p}) begin cd_{p}_{q} <= 0; cc_{p}_{q} <= 0; cy_{p}_{q} <= 0; end
            else begin cd_{p}_{q} <= ed_{p}_{q} + k_cs_{p}; cc_{p}_{q} <= 0; cy_{p}_{q} <= ey_{p}_{q} + 1; end
        end
        else begin ca_{p}_{q} <= ea_{p}_{q} + ENGINES; co_{p}_{q} <= eo_{p}_{q}; cd_{p}_{q} <= ed_{p}_{q}; cc_{p}_{q} <= ec_{p}_{q}; cy_{p}_{q} <= ey_{p}_{q}; end"
                );
            }
        }
        v.push_str("    end\nend\n");
        v
    }
}
