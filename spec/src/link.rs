//! The serial link: how the accelerator's packet stream ([`crate::protocol`])
//! crosses a UART, reliably, between a host and a board's UART bridge. One
//! definition for both ends: the bridge's hardware takes its constants from
//! here, the host's serial transport frames and parses with these functions.
//!
//! A frame is `SYNC`, a kind, a sequence number, a word count, the payload
//! (`count` 32-bit words, least significant byte first) and a CRC-16
//! (CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, most significant
//! byte first) over kind, sequence, count and payload:
//!
//! ```text
//! 7E | kind | seq | count | count x 4 payload bytes | crc_hi | crc_lo
//! ```
//!
//! - `DATA` / `DATA_END` carry 1..=255 words of the stream in one direction;
//!   `DATA_END`'s last word closes a packet (the stream's `tlast`).
//! - `ACK` (count 0) acknowledges the data frame of sequence `seq`; `NAK`
//!   (count 0) asks for a data frame again: from the host, the device's
//!   unacknowledged frame; from the device, the frame of sequence `seq`,
//!   the one it expects next.
//!
//! Each direction is stop-and-wait: a sender keeps its data frame until the
//! frame's `ACK` comes, sends it again on `NAK` (or, the host, on a
//! time-out), and a receiver that sees a frame again (the previous
//! sequence: its `ACK` was lost) acknowledges it without passing it on. A
//! receiver takes a frame only whole and with a good CRC; anything else on
//! the line (noise, a partial frame cut off by a pause longer than
//! [`GAP_BYTE_TIMES`]) is dropped while it hunts for the next `SYNC`.

/// First byte of every frame.
pub const SYNC: u8 = 0x7e;
/// Host to device: stream words.
pub const H_DATA: u8 = 0x01;
/// Host to device: stream words closing a packet.
pub const H_DATA_END: u8 = 0x02;
/// Host to device: the device's data frame `seq` arrived.
pub const H_ACK: u8 = 0x03;
/// Host to device: send your unacknowledged data frame again.
pub const H_NAK: u8 = 0x04;
/// Device to host: stream words.
pub const D_DATA: u8 = 0x81;
/// Device to host: stream words closing a packet.
pub const D_DATA_END: u8 = 0x82;
/// Device to host: the host's data frame `seq` was taken.
pub const D_ACK: u8 = 0x83;
/// Device to host: a frame was bad; `seq` is the one expected next.
pub const D_NAK: u8 = 0x84;
/// Most words in one data frame.
pub const MAX_WORDS: usize = 255;
/// Bytes of a frame around its payload: sync, kind, seq, count, CRC.
pub const FRAME_OVERHEAD: usize = 6;
/// A pause of this many byte times inside a frame abandons it.
pub const GAP_BYTE_TIMES: u64 = 8;
/// The device sends its data frame again when no `ACK` came within this
/// many byte times (a lost `ACK`: the host acknowledges the repeat).
pub const RESEND_BYTE_TIMES: u64 = 2048;

/// The CRC's polynomial (x^16 + x^12 + x^5 + 1).
pub const CRC_POLY: u16 = 0x1021;

/// CRC-16/CCITT-FALSE of `bytes`, continuing from `crc`.
pub fn crc16_update(mut crc: u16, bytes: &[u8]) -> u16 {
    for &b in bytes {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ CRC_POLY
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// CRC-16/CCITT-FALSE of `bytes`.
pub fn crc16(bytes: &[u8]) -> u16 {
    crc16_update(0xffff, bytes)
}

/// A frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Its kind (`H_*` or `D_*`).
    pub kind: u8,
    /// Sequence number.
    pub seq: u8,
    /// Payload words (none for `ACK` and `NAK`).
    pub words: Vec<u32>,
}

impl Frame {
    /// The frame's bytes on the line.
    pub fn encode(&self) -> Vec<u8> {
        debug_assert!(self.words.len() <= MAX_WORDS);
        let mut v = Vec::with_capacity(FRAME_OVERHEAD + 4 * self.words.len());
        v.push(SYNC);
        v.extend([self.kind, self.seq, self.words.len() as u8]);
        for w in &self.words {
            v.extend(w.to_le_bytes());
        }
        let crc = crc16(&v[1..]);
        v.extend(crc.to_be_bytes());
        v
    }

    /// Whether the frame carries stream words.
    pub fn is_data(&self) -> bool {
        matches!(self.kind, H_DATA | H_DATA_END | D_DATA | D_DATA_END)
    }

    /// Whether its last word closes a packet.
    pub fn ends_packet(&self) -> bool {
        matches!(self.kind, H_DATA_END | D_DATA_END)
    }
}

/// What [`FrameParser::push`] made of a byte.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Nothing yet.
    Pending,
    /// A whole frame with a good CRC.
    Frame(Frame),
    /// A whole frame whose CRC is wrong (its kind and sequence as read, which
    /// may themselves be corrupt).
    BadCrc {
        /// Kind byte as read.
        kind: u8,
        /// Sequence byte as read.
        seq: u8,
    },
}

/// Where a parser is in a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum At {
    Hunt,
    Kind,
    Seq,
    Count,
    Payload,
    CrcHi,
    CrcLo,
}

