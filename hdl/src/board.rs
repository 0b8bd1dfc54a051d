//! Boards: the top that puts the serial accelerator
//! ([`crate::serial_top`], module `top`) on a board's pins, with the PLL
//! that makes the design's clock from the board's oscillator, the UART on
//! the USB serial bridge, and two LEDs (a frame runs; the link dropped a
//! frame), and a reset button (held in reset too until the PLL locks; see
//! [`crate::blocks::reset_hold`]). Each board's pin constraints are `constraints/<board>` in the
//! repository (read here at build time), for its toolchain: `.pcf`
//! (nextpnr-ice40), `.lpf` (nextpnr-ecp5), `.xdc` (Vivado, for the Arty A7:
//! no Xilinx flow runs in this project, so that top is written, checked by
//! Yosys's `synth_xilinx`, and untested on hardware).
//!
//! PLL settings are searched like the vendors' calculators do (`icepll`,
//! `ecppll`): within the VCO and phase-detector ranges of the data sheets,
//! the output closest to the requested clock; the design is then built for
//! the clock the PLL really makes, and the UART's clocks per bit follow.

use crate::serial_top::serial_verilog;
use lstm_accel_model::Model;
use lstm_accel_spec::spec::{AcceleratorSpec, HwConfig, SpecError};
use lstm_accel_spec::target::Target;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A supported board.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Board {
    /// 1BitSquared iCEBreaker (iCE40UP5K-SG48, 12 MHz, FT2232H UART).
    Icebreaker,
    /// Radiona ULX3S with the LFE5U-85F (25 MHz, FT231X UART).
    Ulx3s,
    /// Digilent Arty A7 (XC7A35T/100T, 100 MHz, FT2232HQ UART); untested.
    ArtyA7,
}

impl Board {
    /// Every board.
    pub const ALL: [Board; 3] = [Board::Icebreaker, Board::Ulx3s, Board::ArtyA7];

    /// The part the open flow builds for (none for the Arty A7).
    pub fn target(self) -> Option<Target> {
        match self {
            Board::Icebreaker => Some(Target::Ice40Up5k),
            Board::Ulx3s => Some(Target::Ecp5_85k),
            Board::ArtyA7 => None,
        }
    }

    /// The board's oscillator, MHz.
    pub fn oscillator_mhz(self) -> f64 {
        match self {
            Board::Icebreaker => 12.0,
            Board::Ulx3s => 25.0,
            Board::ArtyA7 => 100.0,
        }
    }

    /// The constraints file's name and text.
    pub fn constraints(self) -> (&'static str, &'static str) {
        match self {
            Board::Icebreaker => (
                "icebreaker.pcf",
                include_str!("../../constraints/icebreaker.pcf"),
            ),
            Board::Ulx3s => ("ulx3s.lpf", include_str!("../../constraints/ulx3s.lpf")),
            Board::ArtyA7 => ("arty_a7.xdc", include_str!("../../constraints/arty_a7.xdc")),
        }
    }

    /// The clock the board's PLL makes closest to `mhz` (the oscillator
    /// itself on the Arty A7, whose top uses no PLL).
    pub fn pll(self, mhz: f64) -> Result<Pll, String> {
        match self {
            Board::Icebreaker => ice40_pll(self.oscillator_mhz(), mhz),
            Board::Ulx3s => ecp5_pll(self.oscillator_mhz(), mhz),
            Board::ArtyA7 => Ok(Pll::None {
                mhz: self.oscillator_mhz(),
            }),
        }
    }

