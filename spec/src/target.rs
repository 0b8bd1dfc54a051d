//! FPGA parts the generator targets and the resources that bound a design:
//! logic cells, block RAM (with the aspect ratios a block supports), large
//! single-port RAM (iCE40 UP5K's SPRAM) and hard multipliers.
//!
//! A memory of `depth x width` bits occupies, in the best aspect ratio
//! `(d, w)` a block offers, `ceil(depth / d) * ceil(width / w)` blocks; that
//! is how Yosys maps an inferred memory, and what the spec's estimate uses.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A target part.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// Lattice iCE40 UP5K (iCEBreaker).
    Ice40Up5k,
    /// Lattice iCE40 HX8K.
    Ice40Hx8k,
    /// Lattice ECP5 LFE5U-25F.
    Ecp5_25k,
    /// Lattice ECP5 LFE5U-85F (ULX3S).
    Ecp5_85k,
    /// No resource limits (simulation only).
    Generic,
}

/// FPGA families Yosys synthesises for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// `synth_ice40`.
    Ice40,
    /// `synth_ecp5`.
    Ecp5,
}

impl Target {
    /// The family the part belongs to (none for the generic target).
    pub fn family(self) -> Option<Family> {
        match self {
            Target::Ice40Up5k | Target::Ice40Hx8k => Some(Family::Ice40),
            Target::Ecp5_25k | Target::Ecp5_85k => Some(Family::Ecp5),
            Target::Generic => None,
        }
    }

    /// nextpnr's device and package options for the part (the packages of
    /// the boards the project supports: iCEBreaker's SG48, ULX3S's CABGA381).
    pub fn nextpnr_device(self) -> Option<[&'static str; 3]> {
        Some(match self {
            Target::Ice40Up5k => ["--up5k", "--package", "sg48"],
            Target::Ice40Hx8k => ["--hx8k", "--package", "ct256"],
            Target::Ecp5_25k => ["--25k", "--package", "CABGA256"],
            Target::Ecp5_85k => ["--85k", "--package", "CABGA381"],
            Target::Generic => return None,
        })
    }
}

/// Resources of a part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resources {
    /// Four-input LUTs.
    pub luts: u32,
    /// Block RAMs.
    pub bram_blocks: u32,
    /// Bits per block RAM.
    pub bram_bits: u32,
    /// Aspect ratios `(depth, width)` a block RAM supports.
    pub bram_shapes: Vec<(u32, u32)>,
    /// Large single-port RAM blocks (16K x 16 each on the UP5K).
    pub spram_blocks: u32,
    /// Hard multipliers.
    pub multipliers: u32,
}

impl Target {
    /// Every named part.
    pub const ALL: [Target; 5] = [
        Target::Ice40Up5k,
        Target::Ice40Hx8k,
        Target::Ecp5_25k,
        Target::Ecp5_85k,
        Target::Generic,
    ];

    /// The part's resources (vendor data sheets).
    pub fn resources(self) -> Resources {
        let ice40 = vec![(256, 16), (512, 8), (1024, 4), (2048, 2)];
        let ecp5 = vec![
            (512, 36),
            (1024, 18),
            (2048, 9),
            (4096, 4),
            (8192, 2),
            (16384, 1),
        ];
        match self {
            Target::Ice40Up5k => Resources {
                luts: 5280,
                bram_blocks: 30,
                bram_bits: 4096,
                bram_shapes: ice40,
                spram_blocks: 4,
                multipliers: 8,
            },
            Target::Ice40Hx8k => Resources {
                luts: 7680,
                bram_blocks: 32,
                bram_bits: 4096,
                bram_shapes: ice40,
                spram_blocks: 0,
                multipliers: 0,
            },
            Target::Ecp5_25k => Resources {
                luts: 24_288,
                bram_blocks: 56,
                bram_bits: 18_432,
                bram_shapes: ecp5,
                spram_blocks: 0,
                multipliers: 28,
            },
            Target::Ecp5_85k => Resources {
                luts: 83_640,
                bram_blocks: 208,
                bram_bits: 18_432,
                bram_shapes: ecp5,
                spram_blocks: 0,
                multipliers: 156,
            },
            Target::Generic => Resources {
                luts: u32::MAX,
                bram_blocks: u32::MAX,
                bram_bits: 18_432,
                bram_shapes: ecp5,
                spram_blocks: 0,
                multipliers: u32::MAX,
            },
        }
    }

    /// Whether the part is an ECP5 (its designs use the block RAMs' output
    /// registers and bank deep weight memories).
    pub fn is_ecp5(self) -> bool {
        matches!(self, Target::Ecp5_25k | Target::Ecp5_85k)
    }

