//! The `server` and `client` modes of `warp-conformance`: WARP checks against implementations
//! that are not ours, over real WebSockets on the network.
//!
//! - [`server`]: a suite of cases run against any WARP server hosting the demo agents
//!   (`warp-conformance server URL`), each PASS, FAIL, SKIP or (informative cases) INFO with
//!   the reason.
//! - [`client`]: a scripted server for a client under test, playing the server side of
//!   recorded traces (`warp-conformance client --listen ADDR TRACE...`).
//! - [`trace`]: the recorded traces' format (CONFORMANCE.md).
//! - [`expect`]: expected envelopes and the per-link order check.
//! - [`ws`]: the blocking WebSocket peer underneath (`tungstenite`), independent of our own
//!   drivers.
//! - [`report`]: results, the summary line, the table and the JSON form.
//!
//! ```no_run
//! use conformance::suite::server::{run_cases, ServerConfig};
//! use conformance::suite::report::{table, CaseSummary};
//! use conformance::suite::ws::WsUrl;
//!
//! let config = ServerConfig::new(WsUrl::parse("ws://127.0.0.1:9001")?);
//! let results = run_cases(&config, &[], |r| println!("{}: {}", r.name, r.verdict.label()));
//! print!("{}", table(&results));
//! println!("{}", CaseSummary::of(&results));
//! # Ok::<(), String>(())
//! ```

pub mod client;
pub mod expect;
pub mod report;
pub mod server;
pub mod trace;
pub mod ws;
