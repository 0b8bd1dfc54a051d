//! The widths of the design's control and address signals.

use super::{Layout, CODEBOOK_ENTRIES};
use crate::datapath::ram;

/// The widths of the design's control and address signals, derived once
/// from the layout and read by every block that carries them. Addresses are
/// [`ram::address_width`] wide, so they stay non-negative as signed signals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Widths {
    /// A weight-memory address.
    pub weight_addr_bits: usize,
    /// A data-memory address.
    pub data_addr_bits: usize,
    /// A bias / row-shift address.
    pub row_addr_bits: usize,
    /// A cell-memory address.
    pub cell_addr_bits: usize,
    /// A logit-memory address.
    pub logit_addr_bits: usize,
    /// A class-table address (LightRNN heads).
    pub table_addr_bits: usize,
    /// A matrix id.
    pub matrix_bits: usize,
    /// The load address (weights, biases, row shifts, class table).
    pub load_addr_bits: usize,
    /// A lane index.
    pub lane_bits: usize,
    /// A MAC or bias shift (the widest alignment plus the widest row shift).
    pub shift_bits: usize,
    /// The phase index (a layer, the head, a LightRNN head's columns).
    pub phase_bits: usize,
    /// The class (the arg-max's index over the logits, or a LightRNN
    /// table entry, signed).
    pub class_bits: usize,
    /// The widest pre-activation or logit.
    pub value_width: usize,
    /// A tap-memory address.
    pub tap_addr_bits: usize,
    /// A window `a - b0` (signed).
    pub window_bits: usize,
    /// A structured mode (0 dense).
    pub mode_bits: usize,
}

impl Layout {
    /// The widths of the design's control and address signals.
    pub fn widths(&self) -> Widths {
        let aw = |n: usize| ram::address_width(n.max(1));
        let max_row_shift = if self.row_shifts {
            (1u64 << self.row_shift_bits) - 1
        } else {
            0
        };
        let max_shift = self
            .layers
            .iter()
            .flat_map(|l| [l.align_x, l.align_h, l.align_bias])
            .chain([self.head.align, self.head.align_bias])
            .chain(
                self.layers
                    .iter()
                    .filter_map(|l| l.projection.as_ref().map(|p| p.align)),
            )
            .chain(
                self.head
                    .light_rnn
                    .iter()
                    .flat_map(|l| [l.align, l.align_bias]),
            )
            .map(u64::from)
            .max()
            .unwrap_or(0)
            + max_row_shift;
        let (weight_addr_bits, row_addr_bits) = (aw(self.weight_words), aw(self.rows));
        let table_addr_bits = aw(self.head.light_rnn.as_ref().map_or(1, |l| l.rows * l.cols));
        Widths {
            weight_addr_bits,
            data_addr_bits: aw(self.data_words),
            row_addr_bits,
            cell_addr_bits: aw(self.cells),
            logit_addr_bits: aw(self.head.rows),
            table_addr_bits,
            matrix_bits: aw(self.matrix_ids()),
            load_addr_bits: weight_addr_bits
                .max(aw(self.tap_words))
                .max(row_addr_bits)
                .max(table_addr_bits)
                .max(aw(self.matrix_ids() * CODEBOOK_ENTRIES)),
            lane_bits: aw(self.lanes),
            shift_bits: (64 - max_shift.leading_zeros()) as usize + 1,
            phase_bits: aw(self.phase_count()),
            class_bits: match &self.head.light_rnn {
                Some(l) => l.class_width as usize,
                None => aw(self.head.rows),
            },
            tap_addr_bits: aw(self.tap_words),
            window_bits: aw(self.conv_modes.iter().map(|m| m.block).max().unwrap_or(1)) + 1,
            mode_bits: aw(self.conv_modes.len() + 1),
            value_width: self
                .layers
                .iter()
                .map(|l| l.preact.width)
                .chain(
                    self.layers
                        .iter()
                        .filter_map(|l| l.projection.as_ref().map(|p| p.format.width)),
                )
                .chain(self.factors().iter().map(|f| f.format.width))
                .chain([self.head.logits.width])
                .max()
                .unwrap_or(16) as usize,
        }
    }
}

/// Bits of the lane code a power-of-two codebook of `width`-bit entries
/// needs: a sign and a magnitude up to `width` (the entry `-2^(width-1)` is
/// a shift by `width - 1`).
pub fn codebook_lane_bits(width: u32) -> u32 {
    1 + (32 - width.leading_zeros())
}
