//! The `replay` and `record` modes of `warp-conformance`: arguments, help and output. The
//! binary hands these modes' arguments to [`run`] and their help requests to [`help`].

use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::record::{numbered_path, record, RecordConfig, RecordError};
use super::replay::{replay_all, Target};
use super::{Allowances, Expect, Limits, Trace};
use crate::suite::report::{table, CaseResult, CaseSummary};
use crate::suite::ws::WsUrl;

const NAME: &str = "warp-conformance";
const EXIT_OK: u8 = 0;
const EXIT_FAILED: u8 = 1;
const EXIT_USAGE: u8 = 2;

/// The lines these modes add to the general help's USAGE and MODES sections.
pub const GENERAL_HELP: &str = "\
    replay    Replays recorded traces as the client against a server: one of our drivers
              (--driver core|tokio|smol, each a fresh demo server per trace) or any
              --url ws://HOST:PORT. Run `warp-conformance help replay`.
    record    A recording proxy: forwards a client to --upstream and writes the connection
              as a trace. Run `warp-conformance help record`.
";

/// The help of `mode` (`replay` or `record`).
pub fn help(mode: &str) -> Option<String> {
    match mode {
        "replay" => Some(format!(
            "\
{NAME} replay (--driver core|tokio|smol | --url URL) [--expect profile|recorded]
                  [--timeout SECS] [--quiet MS] [--pace MS] [--json] TRACE|DIR...

Plays each trace's client (c2s) frames to a server under test and checks the server (s2c)
frames it answers with against the trace. A DIR stands for its *.jsonl files in name order.

SERVERS:
    --driver core    warp-proto's sans-IO server session (the code both drivers run) with
                     the demo agents, in memory: no socket
    --driver tokio   warp_tokio::demo::demo_server on a free loopback port
    --driver smol    warp_smol::demo::demo_server on a free loopback port
    --url URL        any WARP server at ws://HOST:PORT[/PATH] hosting the demo agents on
                     /unit/:id (see `{NAME} help server`); it should be fresh: traces
                     assume agents no one has used (a count of 0)
    Our drivers get a fresh server per trace. The connection offers warp0.

HOW A TRACE IS REPLAYED:
    For each client frame in order: wait (at most --timeout) until every server frame the
    trace shows before it has come, then send it; at the end wait for the rest and watch
    --quiet for extra frames. Frames are compared as decoded envelopes (tag, node, lane,
    prio, rate, body value), never as bytes; order only per link (node, lane) and for the
    connection (auth/authed/deauth/deauthed, closes); frames may come earlier than the
    trace shows them. A close answering the replayer's close may carry any code. A client
    close 1006 (the recorder's 'ended without a close frame') drops the connection. Once
    the server closes, the remaining client frames are not sent.

THE TRACE'S ALLOWANCES (header member `order`, `;`-separated; unknown items are an error):
    per-link                     the default
    map sync entries unordered   the events before a @synced may come in any order
    events may repeat            an @event equal to the last one of its link may repeat

TRACES MARKED profile_differs (the reference server behaves as PROFILE.md does not):
    --expect profile (default)   check PROFILE.md's behaviour instead, from the rules in
                                 conformance::trace::PROFILE_RULES (bad frames keep the
                                 connection, positional headers are read, auth is
                                 answered @authed and deauth @deauthed then close 1000);
                                 a marked trace without a rule is SKIPPED with the reason
    --expect recorded            check the recording as it is (for the reference server
                                 the trace was recorded from, e.g. SwimOS)

OPTIONS:
    --timeout SECS   wait for a due server frame (default 5)
    --quiet MS       watch for extra frames at the end (default 300)
    --pace MS        before each client frame after the first, keep reading this long once
                     its due frames came (default 0). SwimOS needs it (100 will do): it
                     does not apply a connection's commands before that connection's later
                     sync of another lane, and the recordings had gaps between frames
    --json           one JSON object per trace instead of the progress lines and table

OUTPUT: one line per trace (`TRACE: PASS|FAIL|SKIP`, with the first difference or the
reason), a table, then `N passed, M failed` (`, K skipped` when not zero).

EXIT STATUS: 0 if no trace failed, 1 if one did, 2 on a usage error (bad option, no
TRACE, a trace that cannot be read or has an unknown `order` item, an unreachable URL).
"
        )),
        "record" => Some(format!(
            "\
{NAME} record --upstream URL --listen ADDR [--connections N] [--wait SECS]
                  [--name NAME] [--server TEXT] [--client TEXT] [--notes TEXT]
                  [--order TEXT] [--profile-differs TEXT] OUT.jsonl

A recording proxy. It listens on ADDR (port 0: a free port; the first output line is
`listening HOST:PORT`), and for each client that connects it opens a connection to the
upstream server (ws://HOST:PORT[/PATH], offering warp0), forwards every text, binary and
close frame both ways unchanged and logs it. Each connection is written as one trace:
the first to OUT.jsonl, the next ones to OUT-2.jsonl, OUT-3.jsonl...

The trace format is that of conformance/traces (see `{NAME} help replay` and the README):
a header line, then {{\"t_ms\", \"dir\": \"c2s\"|\"s2c\", \"text\"|\"bin\"|\"close\"}} per frame;
t_ms counts from the start of the recorder. A side that ends without a close frame is
logged as close 1006. Pings are answered on each side, not forwarded, not logged.

OPTIONS:
    --upstream URL         the server to forward to (required)
    --listen ADDR          where clients connect (required), e.g. 127.0.0.1:0
    --connections N        how many connections to record (default 1)
    --wait SECS            give up when no client came for this long (default 60)
    --name NAME            the header's `trace` (default: OUT's file name)
    --server TEXT          the header's `server` (default: upstream URL)
    --client TEXT          the header's `client` (default: unknown)
    --notes TEXT           the header's `notes`
    --order TEXT           the header's `order` (default per-link; checked as in replay)
    --profile-differs TEXT the header's `profile_differs` (omitted by default)

OUTPUT: `listening HOST:PORT`, one line per connection (`recorded FILE: N frames` or
`FILE: FAIL` with why), then `N passed, M failed` (a connection that could not be proxied
to its end fails; its frames up to then are still written).

EXIT STATUS: 0 if every connection was recorded, 1 if one failed or fewer came than
--connections, 2 on a usage error (bad option, URL or --order, ADDR that cannot be bound).
"
        )),
        _ => None,
    }
}

/// Runs `args` (`args[0]` is `replay` or `record`); returns the exit status.
pub fn run(args: &[String]) -> u8 {
    let (mode, rest) = match args.split_first() {
        Some((mode, rest)) => (mode.as_str(), rest),
        None => return usage("no mode"),
    };
    if rest.iter().any(|a| a == "-h" || a == "--help") {
        print!("{}", help(mode).unwrap_or_default());
        return EXIT_OK;
    }
    let result = match mode {
        "replay" => parse_replay(rest).map(|a| run_replay(&a)),
        "record" => parse_record(rest).map(|a| run_record(&a)),
        other => Err(format!("unknown mode `{other}`")),
    };
    result.unwrap_or_else(|e| usage(&e))
}

fn usage(message: &str) -> u8 {
    eprintln!("{NAME}: {message}\nRun `{NAME} help` for usage.");
    EXIT_USAGE
}

/// The arguments of `replay`.
#[derive(Debug, PartialEq)]
struct ReplayArgs {
    target: Target,
    expect: Expect,
    limits: Limits,
    json: bool,
    traces: Vec<PathBuf>,
}

/// The arguments of `record`.
#[derive(Debug, PartialEq)]
struct RecordArgs {
    config: RecordConfig,
    listen: String,
    out: PathBuf,
}

/// `--name=value` or `--name value` at `args[*i]`; advances `i` past the value.
fn value(args: &[String], i: &mut usize, name: &str) -> Result<Option<String>, String> {
    let Some(arg) = args.get(*i) else {
        return Ok(None);
    };
    if let Some(v) = arg.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
        return Ok(Some(v.to_string()));
    }
    if arg != name {
        return Ok(None);
    }
    *i += 1;
    args.get(*i)
        .cloned()
        .map(Some)
        .ok_or_else(|| format!("`{name}` needs a value"))
}

fn seconds(v: &str, name: &str) -> Result<Duration, String> {
    match v.parse::<f64>() {
        Ok(s) if s > 0.0 && s <= 3600.0 => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!("`{name}`: `{v}` is not within (0, 3600] seconds")),
    }
}

fn parse_replay(args: &[String]) -> Result<ReplayArgs, String> {
    let mut driver = None;
    let mut url = None;
    let mut out = ReplayArgs {
        target: Target::Core,
        expect: Expect::Profile,
        limits: Limits::default(),
        json: false,
        traces: Vec::new(),
    };
    let mut options_done = false;
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if options_done || !a.starts_with('-') {
            out.traces.push(PathBuf::from(a));
        } else if a == "--" {
            options_done = true;
        } else if a == "--json" {
            out.json = true;
        } else if let Some(v) = value(args, &mut i, "--driver")? {
            driver = Some(Target::driver(&v).ok_or_else(|| {
                format!("unknown driver `{v}` (core, tokio or smol; --url for others)")
            })?);
        } else if let Some(v) = value(args, &mut i, "--url")? {
            url = Some(WsUrl::parse(&v)?);
        } else if let Some(v) = value(args, &mut i, "--expect")? {
            out.expect = match v.as_str() {
                "profile" => Expect::Profile,
                "recorded" => Expect::Recorded,
                _ => return Err(format!("`--expect`: `{v}` is not profile or recorded")),
            };
        } else if let Some(v) = value(args, &mut i, "--timeout")? {
            out.limits.timeout = seconds(&v, "--timeout")?;
        } else if let Some(v) = value(args, &mut i, "--quiet")? {
            let ms: u64 = v
                .parse()
                .map_err(|_| format!("`--quiet`: `{v}` is not a number of milliseconds"))?;
            out.limits.quiet = Duration::from_millis(ms);
        } else if let Some(v) = value(args, &mut i, "--pace")? {
            let ms: u64 = v
                .parse()
                .map_err(|_| format!("`--pace`: `{v}` is not a number of milliseconds"))?;
            out.limits.pace = Duration::from_millis(ms);
        } else {
            return Err(format!("unknown option `{a}` for replay"));
        }
        i += 1;
    }
    out.target = match (driver, url) {
        (Some(d), None) => d,
        (None, Some(u)) => Target::Url(u),
        (Some(_), Some(_)) => return Err("give --driver or --url, not both".into()),
        (None, None) => return Err("replay needs --driver core|tokio|smol or --url URL".into()),
    };
    if out.traces.is_empty() {
        return Err("replay needs at least one TRACE".into());
    }
    Ok(out)
}

