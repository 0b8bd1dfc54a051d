//! One byte of the link's CRC-16/CCITT-FALSE ([`lstm_accel_spec::link::crc16_update`]:
//! polynomial 0x1021, most significant bit first), combinational: the
//! running CRC with the byte folded into its top bits, shifted eight times,
//! the polynomial added after every shift that pushes out a one. The link's
//! receiver and transmitter each keep their running CRC with it.

use lstm_accel_spec::link;
use rust_hdl::prelude::*;

/// The step.
#[derive(LogicBlock)]
pub struct Crc16Byte {
    /// The running CRC.
    pub crc: Signal<In, Bits<16>>,
    /// The byte.
    pub data: Signal<In, Bits<8>>,
    /// The CRC with the byte.
    pub out: Signal<Out, Bits<16>>,
    work: Signal<Local, Bits<16>>,
    poly: Constant<Bits<16>>,
}

impl Default for Crc16Byte {
    fn default() -> Self {
        Crc16Byte {
            crc: Default::default(),
            data: Default::default(),
            out: Default::default(),
            work: Default::default(),
            poly: Constant::new(u64::from(link::CRC_POLY).into()),
        }
    }
}

impl Logic for Crc16Byte {
    #[hdl_gen]
    fn update(&mut self) {
        self.work.next = self.crc.val() ^ (bit_cast::<16, 8>(self.data.val()) << 8);
        for _i in 0..8 {
            if self.work.val().get_bit(15) {
                self.work.next = (self.work.val() << 1) ^ self.poly.val();
            } else {
                self.work.next = self.work.val() << 1;
            }
        }
        self.out.next = self.work.val();
    }
}
