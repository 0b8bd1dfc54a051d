//! Cross-crate tests live in `tests/`: flows that span the model, the
//! compression toolkit and (as they land) the hardware generator, the
//! simulators and the host driver. This library is empty on purpose; the
//! crate exists to hold those tests.