fn parse_record(args: &[String]) -> Result<RecordArgs, String> {
    let mut upstream = None;
    let mut listen = None;
    let mut out = None;
    let mut connections = 1;
    let mut wait = None;
    let mut fields: Vec<(&str, String)> = Vec::new();
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if !a.starts_with('-') {
            if out.is_some() {
                return Err(format!("unexpected argument `{a}` (one OUT file only)"));
            }
            out = Some(PathBuf::from(a));
        } else if let Some(v) = value(args, &mut i, "--upstream")? {
            upstream = Some(WsUrl::parse(&v)?);
        } else if let Some(v) = value(args, &mut i, "--listen")? {
            listen = Some(v);
        } else if let Some(v) = value(args, &mut i, "--connections")? {
            connections = match v.parse::<usize>() {
                Ok(n) if n > 0 => n,
                _ => return Err(format!("`--connections`: `{v}` is not a positive number")),
            };
        } else if let Some(v) = value(args, &mut i, "--wait")? {
            wait = Some(seconds(&v, "--wait")?);
        } else {
            let mut found = false;
            for name in [
                "--name",
                "--server",
                "--client",
                "--notes",
                "--order",
                "--profile-differs",
            ] {
                if let Some(v) = value(args, &mut i, name)? {
                    fields.push((name, v));
                    found = true;
                    break;
                }
            }
            if !found {
                return Err(format!("unknown option `{a}` for record"));
            }
        }
        i += 1;
    }
    let upstream = upstream.ok_or("record needs --upstream ws://HOST:PORT")?;
    let listen = listen.ok_or("record needs --listen ADDR")?;
    let out = out.ok_or("record needs an OUT file")?;
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "trace".into());
    let mut config = RecordConfig::new(upstream, &stem);
    config.connections = connections;
    if let Some(w) = wait {
        config.wait = w;
    }
    for (name, v) in fields {
        let h = &mut config.header;
        match name {
            "--name" => h.name = v,
            "--server" => h.server = v,
            "--client" => h.client = v,
            "--notes" => h.notes = v,
            "--order" => h.order = v,
            _ => h.profile_differs = Some(v),
        }
    }
    // The order must be one a replay understands.
    let probe = Trace::parse(
        "header",
        &format!(
            "{{\"order\": {}}}",
            crate::json::json_string(&config.header.order)
        ),
    )
    .map_err(|e| e.to_string())?;
    Allowances::of(&probe).map_err(|e| e.to_string())?;
    Ok(RecordArgs {
        config,
        listen,
        out,
    })
}

