//! The recorder: a WebSocket proxy that forwards every frame between clients and an upstream
//! WARP server verbatim and writes each connection as a trace (the format of [`super`]).
//!
//! Each accepted client connection gets its own thread and its own upstream connection, which
//! offers `warp0` (whatever the client offered; the client is answered `warp0` when it offered
//! it). Text and binary frames are forwarded and logged as they arrive; pings are answered on
//! each side and neither forwarded nor logged. A close is logged with its code and passed on; a
//! side that ends without a close frame is logged as close `1006` ([`ABNORMAL_CLOSE`]) and the
//! other side's connection is dropped. When the client starts the close, `tungstenite` answers
//! it at once with the same code; the close logged as `s2c` is the upstream's own answer.
//!
//! Everything is bounded: the wait for connections, every read (a short poll), and each
//! connection's duration ([`RecordConfig::max_duration`]).
//!
//! ```no_run
//! use std::net::TcpListener;
//! use conformance::suite::ws::WsUrl;
//! use conformance::trace::record::{record, RecordConfig};
//!
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let config = RecordConfig::new(WsUrl::parse("ws://127.0.0.1:9001")?, "session");
//! // Point a client at listener.local_addr() now; each connection becomes one trace.
//! for trace in record(listener, &config)? {
//!     println!("{} frames", trace.frames.len());
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt::Write as _;
use std::io;
use std::net::{Shutdown, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{Dir, Payload, ABNORMAL_CLOSE};
use crate::json::{encode_base64, json_string};
use crate::suite::ws::{deadline_after, Incoming, WsPeer, WsUrl, WARP0};

/// How long one read waits before the other side is looked at.
const POLL: Duration = Duration::from_millis(5);

/// The header of the traces a recorder writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The trace's name (`trace`).
    pub name: String,
    /// What the upstream server is (`server`).
    pub server: String,
    /// What the client is (`client`).
    pub client: String,
    /// What the trace shows and what varies (`notes`).
    pub notes: String,
    /// The allowances (`order`, see [`super::Allowances`]).
    pub order: String,
    /// How PROFILE.md differs (`profile_differs`), when it does.
    pub profile_differs: Option<String>,
}

impl Header {
    /// The header line, with `recorded` set to `date` (`YYYY-MM-DD`).
    pub fn to_line(&self, date: &str) -> String {
        let mut line = format!(
            "{{\"trace\": {}, \"server\": {}, \"client\": {}, \"recorded\": {}, \"notes\": {}, \
             \"order\": {}",
            json_string(&self.name),
            json_string(&self.server),
            json_string(&self.client),
            json_string(date),
            json_string(&self.notes),
            json_string(&self.order),
        );
        if let Some(p) = &self.profile_differs {
            let _ = write!(line, ", \"profile_differs\": {}", json_string(p));
        }
        line.push('}');
        line
    }
}

/// One frame as the proxy saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// Milliseconds since the recorder started.
    pub t_ms: u64,
    /// Who sent it.
    pub dir: Dir,
    /// What it was.
    pub payload: Payload,
}

impl Recorded {
    /// The frame's trace line.
    pub fn to_line(&self) -> String {
        let what = match &self.payload {
            Payload::Text(t) => format!("\"text\": {}", json_string(t)),
            Payload::Binary(b) => format!("\"bin\": {}", json_string(&encode_base64(b))),
            Payload::Close(code) => format!("\"close\": {code}"),
        };
        format!(
            "{{\"t_ms\": {}, \"dir\": \"{}\", {what}}}",
            self.t_ms,
            self.dir.name()
        )
    }
}

/// One recorded connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedTrace {
    /// Its header.
    pub header: Header,
    /// The date of the recording (`YYYY-MM-DD`, UTC).
    pub date: String,
    /// The frames in the order the proxy saw them.
    pub frames: Vec<Recorded>,
    /// Why the recording of this connection ended early, if it did (the frames up to then are
    /// kept).
    pub error: Option<String>,
}

impl RecordedTrace {
    /// The trace file's text.
    pub fn to_text(&self) -> String {
        let mut out = self.header.to_line(&self.date);
        out.push('\n');
        for f in &self.frames {
            out.push_str(&f.to_line());
            out.push('\n');
        }
        out
    }

    /// Writes the trace file.
    pub fn write(&self, path: &Path) -> io::Result<()> {
        std::fs::write(path, self.to_text())
    }
}

