//! templates tests.
