//! The controller's Verilog: one module with the receiver's and the
//! sender's registers and transitions (the same as their native `edge`s),
//! sharing the state register that says which half is working.

use super::Controller;
use super::{READ_WAIT, RESET_VALUES};
use crate::blocks::header_check::HeaderBits;
use crate::verilog::{initial_block, reset_clause};
use lstm_accel_spec::protocol::{self as p, header};
use std::fmt::Write;

impl Controller {
    pub(super) fn verilog(&self) -> String {
        let lay = &self._lay;
        let rings = BankRings::new(lay);
        let resets = format!("{RESET_VALUES} {}", rings.resets());
        let rows = lay.head.rows;
        let mut v = String::new();
        let _ = writeln!(
            v,
            "localparam IDLE = 3'd0, LOAD = 3'd1, FRAME = 3'd2, DISCARD = 3'd3, RUN = 3'd4, CLEAR = 3'd5, SEND = 3'd6;
reg [2:0] state;
reg [2:0] target;
// A payload's count is the header's 24-bit length.
reg [23:0] remaining;
reg [31:0] frames, seq, err_opcode, err_length, err_refused, loaded, laddr, class_r, cycles_r, m_data;
// remaining == 1, as a register (see `Regs::rem_one`).
reg rem_one;
reg [{k1}:0] k;
// Counters as wide as what they count: the load path's compares stay short.
reg [{bank1}:0] bank;
// `load_w`, `load_b`, `load_s` and `load_t`: `state == LOAD` with the
// target the weights, biases, row shifts or taps, as registers.
reg load_w, load_b, load_s, load_t;
// A load word is written in the cycle after it is taken (`LoadWrite`):
// its enables, address and word as registers.
reg wr_w, wr_b, wr_s, wr_t, wr_table, wr_codebook;
reg [{addr1}:0] wr_addr;
reg [31:0] wr_data;
{rings}
reg [{lane1}:0] lane;
reg [{addr1}:0] addr;
reg [1:0] kind;
reg [2:0] lwait;
reg m_valid, m_last, start_r, clear_r;
reg [31:0] word;
// No word is taken during reset: upstream waits (nothing is lost).
wire ready = running && ((state == IDLE) || (state == LOAD) || (state == FRAME) || (state == DISCARD));
wire accept = s_tvalid && ready;
wire [31:0] din = s_tdata;
wire [23:0] len = din[23:0];
// The header's decode, registered with the word (`HeaderBits`).
{header_fields}
wire [{k1}:0] last_k = (kind == 2'd1) ? {status_words} : ((kind == 2'd2) ? {state_words} : {result_last});
wire from_memory = (kind == 2'd0) ? (k > {fixed}) : ((kind == 2'd2) && (k >= 1));
wire free = !m_valid || m_tready;
wire takes = (state == SEND) && (k <= last_k) && free && !(from_memory && lwait != 0);
// `state == SEND && kind == STATE` as a register of its own, set and
// cleared on the transitions into and out of that state: it selects the
// read ports of the data and cell memories, and from a flip-flop the
// select reaches them in time.
reg reading_w;
wire signed [31:0] logit_in = logit_data;
wire signed [31:0] c_in = c_read;
wire signed [31:0] h_in = h_read;
// The memories' read data, registered before the output mux.
reg signed [31:0] logit_ext, c_ext, h_ext;
always @(posedge clock) begin
    logit_ext <= logit_in; c_ext <= c_in; h_ext <= h_in;
end

{initial}
always @(*) begin
    if (kind == 2'd2) begin
        if (k == 0) word = 32'h{state_header:08x};
        else word = (sr_is_h != 0) ? h_ext : c_ext;
    end else if (kind == 2'd1) case (k)
        0: word = 32'h{status_header:08x};
        1: word = frames;
        2: word = err_opcode;
        3: word = err_length;
        4: word = err_refused;
        5: word = loaded;
        6: word = 32'h{signature:08x};
        default: word = 0;
    endcase else case (k)
        0: word = 32'h{result_header:08x};
        1: word = seq;
        2: word = class_r;
        3: word = cycles_r;
        default: word = logit_ext;
    endcase
end
",
            initial = initial_block(&format!("{resets} loaded = 0;")),
            header_fields = HeaderBits::verilog_fields("s_user"),
            status_words = p::STATUS_WORDS,
            state_words = p::state_words(lay),
            state_header = header(p::STATE_REPLY, p::state_words(lay)),
            result_last = p::RESULT_FIXED_WORDS + rows,
            fixed = p::RESULT_FIXED_WORDS,
            status_header = header(p::STATUS_REPLY, p::STATUS_WORDS),
            signature = self._signature,
            result_header = header(p::RESULT, p::RESULT_FIXED_WORDS + rows),
            bank1 = bits_for(lay.weight_banks.max(lay.tap_banks).max(lay.engines)),
            rings = rings.declarations(),
            // `k` passes the last word by one.
            k1 = bits_for(
                (p::RESULT_FIXED_WORDS + rows)
                    .max(p::STATUS_WORDS)
                    .max(p::state_words(lay))
                    + 1
            ),
            lane1 = bits_for(lay.lanes),
            addr1 = bits_for(
                p::clear_cycles(lay)
                    .max(1 << self._s.load_addr_bits)
                    .max(1 << self._s.data_addr_bits)
            ),
        );
        // Outputs.
        let _ = writeln!(
            v,
            "wire loading = (state == LOAD) && accept;
wire framing = (state == FRAME) && accept;
wire clearing = (state == CLEAR);
always @(*) begin
    s_tready = ready;
    m_tdata = m_data;
    m_tvalid = m_valid;
    m_tlast = m_last;
    load_addr = wr_addr;
    load_data = wr_data;
    data_addr = (framing || clearing) ? addr : h_word;
    data_data = framing ? s_tdata : (clearing ? 0 : h_data);
    cell_we = (clearing || c_we != 0) ? 2'sd1 : 2'sd0;
    cell_addr = clearing ? addr : c_addr;
    cell_data = clearing ? 0 : c_data;
    logit_addr = laddr;
    start = {{1'b0, start_r}};
    clear = {{1'b0, clear_r}};
    reading = {{1'b0, reading_w}};
    sr_next = (reading_w && k >= 1 && takes) ? 2'sd1 : 2'sd0;"
        );
        for b in 0..lay.weight_banks {
            let _ = writeln!(
                v,
                "    weight_we${b} = (wr_w && hot_w[{b}]) ? 2'sd1 : 2'sd0;"
            );
        }
        let engines = lay.engines.max(1);
        for b in 0..engines {
            let _ = writeln!(v, "    bias_we${b} = (wr_b && hot_e[{b}]) ? 2'sd1 : 2'sd0;");
            if lay.row_shifts {
                let _ = writeln!(
                    v,
                    "    shift_we${b} = (wr_s && hot_e[{b}]) ? 2'sd1 : 2'sd0;"
                );
            }
        }
        if lay.head.light_rnn.is_some() {
            let _ = writeln!(v, "    table_we$0 = wr_table ? 2'sd1 : 2'sd0;");
        }
        if lay.has_codebooks() {
            let _ = writeln!(v, "    codebook_we$0 = wr_codebook ? 2'sd1 : 2'sd0;");
        }
        for b in 0..lay.tap_banks {
            let _ = writeln!(v, "    tap_we${b} = (wr_t && hot_t[{b}]) ? 2'sd1 : 2'sd0;");
        }
        for k in 0..lay.lanes {
            let _ = writeln!(
                v,
                "    data_we${k} = (framing ? (lane == {k}) : (clearing || (h_we != 0 && h_lane == {k}))) ? 2'sd1 : 2'sd0;"
            );
        }
        v.push_str("end\n");
        let _ = writeln!(
            v,
            "
always @(posedge clock) begin
    start_r <= 0;
    clear_r <= 0;
    wr_w <= s_tvalid && running && load_w; wr_b <= s_tvalid && running && load_b;
    wr_s <= s_tvalid && running && load_s; wr_t <= s_tvalid && running && load_t;
    wr_table <= loading && target == 3'd{t_table}; wr_codebook <= loading && target == 3'd{t_codebooks};
    wr_addr <= addr; wr_data <= s_tdata;
{ring_steps}    if (state != SEND && m_valid && m_tready)
        m_valid <= 0;
    case (state)
    IDLE: if (accept) begin
        if (h_command) begin
            if (h_fits && s_tlast) begin
                if (h_reset) begin
                    state <= CLEAR; addr <= 0; clear_r <= 1;
                end else begin
                    state <= SEND; kind <= h_status ? 2'd1 : 2'd2; k <= 0; lwait <= 3'd{read_wait};
                    reading_w <= !h_status;
                end
            end else begin
                err_length <= err_length + 1; state <= s_tlast ? IDLE : DISCARD;
            end
        end else if (h_frame) begin
            if (loaded != {need})
                begin err_refused <= err_refused + 1; state <= s_tlast ? IDLE : DISCARD; end
            else if (h_fits && !s_tlast) begin
                state <= FRAME; remaining <= len; rem_one <= h_one; lane <= 0; addr <= 0;
            end else begin
                err_length <= err_length + 1; state <= s_tlast ? IDLE : DISCARD;
            end
        end else if (h_load) begin
            if (h_fits && !s_tlast) begin
                state <= LOAD; target <= h_target; remaining <= len; rem_one <= h_one; bank <= 0; addr <= 0;
                load_w <= (h_target == 3'd{t_weights}); load_b <= (h_target == 3'd{t_biases});
                load_s <= (h_target == 3'd{t_shifts}); load_t <= (h_target == 3'd{t_taps});
                loaded <= loaded & ~(32'd1 << h_target);
            end else begin
                err_length <= err_length + 1; state <= s_tlast ? IDLE : DISCARD;
            end
        end else begin
            err_opcode <= err_opcode + 1; state <= s_tlast ? IDLE : DISCARD;
        end
    end
    LOAD: if (accept) begin
        if ({bank_step}) begin
            bank <= bank + 1;
        end else begin
            bank <= 0; addr <= addr + 1;
        end
{load_payload}    end
    FRAME: if (accept) begin
        if (lane + 1 < {lanes})
            lane <= lane + 1;
        else begin
            lane <= 0; addr <= addr + 1;
        end
{frame_payload}    end
    DISCARD: if (accept && s_tlast)
        state <= IDLE;
    RUN: if (seq_done != 0) begin
        class_r <= seq_decoded;
        cycles_r <= seq_cycles[31:0];
        seq <= frames;
        frames <= frames + 1;
        state <= SEND; kind <= 2'd0; k <= 0; laddr <= 0; lwait <= 3'd{read_wait};
    end
    CLEAR: begin
        addr <= addr + 1;
        if (addr + 1 >= {clear})
            state <= IDLE;
    end
    SEND: begin
        if (m_valid && m_tready)
            m_valid <= 0;
        if (lwait != 0)
            lwait <= lwait - 1;
        if (takes) begin
            m_data <= word;
            m_valid <= 1;
            m_last <= (k == last_k);
            k <= k + 1;
            if (from_memory) begin
                lwait <= (kind == 2'd2) ? 3'd{state_wait} : 3'd{read_wait};
                if (kind == 2'd0)
                    laddr <= laddr + 1;
            end
        end
        if (k > last_k) begin
            state <= IDLE;
            reading_w <= 0;
        end
    end
    default: ;
    endcase
end",
            need = p::loaded_mask(lay),
            bank_step = bank_step(lay),
            t_weights = p::target::WEIGHTS,
            t_biases = p::target::BIASES,
            t_shifts = p::target::ROW_SHIFTS,
            t_taps = p::target::TAPS,
            ring_steps = rings.steps(),
            t_table = p::target::CLASS_TABLE,
            t_codebooks = p::target::CODEBOOKS,
            load_payload = count_payload(
                "loaded <= loaded | (32'd1 << target); state <= IDLE;",
                "state <= IDLE;",
                "load_w <= 0; load_b <= 0; load_s <= 0; load_t <= 0;"
            ),
            frame_payload = count_payload("state <= RUN; start_r <= 1;", "state <= IDLE;", ""),
            lanes = lay.lanes,
            clear = p::clear_cycles(lay),
            read_wait = READ_WAIT,
            state_wait = self.state_wait(),
        );
        // Reset's clause ends the block that assigns the registers.
        assert!(v.ends_with("endcase\nend\n"));
        v.truncate(v.len() - "end\n".len());
        v.push_str(&reset_clause(&resets));
        v.push_str("end\n");
        v
    }
}

/// Whether a load's next word goes to the next bank at the same address:
/// `bank + 1 <` the target's bank count ([`p::load_banks`]), for each target
/// of more than one bank.
fn bank_step(lay: &lstm_accel_spec::layout::Layout) -> String {
    let steps: Vec<String> = p::target::ALL
        .iter()
        .map(|&t| (t, p::load_banks(lay, t)))
        .filter(|&(_, banks)| banks > 1)
        .map(|(t, banks)| format!("(target == 3'd{t} && bank + 1 < {banks})"))
        .collect();
    if steps.is_empty() {
        "1'b0".into()
    } else {
        steps.join(" || ")
    }
}

/// A load's or a frame's payload word counted down from the header's
/// length (the native model's `count_payload`): `complete` where the last
/// word is where the header said, `short` where it comes early (an error),
/// and `leave` on every way out of the state.
fn count_payload(complete: &str, short: &str, leave: &str) -> String {
    format!(
        "        remaining <= remaining - 1;
        rem_one <= (remaining == 2);
        if (s_tlast) begin
            if (rem_one) begin
                {complete}
            end else begin
                err_length <= err_length + 1; {short}
            end
            {leave}
        end else if (rem_one) begin
            err_length <= err_length + 1; state <= DISCARD; {leave}
        end
"
    )
}

/// The top bit index of a counter that reaches `n` (one bit to spare).
fn bits_for(n: usize) -> usize {
    (usize::BITS - n.leading_zeros()) as usize
}

/// The bank a load word is written to, as one-hot rings, one per group of
/// memories that a load spreads round-robin over banks (`hot_w` the weight
/// banks, `hot_e` the engines' bias and row-shift memories, `hot_t` the tap
/// banks): a ring turns as its group's write happens (`wr_w`, ...) and
/// starts at bank 0 a cycle after a load's header (`wr_restart`), before
/// the load's first write. A bank's write enable is then a gate on two
/// registers, and no compare of the bank counter reaches the banks (it was
/// ESE 16 x 64's critical path, 6.2 ns of routing from the controller to a
/// bank's enable). The native model compares `bank` instead: the same
/// enables.
struct BankRings {
    /// (ring, banks, the write flags that turn it).
    rings: Vec<(&'static str, usize, &'static str)>,
}

impl BankRings {
    fn new(lay: &lstm_accel_spec::layout::Layout) -> Self {
        let mut rings = vec![(
            "hot_e",
            p::load_banks(lay, p::target::BIASES) as usize,
            "wr_b || wr_s",
        )];
        if lay.weight_banks > 0 {
            rings.push((
                "hot_w",
                p::load_banks(lay, p::target::WEIGHTS) as usize,
                "wr_w",
            ));
        }
        if lay.tap_banks > 0 {
            rings.push((
                "hot_t",
                p::load_banks(lay, p::target::TAPS) as usize,
                "wr_t",
            ));
        }
        BankRings { rings }
    }

    fn declarations(&self) -> String {
        let mut v = String::from("reg wr_restart;\n");
        for (ring, n, _) in &self.rings {
            let _ = writeln!(v, "reg [{}:0] {ring};", n - 1);
        }
        v
    }

    fn resets(&self) -> String {
        let mut v = String::from("wr_restart = 0;");
        for (ring, _, _) in &self.rings {
            let _ = write!(v, " {ring} = 1;");
        }
        v
    }

    fn steps(&self) -> String {
        let mut v = String::from(
            "    wr_restart <= (state == IDLE) && accept && h_load;\n    if (wr_restart) begin\n",
        );
        for (ring, _, _) in &self.rings {
            let _ = writeln!(v, "        {ring} <= 1;");
        }
        v.push_str("    end else begin\n");
        for (ring, n, when) in &self.rings {
            if *n > 1 {
                let _ = writeln!(
                    v,
                    "        if ({when}) {ring} <= {{{ring}[{}:0], {ring}[{}]}};",
                    n - 2,
                    n - 1
                );
            }
        }
        v.push_str("    end\n");
        v
    }
}
