//! logging tests.
