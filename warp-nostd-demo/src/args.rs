//! The command line, parsed from byte strings without an allocator.
//!
//! ```text
//! warp-nostd-demo [--timeout-ms MS] ADDR PORT [NODE [READINGS]]
//! warp-nostd-demo --sizes
//! ```
//!
//! `ADDR` is an IPv4 address or `localhost`; `NODE` defaults to [`DEFAULT_NODE`], `READINGS`
//! (how many `add` commands to publish, 1 to [`MAX_READINGS`]) to [`DEFAULT_READINGS`], the
//! time limit of the whole run to [`DEFAULT_TIMEOUT_MS`].

use core::fmt;
use core::net::Ipv4Addr;

/// How the program is used.
pub const USAGE: &str = "usage: warp-nostd-demo [--timeout-ms MS] ADDR PORT [NODE [READINGS]]\n       warp-nostd-demo --sizes\n";

/// The node the sensor reports to when none is given.
pub const DEFAULT_NODE: &str = "/unit/1";
/// Readings published when no count is given.
pub const DEFAULT_READINGS: u16 = 5;
/// The most readings one run publishes.
pub const MAX_READINGS: u16 = 1000;
/// The time limit of a run when none is given: 20 s.
pub const DEFAULT_TIMEOUT_MS: u32 = 20_000;

/// What the command line asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command<'a> {
    /// Run the sensor.
    Run(Plan<'a>),
    /// Print the memory figures of the core.
    Sizes,
}

/// One run of the sensor: where, what, how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan<'a> {
    /// The server's address.
    pub addr: Ipv4Addr,
    /// The server's port.
    pub port: u16,
    /// The node URI the sensor follows and commands, e.g. `/unit/1`.
    pub node: &'a str,
    /// How many readings to publish (the integers 1 to `readings`).
    pub readings: u16,
    /// The time limit of the whole run, in milliseconds.
    pub timeout_ms: u32,
}

impl<'a> Plan<'a> {
    /// A plan with the default node, readings and time limit.
    pub const fn new(addr: Ipv4Addr, port: u16) -> Self {
        Plan {
            addr,
            port,
            node: DEFAULT_NODE,
            readings: DEFAULT_READINGS,
            timeout_ms: DEFAULT_TIMEOUT_MS,
        }
    }
}

/// What is wrong with the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgError<'a> {
    /// `ADDR` or `PORT` is missing.
    Missing(&'static str),
    /// An argument does not read as what it stands for.
    Invalid {
        /// What it stands for.
        what: &'static str,
        /// The argument.
        arg: &'a [u8],
    },
    /// More arguments than the usage has.
    Unexpected(&'a [u8]),
}

impl fmt::Display for ArgError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgError::Missing(what) => write!(f, "missing {what}"),
            ArgError::Invalid { what, arg } => {
                write!(f, "bad {what}: ")?;
                show(arg, f)
            }
            ArgError::Unexpected(arg) => {
                f.write_str("unexpected argument: ")?;
                show(arg, f)
            }
        }
    }
}

/// Writes a byte string, its non-UTF-8 parts replaced.
fn show(arg: &[u8], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    for chunk in arg.utf8_chunks() {
        f.write_str(chunk.valid())?;
        if !chunk.invalid().is_empty() {
            f.write_str("\u{fffd}")?;
        }
    }
    Ok(())
}

