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

/// Statements assigning `out = shift_round(input, shift, mode)` (both
/// declared `signed`, `out` at least as wide as `input >>> shift`), inside an
/// `always @(*)` block. `tmp` prefixes the names of the extra wires the
/// statements need, which [`round_decls`] declares.
pub fn round_stmts(input: &str, out: &str, shift: u32, mode: Rounding, tmp: &str) -> String {
    if shift == 0 {
        return format!("    {out} = {input};\n");
    }
    let s = shift;
    match mode {
        Rounding::Floor => format!("    {out} = {input} >>> {s};\n"),
        // floor + the half bit (the bit just below the kept ones).
        Rounding::HalfUp => format!(
            "    {out} = ({input} >>> {s}) + $signed({{1'b0, {input}[{}]}});\n",
            s - 1
        ),
        Rounding::HalfEven => {
            // Round up above the half, and at the half when the kept LSB is
            // odd; with one dropped bit nothing lies above the half.
            let up = if s == 1 {
                format!("{tmp}_rem[0] && {tmp}_q[0]")
            } else {
                let half = format!("{s}'d{}", 1u64 << (s - 1));
                format!("({tmp}_rem > {half}) || ({tmp}_rem == {half} && {tmp}_q[0])")
            };
            format!(
                "    {tmp}_q = {input} >>> {s};
    {tmp}_rem = {input}[{}:0];
    {tmp}_up = {up};
    {out} = {tmp}_q + $signed({{1'b0, {tmp}_up}});\n",
                s - 1
            )
        }
    }
}

/// Declarations of the extra wires of [`round_stmts`] for an input of
/// `width` bits.
pub fn round_decls(width: usize, shift: u32, mode: Rounding, tmp: &str) -> String {
    if shift == 0 || mode != Rounding::HalfEven {
        return String::new();
    }
    format!(
        "reg signed [{}:0] {tmp}_q;\nreg [{}:0] {tmp}_rem;\nreg {tmp}_up;\n",
        width - 1,
        shift - 1
    )
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
