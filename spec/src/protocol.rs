//! The packet protocol of the accelerator's two AXI4-Stream ports (32-bit
//! `tdata`, `tvalid`/`tready` handshake, `tlast` closing a packet). The
//! stream controller implements it in hardware; the host driver frames and
//! parses packets from the same constants.
//!
//! A packet is a header word, `opcode << 24 | payload_words`, then the
//! payload; `tlast` marks its last word.
//!
//! Input (host to device):
//! - `RESET` (no payload): zero every cell state and h (takes
//!   [`clear_cycles`] cycles); the next frame is the first of a sequence.
//! - `STATUS` (no payload): the device answers with a status packet.
//! - `READ_STATE` (no payload): the device answers with its recurrent state,
//!   the values the next frame starts from.
//! - `LOAD_WEIGHTS`, `LOAD_BIASES`, `LOAD_ROW_SHIFTS`, `LOAD_CLASS_TABLE` (a
//!   LightRNN head's table, row-major, -1 for an empty cell), `LOAD_CODEBOOKS`
//!   (every matrix id's codebook table, lane codes), `LOAD_TAPS` (the block
//!   codes of structured matrices, tap words bank-minor like weights): a
//!   whole memory, from
//!   address 0 (weights bank-minor, see [`crate::layout`]); values in the
//!   low bits of each word. The declared length must be the memory's.
//! - `FRAME`: one input value per word (the input format's raw value,
//!   sign-extended); the device runs the frame and answers with a result.
//!
//! Output (device to host):
//! - `RESULT`: frame number, class, cycles the frame took, then every logit
//!   (raw, sign-extended).
//! - `STATUS_REPLY`: frames run, packets with an unknown opcode, packets of
//!   the wrong length, frames refused because a memory was not (completely)
//!   loaded, the mask of loaded memories (bit 0 weights, 1 biases, 2 row
//!   shifts, 3 class table, 4 codebooks), and the design's layout signature.
//! - `STATE_REPLY`: layer by layer, every cell state c then every output
//!   (h, or a projected layer's y; raw, sign-extended); [`state_words`] words.
//!
//! A bad packet is counted and skipped up to its `tlast`; a memory whose load
//! is cut short stays marked not loaded, so no frame runs on partial weights.
//! The device never drops a result: it takes no input while a result waits
//! for the output stream.

use crate::layout::Layout;

/// Zero the state.
pub const RESET: u32 = 0x01;
/// Ask for the status.
pub const STATUS: u32 = 0x02;
/// Ask for the recurrent state.
pub const READ_STATE: u32 = 0x03;
/// Load the weight memory.
pub const LOAD_WEIGHTS: u32 = 0x10;
/// Load the bias memory.
pub const LOAD_BIASES: u32 = 0x11;
/// Load the row-shift memory.
pub const LOAD_ROW_SHIFTS: u32 = 0x12;
/// Load a LightRNN head's class table.
pub const LOAD_CLASS_TABLE: u32 = 0x13;
/// Load the codebook tables.
pub const LOAD_CODEBOOKS: u32 = 0x14;
/// Load the tap memory (structured matrices).
pub const LOAD_TAPS: u32 = 0x15;
/// Run one frame.
pub const FRAME: u32 = 0x20;
/// A frame's result.
pub const RESULT: u32 = 0x80;
/// The status.
pub const STATUS_REPLY: u32 = 0x81;
/// The recurrent state.
pub const STATE_REPLY: u32 = 0x82;

/// Words of a result payload before the logits.
pub const RESULT_FIXED_WORDS: usize = 3;
/// Words of a status payload.
pub const STATUS_WORDS: usize = 6;

/// Loaded-mask bits.
pub const LOADED_WEIGHTS: u32 = 1;
/// Biases loaded.
pub const LOADED_BIASES: u32 = 2;
/// Row shifts loaded.
pub const LOADED_ROW_SHIFTS: u32 = 4;
/// Class table loaded.
pub const LOADED_CLASS_TABLE: u32 = 8;
/// Codebook tables loaded.
pub const LOADED_CODEBOOKS: u32 = 16;
/// Loaded-mask bit: tap memory.
pub const LOADED_TAPS: u32 = 32;

