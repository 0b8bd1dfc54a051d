//! The spec's estimate of the clock a design reaches after placement and
//! routing (nextpnr's Fmax), so that the automatic configuration can rank
//! designs by their time per frame and not by cycles alone: a design that
//! takes fewer cycles but spreads over more of the die loses clock.
//!
//! The datapath is pipelined so that no path grows with the lanes or the
//! row engines in one cycle; what is left to set the clock is distance.
//! On the routed designs measured, the critical path is a route across the
//! die (a control broadcast, a block RAM's output, a memory's address), and
//! the spread that makes it long follows the block RAMs the design uses
//! (they sit in rows across the part, and the logic that reads them goes
//! with them) more closely than its logic cells, which add nothing the
//! measured designs can separate. The estimate is therefore linear in the
//! part's block-RAM use:
//!
//! `fmax = ceiling - per_block_ram * block_rams`
//!
//! with one fit per FPGA family ([`FmaxFit`]); the use is a fraction of the
//! part's own block RAMs. The ECP5 fit is a least-squares fit to
//! the routed designs in [`ECP5_MEASURED`] (nextpnr-ecp5, seed 1, default
//! router, the bare accelerator on the LFE5U-85F), the iCE40 fit the mean
//! of those in [`ICE40_MEASURED`] (the iCEBreaker top with its UART bridge
//! and PLL on the UP5K). Placement alone moves a design's Fmax by several
//! per cent from one seed to the next (the FSDD model at 8 lanes on the
//! iCEBreaker: 29.1 to 31.2 MHz over seeds 1 to 4; ESE's own model at 16 x
//! 64 before its input slice: 71.3 and 81.4 MHz), so the estimate is a
//! planning figure, not a promise: `synth` reports the achieved clock
//! beside it.

use crate::target::Family;
use crate::target::Target;
use serde::{Deserialize, Serialize};

/// One family's fit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FmaxFit {
    /// Fmax of a design that uses none of the part, MHz.
    pub ceiling_mhz: f64,
    /// MHz lost per unit of block-RAM utilisation (0 to 1).
    pub per_block_ram: f64,
}

/// A measured design: its block-RAM use as the spec places it and the Fmax
/// nextpnr reached.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Measured {
    /// What it was.
    pub design: &'static str,
    /// Block RAMs the spec places, over the part's.
    pub block_rams: f64,
    /// nextpnr's Fmax, MHz.
    pub fmax_mhz: f64,
}

/// The ECP5 designs the fit is made on (LFE5U-85F, seed 1;
/// `docs/verification.md` has the runs). ESE's own model at 16 x 64 is the
/// design of the input register slice and the registered sequencer tables
/// (its earlier placements, 71.3 and 81.4 MHz, had their critical path in
/// the stream handshake those removed).
pub const ECP5_MEASURED: [Measured; 5] = [
    Measured {
        design: "FSDD 4 x 16",
        block_rams: 17.0 / 208.0,
        fmax_mhz: 89.8,
    },
    Measured {
        design: "FSDD 16 x 16",
        block_rams: 17.0 / 208.0,
        fmax_mhz: 96.0,
    },
    Measured {
        design: "FSDD 8 x 64",
        block_rams: 33.0 / 208.0,
        fmax_mhz: 92.8,
    },
    Measured {
        design: "ESE 4 x 64",
        block_rams: 79.0 / 208.0,
        fmax_mhz: 84.6,
    },
    Measured {
        design: "ESE 16 x 64",
        block_rams: 95.0 / 208.0,
        fmax_mhz: 86.3,
    },
];

/// The iCE40 designs the fit is made on (UP5K, the iCEBreaker top at 30
/// MHz, seed 1): the FSDD model and two random 2 x 32 and 2 x 64 models
/// at 2 to 8 lanes, three or five activation blocks.
pub const ICE40_MEASURED: [Measured; 7] = [
    Measured {
        design: "FSDD 1 x 2",
        block_rams: 11.0 / 30.0,
        fmax_mhz: 30.85,
    },
    Measured {
        design: "FSDD 1 x 4",
        block_rams: 13.0 / 30.0,
        fmax_mhz: 28.09,
    },
    Measured {
        design: "FSDD 1 x 4, three activation blocks",
        block_rams: 13.0 / 30.0,
        fmax_mhz: 27.18,
    },
    Measured {
        design: "FSDD 1 x 6, three activation blocks",
        block_rams: 15.0 / 30.0,
        fmax_mhz: 29.75,
    },
    Measured {
        design: "FSDD 1 x 8, three activation blocks",
        block_rams: 17.0 / 30.0,
        fmax_mhz: 29.08,
    },
    Measured {
        design: "2 x 32 ternary, 1 x 4",
        block_rams: 25.0 / 30.0,
        fmax_mhz: 31.23,
    },
    Measured {
        design: "2 x 64 ternary, 1 x 2, three activation blocks",
        block_rams: 14.0 / 30.0,
        fmax_mhz: 28.72,
    },
];

/// The ECP5 fit: 95.0 MHz less 22.0 MHz per unit of block-RAM use.
pub const ECP5_FIT: FmaxFit = FmaxFit {
    ceiling_mhz: 95.0,
    per_block_ram: 22.0,
};

/// The iCE40 fit: every UP5K design measured fills 86 to 96 % of the
/// part once placed (80 to 86 % by the estimate, which leaves out the
/// board's bridge), and their Fmax, 27.2 to 31.2 MHz, shows no trend with
/// either utilisation: the fit is their mean.
pub const ICE40_FIT: FmaxFit = FmaxFit {
    ceiling_mhz: 29.3,
    per_block_ram: 0.0,
};

impl FmaxFit {
    /// The fit of a part's family; none for a target that is not a part.
    pub fn of(target: Target) -> Option<FmaxFit> {
        match target.family()? {
            Family::Ecp5 => Some(ECP5_FIT),
            Family::Ice40 => Some(ICE40_FIT),
        }
    }

    /// The estimated Fmax, MHz, of a design with this block-RAM use.
    pub fn fmax_mhz(&self, block_rams: f64) -> f64 {
        self.ceiling_mhz - self.per_block_ram * block_rams
    }
}

/// The spec's clock estimate of one design.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClockEstimate {
    /// nextpnr's Fmax as the family's fit estimates it, MHz.
    pub fmax_mhz: f64,
    /// The clock the design is expected to run at: the configuration's, or
    /// the estimated Fmax when that is lower, MHz.
    pub expected_mhz: f64,
    /// A frame's latency at the expected clock, microseconds.
    pub frame_latency_us: f64,
}

impl ClockEstimate {
    /// The estimate for a design of `cycles` per frame on `target`, with
    /// this block-RAM use, asked to run at `clock_mhz`; none for a target
    /// that is not a part.
    pub fn new(
        target: Target,
        block_rams: f64,
        clock_mhz: f64,
        cycles: u64,
    ) -> Option<ClockEstimate> {
        let fmax_mhz = FmaxFit::of(target)?.fmax_mhz(block_rams);
        let expected_mhz = fmax_mhz.min(clock_mhz);
        Some(ClockEstimate {
            fmax_mhz,
            expected_mhz,
            frame_latency_us: cycles as f64 / expected_mhz,
        })
    }
}
