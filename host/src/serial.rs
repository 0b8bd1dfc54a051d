//! The host's end of the serial link ([`lstm_accel_spec::link`]): a
//! [`Link`] over any byte port, so the driver speaks to a board's UART
//! bridge exactly as to a simulated device. Packets leave as data frames of
//! at most 255 words, each sent until the bridge acknowledges it (again on
//! `NAK` or after a time-out); the bridge's data frames are acknowledged,
//! repeats dropped, and reassembled into packets; a frame that arrives
//! broken is asked for again with `NAK`. A session opens with an empty data
//! frame that agrees the sequence with the bridge (which keeps its count
//! over a host restart). Garbage on the line is skipped by
//! the frame parser's hunt for `SYNC`.

use crate::link::{Link, LinkError};
use lstm_accel_spec::link::{self, packet_frames, Frame, FrameParser, Parsed};
use std::collections::VecDeque;

/// A byte pipe to a device: a serial port, or a simulated board.
pub trait BytePort {
    /// Sends bytes.
    fn write(&mut self, bytes: &[u8]) -> Result<(), LinkError>;
    /// The next byte, or `None` when none came within the port's time-out.
    fn read_byte(&mut self) -> Result<Option<u8>, LinkError>;
}

/// Counters of what the link had to repair.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct LinkStats {
    /// Frames the host sent again.
    pub resent: u64,
    /// `NAK`s the bridge sent.
    pub device_naks: u64,
    /// Frames from the bridge with a bad CRC.
    pub bad_frames: u64,
    /// Repeated frames from the bridge (dropped).
    pub repeats: u64,
    /// Bytes skipped between frames.
    pub skipped: u64,
}

/// The serial link.
pub struct SerialLink<P: BytePort> {
    port: P,
    parser: FrameParser,
    /// Sequence of the host's next data frame.
    seq: u8,
    /// The session's first (empty) frame agreed the sequence with the bridge.
    synced: bool,
    /// Sequence of the bridge's last data frame taken.
    last_in: Option<u8>,
    /// Words of the packet being reassembled.
    partial: Vec<u32>,
    packets: VecDeque<Vec<u32>>,
    /// Time-outs in a row before the link gives up.
    pub tries: usize,
    /// What was repaired.
    pub stats: LinkStats,
}

impl<P: BytePort> SerialLink<P> {
    /// A link over `port`.
    pub fn new(port: P) -> Self {
        SerialLink {
            port,
            parser: FrameParser::new(),
            seq: 0,
            synced: false,
            last_in: None,
            partial: Vec::new(),
            packets: VecDeque::new(),
            tries: 8,
            stats: LinkStats::default(),
        }
    }

    /// The port.
    pub fn port(&mut self) -> &mut P {
        &mut self.port
    }

    /// Ends the session and gives the port back (a new `SerialLink` on it
    /// agrees the sequences with the bridge afresh).
    pub fn into_port(self) -> P {
        self.port
    }

    fn answer(&mut self, kind: u8, seq: u8) -> Result<(), LinkError> {
        let f = Frame {
            kind,
            seq,
            words: Vec::new(),
        };
        self.port.write(&f.encode())
    }

    /// Reads until a frame or a time-out (`None`); takes the bridge's data
    /// frames on the way and returns every other frame.
    fn poll(&mut self) -> Result<Option<Frame>, LinkError> {
        loop {
            let Some(b) = self.port.read_byte()? else {
                // A pause: whatever partial frame there was is gone.
                self.parser.abandon();
                return Ok(None);
            };
            let dropped = self.parser.dropped;
            let parsed = self.parser.push(b);
            self.stats.skipped += self.parser.dropped - dropped;
            match parsed {
                Parsed::Pending => {}
                Parsed::BadCrc { .. } => {
                    self.stats.bad_frames += 1;
                    self.answer(link::H_NAK, 0)?;
                }
                Parsed::Frame(f) if matches!(f.kind, link::D_DATA | link::D_DATA_END) => {
                    self.answer(link::H_ACK, f.seq)?;
                    if self.last_in == Some(f.seq) {
                        self.stats.repeats += 1;
                        continue;
                    }
                    self.last_in = Some(f.seq);
                    self.partial.extend(&f.words);
                    if f.ends_packet() {
                        self.packets.push_back(std::mem::take(&mut self.partial));
                    }
                }
                Parsed::Frame(f) => return Ok(Some(f)),
            }
        }
    }

