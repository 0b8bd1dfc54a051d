//! Cross-crate tests live in `tests/`: flows that span the model, the
//! compression toolkit, the spec, the hardware generator, the simulators,
//! the host driver and the verification tools. This library is empty on
//! purpose; the crate exists to hold those tests, and depends on the others
//! only as dev-dependencies.