    /// The board's top module `board` around the serial design `top`
    /// clocked by `pll`.
    pub fn top_verilog(self, pll: &Pll) -> String {
        match self {
            Board::Icebreaker => format!(
                "// iCEBreaker: 12 MHz in, {mhz:.3} MHz from the PLL; UART on the FTDI's\n\
// second channel; LEDG on while a frame runs, LEDR once the link dropped a frame;\n\
// the user button (BTN_N, low when pressed) resets.\n\
module board(input CLK, input BTN_N, input RX, output TX, output LEDR_N, output LEDG_N);\n\
    wire clk, locked, busy, link_error;\n\
{pll}\
    top core(.clock(clk), .reset(!BTN_N || !locked), .rx(RX), .tx(TX), .busy(busy), .link_error(link_error));\n\
    assign LEDG_N = ~busy;\n\
    assign LEDR_N = ~link_error;\n\
endmodule\n",
                mhz = pll.mhz(),
                pll = pll.instance("CLK", "clk"),
            ),
            Board::Ulx3s => format!(
                "// ULX3S: 25 MHz in, {mhz:.3} MHz from the PLL; UART on the FT231X;\n\
// led[0] on while a frame runs, led[1] once the link dropped a frame;\n\
// a short press of the PWR button (btn_pwr_n, low when pressed) resets.\n\
module board(input clk_25mhz, input btn_pwr_n, input ftdi_txd, output ftdi_rxd, output [7:0] led, output wifi_gpio0);\n\
    wire clk, locked, busy, link_error;\n\
    // Keeps the ESP32 from resetting the FPGA.\n\
    assign wifi_gpio0 = 1'b1;\n\
{pll}\
    top core(.clock(clk), .reset(!btn_pwr_n || !locked), .rx(ftdi_txd), .tx(ftdi_rxd), .busy(busy), .link_error(link_error));\n\
    assign led = {{6'b0, link_error, busy}};\n\
endmodule\n",
                mhz = pll.mhz(),
                pll = pll.instance("clk_25mhz", "clk"),
            ),
            Board::ArtyA7 => "// Arty A7 (untested: no Xilinx flow runs here): the 100 MHz oscillator\n\
// clocks the design directly; UART on the FTDI; LD4 on while a frame runs,\n\
// LD5 once the link dropped a frame; the RESET button (ck_rst, low when\n\
// pressed) resets.\n\
module board(input CLK100MHZ, input ck_rst, input uart_txd_in, output uart_rxd_out, output [3:0] led);\n\
    wire busy, link_error;\n\
    top core(.clock(CLK100MHZ), .reset(!ck_rst), .rx(uart_txd_in), .tx(uart_rxd_out), .busy(busy), .link_error(link_error));\n\
    assign led = {2'b0, link_error, busy};\n\
endmodule\n"
                .to_string(),
        }
    }
}

impl fmt::Display for Board {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Board::Icebreaker => "icebreaker",
            Board::Ulx3s => "ulx3s",
            Board::ArtyA7 => "arty-a7",
        })
    }
}

impl std::str::FromStr for Board {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Board::ALL
            .into_iter()
            .find(|b| b.to_string() == s)
            .ok_or_else(|| {
                format!(
                    "unknown board '{s}'; known: {}",
                    Board::ALL.map(|b| b.to_string()).join(", ")
                )
            })
    }
}

/// A PLL setting.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Pll {
    /// iCE40 `SB_PLL40_PAD`, simple feedback.
    Ice40 {
        /// Input divider, less one.
        divr: u32,
        /// Feedback divider, less one.
        divf: u32,
        /// Output divider, a power of two.
        divq: u32,
        /// Loop filter range for the phase detector's frequency.
        filter_range: u32,
        /// Input, MHz.
        fin: f64,
        /// Output, MHz.
        mhz: f64,
    },
    /// ECP5 `EHXPLLL`, feedback from CLKOP.
    Ecp5 {
        /// Input divider.
        clki_div: u32,
        /// Feedback divider.
        clkfb_div: u32,
        /// Output divider.
        clkop_div: u32,
        /// Input, MHz.
        fin: f64,
        /// Output, MHz.
        mhz: f64,
    },
    /// No PLL: the oscillator is the clock.
    None {
        /// Its frequency, MHz.
        mhz: f64,
    },
}

impl Pll {
    /// The clock it makes, MHz.
    pub fn mhz(&self) -> f64 {
        match *self {
            Pll::Ice40 { mhz, .. } | Pll::Ecp5 { mhz, .. } | Pll::None { mhz } => mhz,
        }
    }

