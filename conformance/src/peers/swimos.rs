//! The SwimOS 0.1.1 server of `peers/swimos-server`: built once per process, run on loopback.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, ExitStatus};
use std::sync::Mutex;
use std::time::Duration;

use super::process::{lock, run_captured, PeerProcess, STOP_TIMEOUT};
use super::{workspace_root, PeerError, START_TIMEOUT};

/// How long building the SwimOS peer may take (a clean release build takes about 2.5 minutes
/// on 2 cores; waiting for another build's lock on `target/peers` adds to it).
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The SwimOS 0.1.1 server of `peers/swimos-server`, running on loopback.
///
/// Its agents live at `/unit/:id` with value lanes `info` (text, initially `""`) and `count`
/// (integer, initially 0), map lane `history` (integer → integer), and command lanes
/// `set_info` (sets `info`), `add` (adds to `count`, then records new total → amount in
/// `history`) and `remove` (removes a key from `history`). Clients must offer the `warp0`
/// subprotocol. Dropping the handle kills the server.
#[derive(Debug)]
pub struct SwimosServer {
    process: PeerProcess,
    addr: SocketAddr,
}

/// Serialises builds of the peer within this process and remembers a successful one.
static BUILT: Mutex<Option<PathBuf>> = Mutex::new(None);

impl SwimosServer {
    /// The peer crate's manifest.
    pub fn manifest() -> PathBuf {
        workspace_root().join("peers/swimos-server/Cargo.toml")
    }

    /// Where the peer is built: `target/peers` of the workspace.
    pub fn target_dir() -> PathBuf {
        workspace_root().join("target/peers")
    }

    /// Builds the peer (`cargo build --release --manifest-path peers/swimos-server/Cargo.toml
    /// --target-dir target/peers`, a no-op when up to date) once per process and returns the
    /// binary's path. Fails with the end of cargo's output if the build fails.
    pub fn build() -> Result<PathBuf, PeerError> {
        let mut built = lock(&BUILT);
        if let Some(path) = built.as_ref() {
            return Ok(path.clone());
        }
        let cargo = std::env::var_os("CARGO")
            .or_else(|| option_env!("CARGO").map(OsString::from))
            .unwrap_or_else(|| OsString::from("cargo"));
        let mut command = Command::new(cargo);
        command
            .arg("build")
            .arg("--release")
            .arg("--manifest-path")
            .arg(Self::manifest())
            .arg("--target-dir")
            .arg(Self::target_dir())
            .current_dir(workspace_root());
        // Cargo gives a test process the variables it sets for the crate under test
        // (`CARGO_MANIFEST_DIR`, `CARGO_PKG_*`, ...). Build scripts such as ring's watch some
        // of them, so passing them on would make the peer's build differ from a shell build and
        // redo half of it each time one follows the other.
        for (key, _) in std::env::vars_os() {
            let cargo_set = key.to_str().is_some_and(|k| {
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
            if cargo_set {
                command.env_remove(key);
            }
        }
        run_captured(command, BUILD_TIMEOUT)?;
        let binary = Self::target_dir().join("release").join(format!(
            "swimos-peer-server{}",
            std::env::consts::EXE_SUFFIX
        ));
        *built = Some(binary.clone());
        Ok(binary)
    }

    /// Builds the peer if needed and starts it on a free loopback port.
    pub fn start() -> Result<Self, PeerError> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Builds the peer if needed and starts it bound to `bind`.
    pub fn start_on(bind: SocketAddr) -> Result<Self, PeerError> {
        let binary = Self::build()?;
        let mut command = Command::new(binary);
        command.arg("--bind").arg(bind.to_string());
        let mut process = PeerProcess::spawn("swimos-peer-server", command)?;
        let addr = process.read_address(START_TIMEOUT)?;
        Ok(SwimosServer { process, addr })
    }

    /// The address the server is bound to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws://ADDR`, for WebSocket clients (which must offer `warp0`).
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// `warp://ADDR`, the host URI form `@swim/client` takes.
    pub fn host_uri(&self) -> String {
        format!("warp://{}", self.addr)
    }

    /// The end of what the server wrote to stderr so far.
    pub fn stderr_text(&self) -> String {
        self.process.stderr_text()
    }

    /// Stops the server the clean way (stdin closed) and returns its exit status; kills it if
    /// it has not exited within [`STOP_TIMEOUT`].
    pub fn stop(mut self) -> Result<ExitStatus, PeerError> {
        self.process.stop(STOP_TIMEOUT)
    }
}
