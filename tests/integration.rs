//! The one integration test binary: one `mod` per area (see tests/it/).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod it;
