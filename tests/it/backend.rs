//! backend tests.
