//! What the program's tests share: the program built on its own, runs of it with a time limit,
//! and the check of a run's output against the sensor's script.
//!
//! The program is built by a separate `cargo build -p warp-nostd-demo --features firmware`
//! into `target/nostd-demo`, not taken from the test build: a test build activates the
//! dev-dependencies, whose `warp-proto` has `std`, and features are unified; the separate
//! build has exactly the demo's own dependency graph (no `alloc`, no `std`), the one a device
//! would get. It is built once per test process.
#![allow(dead_code)] // each test file uses a part

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{mpsc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// How long building the program may take (a clean release build of the demo's graph takes
/// under a minute on 2 cores; waiting for another build's lock adds to it).
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(20 * 60);

/// How long one run of the program may take, beyond its own time limit (20 s by default).
pub const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// `cargo` arguments that build the program: release, `panic = "abort"` (stable Rust cannot
/// unwind without `std`).
pub const BUILD_ARGS: &[&str] = &[
    "build",
    "-p",
    "warp-nostd-demo",
    "--features",
    "firmware",
    "--release",
    "--config",
    "profile.release.panic=\"abort\"",
];

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    dir.parent().unwrap_or(dir).to_path_buf()
}

/// Where the program is built: `target/nostd-demo`, apart from the test build.
pub fn target_dir() -> PathBuf {
    workspace_root().join("target/nostd-demo")
}

/// A `cargo` command in the workspace root, without the variables cargo sets for the test
/// process (they would make the nested build differ from a shell build).
pub fn cargo() -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(program);
    command.current_dir(workspace_root());
    for (key, _) in std::env::vars_os() {
        let set_by_cargo = key.to_str().is_some_and(|k| {
            [
                "CARGO_MANIFEST_",
                "CARGO_PKG_",
                "CARGO_BIN_",
                "CARGO_CRATE_",
            ]
            .iter()
            .any(|prefix| k.starts_with(prefix))
                || ["CARGO_PRIMARY_PACKAGE", "CARGO_TARGET_TMPDIR", "OUT_DIR"].contains(&k)
        });
        if set_by_cargo {
            command.env_remove(key);
        }
    }
    command
}

/// Serialises the build within this process and remembers it.
static BUILT: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Builds the program (once per process) and returns its path.
pub fn program() -> PathBuf {
    let mut built = BUILT.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(path) = built.as_ref() {
        return path.clone();
    }
    let mut command = cargo();
    command
        .args(BUILD_ARGS)
        .arg("--target-dir")
        .arg(target_dir());
    let run = run_command(command, BUILD_TIMEOUT);
    assert!(
        run.status.success(),
        "building the program failed ({}):\n{}",
        run.status,
        run.stderr
    );
    let path = target_dir().join("release/warp-nostd-demo");
    assert!(path.is_file(), "no program at {}", path.display());
    *built = Some(path.clone());
    path
}

/// A finished command.
#[derive(Debug)]
pub struct Run {
    /// How it ended.
    pub status: ExitStatus,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl Run {
    /// The output lines.
    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    /// Everything it printed, for assertion messages.
    pub fn transcript(&self) -> String {
        format!(
            "status: {}\n--- stdout\n{}--- stderr\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// Runs `command` to its end, its output captured; kills it and panics after `limit`.
pub fn run_command(mut command: Command, limit: Duration) -> Run {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let (tx, rx) = mpsc::channel();
    let streams: [Option<Box<dyn Read + Send>>; 2] = [
        child.stdout.take().map(|s| Box::new(s) as _),
        child.stderr.take().map(|s| Box::new(s) as _),
    ];
    for (index, stream) in streams.into_iter().enumerate() {
        let tx = tx.clone();
        thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut stream) = stream {
                let _ = stream.read_to_end(&mut bytes);
            }
            let _ = tx.send((index, String::from_utf8_lossy(&bytes).into_owned()));
        });
    }
    // Both pipes reach their end when the process (and whatever inherited them) exits.
    let deadline = Instant::now() + limit;
    let mut texts = [String::new(), String::new()];
    for _ in 0..2 {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok((index, text)) => texts[index] = text,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{command:?} did not finish within {limit:?}");
            }
        }
    }
    let status = child
        .wait()
        .unwrap_or_else(|e| panic!("waiting for {command:?}: {e}"));
    let [stdout, stderr] = texts;
    Run {
        status,
        stdout,
        stderr,
    }
}

