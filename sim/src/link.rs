//! Packets over a simulated device: the link the host driver uses with a
//! simulation, exactly as it uses a serial link with a board. Words queued
//! by [`Link::send`] are offered one per cycle; [`Link::receive`] runs the
//! device until a whole packet (up to `tlast`) has come out. With stalls
//! enabled, the input stream drops `tvalid` and the output stream drops
//! `tready` on random cycles (seeded), so every handshake path is exercised.

use crate::{Device, StreamWord};
use lstm_accel_hdl::blocks::reset_hold::ResetHold;
use lstm_accel_host::link::{Link, LinkError};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;

/// Random stalls on both streams.
#[derive(Clone, Copy, Debug)]
pub struct Stalls {
    /// Probability that the host leaves `tvalid` low in a cycle.
    pub input: f64,
    /// Probability that the host leaves `tready` low in a cycle.
    pub output: f64,
    /// Seed.
    pub seed: u64,
}

/// A link to a simulated device.
pub struct SimLink<D: Device> {
    device: D,
    pending: VecDeque<StreamWord>,
    received: VecDeque<StreamWord>,
    stalls: Option<(Stalls, ChaCha8Rng)>,
    /// Give up after this many cycles without a complete packet.
    pub timeout: u64,
}

impl<D: Device> SimLink<D> {
    /// A link without stalls.
    pub fn new(device: D) -> Self {
        SimLink {
            device,
            pending: VecDeque::new(),
            received: VecDeque::new(),
            stalls: None,
            timeout: 50_000_000,
        }
    }

    /// Adds random stalls.
    pub fn with_stalls(mut self, s: Stalls) -> Self {
        self.stalls = Some((s, ChaCha8Rng::seed_from_u64(s.seed)));
        self
    }

    /// The device.
    pub fn device(&self) -> &D {
        &self.device
    }

    /// The device, mutably.
    pub fn device_mut(&mut self) -> &mut D {
        &mut self.device
    }

    /// Runs one cycle: offers the next queued word, takes an output word.
    pub fn step(&mut self) {
        let (offer, take) = match &mut self.stalls {
            Some((s, r)) => (!r.random_bool(s.input), !r.random_bool(s.output)),
            None => (true, true),
        };
        let input = if offer {
            self.pending.front().copied()
        } else {
            None
        };
        let e = self.device.cycle(input, take);
        if e.accepted {
            self.pending.pop_front();
        }
        if let Some(w) = e.output {
            self.received.push_back(w);
        }
    }

    /// Runs until every queued word has been taken.
    pub fn flush(&mut self) -> Result<(), LinkError> {
        let mut idle = 0u64;
        while !self.pending.is_empty() {
            let before = self.pending.len();
            self.step();
            idle = if self.pending.len() == before {
                idle + 1
            } else {
                0
            };
            if idle > self.timeout {
                return Err(LinkError::Stalled(idle));
            }
        }
        Ok(())
    }

    /// Resets the device, as a board's reset button would: holds its reset
    /// request for `cycles` cycles (at least one), offering nothing and
    /// discarding what comes out, then releases it and goes on discarding
    /// for the cycles the request takes to reach the design's reset
    /// (`ResetHold::LATENCY`): whatever the device sends before its reset
    /// takes hold belongs to the old session. Words still queued and words
    /// received but not yet read are dropped: the host starts over. The
    /// device holds its own reset a little longer and takes no word until
    /// it ends; words sent next simply wait.
    pub fn reset_device(&mut self, cycles: u64) {
        self.pending.clear();
        self.received.clear();
        self.device.set_reset(true);
        for _ in 0..cycles.max(1) {
            self.device.cycle(None, true);
        }
        self.device.set_reset(false);
        for _ in 0..ResetHold::LATENCY {
            self.device.cycle(None, true);
        }
    }

    /// Runs `n` cycles.
    pub fn idle(&mut self, n: u64) {
        for _ in 0..n {
            self.step();
        }
    }
}

/// The stream words of a packet: its words, `tlast` on the last.
pub fn packet_words(packet: &[u32]) -> impl Iterator<Item = StreamWord> + '_ {
    let n = packet.len();
    packet.iter().enumerate().map(move |(i, &data)| StreamWord {
        data,
        last: i + 1 == n,
    })
}

impl<D: Device> Link for SimLink<D> {
    fn send(&mut self, packet: &[u32]) -> Result<(), LinkError> {
        self.pending.extend(packet_words(packet));
        Ok(())
    }

    fn receive(&mut self) -> Result<Vec<u32>, LinkError> {
        let mut waited = 0u64;
        loop {
            if let Some(end) = self.received.iter().position(|w| w.last) {
                return Ok(self.received.drain(..=end).map(|w| w.data).collect());
            }
            self.step();
            waited += 1;
            if waited > self.timeout {
                return Err(LinkError::Timeout(waited));
            }
        }
    }
}

/// A link with no device behind it: it records every word sent and answers
/// each receive with the next packet of a script. Engines that run a whole
/// stream at once (Icarus) use it twice: once with the reference's replies,
/// to record the exact words the driver sends, and once with what the
/// design sent, to replay the design's replies through the same checks as
/// a live link.
#[derive(Clone, Debug, Default)]
pub struct ScriptedLink {
    /// Every word sent so far.
    pub sent: Vec<StreamWord>,
    replies: VecDeque<Vec<u32>>,
}

impl ScriptedLink {
    /// A link that answers with `replies`, in order.
    pub fn new(replies: impl IntoIterator<Item = Vec<u32>>) -> Self {
        ScriptedLink {
            sent: Vec::new(),
            replies: replies.into_iter().collect(),
        }
    }

    /// Replies not yet received.
    pub fn unread(&self) -> usize {
        self.replies.len()
    }
}

impl Link for ScriptedLink {
    fn send(&mut self, packet: &[u32]) -> Result<(), LinkError> {
        self.sent.extend(packet_words(packet));
        Ok(())
    }

    fn receive(&mut self) -> Result<Vec<u32>, LinkError> {
        // Nothing more came from the device: the same error a live link
        // gives when a packet never completes.
        self.replies.pop_front().ok_or(LinkError::Timeout(0))
    }
}

/// Packets of a word stream, split at `tlast` (a trailing packet without
/// one is kept as it is).
pub fn packets(words: &[StreamWord]) -> Vec<Vec<u32>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    for w in words {
        cur.push(w.data);
        if w.last {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}