/// Prints `line`; false if standard output is gone.
fn say(line: &str) -> bool {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "{line}").is_ok() && out.flush().is_ok()
}

/// The trace files `paths` name (a directory stands for its `*.jsonl` files, sorted).
pub fn trace_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut in_dir: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| format!("cannot read {}: {e}", p.display()))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "jsonl"))
                .collect();
            in_dir.sort();
            if in_dir.is_empty() {
                return Err(format!("{} holds no *.jsonl trace", p.display()));
            }
            files.extend(in_dir);
        } else {
            files.push(p.clone());
        }
    }
    Ok(files)
}

/// Reads the traces `paths` name and checks their allowances.
pub fn load_traces(paths: &[PathBuf]) -> Result<Vec<Trace>, String> {
    let mut traces = Vec::new();
    for file in trace_files(paths)? {
        let trace = Trace::read(Path::new(&file)).map_err(|e| e.to_string())?;
        Allowances::of(&trace).map_err(|e| format!("{}: {e}", file.display()))?;
        traces.push(trace);
    }
    Ok(traces)
}

fn run_replay(args: &ReplayArgs) -> u8 {
    let traces = match load_traces(&args.traces) {
        Ok(t) => t,
        Err(e) => return usage(&e),
    };
    if let Target::Url(url) = &args.target {
        let reachable = url
            .resolve()
            .and_then(|addr| std::net::TcpStream::connect_timeout(&addr, args.limits.timeout));
        if let Err(e) = reachable {
            eprintln!("{NAME}: cannot reach {}: {e}", url.url);
            return EXIT_USAGE;
        }
    }
    let results = replay_all(&args.target, &traces, args.expect, args.limits, |r| {
        if args.json {
            say(&r.to_json());
        } else if r.verdict == crate::suite::report::Verdict::Pass {
            say(&format!("{}: {}", r.name, r.verdict.label()));
        } else {
            say(&format!("{}: {}: {}", r.name, r.verdict.label(), r.detail));
        }
    });
    finish(&results, args.json)
}

