//! Property tests of `chatd-proto` live in `tests/props/`. This crate exists so that the
//! protocol crate has no dependency at all, not even a dev-dependency on `proptest`.