/// Runs the program with `args`.
pub fn run_program(args: &[&str]) -> Run {
    let mut command = Command::new(program());
    command.args(args);
    run_command(command, RUN_TIMEOUT)
}

/// Checks the output of a successful run of the sensor on `node` with `readings` readings
/// against its script, and returns the value of `count` the sync gave.
///
/// What the servers may do differently is left open: the order of the two lanes' answers,
/// which intermediate values of `count` are published (only increasing partial sums), and the
/// interleaving of `count` events with the commands. What must hold: each lane is linked,
/// then gets its state, then `synced`; the readings go out after both syncs, in order;
/// `count` ends exactly at the synced value plus their sum; both links are confirmed
/// unlinked after that; the WebSocket closes with 1000.
pub fn check_script(run: &Run, node: &str, readings: i64) -> i64 {
    assert!(
        run.status.success(),
        "the run failed:\n{}",
        run.transcript()
    );
    check_output(&run.stdout, node, readings)
}

/// [`check_script`] on the output alone.
pub fn check_output(stdout: &str, node: &str, readings: i64) -> i64 {
    let text = format!("--- output\n{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.first(), Some(&"connected warp0"), "{text}");
    let position = |line: &str| {
        lines
            .iter()
            .position(|l| *l == line)
            .unwrap_or_else(|| panic!("no line {line:?}:\n{text}"))
    };
    let value = |line: &str, prefix: &str| -> i64 {
        line.strip_prefix(prefix)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("not an integer after {prefix:?}: {line:?}\n{text}"))
    };
    let count_prefix = format!("event {node} count ");
    let mut synced_at = Vec::new();
    let mut initial = None;
    for lane in ["info", "count"] {
        let linked = position(&format!("linked {node} {lane}"));
        let synced = position(&format!("synced {node} {lane}"));
        assert!(linked < synced, "{lane}: synced before linked:\n{text}");
        let state = format!("event {node} {lane} ");
        let states: Vec<&str> = lines[linked..synced]
            .iter()
            .copied()
            .filter(|l| l.starts_with(&state))
            .collect();
        assert!(
            !states.is_empty(),
            "{lane}: no state before synced:\n{text}"
        );
        if lane == "count" {
            initial = states.last().map(|l| value(l, &count_prefix));
        }
        synced_at.push(synced);
    }
    let initial = initial.unwrap_or_else(|| panic!("no synced count:\n{text}"));
    let both_synced = synced_at.iter().copied().max().unwrap_or(0);

    let command_prefix = format!("command {node} add ");
    let commands: Vec<(usize, i64)> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with(&command_prefix))
        .map(|(i, l)| (i, value(l, &command_prefix)))
        .collect();
    let sent: Vec<i64> = commands.iter().map(|&(_, v)| v).collect();
    assert_eq!(sent, (1..=readings).collect::<Vec<_>>(), "{text}");
    assert!(
        commands.iter().all(|&(i, _)| i > both_synced),
        "a reading went out before both lanes were synced:\n{text}"
    );

    let sum = readings * (readings + 1) / 2;
    let partial_sums: Vec<i64> = (1..=readings).map(|k| initial + k * (k + 1) / 2).collect();
    let counts: Vec<(usize, i64)> = lines
        .iter()
        .enumerate()
        .skip(synced_at[1] + 1)
        .filter(|(_, l)| l.starts_with(&count_prefix))
        .map(|(i, l)| (i, value(l, &count_prefix)))
        .collect();
    let values: Vec<i64> = counts.iter().map(|&(_, v)| v).collect();
    assert!(
        values.windows(2).all(|w| w[0] < w[1]),
        "count went backwards: {values:?}\n{text}"
    );
    assert!(
        values.iter().all(|v| partial_sums.contains(v)),
        "a count that is no partial sum of the readings: {values:?}\n{text}"
    );
    assert_eq!(values.last(), Some(&(initial + sum)), "{text}");

    let last_count = counts.last().map_or(0, |&(i, _)| i);
    for lane in ["info", "count"] {
        let unlinked = position(&format!("unlinked {node} {lane}"));
        assert!(unlinked > last_count, "{lane}: unlinked too early:\n{text}");
    }
    let done = format!("done {}", initial + sum);
    let end = lines.len().saturating_sub(2);
    assert_eq!(lines[end..], ["closed 1000", done.as_str()], "{text}");
    assert!(
        !stdout.contains("protocol-error") && !stdout.contains("by-server"),
        "{text}"
    );
    initial
}