fn finish(results: &[CaseResult], json: bool) -> u8 {
    let summary = CaseSummary::of(results);
    let mut ok = true;
    if !json {
        ok &= say("");
        ok &= say(table(results).trim_end());
    }
    ok &= say(&summary.to_string());
    if !ok || summary.failed > 0 {
        EXIT_FAILED
    } else {
        EXIT_OK
    }
}

fn run_record(args: &RecordArgs) -> u8 {
    let listener = match TcpListener::bind(args.listen.as_str()) {
        Ok(l) => l,
        Err(e) => return usage(&format!("cannot listen on {}: {e}", args.listen)),
    };
    match listener.local_addr() {
        Ok(addr) => say(&format!("listening {addr}")),
        Err(e) => return usage(&e.to_string()),
    };
    let (traces, missing) = match record(listener, &args.config) {
        Ok(t) => (t, 0),
        Err(RecordError::NoConnection { recorded }) => {
            let missing = args.config.connections.saturating_sub(recorded.len());
            (recorded, missing)
        }
        Err(e) => {
            eprintln!("{NAME}: {e}");
            return EXIT_FAILED;
        }
    };
    let (mut passed, mut failed) = (0usize, missing);
    for (n, trace) in traces.iter().enumerate() {
        let path = numbered_path(&args.out, n);
        let written = trace.write(&path);
        match (&trace.error, written) {
            (_, Err(e)) => {
                failed += 1;
                say(&format!("{}: FAIL: cannot write: {e}", path.display()));
            }
            (Some(why), Ok(())) => {
                failed += 1;
                say(&format!(
                    "{}: FAIL: {why} ({} frames written)",
                    path.display(),
                    trace.frames.len()
                ));
            }
            (None, Ok(())) => {
                passed += 1;
                say(&format!(
                    "recorded {}: {} frames",
                    path.display(),
                    trace.frames.len()
                ));
            }
        }
    }
    if missing > 0 {
        say(&format!(
            "{missing} connection(s) did not come within {:?}",
            args.config.wait
        ));
    }
    say(&format!("{passed} passed, {failed} failed"));
    if failed > 0 {
        EXIT_FAILED
    } else {
        EXIT_OK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn replay_arguments() {
        let a = parse_replay(&args(&[
            "--driver",
            "smol",
            "a.jsonl",
            "--expect=recorded",
            "--timeout",
            "2",
            "--quiet=50",
            "--pace",
            "20",
            "--",
            "-b.jsonl",
        ]))
        .unwrap();
        assert_eq!(a.target, Target::Smol);
        assert_eq!(a.expect, Expect::Recorded);
        assert_eq!(a.limits.timeout, Duration::from_secs(2));
        assert_eq!(a.limits.quiet, Duration::from_millis(50));
        assert_eq!(a.limits.pace, Duration::from_millis(20));
        assert_eq!(
            a.traces,
            [PathBuf::from("a.jsonl"), PathBuf::from("-b.jsonl")]
        );
        let u = parse_replay(&args(&["--url", "ws://127.0.0.1:9/", "t"])).unwrap();
        assert!(matches!(u.target, Target::Url(_)));
        for bad in [
            &["t"][..],
            &["--driver", "node", "t"],
            &["--driver", "core"],
            &["--driver", "core", "--url", "ws://h:1", "t"],
            &["--url", "http://h:1", "t"],
            &["--driver", "core", "--expect", "both", "t"],
            &["--driver", "core", "--fast", "t"],
            &["--driver"],
        ] {
            assert!(parse_replay(&args(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn record_arguments() {
        let a = parse_record(&args(&[
            "--upstream",
            "ws://127.0.0.1:9001",
            "--listen=127.0.0.1:0",
            "--notes",
            "two links",
            "--order",
            "per-link; map sync entries unordered",
            "--connections",
            "2",
            "dir/session.jsonl",
        ]))
        .unwrap();
        assert_eq!(a.listen, "127.0.0.1:0");
        assert_eq!(a.config.connections, 2);
        assert_eq!(a.config.header.name, "session");
        assert_eq!(a.config.header.notes, "two links");
        assert_eq!(a.out, PathBuf::from("dir/session.jsonl"));
        for bad in [
            &["--listen", "x", "out"][..],
            &["--upstream", "ws://h:1", "out"],
            &["--upstream", "ws://h:1", "--listen", "x"],
            &["--upstream", "ws://h:1", "--listen", "x", "a", "b"],
            &[
                "--upstream",
                "ws://h:1",
                "--listen",
                "x",
                "--order",
                "sorted",
                "a",
            ],
            &[
                "--upstream",
                "ws://h:1",
                "--listen",
                "x",
                "--connections",
                "0",
                "a",
            ],
        ] {
            assert!(parse_record(&args(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn help_covers_both_modes() {
        for mode in ["replay", "record"] {
            let text = help(mode).unwrap();
            assert!(text.contains(&format!("{NAME} {mode}")), "{mode}");
            assert!(GENERAL_HELP.contains(mode));
        }
        assert!(help("vectors").is_none());
    }
}
