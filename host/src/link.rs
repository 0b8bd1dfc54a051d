//! A packet link: how the driver reaches a device. The driver sends whole
//! packets and receives whole packets; what carries them is the link's
//! business: the serial link with its CRC frames ([`crate::serial`]) for a
//! board, or a cycle-accurate simulation in the same process (the
//! simulation engines implement this trait). A user who reaches the
//! accelerator another way (SPI, PCIe, a socket) implements it too.

/// A packet link to a device.
pub trait Link {
    /// Queues a packet (its words; the device sees `tlast` on the last).
    fn send(&mut self, packet: &[u32]) -> Result<(), LinkError>;
    /// The next packet from the device.
    fn receive(&mut self) -> Result<Vec<u32>, LinkError>;
}

/// Why a link failed.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// A simulated device sent no complete packet in time.
    #[error("the device sent no complete packet within {0} cycles")]
    Timeout(u64),
    /// A simulated device took no input word in time.
    #[error("the device took no input word for {0} cycles")]
    Stalled(u64),
    /// The transport failed: a port could not be opened, read or written,
    /// or the device stopped answering.
    #[error("{0}")]
    Transport(String),
}
