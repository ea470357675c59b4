//! envelopes tests.