    /// Its instance, from pin `input` to wire `output`, with its lock on
    /// wire `locked` (a top without a PLL has no such wire).
    fn instance(&self, input: &str, output: &str) -> String {
        match *self {
            Pll::Ice40 {
                divr,
                divf,
                divq,
                filter_range,
                ..
            } => format!(
                "    SB_PLL40_PAD #(\n\
        .FEEDBACK_PATH(\"SIMPLE\"), .DIVR(4'd{divr}), .DIVF(7'd{divf}), .DIVQ(3'd{divq}),\n\
        .FILTER_RANGE(3'd{filter_range})\n\
    ) pll (.PACKAGEPIN({input}), .PLLOUTGLOBAL({output}), .LOCK(locked), .RESETB(1'b1), .BYPASS(1'b0));\n"
            ),
            Pll::Ecp5 {
                clki_div,
                clkfb_div,
                clkop_div,
                fin,
                mhz,
            } => format!(
                "    (* FREQUENCY_PIN_CLKI=\"{fin}\" *) (* FREQUENCY_PIN_CLKOP=\"{mhz:.4}\" *)\n\
    (* ICP_CURRENT=\"12\" *) (* LPF_RESISTOR=\"8\" *) (* MFG_ENABLE_FILTEROPAMP=\"1\" *) (* MFG_GMCREF_SEL=\"2\" *)\n\
    EHXPLLL #(\n\
        .PLLRST_ENA(\"DISABLED\"), .INTFB_WAKE(\"DISABLED\"), .STDBY_ENABLE(\"DISABLED\"),\n\
        .DPHASE_SOURCE(\"DISABLED\"), .OUTDIVIDER_MUXA(\"DIVA\"), .CLKOP_ENABLE(\"ENABLED\"),\n\
        .CLKI_DIV({clki_div}), .CLKFB_DIV({clkfb_div}), .CLKOP_DIV({clkop_div}),\n\
        .CLKOP_CPHASE({cphase}), .CLKOP_FPHASE(0), .FEEDBK_PATH(\"CLKOP\")\n\
    ) pll (.RST(1'b0), .STDBY(1'b0), .CLKI({input}), .CLKOP({output}), .CLKFB({output}), .LOCK(locked),\n\
        .PHASESEL0(1'b0), .PHASESEL1(1'b0), .PHASEDIR(1'b1), .PHASESTEP(1'b1),\n\
        .PHASELOADREG(1'b1), .PLLWAKESYNC(1'b0), .ENCLKOP(1'b0));\n",
                cphase = clkop_div / 2
            ),
            Pll::None { .. } => format!("    assign {output} = {input};\n"),
        }
    }
}

/// The iCE40 PLL output closest to `want` MHz from `fin` MHz: phase
/// detector 10..133 MHz, VCO 533..1066 MHz (iCE40 sysCLOCK PLL guide).
pub fn ice40_pll(fin: f64, want: f64) -> Result<Pll, String> {
    let mut best: Option<Pll> = None;
    for divr in 0..16u32 {
        let fpfd = fin / f64::from(divr + 1);
        if !(10.0..=133.0).contains(&fpfd) {
            continue;
        }
        for divf in 0..128u32 {
            let fvco = fpfd * f64::from(divf + 1);
            if !(533.0..=1066.0).contains(&fvco) {
                continue;
            }
            for divq in 1..7u32 {
                let mhz = fvco / f64::from(1u32 << divq);
                if best.is_none_or(|b| (mhz - want).abs() < (b.mhz() - want).abs()) {
                    let filter_range = match fpfd {
                        f if f < 17.0 => 1,
                        f if f < 26.0 => 2,
                        f if f < 44.0 => 3,
                        f if f < 66.0 => 4,
                        f if f < 101.0 => 5,
                        _ => 6,
                    };
                    best = Some(Pll::Ice40 {
                        divr,
                        divf,
                        divq,
                        filter_range,
                        fin,
                        mhz,
                    });
                }
            }
        }
    }
    best.ok_or_else(|| format!("no iCE40 PLL setting makes {want} MHz from {fin} MHz"))
}

