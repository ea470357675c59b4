//! responses tests.
