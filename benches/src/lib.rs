//! Benchmarks of the `aigc-label` facade, in their own package so that building the library,
//! running its examples (`cargo run --example quickstart`) or installing the command never
//! compiles criterion.
//!
//! Run them with `cargo bench -p aigc-label-benches` (one: `--bench verify`). The benchmarks
//! live in `benches/`; this library is empty.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
