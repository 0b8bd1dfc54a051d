//! The host side of the accelerator: packing a model into the memory images
//! the accelerator's spec describes (the same bytes a real board receives).
//! The stream protocol and the transports join as the hardware lands.

pub mod pack;
