//! spyne tests.
