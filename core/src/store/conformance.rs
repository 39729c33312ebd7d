//! The store conformance suite, run on every backend. (being written)
