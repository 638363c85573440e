//! Benchmark corpora and helpers for `warp-proto`, measured side by side with the reference
//! implementations (`swimos_recon`, `swimos_messages`, `serde_json`).
//!
//! - [`corpus`]: the three deterministic corpora S, M and L of WARP frames.
//! - [`doc`]: their logical content and its Recon and JSON renderings.
//! - [`reference`]: the reference implementations, called as a benchmark pass calls them.
//! - [`warp`]: the same operations with `warp-proto`.
//! - [`check`]: the agreement checks run before anything is timed.
//! - [`load`]: the load runs of issue 7 (binaries `load_links`, `load_conns`, `load_fanout`).
//! - [`fanout`]: the fan-out load client (one publisher, N subscribers of a value lane) of the
//!   `fanout` server benchmark.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod check;
pub mod corpus;
pub mod doc;
pub mod fanout;
pub mod load;
pub mod reference;
pub mod warp;