/// A header word.
pub fn header(opcode: u32, payload_words: usize) -> u32 {
    (opcode << 24) | (payload_words as u32 & 0x00ff_ffff)
}

/// (opcode, payload words) of a header word.
pub fn parse_header(word: u32) -> (u32, usize) {
    (word >> 24, (word & 0x00ff_ffff) as usize)
}

/// Load targets: a memory's index in a load, which is the position of its
/// `LOADED_*` bit; the header's decode gives it and the controller's
/// `target` register holds it.
pub mod target {
    use super::*;
    /// The weight memory.
    pub const WEIGHTS: u8 = LOADED_WEIGHTS.trailing_zeros() as u8;
    /// The bias memories.
    pub const BIASES: u8 = LOADED_BIASES.trailing_zeros() as u8;
    /// The row-shift memories.
    pub const ROW_SHIFTS: u8 = LOADED_ROW_SHIFTS.trailing_zeros() as u8;
    /// The LightRNN class table.
    pub const CLASS_TABLE: u8 = LOADED_CLASS_TABLE.trailing_zeros() as u8;
    /// The codebook tables.
    pub const CODEBOOKS: u8 = LOADED_CODEBOOKS.trailing_zeros() as u8;
    /// The tap memory.
    pub const TAPS: u8 = LOADED_TAPS.trailing_zeros() as u8;
    /// Every target.
    pub const ALL: [u8; 6] = [WEIGHTS, BIASES, ROW_SHIFTS, CLASS_TABLE, CODEBOOKS, TAPS];
}

/// Stream words of a load of `target` per address: one per bank of its
/// memory (a weight or tap word per bank, a bias or row shift per row
/// engine's bank), 1 for a memory of one bank.
pub fn load_banks(lay: &Layout, target: u8) -> u32 {
    let banks = match target {
        target::WEIGHTS => lay.weight_banks,
        target::TAPS => lay.tap_banks,
        target::BIASES | target::ROW_SHIFTS => lay.engines,
        _ => 1,
    };
    banks.max(1) as u32
}

/// The design's loadable memories: (opcode, target index = the memory's
/// bit in the loaded mask, stream words of a whole load). The controller
/// writes the memory a load names, and the header's decode checks its
/// length against this list.
pub fn loads(lay: &Layout) -> Vec<(u32, u8, u32)> {
    let mut v = vec![
        (
            LOAD_WEIGHTS,
            target::WEIGHTS,
            lay.weight_stream_words() as u32,
        ),
        (
            LOAD_BIASES,
            target::BIASES,
            (lay.rows * lay.engines.max(1)) as u32,
        ),
    ];
    if lay.row_shifts {
        v.push((
            LOAD_ROW_SHIFTS,
            target::ROW_SHIFTS,
            (lay.rows * lay.engines.max(1)) as u32,
        ));
    }
    if let Some(l) = &lay.head.light_rnn {
        v.push((
            LOAD_CLASS_TABLE,
            target::CLASS_TABLE,
            (l.rows * l.cols) as u32,
        ));
    }
    if lay.has_codebooks() {
        v.push((
            LOAD_CODEBOOKS,
            target::CODEBOOKS,
            (lay.matrix_ids() * crate::layout::CODEBOOK_ENTRIES) as u32,
        ));
    }
    if lay.tap_words > 0 {
        v.push((LOAD_TAPS, target::TAPS, lay.tap_stream_words() as u32));
    }
    v
}

/// The loaded mask a design needs before it runs frames: a bit per
/// memory of [`loads`].
pub fn loaded_mask(lay: &Layout) -> u32 {
    loads(lay)
        .iter()
        .fold(0, |m, &(_, target, _)| m | 1 << target)
}

/// Words of a state payload: a c per cell and every output of every layer.
pub fn state_words(lay: &Layout) -> usize {
    lay.layers
        .iter()
        .map(|l| l.hidden + l.outputs)
        .sum::<usize>()
}

/// Cycles the `RESET` sweep takes.
pub fn clear_cycles(lay: &Layout) -> usize {
    lay.data_words.max(lay.cells)
}

/// A 32-bit signature of a layout (FNV-1a of its JSON): a host checks it to
/// know the device runs a design of its model's shape.
pub fn signature(lay: &Layout) -> u32 {
    let text = serde_json::to_string(lay).unwrap_or_default();
    text.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}
