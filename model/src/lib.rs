//! The numbers of the accelerator: bit-exact fixed-point arithmetic, weight
//! encodings, the model and its file format, the bit-exact reference model and
//! its float twin.
//!
//! Everything that decides a bit of a result lives here once: the hardware
//! generator takes its widths ([`model::Model::datapath`]), constants and
//! tables ([`activation`]) from this crate, and every simulator is checked
//! against [`reference::Reference`].
//!
//! Dependencies: none of the project's other crates (serde for the file
//! format, rand for seeded random models); every other crate depends on it.

pub mod activation;
pub mod cell;
pub mod encoding;
pub mod error;
pub mod fixed;
pub mod float;
pub mod frontend;
pub mod import;
pub mod io;
pub mod model;
pub mod random;
pub mod readout;
pub mod reference;
pub mod trace;

pub use error::{ModelError, Problem};
pub use model::Model;
