//! Verilog text shared by the leaf blocks: signed literals of any width and
//! the rounding right shift of `lstm_accel_model::fixed::shift_round`, written
//! so that Verilog's sizing rules cannot change the result (every operand
//! signed, every intermediate declared).

use lstm_accel_model::fixed::Rounding;

/// A signed literal of `width` bits: `-12'sd5`, `8'sd3`.
pub fn lit(v: i64, width: usize) -> String {
    if v < 0 {
        format!("-{width}'sd{}", v.unsigned_abs())
    } else {
        format!("{width}'sd{v}")
    }
}

/// The statement assigning `out = shift_round(input, shift, mode)` (both
/// declared `signed`, `out` at least as wide as `input >>> shift`), inside an
/// `always @(*)` block: the floor plus [`round_carry`].
pub fn round_stmts(input: &str, out: &str, shift: u32, mode: Rounding) -> String {
    match (shift, mode) {
        (0, _) => format!("    {out} = {input};\n"),
        (s, Rounding::Floor) => format!("    {out} = {input} >>> {s};\n"),
        (s, _) => format!(
            "    {out} = ({input} >>> {s}) + $signed({{1'b0, {}}});\n",
            round_carry(input, shift, mode)
        ),
    }
}

/// The one-bit expression that `shift_round(input, shift, mode)` adds to
/// the floor `input >>> shift`.
pub fn round_carry(input: &str, shift: u32, mode: Rounding) -> String {
    let s = shift;
    match (s, mode) {
        (0, _) | (_, Rounding::Floor) => "1'b0".to_string(),
        // The half bit (the bit just below the kept ones).
        (_, Rounding::HalfUp) => format!("{input}[{}]", s - 1),
        // Round up above the half, and at the half when the kept LSB is
        // odd; with one dropped bit nothing lies above the half.
        (1, Rounding::HalfEven) => format!("({input}[0] && {input}[1])"),
        (_, Rounding::HalfEven) => {
            let half = format!("{s}'d{}", 1u64 << (s - 1));
            format!(
                "(({input}[{k1}:0] > {half}) || ({input}[{k1}:0] == {half} && {input}[{s}]))",
                k1 = s - 1
            )
        }
    }
}

/// The `initial` block giving a block's registers their power-up values,
/// from their list `a = 0; b = IDLE;` (the one list [`reset_clause`] reads
/// too, so power-up and reset cannot drift apart).
pub fn initial_block(inits: &str) -> String {
    format!("initial begin\n    {}\nend\n", inits.trim())
}

/// The statement that puts the registers of `inits` (as for
/// [`initial_block`]) back to their power-up values while `reset` is high.
/// It ends the `always` block that assigns them: the last nonblocking
/// assignment wins, so reset overrides whatever the block did this cycle.
pub fn reset_clause(inits: &str) -> String {
    let body: Vec<String> = inits
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| format!("{};", s.replacen(" = ", " <= ", 1)))
        .collect();
    format!(
        "    if (reset) begin\n        {}\n    end\n",
        body.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_clause_assigns_the_initial_values() {
        let inits = "state = IDLE; k = 0;\n    m = 2'd1;";
        assert_eq!(
            initial_block(inits),
            "initial begin\n    state = IDLE; k = 0;\n    m = 2'd1;\nend\n"
        );
        assert_eq!(
            reset_clause(inits),
            "    if (reset) begin\n        state <= IDLE; k <= 0; m <= 2'd1;\n    end\n"
        );
    }
}