    /// Block RAMs a `depth x width` memory occupies.
    pub fn bram_blocks_for(self, depth: usize, width: u32) -> u32 {
        self.resources()
            .bram_shapes
            .iter()
            .map(|&(d, w)| (depth.div_ceil(d as usize) as u32) * width.div_ceil(w))
            .min()
            .unwrap_or(u32::MAX)
    }

    /// Whether the flow's Yosys puts a `depth x width` memory with one
    /// registered read port (and one write port, unless it is a `rom`) in
    /// block RAM on this part; otherwise it becomes logic: flip-flops and
    /// LUTs on iCE40, distributed RAM (`TRELLIS_DPR16X4`, 16 x 4 each) and
    /// LUTs on ECP5, LUTs for a ROM. Measured with the flow's own builds over
    /// depths 4 to 1024 and widths 2 to 32 (random ROM contents):
    /// - iCE40 (`synth_ice40`, Yosys 0.23): a RAM from 8 words and more than
    ///   64 bits,
    ///   a ROM from 128 words and more than 1024 bits;
    /// - ECP5 (`synth_ecp5`, Yosys 0.70): a ROM from 128 words and more than
    ///   2048 bits; a RAM when
    ///   its distributed form costs more: `memory_libmap` weighs 4 per
    ///   16 x 4 cell, plus the read multiplexer of a memory deeper than 16
    ///   (fitted: 0.4 per extra 16 words per bit), against 128 per block
    ///   RAM;
    /// - the generic target (no mapping): above 256 bits.
    pub fn in_block_ram(self, depth: usize, width: u32, rom: bool) -> bool {
        let bits = depth as u64 * u64::from(width);
        match self {
            Target::Ice40Up5k | Target::Ice40Hx8k if rom => depth >= 128 && bits > 1024,
            Target::Ice40Up5k | Target::Ice40Hx8k => depth >= 8 && bits > 64,
            Target::Ecp5_25k | Target::Ecp5_85k if rom => depth >= 128 && bits > 2048,
            Target::Ecp5_25k | Target::Ecp5_85k => {
                // Costs times ten, in integers.
                let rows = depth.div_ceil(16) as u64;
                let cells = rows * u64::from(width.div_ceil(4));
                let distributed = 40 * cells + 4 * (rows - 1) * u64::from(width);
                distributed >= 1280 * u64::from(self.bram_blocks_for(depth, width))
            }
            Target::Generic => bits > 256,
        }
    }

    /// SPRAM blocks (16K x 16) a `depth x width` memory occupies.
    pub fn spram_blocks_for(self, depth: usize, width: u32) -> u32 {
        (depth.div_ceil(16_384) as u32) * width.div_ceil(16)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Target::Ice40Up5k => "ice40-up5k",
            Target::Ice40Hx8k => "ice40-hx8k",
            Target::Ecp5_25k => "ecp5-25k",
            Target::Ecp5_85k => "ecp5-85k",
            Target::Generic => "generic",
        })
    }
}

impl std::str::FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Target::ALL
            .into_iter()
            .find(|t| t.to_string() == s)
            .ok_or_else(|| {
                format!(
                    "unknown target '{s}'; known: {}",
                    Target::ALL.map(|t| t.to_string()).join(", ")
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Points measured with the flow's Yosys builds (depth, width, block RAM).
    #[test]
    fn the_block_ram_rule_matches_the_measured_mappings() {
        let ice40_ram = [
            (8, 16, true),
            (8, 12, true),
            (8, 8, false),
            (4, 32, false),
            (16, 8, true),
            (16, 4, false),
            (32, 4, true),
            (32, 2, false),
            (64, 2, true),
        ];
        let ice40_rom = [
            (128, 12, true),
            (128, 8, false),
            (256, 4, false),
            (256, 8, true),
            (64, 40, false),
            (1024, 2, true),
            (512, 2, false),
        ];
        let ecp5_ram = [
            (16, 32, false),
            (32, 32, false),
            (64, 32, true),
            (64, 16, false),
            (64, 48, false),
            (112, 12, false),
            (120, 12, true),
            (128, 8, false),
            (128, 16, true),
            (256, 4, false),
            (256, 8, true),
            (512, 2, true),
            (96, 24, true),
            (80, 36, true),
        ];
        let ecp5_rom = [
            (128, 16, false),
            (128, 17, true),
            (256, 8, false),
            (256, 9, true),
            (256, 12, true),
            (64, 40, false),
            (1024, 2, false),
            (1024, 3, true),
        ];
        for (t, rom, points) in [
            (Target::Ice40Up5k, false, &ice40_ram[..]),
            (Target::Ice40Hx8k, true, &ice40_rom[..]),
            (Target::Ecp5_85k, false, &ecp5_ram[..]),
            (Target::Ecp5_25k, true, &ecp5_rom[..]),
        ] {
            for &(d, w, bram) in points {
                assert_eq!(t.in_block_ram(d, w, rom), bram, "{t} {d} x {w} rom {rom}");
            }
        }
    }
}
