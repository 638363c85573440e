//! Child processes speaking the peers' line protocol, and commands run to completion, all with
//! bounded waits.

use std::fmt;
use std::io::{self, BufRead as _, BufReader, Read as _};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use super::PeerError;

/// How long a peer asked to stop (stdin closed) may take to exit.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The most stderr text kept per process (the end of it).
const STDERR_KEPT: usize = 64 * 1024;

/// The line prefix the peers print once bound: `listening 127.0.0.1:PORT`.
const LISTENING: &str = "listening ";

/// The last `max` bytes of `text`, cut at a character boundary.
fn tail(text: &str, max: usize) -> &str {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text.get(start..).unwrap_or(text)
}

/// Runs `command` to completion within `limit`, its stdout and stderr captured together.
pub(super) fn run_captured(mut command: Command, limit: Duration) -> Result<(), PeerError> {
    let description = format!("{command:?}");
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().map_err(|source| PeerError::Spawn {
        program: description.clone(),
        source,
    })?;
    let output = Arc::new(Mutex::new(String::new()));
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn io::Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|stream| collect_into(stream, Arc::clone(&output)))
    .collect();
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            let text = lock(&output).clone();
            return Err(PeerError::Timeout {
                what: description,
                after: limit,
                stderr: tail(&text, 8 * 1024).to_string(),
            });
        }
        thread::sleep(Duration::from_millis(50));
    };
    for reader in readers {
        let _ = reader.join();
    }
    if status.success() {
        return Ok(());
    }
    let text = lock(&output).clone();
    Err(PeerError::CommandFailed {
        command: description,
        status,
        output: tail(&text, 8 * 1024).to_string(),
    })
}

/// Locks `m`, ignoring poisoning (the data is text or a flag, always usable).
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Appends everything `stream` yields to `into` (lossy UTF-8, keeping the last
/// [`STDERR_KEPT`] bytes), on a thread that ends at end of stream.
fn collect_into(
    mut stream: Box<dyn io::Read + Send>,
    into: Arc<Mutex<String>>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stream.read(&mut buf) {
            let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
                break;
            };
            let mut text = lock(&into);
            text.push_str(&String::from_utf8_lossy(chunk));
            if text.len() > 2 * STDERR_KEPT {
                let kept = tail(&text, STDERR_KEPT).to_string();
                *text = kept;
            }
        }
    })
}

/// A child process speaking the peers' line protocol: stdout read line by line (on a thread,
/// so reads can time out), stderr kept for diagnostics, stdin held open until
/// [`PeerProcess::close_stdin`] or drop. Dropping it kills and reaps the process.
pub struct PeerProcess {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl fmt::Debug for PeerProcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerProcess")
            .field("name", &self.name)
            .field("pid", &self.child.id())
            .finish_non_exhaustive()
    }
}

impl PeerProcess {
    /// Starts `command` with piped stdin, stdout and stderr; `name` labels it in errors.
    pub fn spawn(name: &str, mut command: Command) -> Result<Self, PeerError> {
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().map_err(|source| PeerError::Spawn {
            program: format!("{command:?}"),
            source,
        })?;
        let stdin = child.stdin.take();
        let (tx, lines) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            thread::spawn(move || {
                let mut reader = BufReader::new(stdout);
                let mut line = Vec::new();
                loop {
                    line.clear();
                    match reader.read_until(b'\n', &mut line) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {
                            let text = String::from_utf8_lossy(&line);
                            let text = text.trim_end_matches(['\n', '\r']).to_string();
                            if tx.send(text).is_err() {
                                break;
                            }
                        }
                    }
                }
            });
        }
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(err) = child.stderr.take() {
            collect_into(Box::new(err), Arc::clone(&stderr));
        }
        Ok(PeerProcess {
            name: name.to_string(),
            child,
            stdin,
            lines,
            stderr,
        })
    }

    /// The label given at spawn.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The operating system's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The end of what the process wrote to stderr so far.
    pub fn stderr_text(&self) -> String {
        tail(&lock(&self.stderr), 8 * 1024).to_string()
    }

    /// The next stdout line (without its line ending) within `timeout`; `Ok(None)` once stdout
    /// is closed and every line has been read.
    pub fn next_line(&mut self, timeout: Duration) -> Result<Option<String>, PeerError> {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => Ok(Some(line)),
            Err(RecvTimeoutError::Disconnected) => Ok(None),
            Err(RecvTimeoutError::Timeout) => Err(PeerError::Timeout {
                what: format!("a line from {}", self.name),
                after: timeout,
                stderr: self.stderr_text(),
            }),
        }
    }

    /// The stdout lines that arrive until none has come for `quiet`, stdout closes, or `limit`
    /// has passed.
    pub fn lines_until_quiet(&mut self, quiet: Duration, limit: Duration) -> Vec<String> {
        let deadline = Instant::now() + limit;
        let mut lines = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(quiet.min(left)) {
                Ok(line) => lines.push(line),
                Err(_) => return lines,
            }
            if left.is_zero() {
                return lines;
            }
        }
    }

    /// Reads the `listening ADDR` line the peers print once bound, within `timeout`.
    pub fn read_address(&mut self, timeout: Duration) -> Result<SocketAddr, PeerError> {
        let line = match self.next_line(timeout)? {
            Some(line) => line,
            None => {
                let status = self.wait_timeout(Duration::from_millis(500)).ok().flatten();
                return Err(PeerError::Exited {
                    name: self.name.clone(),
                    status,
                    stderr: self.stderr_text(),
                });
            }
        };
        line.strip_prefix(LISTENING)
            .and_then(|addr| addr.trim().parse().ok())
            .ok_or_else(|| PeerError::BadOutput {
                name: self.name.clone(),
                line,
                expected: "`listening HOST:PORT`",
            })
    }

    /// Closes the process's stdin, which asks the peers to exit.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits up to `timeout` for the process to exit; `Ok(None)` if it is still running.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<Option<ExitStatus>, PeerError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(Some(status));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Asks the process to exit (stdin closed) and waits up to `timeout`; kills it if it is
    /// still running then, and reports that as [`PeerError::Timeout`].
    pub fn stop(&mut self, timeout: Duration) -> Result<ExitStatus, PeerError> {
        self.close_stdin();
        match self.wait_timeout(timeout)? {
            Some(status) => Ok(status),
            None => {
                self.kill();
                Err(PeerError::Timeout {
                    what: format!("{} to exit after its stdin closed", self.name),
                    after: timeout,
                    stderr: self.stderr_text(),
                })
            }
        }
    }

    /// Kills the process (if still running) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
