//! The program's body on the host: the command line, then the sensor over the [`shim`]'s
//! socket, clock and console. `src/main.rs` only adds the C entry point and the panic handler.
//!
//! Exit status: 0 when the script went to plan, 1 when it failed, 2 for a bad command line, 3
//! when the time limit ran out (and 101 on a panic, from the panic handler).

use core::fmt::Write as _;
use core::time::Duration;

use warp_proto::ws::Instant;

use crate::args::{self, Command, Plan, USAGE};
use crate::sensor;
use crate::shim::{self, Console, LibcSocket, MonotonicClock};
use crate::sizes::Sizes;

/// Runs the program with its arguments (the program name first, as in C's `argv`) and returns
/// its exit status.
pub fn main<'a>(args: impl IntoIterator<Item = &'a [u8]>) -> i32 {
    let mut out = Console::stdout();
    let mut err = Console::stderr();
    let command = match args::parse(args.into_iter().skip(1)) {
        Ok(command) => command,
        Err(e) => {
            let _ = write!(err, "warp-nostd-demo: {e}\n{USAGE}");
            return 2;
        }
    };
    match command {
        Command::Sizes => match write!(out, "{}", Sizes::measure()) {
            Ok(()) => 0,
            Err(_) => 1,
        },
        Command::Run(plan) => run(&plan, &mut out, &mut err),
    }
}

/// Connects and runs the sensor; the exit status.
fn run(plan: &Plan<'_>, out: &mut Console, err: &mut Console) -> i32 {
    let mut clock = MonotonicClock::new();
    let mut random = [0u8; 32];
    if let Err(e) = shim::random_bytes(&mut random) {
        let _ = writeln!(err, "warp-nostd-demo: {e}");
        return 1;
    }
    let mut socket = match LibcSocket::connect(plan.addr, plan.port, plan.timeout_ms) {
        Ok(socket) => socket,
        Err(e) => {
            let _ = writeln!(err, "warp-nostd-demo: {}:{}: {e}", plan.addr, plan.port);
            return 1;
        }
    };
    // The time limit covers the whole run, connecting included: it counts from the clock's
    // epoch, which was before the connection.
    let deadline = Instant::ZERO.saturating_add(Duration::from_millis(plan.timeout_ms.into()));
    match sensor::run(&mut socket, &mut clock, out, plan, deadline, random) {
        Ok(_) => 0,
        Err(failure) => {
            let _ = writeln!(err, "warp-nostd-demo: {failure}");
            failure.exit_code()
        }
    }
}