    fn send_frame(&mut self, f: &mut Frame) -> Result<(), LinkError> {
        let mut timeouts = 0;
        let mut first = true;
        loop {
            if !first {
                self.stats.resent += 1;
            }
            first = false;
            self.port.write(&f.encode())?;
            loop {
                match self.poll()? {
                    None => {
                        timeouts += 1;
                        if timeouts > self.tries {
                            return Err(LinkError::Transport(format!(
                                "serial link: frame {} was not acknowledged after {} tries",
                                f.seq, self.tries
                            )));
                        }
                        break;
                    }
                    Some(a) if a.kind == link::D_ACK && a.seq == f.seq => return Ok(()),
                    Some(a) if a.kind == link::D_NAK => {
                        self.stats.device_naks += 1;
                        // The bridge expects the next one: it has this frame
                        // (the NAK answered noise after it).
                        if a.seq == f.seq.wrapping_add(1) {
                            return Ok(());
                        }
                        // Only the empty frame that opens a session adopts
                        // the bridge's count (it kept it over a host
                        // restart); later, another sequence in a NAK is
                        // stale, and renumbering would pass a frame twice.
                        if !self.synced && a.seq != f.seq {
                            f.seq = a.seq;
                            self.seq = a.seq;
                        }
                        break;
                    }
                    Some(_) => {}
                }
            }
        }
    }
}

impl<P: BytePort> Link for SerialLink<P> {
    fn send(&mut self, packet: &[u32]) -> Result<(), LinkError> {
        if !self.synced {
            // An empty data frame: taken, or acknowledged as a repeat, or
            // answered with the sequence the bridge expects. Either way the
            // two ends agree after it, and nothing reaches the accelerator.
            let mut sync = Frame {
                kind: link::H_DATA,
                seq: self.seq,
                words: Vec::new(),
            };
            self.send_frame(&mut sync)?;
            self.seq = sync.seq.wrapping_add(1);
            self.synced = true;
        }
        for mut f in packet_frames(packet, self.seq, link::H_DATA, link::H_DATA_END) {
            f.seq = self.seq;
            self.send_frame(&mut f)?;
            self.seq = f.seq.wrapping_add(1);
        }
        Ok(())
    }

    fn receive(&mut self) -> Result<Vec<u32>, LinkError> {
        let mut timeouts = 0;
        loop {
            if let Some(p) = self.packets.pop_front() {
                return Ok(p);
            }
            if self.poll()?.is_none() {
                timeouts += 1;
                if timeouts > self.tries {
                    return Err(LinkError::Transport(format!(
                        "serial link: no packet from the device after {} time-outs",
                        self.tries
                    )));
                }
                // Ask for the bridge's frame again, in case it was lost.
                self.answer(link::H_NAK, 0)?;
            }
        }
    }
}

/// A serial port (a USB serial cable's, or a pseudo-terminal) as a
/// [`BytePort`]: reads time out after the port's time-out.
pub struct SerialPortBytes {
    port: Box<dyn serialport::SerialPort>,
    name: String,
}

impl SerialPortBytes {
    /// Opens `path` at `baud` (8N1, no flow control) with a read time-out.
    pub fn open(path: &str, baud: u32, timeout: std::time::Duration) -> Result<Self, LinkError> {
        let port = serialport::new(path, baud)
            .timeout(timeout)
            .open()
            .map_err(|e| LinkError::Transport(format!("opening the serial port {path}: {e}")))?;
        Ok(SerialPortBytes {
            port,
            name: path.to_string(),
        })
    }
}

impl BytePort for SerialPortBytes {
    fn write(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        use std::io::Write;
        self.port
            .write_all(bytes)
            .and_then(|()| self.port.flush())
            .map_err(|e| LinkError::Transport(format!("writing to {}: {e}", self.name)))
    }

    fn read_byte(&mut self) -> Result<Option<u8>, LinkError> {
        let mut b = [0u8; 1];
        match self.port.read(&mut b) {
            Ok(1) => Ok(Some(b[0])),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Ok(None),
            Err(e) => Err(LinkError::Transport(format!(
                "reading from {}: {e}",
                self.name
            ))),
        }
    }
}
