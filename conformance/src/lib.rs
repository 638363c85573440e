//! WARP conformance: the codec vectors and the `warp-conformance` runner.
//!
//! - [`json`]: the vector files' JSON value format and its mapping to and from
//!   [`warp_proto::recon::Value`], with the comparison rules the vectors use
//!   ([`json::same_value`]: structural, integers by value, floats by bits so `-0.0 != 0.0` and
//!   `NaN == NaN`).
//! - [`vectors`]: checks JSON Lines vector files (`conformance/vectors/*.jsonl`) line by line
//!   and reports a [`vectors::LineResult`] per line.
//! - [`disagreements`]: the entries of `vectors/disagreements.jsonl` and the outcome PROFILE.md
//!   prescribes for each, where the references disagree.
//! - [`peers`]: the real peers of the interop tests (the SwimOS server, `@swim/client` through
//!   Node), run as child processes on loopback with bounded waits.
//! - [`suite`]: the runner's `server` mode (a suite of cases against any WARP server) and
//!   `client` mode (a scripted server replaying recorded traces to a client under test).
//! - [`trace`]: recorded traces replayed against servers (`replay`: our drivers in memory,
//!   on tokio, on smol, or any URL) and recorded by a proxy (`record`).
//!
//! The `warp-conformance` binary runs these checks from the command line
//! (`warp-conformance vectors FILE...`); see the crate's README.
//!
//! ```
//! use conformance::vectors::{check_bytes, Outcome};
//!
//! // A line whose expected value is not in the vector format fails, with the reason.
//! let results = check_bytes("example.jsonl", br#"{"recon": "1", "value": {"number": 1}}"#);
//! assert!(matches!(&results[0].outcome, Outcome::Fail(reason) if reason.contains("bad `value`")));
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod arb;
pub mod disagreements;
pub mod json;
pub mod peers;
pub mod suite;
pub mod trace;
pub mod vectors;
