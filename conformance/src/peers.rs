//! Real WARP peers for the interop tests: the SwimOS server and the official JavaScript client,
//! run as child processes on loopback.
//!
//! - [`SwimosServer`]: builds `peers/swimos-server` (SwimOS 0.1.1, kept out of the workspace
//!   build) into `target/peers` once per process, starts it on a loopback port and reads the
//!   address it prints. The server refuses WebSocket upgrades that do not offer the `warp0`
//!   subprotocol.
//! - [`JsPeer`]: a Node script of `conformance/js/` (its npm packages installed with `npm ci`
//!   when missing), with a time limit; [`Warp0Proxy`] is the one that lets `@swim/client`
//!   (which offers no subprotocol) reach a server requiring `warp0`, logging every frame.
//! - [`OwnedEnvelope`]: a received frame decoded into owned parts, for comparing what peers
//!   send as envelopes rather than bytes.
//! - [`PeerProcess`]: the child process underneath, with its stdout read line by line with
//!   timeouts and its stderr kept for error messages.
//!
//! Files: `peers/process.rs` (child processes), `peers/swimos.rs` (the SwimOS server),
//! `peers/js.rs` (Node scripts and the proxy).
//!
//! Every wait is bounded, and every child is killed and reaped when its handle is dropped, so a
//! failing test leaves nothing running. The peer programs also exit when their stdin closes,
//! which covers a test process that dies without running destructors.
//!
//! A missing `node` is [`PeerError::NodeMissing`], which the JS tests report as a visible skip;
//! everything else (a failed build, a peer that does not start) is an error.
//!
//! ```no_run
//! use conformance::peers::{SwimosServer, Warp0Proxy, JsPeer};
//! use std::time::Duration;
//!
//! let server = SwimosServer::start()?;
//! println!("SwimOS at {}", server.ws_url());
//! let mut proxy = Warp0Proxy::start(server.addr())?;
//! let host = proxy.host_uri();
//! let run = JsPeer::run("client-scenarios.mjs", &[&host, "count"], Duration::from_secs(30))?;
//! assert!(run.status.success(), "{}", run.stderr);
//! let frames = proxy.take_log(Duration::from_millis(200), Duration::from_secs(2))?;
//! # let _ = frames;
//! # Ok::<(), conformance::peers::PeerError>(())
//! ```

mod js;
mod process;
mod swimos;

use std::fmt;
use std::io;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use warp_proto::envelope::{Envelope, Tag};
use warp_proto::recon::Value;

pub use js::{
    ensure_js_packages, node_available, split_log, JsPeer, ScriptRun, Warp0Proxy, NPM_TIMEOUT,
};
pub use process::{PeerProcess, STOP_TIMEOUT};
pub use swimos::{SwimosServer, BUILD_TIMEOUT};

/// How long a peer may take from spawn to printing its `listening ADDR` line.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// What went wrong starting or talking to a peer.
#[derive(Debug)]
#[non_exhaustive]
pub enum PeerError {
    /// `node` is not on the PATH: the JS interop tests cannot run (report a skip).
    NodeMissing,
    /// A program could not be started.
    Spawn {
        /// The program.
        program: String,
        /// Why.
        source: io::Error,
    },
    /// A build or install command ended unsuccessfully.
    CommandFailed {
        /// The command line.
        command: String,
        /// How it ended.
        status: ExitStatus,
        /// The end of its output.
        output: String,
    },
    /// Something awaited from a process did not happen in time.
    Timeout {
        /// What was awaited.
        what: String,
        /// The time limit.
        after: Duration,
        /// The end of the process's stderr.
        stderr: String,
    },
    /// A process ended, or closed its stdout, before doing what was awaited.
    Exited {
        /// The process.
        name: String,
        /// Its exit status, if it had exited.
        status: Option<ExitStatus>,
        /// The end of its stderr.
        stderr: String,
    },
    /// A process printed a line that is not what its protocol says.
    BadOutput {
        /// The process.
        name: String,
        /// The line.
        line: String,
        /// What was expected.
        expected: &'static str,
    },
    /// An I/O error while waiting for or talking to a process.
    Io(io::Error),
}

impl fmt::Display for PeerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerError::NodeMissing => f.write_str("`node` is not on the PATH"),
            PeerError::Spawn { program, source } => {
                write!(f, "cannot start `{program}`: {source}")
            }
            PeerError::CommandFailed {
                command,
                status,
                output,
            } => write!(f, "`{command}` failed ({status}):\n{output}"),
            PeerError::Timeout {
                what,
                after,
                stderr,
            } => write!(
                f,
                "timed out after {after:?} waiting for {what}; stderr:\n{stderr}"
            ),
            PeerError::Exited {
                name,
                status,
                stderr,
            } => {
                let status = status.map_or_else(|| "stdout closed".to_string(), |s| s.to_string());
                write!(f, "{name} ended early ({status}); stderr:\n{stderr}")
            }
            PeerError::BadOutput {
                name,
                line,
                expected,
            } => write!(f, "{name} printed {line:?}; expected {expected}"),
            PeerError::Io(e) => write!(f, "I/O error with a peer process: {e}"),
        }
    }
}

impl std::error::Error for PeerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PeerError::Spawn { source, .. } => Some(source),
            PeerError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for PeerError {
    fn from(e: io::Error) -> Self {
        PeerError::Io(e)
    }
}

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    crate_dir.parent().unwrap_or(crate_dir).to_path_buf()
}

/// The directory of the Node harnesses: `conformance/js`.
pub fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("js")
}

/// A loopback port that was free a moment ago (bound, then released). Another process may take
/// it before it is used; prefer letting a peer bind port 0 and print its address.
pub fn free_loopback_port() -> io::Result<u16> {
    let listener = TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}

/// An envelope with owned parts: what a peer sent, compared by value (tag, node, lane, prio,
/// rate, body value), never by its bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct OwnedEnvelope {
    /// The kind.
    pub tag: Tag,
    /// The node URI (empty for host-addressed kinds).
    pub node: String,
    /// The lane URI (empty for host-addressed kinds).
    pub lane: String,
    /// Link priority (0 when absent).
    pub prio: f32,
    /// Link rate (0 when absent).
    pub rate: f32,
    /// The body as a value (`Absent` when there is none).
    pub body: Value,
}

impl OwnedEnvelope {
    /// Decodes a text frame with [`Envelope::decode`]; the error says why it is not an
    /// envelope.
    ///
    /// ```
    /// use conformance::peers::OwnedEnvelope;
    ///
    /// let a = OwnedEnvelope::decode(r#"@event(node:"/unit/1",lane:info) {x:1}"#).unwrap();
    /// let b = OwnedEnvelope::decode(r#"@event(node:"/unit/1",lane:info){x:1}"#).unwrap();
    /// assert_eq!(a, b);
    /// ```
    pub fn decode(frame: &str) -> Result<Self, String> {
        let e = Envelope::decode(frame).map_err(|err| format!("{frame:?}: {err}"))?;
        let body = e
            .body
            .to_value()
            .map_err(|err| format!("{frame:?}: body: {err}"))?;
        Ok(OwnedEnvelope {
            tag: e.tag,
            node: e.node.to_string(),
            lane: e.lane.to_string(),
            prio: e.prio,
            rate: e.rate,
            body,
        })
    }
}