/// What a recorder does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordConfig {
    /// The server the proxy forwards to.
    pub upstream: WsUrl,
    /// The header of the traces (the second connection's name gets `-2`, and so on).
    pub header: Header,
    /// How many client connections to record before returning.
    pub connections: usize,
    /// How long to wait for each connection to come.
    pub wait: Duration,
    /// How long one connection may last at most.
    pub max_duration: Duration,
    /// The bound of the upstream connect, the handshakes and every write.
    pub timeout: Duration,
}

impl RecordConfig {
    /// One connection to `upstream`, recorded as trace `name`, with the default limits (wait
    /// 60 s for it, at most 10 minutes long, 5 s for connects and writes).
    pub fn new(upstream: WsUrl, name: &str) -> RecordConfig {
        let server = format!("upstream {}", upstream.url);
        RecordConfig {
            upstream,
            header: Header {
                name: name.to_string(),
                server,
                client: "unknown".into(),
                notes: "recorded by warp-conformance record".into(),
                order: "per-link".into(),
                profile_differs: None,
            },
            connections: 1,
            wait: Duration::from_secs(60),
            max_duration: Duration::from_secs(600),
            timeout: Duration::from_secs(5),
        }
    }
}

/// Why a recording failed as a whole.
#[derive(Debug)]
pub enum RecordError {
    /// The listener failed.
    Listen(io::Error),
    /// No connection came within [`RecordConfig::wait`]; the traces recorded before are kept.
    NoConnection {
        /// The traces of the connections that came.
        recorded: Vec<RecordedTrace>,
    },
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordError::Listen(e) => write!(f, "accepting connections failed: {e}"),
            RecordError::NoConnection { recorded } => write!(
                f,
                "no client connected within the wait ({} connection(s) recorded before)",
                recorded.len()
            ),
        }
    }
}

impl std::error::Error for RecordError {}