/// The ECP5 PLL output closest to `want` MHz from `fin` MHz: phase
/// detector 3.125..400 MHz, VCO 400..800 MHz (ECP5 sysCLOCK guide).
pub fn ecp5_pll(fin: f64, want: f64) -> Result<Pll, String> {
    let mut best: Option<Pll> = None;
    for clki_div in 1..=128u32 {
        let fpfd = fin / f64::from(clki_div);
        if !(3.125..=400.0).contains(&fpfd) {
            continue;
        }
        for clkfb_div in 1..=80u32 {
            let mhz = fpfd * f64::from(clkfb_div);
            for clkop_div in 1..=128u32 {
                let fvco = mhz * f64::from(clkop_div);
                if !(400.0..=800.0).contains(&fvco) {
                    continue;
                }
                if best.is_none_or(|b| (mhz - want).abs() < (b.mhz() - want).abs()) {
                    best = Some(Pll::Ecp5 {
                        clki_div,
                        clkfb_div,
                        clkop_div,
                        fin,
                        mhz,
                    });
                }
                break;
            }
        }
    }
    best.ok_or_else(|| format!("no ECP5 PLL setting makes {want} MHz from {fin} MHz"))
}

/// A board's whole design.
#[derive(Clone, Debug)]
pub struct BoardDesign {
    /// The serial accelerator (module `top`) and the board's top `board`.
    pub verilog: String,
    /// The accelerator's spec, at the clock the PLL makes.
    pub spec: AcceleratorSpec,
    /// The PLL.
    pub pll: Pll,
    /// The UART's clocks per bit.
    pub clocks_per_bit: u64,
}

/// The design of `model` on `board` with the configuration `hw` (its
/// target becomes the board's part, its clock the PLL's output closest to
/// it) and a UART at `baud`.
pub fn board_design(
    model: &Model,
    hw: &HwConfig,
    board: Board,
    baud: u32,
) -> Result<BoardDesign, SpecError> {
    let pll = board.pll(hw.clock_mhz).map_err(SpecError::Config)?;
    let clocks_per_bit = clocks_per_bit(pll.mhz(), baud).map_err(SpecError::Config)?;
    let hw = HwConfig {
        target: board.target().unwrap_or(hw.target),
        clock_mhz: pll.mhz(),
        ..hw.clone()
    };
    let spec = AcceleratorSpec::new(model, &hw)?;
    let verilog = format!(
        "{}
{}",
        serial_verilog(model, &spec, clocks_per_bit)?,
        board.top_verilog(&pll)
    );
    Ok(BoardDesign {
        verilog,
        spec,
        pll,
        clocks_per_bit,
    })
}

/// Clocks per UART bit at `mhz` for `baud`, refused when the rate would be
/// off by more than 2 % (a UART frame tolerates about 4 % in all).
pub fn clocks_per_bit(mhz: f64, baud: u32) -> Result<u64, String> {
    let exact = mhz * 1e6 / f64::from(baud);
    let cpb = exact.round().max(1.0);
    let error = (cpb - exact).abs() / exact;
    if cpb < crate::blocks::uart::MIN_CLOCKS_PER_BIT as f64 || error > 0.02 {
        return Err(format!(
            "{baud} baud at {mhz:.3} MHz is {exact:.2} clocks per bit ({:.1} % off at {cpb}): choose another baud rate or clock",
            100.0 * error
        ));
    }
    Ok(cpb as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plls_land_near_the_request_within_the_data_sheet_ranges() {
        for want in [30.0, 24.0, 48.0] {
            let p = ice40_pll(12.0, want).expect("ice40");
            assert!((p.mhz() - want).abs() / want < 0.02, "{p:?}");
        }
        // 12 MHz x 5 / 2 = 30 MHz exactly is reachable: VCO 960, DIVQ 5.
        assert_eq!(ice40_pll(12.0, 30.0).map(|p| p.mhz()), Ok(30.0));
        let p = ecp5_pll(25.0, 100.0).expect("ecp5");
        assert_eq!(p.mhz(), 100.0);
        if let Pll::Ecp5 {
            clki_div,
            clkfb_div,
            clkop_div,
            ..
        } = p
        {
            let fvco = 25.0 / f64::from(clki_div) * f64::from(clkfb_div) * f64::from(clkop_div);
            assert!((400.0..=800.0).contains(&fvco));
        }
        assert_eq!(clocks_per_bit(30.0, 115_200), Ok(260));
        assert!(clocks_per_bit(1.0, 115_200).is_err());
    }
}