/// Parses the arguments after the program name.
///
/// ```
/// use warp_nostd_demo::args::{parse, Command, Plan};
/// use core::net::Ipv4Addr;
///
/// let args: [&[u8]; 4] = [b"127.0.0.1", b"9001", b"/unit/7", b"3"];
/// let Ok(Command::Run(plan)) = parse(args) else { panic!() };
/// assert_eq!(plan, Plan { node: "/unit/7", readings: 3, ..Plan::new(Ipv4Addr::LOCALHOST, 9001) });
/// assert_eq!(parse([b"--sizes".as_slice()]), Ok(Command::Sizes));
/// ```
pub fn parse<'a, I>(args: I) -> Result<Command<'a>, ArgError<'a>>
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let mut args = args.into_iter().peekable();
    let mut timeout_ms = DEFAULT_TIMEOUT_MS;
    loop {
        match args.peek().copied() {
            Some(b"--sizes") => {
                args.next();
                return match args.next() {
                    None => Ok(Command::Sizes),
                    Some(extra) => Err(ArgError::Unexpected(extra)),
                };
            }
            Some(b"--timeout-ms") => {
                args.next();
                let arg = args.next().ok_or(ArgError::Missing("--timeout-ms value"))?;
                timeout_ms = number(arg).filter(|&ms| ms > 0).ok_or(ArgError::Invalid {
                    what: "time limit (milliseconds, at least 1)",
                    arg,
                })?;
            }
            _ => break,
        }
    }
    let addr = args.next().ok_or(ArgError::Missing("ADDR"))?;
    let addr = ipv4(addr).ok_or(ArgError::Invalid {
        what: "ADDR (an IPv4 address or localhost)",
        arg: addr,
    })?;
    let port = args.next().ok_or(ArgError::Missing("PORT"))?;
    let port = number(port).filter(|&p| p > 0).ok_or(ArgError::Invalid {
        what: "PORT (1 to 65535)",
        arg: port,
    })?;
    let mut plan = Plan {
        timeout_ms,
        ..Plan::new(addr, port)
    };
    if let Some(arg) = args.next() {
        plan.node = core::str::from_utf8(arg)
            .ok()
            .filter(|node| node.starts_with('/') && !node.contains(char::is_whitespace))
            .ok_or(ArgError::Invalid {
                what: "NODE (a URI path such as /unit/1)",
                arg,
            })?;
    }
    if let Some(arg) = args.next() {
        plan.readings = number(arg)
            .filter(|n| (1..=MAX_READINGS).contains(n))
            .ok_or(ArgError::Invalid {
                what: "READINGS (1 to 1000)",
                arg,
            })?;
    }
    match args.next() {
        None => Ok(Command::Run(plan)),
        Some(extra) => Err(ArgError::Unexpected(extra)),
    }
}

/// A decimal number of the type's range.
fn number<N: core::str::FromStr>(arg: &[u8]) -> Option<N> {
    core::str::from_utf8(arg).ok()?.parse().ok()
}

/// A dotted IPv4 address, or `localhost`.
fn ipv4(arg: &[u8]) -> Option<Ipv4Addr> {
    if arg == b"localhost" {
        return Some(Ipv4Addr::LOCALHOST);
    }
    number(arg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&'static str]) -> Result<Command<'static>, ArgError<'static>> {
        parse(args.iter().map(|a| a.as_bytes()))
    }

    #[test]
    fn defaults_fill_what_is_not_given() {
        assert_eq!(
            run(&["localhost", "9001"]),
            Ok(Command::Run(Plan::new(Ipv4Addr::LOCALHOST, 9001)))
        );
    }

    #[test]
    fn the_time_limit_comes_before_the_address() {
        let Ok(Command::Run(plan)) = run(&["--timeout-ms", "1500", "10.0.0.2", "80", "/a"]) else {
            panic!("not a run");
        };
        assert_eq!(plan.timeout_ms, 1500);
        assert_eq!(plan.addr, Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(plan.node, "/a");
    }

    #[test]
    fn bad_arguments_name_what_is_wrong() {
        assert_eq!(run(&[]), Err(ArgError::Missing("ADDR")));
        assert_eq!(run(&["127.0.0.1"]), Err(ArgError::Missing("PORT")));
        assert!(matches!(
            run(&["example.com", "80"]),
            Err(ArgError::Invalid {
                arg: b"example.com",
                ..
            })
        ));
        assert!(matches!(
            run(&["127.0.0.1", "0"]),
            Err(ArgError::Invalid { arg: b"0", .. })
        ));
        assert!(matches!(
            run(&["127.0.0.1", "70000"]),
            Err(ArgError::Invalid { arg: b"70000", .. })
        ));
        assert!(matches!(
            run(&["127.0.0.1", "80", "unit"]),
            Err(ArgError::Invalid { arg: b"unit", .. })
        ));
        assert!(matches!(
            run(&["127.0.0.1", "80", "/u", "0"]),
            Err(ArgError::Invalid { arg: b"0", .. })
        ));
        assert!(matches!(
            run(&["127.0.0.1", "80", "/u", "1001"]),
            Err(ArgError::Invalid { arg: b"1001", .. })
        ));
        assert_eq!(
            run(&["127.0.0.1", "80", "/u", "2", "x"]),
            Err(ArgError::Unexpected(b"x"))
        );
        assert_eq!(run(&["--sizes", "x"]), Err(ArgError::Unexpected(b"x")));
        assert_eq!(
            run(&["--timeout-ms"]),
            Err(ArgError::Missing("--timeout-ms value"))
        );
        assert!(matches!(
            run(&["--timeout-ms", "0", "127.0.0.1", "80"]),
            Err(ArgError::Invalid { arg: b"0", .. })
        ));
    }

    #[test]
    fn errors_print_the_argument_even_when_not_utf8() {
        let e = ArgError::Invalid {
            what: "PORT",
            arg: b"8\xff0",
        };
        assert_eq!(e.to_string(), "bad PORT: 8\u{fffd}0");
    }
}