/// The UTC date of `time` as `YYYY-MM-DD`.
pub fn utc_date(time: SystemTime) -> String {
    let days = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400);
    // Civil from days (Howard Hinnant's algorithm), for dates after 1970.
    let z = days as i64 + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Accepts `config.connections` clients on `listener` and records each (concurrently, one
/// thread per connection); returns their traces in the order the connections came.
pub fn record(
    listener: TcpListener,
    config: &RecordConfig,
) -> Result<Vec<RecordedTrace>, RecordError> {
    listener
        .set_nonblocking(true)
        .map_err(RecordError::Listen)?;
    let epoch = Instant::now();
    let (tx, rx) = mpsc::channel::<(usize, RecordedTrace)>();
    let mut started = 0;
    let mut threads = Vec::new();
    let mut deadline = deadline_after(config.wait);
    while started < config.connections {
        match listener.accept() {
            Ok((stream, _)) => {
                let _ = stream.set_nonblocking(false);
                let mut header = config.header.clone();
                if started > 0 {
                    header.name = format!("{}-{}", header.name, started + 1);
                }
                let for_thread = config.clone();
                let tx = tx.clone();
                let index = started;
                threads.push(std::thread::spawn(move || {
                    let trace = record_connection(stream, &for_thread, header, epoch);
                    let _ = tx.send((index, trace));
                }));
                started += 1;
                deadline = deadline_after(config.wait);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    break;
                }
                // Polling the non-blocking listener: std has no accept with a timeout.
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(RecordError::Listen(e)),
        }
    }
    drop(tx);
    let mut traces: Vec<(usize, RecordedTrace)> = rx.iter().collect();
    for t in threads {
        let _ = t.join();
    }
    traces.sort_by_key(|(i, _)| *i);
    let recorded: Vec<RecordedTrace> = traces.into_iter().map(|(_, t)| t).collect();
    if started < config.connections {
        return Err(RecordError::NoConnection { recorded });
    }
    Ok(recorded)
}

/// One side of the proxy.
struct Side {
    peer: WsPeer,
    /// Still to be read from.
    alive: bool,
    /// It sent a close frame.
    closed: bool,
    /// We dropped its connection (its end is then not logged).
    dropped: bool,
}

impl Side {
    fn new(peer: WsPeer) -> Side {
        Side {
            peer,
            alive: true,
            closed: false,
            dropped: false,
        }
    }

    fn drop_connection(&mut self) {
        self.dropped = true;
        if let Ok(s) = self.peer.raw_stream() {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

/// Records one client connection already accepted on `stream`.
pub fn record_connection(
    stream: std::net::TcpStream,
    config: &RecordConfig,
    header: Header,
    epoch: Instant,
) -> RecordedTrace {
    let mut trace = RecordedTrace {
        header,
        date: utc_date(SystemTime::now()),
        frames: Vec::new(),
        error: None,
    };
    let client = match WsPeer::accept(stream, config.timeout) {
        Ok((peer, _)) => peer,
        Err(e) => {
            trace.error = Some(format!("client handshake: {e}"));
            return trace;
        }
    };
    let upstream = match WsPeer::connect(&config.upstream, Some(WARP0), config.timeout) {
        Ok((peer, _)) => peer,
        Err(e) => {
            trace.error = Some(format!("upstream {}: {e}", config.upstream.url));
            return trace;
        }
    };
    let mut sides = [Side::new(client), Side::new(upstream)];
    let end = deadline_after(config.max_duration);
    while sides.iter().any(|s| s.alive) {
        if Instant::now() >= end {
            trace.error = Some(format!(
                "the connection lasted longer than {:?}",
                config.max_duration
            ));
            for s in &mut sides {
                s.drop_connection();
            }
            break;
        }
        for from in 0..2 {
            let to = 1 - from;
            let dir = if from == 0 { Dir::C2s } else { Dir::S2c };
            let Some(side) = sides.get_mut(from) else {
                continue;
            };
            if !side.alive {
                continue;
            }
            let incoming = side.peer.recv(POLL);
            let t_ms = u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
            let mut log = |payload| trace.frames.push(Recorded { t_ms, dir, payload });
            let forward: Option<Payload> = match incoming {
                Incoming::Text(t) => {
                    log(Payload::Text(t.clone()));
                    Some(Payload::Text(t))
                }
                Incoming::Binary(b) => {
                    log(Payload::Binary(b.clone()));
                    Some(Payload::Binary(b))
                }
                Incoming::Close(code) => {
                    let code = code.unwrap_or(1005);
                    log(Payload::Close(code));
                    side.closed = true;
                    Some(Payload::Close(code))
                }
                Incoming::Ended(_) => {
                    side.alive = false;
                    if !side.closed && !side.dropped {
                        log(Payload::Close(ABNORMAL_CLOSE));
                        Some(Payload::Close(ABNORMAL_CLOSE))
                    } else {
                        None
                    }
                }
                Incoming::Ping(_) | Incoming::Pong(_) | Incoming::Nothing => None,
            };
            let (Some(payload), Some(other)) = (forward, sides.get_mut(to)) else {
                continue;
            };
            if !other.alive || other.closed {
                continue;
            }
            let sent = match &payload {
                Payload::Text(t) => other.peer.send_text(t),
                Payload::Binary(b) => other.peer.send_binary(b),
                Payload::Close(ABNORMAL_CLOSE) => {
                    other.drop_connection();
                    Ok(())
                }
                Payload::Close(code) => other.peer.send_close(*code),
            };
            if sent.is_err() {
                // The other side is gone; its own read reports how.
                continue;
            }
        }
    }
    trace
}

/// The path of the `n`-th (0-based) trace of a recording to `out`: `out` itself, then `out`
/// with `-2`, `-3`... before the extension.
pub fn numbered_path(out: &Path, n: usize) -> PathBuf {
    if n == 0 {
        return out.to_path_buf();
    }
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match out.extension() {
        Some(ext) => format!("{stem}-{}.{}", n + 1, ext.to_string_lossy()),
        None => format!("{stem}-{}", n + 1),
    };
    out.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_lines() {
        assert_eq!(utc_date(UNIX_EPOCH), "1970-01-01");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(utc_date(leap), "2000-02-29");
        let f = Recorded {
            t_ms: 3,
            dir: Dir::S2c,
            payload: Payload::Text("@event(node:a,lane:b) \"x\"".into()),
        };
        assert_eq!(
            f.to_line(),
            r#"{"t_ms": 3, "dir": "s2c", "text": "@event(node:a,lane:b) \"x\""}"#
        );
        assert_eq!(
            numbered_path(Path::new("d/out.jsonl"), 2),
            Path::new("d/out-3.jsonl")
        );
        assert_eq!(numbered_path(Path::new("out"), 0), Path::new("out"));
    }
}