/// A byte-at-a-time frame parser that hunts for `SYNC` between frames: the
/// host's half of the bridge's receiver, and the model its tests compare
/// the hardware with.
#[derive(Clone, Debug)]
pub struct FrameParser {
    at: At,
    kind: u8,
    seq: u8,
    count: usize,
    payload: Vec<u8>,
    crc: u16,
    /// Bytes dropped while hunting for `SYNC`.
    pub dropped: u64,
}

impl Default for FrameParser {
    fn default() -> Self {
        FrameParser {
            at: At::Hunt,
            kind: 0,
            seq: 0,
            count: 0,
            payload: Vec::new(),
            crc: 0,
            dropped: 0,
        }
    }
}

impl FrameParser {
    /// A parser hunting for its first frame.
    pub fn new() -> Self {
        Self::default()
    }

    /// Abandons a partial frame (after a pause longer than the gap).
    pub fn abandon(&mut self) {
        if self.at != At::Hunt {
            self.at = At::Hunt;
        }
    }

    /// Whether a frame is partly read.
    pub fn in_frame(&self) -> bool {
        self.at != At::Hunt
    }

    /// Takes one byte from the line.
    pub fn push(&mut self, b: u8) -> Parsed {
        match self.at {
            At::Hunt => {
                if b == SYNC {
                    self.at = At::Kind;
                } else {
                    self.dropped += 1;
                }
            }
            At::Kind => {
                self.kind = b;
                self.at = At::Seq;
            }
            At::Seq => {
                self.seq = b;
                self.at = At::Count;
            }
            At::Count => {
                self.count = usize::from(b);
                self.payload.clear();
                self.at = if b == 0 { At::CrcHi } else { At::Payload };
            }
            At::Payload => {
                self.payload.push(b);
                if self.payload.len() == 4 * self.count {
                    self.at = At::CrcHi;
                }
            }
            At::CrcHi => {
                self.crc = u16::from(b) << 8;
                self.at = At::CrcLo;
            }
            At::CrcLo => {
                self.at = At::Hunt;
                let got = self.crc | u16::from(b);
                let mut head = vec![self.kind, self.seq, self.count as u8];
                head.extend(&self.payload);
                if crc16(&head) != got {
                    return Parsed::BadCrc {
                        kind: self.kind,
                        seq: self.seq,
                    };
                }
                let words = self
                    .payload
                    .chunks(4)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                return Parsed::Frame(Frame {
                    kind: self.kind,
                    seq: self.seq,
                    words,
                });
            }
        }
        Parsed::Pending
    }
}

/// Splits a packet (header word first) into data frames of at most
/// [`MAX_WORDS`] words from sequence `seq` on, the last one closing the
/// packet; `end` is the closing kind (`H_DATA_END` or `D_DATA_END`).
pub fn packet_frames(packet: &[u32], seq: u8, data: u8, end: u8) -> Vec<Frame> {
    let n = packet.len().div_ceil(MAX_WORDS);
    packet
        .chunks(MAX_WORDS)
        .enumerate()
        .map(|(i, c)| Frame {
            kind: if i + 1 == n { end } else { data },
            seq: seq.wrapping_add(i as u8),
            words: c.to_vec(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_is_ccitt_false() {
        // The catalogue's check value of CRC-16/CCITT-FALSE.
        assert_eq!(crc16(b"123456789"), 0x29b1);
    }

    #[test]
    fn frames_round_trip_through_noise() {
        let f = Frame {
            kind: H_DATA_END,
            seq: 9,
            words: vec![0x0102_0304, 0xdead_beef, 0],
        };
        let mut p = FrameParser::new();
        // Garbage (with a false sync) before the frame: the false frame's
        // CRC fails or it is cut short; the real frame still parses.
        let mut line = vec![0x00, 0x55, SYNC, 0x01];
        line.extend(f.encode());
        let mut frames = Vec::new();
        for b in line {
            if let Parsed::Frame(g) = p.push(b) {
                frames.push(g);
            }
        }
        // The false SYNC swallowed the real one: this is what the gap
        // time-out is for. With a pause in between, the frame parses.
        assert!(frames.is_empty());
        p.abandon();
        for b in f.encode() {
            if let Parsed::Frame(g) = p.push(b) {
                frames.push(g);
            }
        }
        assert_eq!(frames, vec![f.clone()]);
        // Any single flipped bit is caught.
        let bytes = f.encode();
        for i in 1..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                let mut p = FrameParser::new();
                let out: Vec<Parsed> = b.iter().map(|&x| p.push(x)).collect();
                assert!(
                    !out.contains(&Parsed::Frame(f.clone())),
                    "byte {i} bit {bit}"
                );
            }
        }
    }

    #[test]
    fn packets_split_into_frames_of_at_most_255_words() {
        let packet: Vec<u32> = (0..600).collect();
        let fs = packet_frames(&packet, 254, H_DATA, H_DATA_END);
        assert_eq!(fs.len(), 3);
        assert_eq!(
            fs.iter().map(|f| f.words.len()).collect::<Vec<_>>(),
            [255, 255, 90]
        );
        assert_eq!(fs.iter().map(|f| f.seq).collect::<Vec<_>>(), [254, 255, 0]);
        assert!(fs[2].ends_packet() && !fs[0].ends_packet());
        let words: Vec<u32> = fs.iter().flat_map(|f| f.words.clone()).collect();
        assert_eq!(words, packet);
    }
}
