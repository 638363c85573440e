//! `warp-conformance`: runs the WARP conformance checks from the command line.
//!
//! Each mode is a variant of [`Command`], parsed by [`parse_args`] and run by [`run`]; a new mode
//! adds a variant, a help text in [`mode_help`] and a `run_*` function.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use conformance::suite::client::{self, ClientConfig};
use conformance::suite::report::{table, CaseResult, CaseSummary};
use conformance::suite::server::{self, ServerConfig, CASES};
use conformance::suite::trace::{Dir, Payload, Trace};
use conformance::suite::ws::WsUrl;
use conformance::trace::cli::trace_files;
use conformance::vectors::{check_bytes, LineResult, Outcome, Summary};

const NAME: &str = "warp-conformance";

/// Exit status when every check passed (skipped checks aside).
const EXIT_OK: u8 = 0;
/// Exit status when at least one check failed.
const EXIT_FAILED: u8 = 1;
/// Exit status for a usage error: bad arguments, or a file that cannot be read.
const EXIT_USAGE: u8 = 2;

/// A parsed command line.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    /// Print the general help, or a mode's help.
    Help(Option<String>),
    /// Check vector files.
    Vectors(Vec<PathBuf>),
    /// Run the server suite against a URL.
    Server(ServerArgs),
    /// Act as a scripted server for a client under test.
    Client(ClientArgs),
}

/// The arguments of the `server` mode.
#[derive(Debug, PartialEq, Eq)]
struct ServerArgs {
    url: String,
    node_prefix: String,
    only: Vec<String>,
    json: bool,
    timeout: Duration,
    quiet: Duration,
    max_frame: usize,
    bad_frames: usize,
}

/// The arguments of the `client` mode.
#[derive(Debug, PartialEq, Eq)]
struct ClientArgs {
    listen: String,
    traces: Vec<PathBuf>,
    json: bool,
    timeout: Duration,
    quiet: Duration,
    wait: Duration,
}

const MODES: [&str; 4] = ["vectors", "server", "client", "help"];

fn general_help() -> String {
    format!(
        "\
{NAME}: WARP conformance runner

USAGE:
    {NAME} vectors FILE...              check codec vector files (JSON Lines)
    {NAME} server URL [OPTIONS]         run the server suite against a WARP server
    {NAME} client --listen ADDR TRACE...
                                                  play recorded traces as the server for a
                                                  client under test
    {NAME} replay --driver core|tokio|smol | --url URL TRACE...
                                                  replay recorded traces against a server
    {NAME} record --upstream URL --listen ADDR OUT.jsonl
                                                  record a connection as a trace (a proxy)
    {NAME} help [MODE]                  print this help, or the help of MODE
    {NAME} --help | -h                  print this help

MODES:
    vectors   Checks every line of each FILE against the Recon parser of warp-proto
              (and the envelope decoder, once it is wired in). Prints one line per failing
              vector, then a summary line. Run `{NAME} help vectors` for the details.
    server    Runs {n} cases (handshake, every envelope kind a client sends, sync order,
              not-found answers, duplicate links, malformed, binary and oversized frames,
              ping and close) against any WARP server at ws://HOST:PORT[/PATH] hosting the
              demo agents, and prints a table of cases, each PASS/FAIL/SKIP/INFO with the
              reason. Run `{NAME} help server` for the cases and the agents.
    client    Listens on ADDR and plays the server side of recorded traces to a client
              under test, checking every frame the client sends against the trace. Run
              `{NAME} help client` for the contract with the client's driver.
{trace_modes}    help      Prints help.

Every mode ends its output with a line `N passed, M failed` (`, K skipped` and
`, I informative` are added when not zero).

EXIT STATUS:
    0  every check passed (skipped checks aside)
    1  at least one check failed
    2  usage error: unknown mode or option, missing argument, a FILE that cannot be read,
       or (server) a URL that cannot be reached
",
        n = CASES.len(),
        trace_modes = conformance::trace::cli::GENERAL_HELP,
    )
}

fn server_help() -> String {
    let mut cases = String::new();
    for c in CASES {
        let tag = match c.basis {
            conformance::suite::report::Basis::Required => "",
            conformance::suite::report::Basis::Informative => " [informative]",
        };
        cases.push_str(&format!("    {}{}\n", c.name, tag));
        for line in wrap(c.checks, 80) {
            cases.push_str(&format!("        {line}\n"));
        }
    }
    format!(
        "\
{NAME} server URL [--node-prefix PATH] [--only CASE[,CASE...]]... [--json]
                  [--timeout SECS] [--quiet MS] [--max-frame BYTES] [--bad-frames N]

Runs the WARP server suite against URL (ws://HOST:PORT[/PATH]; no TLS). The server must
host the demo agents at PATH/:id (PATH is --node-prefix, default /unit):
    info      value lane, text, initially \"\"
    count     value lane, integer, initially 0
    history   map lane, integer -> integer
    set_info  command lane: sets info
    add       command lane: adds its integer to count, then records the new total as key
              with the added amount as value in history
    remove    command lane: removes a key from history
(the agents of peers/swimos-server and of `warp serve` / warp_tokio::demo).

Each case opens its own WebSocket connection (offering the warp0 subprotocol unless the case
says otherwise) and uses a node of its own (PATH/wc<run token>n<counter>), so cases never
see each other's state. Frames are compared as decoded envelopes (tag, node, lane, body
value), never as bytes; order is checked per link; a case waiting for a command's effect
watches a synced link (servers need not keep command order across lanes).

A required case fails when the server deviates from PROFILE.md (the project's normative
choices; WARP.md and RFC 6455 where it defers to them). An informative case records what the
server does where the references disagree and PROFILE.md does not decide; it is never a
failure. Where PROFILE.md allows several reactions (a bad frame closing at once or being
dropped), the case accepts each and the detail says which one the server chose.

CASES:
{cases}
OPTIONS:
    --node-prefix PATH   where the demo agents live (default /unit)
    --only CASE          run only these cases (repeat, or separate with commas)
    --json               one JSON object per case instead of the progress lines and table:
                         {{\"case\",\"basis\":\"required\"|\"informative\",
                          \"verdict\":\"pass\"|\"fail\"|\"skip\"|\"info\",\"detail\"}}
    --timeout SECS       wait for a frame that must come (default 5)
    --quiet MS           watch for a frame that must not come (default 300)
    --max-frame BYTES    size of the oversized-frame case's frame (default 20971520 = 20 MiB;
                         0 skips the case)
    --bad-frames N       bad frames bad-frame-limit sends at most (default 100; 0 skips it)

OUTPUT (standard output):
    one line per case as it ends: `CASE: PASS|FAIL|SKIP|INFO`
    then a Markdown table: | case | basis | result | detail |
    then, last:
        N passed, M failed       (`, K skipped`, `, I informative` when not zero)
    With --json, the JSON objects replace the progress lines and the table; the last line
    is the same summary.

EXIT STATUS: 0 if no case failed, 1 if one did, 2 on a usage error (bad option or URL, an
unknown CASE) or when the URL cannot be reached at all (nothing is run then).
"
    )
}

fn client_help() -> String {
    format!(
        "\
{NAME} client --listen ADDR [--json] [--timeout SECS] [--quiet MS] [--wait SECS]
                  TRACE|DIR...

Acts as a scripted WARP server for a client under test, playing the server side of recorded
traces (conformance/traces/*.jsonl; the format is in shared/spec/CONFORMANCE.md). A DIR
stands for its *.jsonl files in name order.

CONTRACT WITH THE CLIENT'S DRIVER:
    1. The runner binds ADDR (port 0 picks a free port) and prints `listening HOST:PORT` as
       its first line, then one line per trace: `expect TRACE: N client frames, first FRAME`.
    2. For each trace, the driver makes the client under test connect to
       ws://HOST:PORT/ (any path; offering warp0 or not) and perform what the trace's
       c2s frames show: open the links (sync or link), send the commands, unlinks and
       closes, in that order per link. Connections may come one after another or at once.
    3. Each connection is matched to the first trace not yet played whose first c2s frame
       equals the connection's first frame. The runner then plays the trace in rounds: it
       waits for the round's c2s frames, checks them, and answers with the round's s2c
       frames exactly as recorded (a recorded close is sent as a close with that code).
    4. The driver itself checks what the client surfaces to its application (the runner
       sees only the wire); the s2c frames of the trace say what that must be.

WHAT IS CHECKED:
    - c2s text frames as decoded envelopes (tag, node, lane, body value; prio/rate where
      the trace has them); recorded frames that are not envelopes as text; binary frames
      as bytes.
    - order per link and for auth/deauth; frames of different links within a round may
      come in any order.
    - a recorded c2s close 1006 (the recorder's 'ended without a close frame') accepts a
      close with any code, the end of the connection, or the client staying silent for
      --timeout; a close answering the runner's close may carry any code; a close the client
      starts must carry the recorded code.
    - nothing more from the client where the trace has nothing: a client that sends
      anything after the trace's last c2s frame fails (for example one that retries after
      @unlinked ...@nodeNotFound); after the last frame the runner watches for --quiet.

OPTIONS:
    --listen ADDR    the address to listen on (required), e.g. 127.0.0.1:0
    --json           one JSON object per trace instead of the progress lines and table
    --timeout SECS   wait for a frame the client must send (default 5)
    --quiet MS       watch for frames the client must not send (default 300)
    --wait SECS      give up when no connection came for this long while traces remain
                     (default 60); unplayed traces fail

OUTPUT (standard output): `listening HOST:PORT`, the `expect` lines, one line per trace
(`TRACE: PASS|FAIL`) or per connection matching no trace (`connection K: FAIL`), the table,
then `N passed, M failed`.

EXIT STATUS: 0 if every trace was played as recorded, 1 if not, 2 on a usage error (bad
option, no TRACE, a trace that cannot be read or does not start with a c2s frame, ADDR that
cannot be bound).
"
    )
}

/// `text` as lines of at most `width` characters (words kept whole).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn mode_help(mode: &str) -> Option<String> {
    match mode {
        "vectors" => Some(format!(
            "\
{NAME} vectors FILE...

Checks codec vector files (a FILE of `-` is standard input). Each non-blank line of a
FILE is one JSON object:

    {{\"recon\": TEXT, \"value\": VALUE}}       TEXT must parse to VALUE
    {{\"recon\": TEXT, \"why\": MESSAGE}}       TEXT must be rejected with an error whose byte
                                          offset lies within TEXT (MESSAGE is information)
    {{\"frame\": TEXT, \"envelope\": ENVELOPE}} TEXT must decode to ENVELOPE
    {{\"frame\": TEXT, \"why\": MESSAGE}}       TEXT must be rejected as an envelope
    {{\"kind\": KIND, \"input\": TEXT, \"java\": R, \"js\": R, \"rust\": R}}
        an entry of disagreements.jsonl: for KIND recon-parse, TEXT must have the outcome
        PROFILE.md prescribes (expressions rejected; where Java and JS agree, their result;
        where they differ, the profile's rule, or skipped if it has none); for recon-print,
        TEXT must parse; warp-parse entries are skipped until envelope decoding is wired in

VALUE is the vector format ({{\"int\": \"1\"}}, {{\"float\": \"1.5\"}}, {{\"text\": \"a\"}},
{{\"bool\": true}}, {{\"data\": \"AQ==\"}}, {{\"extant\": null}}, {{\"absent\": null}},
{{\"record\": [...]}} with items {{\"attr\": [NAME, VALUE]}}, {{\"slot\": [KEY, VALUE]}} or a VALUE).
Other members (such as \"canonical\") are ignored. A line of any other shape, or that is
not JSON, fails. A panic of the code under test is caught and counted as a failure.

Frame lines are reported as skipped while the envelope decoder is not wired into the
checker; the reasons for skips go to standard error, with their counts.

OUTPUT (standard output):
    one line per failing vector:
        FILE:LINE: FAIL: REASON: input TEXT, expected EXPECTED, got ACTUAL
    then, last:
        N passed, M failed           (or `N passed, M failed, K skipped` when K > 0)

EXIT STATUS: 0 if nothing failed, 1 if something failed, 2 on a usage error
(no FILE, an unknown option, or a FILE that cannot be read; nothing is checked then).
"
        )),
        "server" => Some(server_help()),
        "client" => Some(client_help()),
        "help" => Some(format!(
            "{NAME} help [MODE]\n\nPrints the general help, or the help of MODE ({}).\n",
            MODES.join(", ")
        )),
        "replay" | "record" => conformance::trace::cli::help(mode),
        _ => None,
    }
}

/// A usage error: the message to print before the hint to run `help`.
#[derive(Debug, PartialEq, Eq)]
struct UsageError(String);

fn parse_args(args: &[String]) -> Result<Command, UsageError> {
    let Some((mode, rest)) = args.split_first() else {
        return Err(UsageError("no mode given".into()));
    };
    match mode.as_str() {
        "-h" | "--help" | "help" => match rest {
            [] => Ok(Command::Help(None)),
            [m] if mode == "help" => {
                if mode_help(m).is_some() {
                    Ok(Command::Help(Some(m.clone())))
                } else {
                    Err(UsageError(format!("unknown mode `{}`", m)))
                }
            }
            _ => Err(UsageError(format!("unexpected argument after `{}`", mode))),
        },
        "vectors" => {
            let mut files = Vec::new();
            let mut options_done = false;
            for arg in rest {
                if !options_done && (arg == "-h" || arg == "--help") {
                    return Ok(Command::Help(Some("vectors".into())));
                } else if !options_done && arg == "--" {
                    options_done = true;
                } else if !options_done && arg.starts_with('-') && arg != "-" {
                    return Err(UsageError(format!("unknown option `{}` for vectors", arg)));
                } else {
                    files.push(PathBuf::from(arg));
                }
            }
            if files.is_empty() {
                return Err(UsageError("vectors needs at least one FILE".into()));
            }
            Ok(Command::Vectors(files))
        }
        "server" => parse_server(rest),
        "client" => parse_client(rest),
        other if other.starts_with('-') => Err(UsageError(format!("unknown option `{}`", other))),
        other => Err(UsageError(format!("unknown mode `{}`", other))),
    }
}

/// Splits `--name=value` / `--name value` at `args[*i]`; advances `i` past the value.
fn option_value(args: &[String], i: &mut usize, name: &str) -> Result<String, UsageError> {
    let arg = args.get(*i).map(String::as_str).unwrap_or_default();
    if let Some(v) = arg.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
        return Ok(v.to_string());
    }
    *i += 1;
    args.get(*i)
        .cloned()
        .ok_or_else(|| UsageError(format!("`{name}` needs a value")))
}

/// Whether `arg` is the option `name`, alone or as `name=value`.
fn is_option(arg: &str, name: &str) -> bool {
    arg == name || arg.strip_prefix(name).is_some_and(|r| r.starts_with('='))
}

fn number<T: std::str::FromStr>(value: &str, name: &str) -> Result<T, UsageError> {
    value
        .parse()
        .map_err(|_| UsageError(format!("`{name}`: `{value}` is not a valid number")))
}

fn parse_server(args: &[String]) -> Result<Command, UsageError> {
    let mut url = None;
    let mut out = ServerArgs {
        url: String::new(),
        node_prefix: "/unit".into(),
        only: Vec::new(),
        json: false,
        timeout: server::DEFAULT_TIMEOUT,
        quiet: server::DEFAULT_QUIET,
        max_frame: server::DEFAULT_MAX_FRAME,
        bad_frames: server::DEFAULT_BAD_FRAMES,
    };
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        let a = arg.as_str();
        if a == "-h" || a == "--help" {
            return Ok(Command::Help(Some("server".into())));
        } else if a == "--json" {
            out.json = true;
        } else if is_option(a, "--node-prefix") {
            let v = option_value(args, &mut i, "--node-prefix")?;
            if !v.starts_with('/') {
                return Err(UsageError(format!(
                    "`--node-prefix`: `{v}` must start with /"
                )));
            }
            out.node_prefix = v;
        } else if is_option(a, "--only") {
            for name in option_value(args, &mut i, "--only")?.split(',') {
                let name = name.trim();
                if server::case_info(name).is_none() {
                    let known: Vec<&str> = CASES.iter().map(|c| c.name).collect();
                    return Err(UsageError(format!(
                        "unknown case `{name}`; the cases are {}",
                        known.join(", ")
                    )));
                }
                out.only.push(name.to_string());
            }
        } else if is_option(a, "--timeout") {
            let v = option_value(args, &mut i, "--timeout")?;
            out.timeout = seconds(&v, "--timeout")?;
        } else if is_option(a, "--quiet") {
            let v = option_value(args, &mut i, "--quiet")?;
            out.quiet = Duration::from_millis(number(&v, "--quiet")?);
        } else if is_option(a, "--max-frame") {
            let v = option_value(args, &mut i, "--max-frame")?;
            out.max_frame = number(&v, "--max-frame")?;
        } else if is_option(a, "--bad-frames") {
            let v = option_value(args, &mut i, "--bad-frames")?;
            out.bad_frames = number(&v, "--bad-frames")?;
        } else if a.starts_with('-') {
            return Err(UsageError(format!("unknown option `{a}` for server")));
        } else if url.is_none() {
            url = Some(a.to_string());
        } else {
            return Err(UsageError(format!(
                "unexpected argument `{a}` (one URL only)"
            )));
        }
        i += 1;
    }
    out.url = url.ok_or_else(|| UsageError("server needs a URL (ws://HOST:PORT)".into()))?;
    WsUrl::parse(&out.url).map_err(UsageError)?;
    Ok(Command::Server(out))
}

fn seconds(value: &str, name: &str) -> Result<Duration, UsageError> {
    let secs: f64 = number(value, name)?;
    if !(secs > 0.0 && secs <= 3600.0) {
        return Err(UsageError(format!(
            "`{name}`: {value} is not within (0, 3600] seconds"
        )));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn parse_client(args: &[String]) -> Result<Command, UsageError> {
    let defaults = ClientConfig::default();
    let mut out = ClientArgs {
        listen: String::new(),
        traces: Vec::new(),
        json: false,
        timeout: defaults.timeout,
        quiet: defaults.quiet,
        wait: defaults.wait,
    };
    let mut listen = None;
    let mut options_done = false;
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        let a = arg.as_str();
        if options_done || !a.starts_with('-') {
            out.traces.push(PathBuf::from(a));
        } else if a == "--" {
            options_done = true;
        } else if a == "-h" || a == "--help" {
            return Ok(Command::Help(Some("client".into())));
        } else if a == "--json" {
            out.json = true;
        } else if is_option(a, "--listen") {
            listen = Some(option_value(args, &mut i, "--listen")?);
        } else if is_option(a, "--timeout") {
            let v = option_value(args, &mut i, "--timeout")?;
            out.timeout = seconds(&v, "--timeout")?;
        } else if is_option(a, "--quiet") {
            let v = option_value(args, &mut i, "--quiet")?;
            out.quiet = Duration::from_millis(number(&v, "--quiet")?);
        } else if is_option(a, "--wait") {
            let v = option_value(args, &mut i, "--wait")?;
            out.wait = seconds(&v, "--wait")?;
        } else {
            return Err(UsageError(format!("unknown option `{a}` for client")));
        }
        i += 1;
    }
    out.listen = listen.ok_or_else(|| UsageError("client needs --listen ADDR".into()))?;
    if out.traces.is_empty() {
        return Err(UsageError("client needs at least one TRACE".into()));
    }
    Ok(Command::Client(out))
}

/// Prints `line` to standard output; false if standard output is gone.
fn say(line: &str) -> bool {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "{line}").is_ok() && out.flush().is_ok()
}

/// Prints the table (unless JSON) and the summary; the exit status of the results.
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

fn progress(r: &CaseResult, json: bool) {
    if json {
        say(&r.to_json());
    } else {
        say(&format!("{}: {}", r.name, r.verdict.label()));
    }
}

fn run_server(args: &ServerArgs) -> u8 {
    let url = match WsUrl::parse(&args.url) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("{NAME}: {e}");
            return EXIT_USAGE;
        }
    };
    let reachable = url
        .resolve()
        .and_then(|addr| std::net::TcpStream::connect_timeout(&addr, args.timeout));
    if let Err(e) = reachable {
        eprintln!("{NAME}: cannot reach {}: {e}", args.url);
        return EXIT_USAGE;
    }
    let config = ServerConfig {
        url,
        node_prefix: args.node_prefix.clone(),
        timeout: args.timeout,
        quiet: args.quiet,
        max_frame: args.max_frame,
        bad_frames: args.bad_frames,
    };
    let results = server::run_cases(&config, &args.only, |r| progress(r, args.json));
    finish(&results, args.json)
}

fn load_traces(paths: &[PathBuf]) -> Result<Vec<Trace>, String> {
    let mut traces = Vec::new();
    for file in trace_files(paths)? {
        let trace = Trace::read(Path::new(&file)).map_err(|e| e.to_string())?;
        client::check_playable(&trace).map_err(|e| format!("{}: {e}", file.display()))?;
        traces.push(trace);
    }
    Ok(traces)
}

fn describe_trace(t: &Trace) -> String {
    let c2s: Vec<_> = t.frames.iter().filter(|f| f.dir == Dir::C2s).collect();
    let first = match c2s.first().map(|f| &f.payload) {
        Some(Payload::Text(text)) => text.clone(),
        Some(Payload::Binary(b)) => format!("<binary, {} bytes>", b.len()),
        Some(Payload::Close(code)) => format!("<close {code}>"),
        None => "<none>".into(),
    };
    format!(
        "expect {}: {} client frames, first {}",
        t.name,
        c2s.len(),
        first
    )
}

fn run_client(args: &ClientArgs) -> u8 {
    let traces = match load_traces(&args.traces) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{NAME}: {e}");
            return EXIT_USAGE;
        }
    };
    let listener = match TcpListener::bind(args.listen.as_str()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{NAME}: cannot listen on {}: {e}", args.listen);
            return EXIT_USAGE;
        }
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{NAME}: {e}");
            return EXIT_USAGE;
        }
    };
    say(&format!("listening {addr}"));
    for t in &traces {
        say(&describe_trace(t));
    }
    let config = ClientConfig {
        timeout: args.timeout,
        quiet: args.quiet,
        wait: args.wait,
    };
    match client::serve(listener, traces, &config, |r| progress(r, args.json)) {
        Ok(results) => finish(&results, args.json),
        Err(e) => {
            eprintln!("{NAME}: accepting connections failed: {e}");
            EXIT_FAILED
        }
    }
}

fn run_vectors(files: &[PathBuf]) -> u8 {
    // Read everything first: an unreadable file is a usage error and nothing is checked.
    let mut contents = Vec::with_capacity(files.len());
    for path in files {
        let read = if path.as_os_str() == "-" {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).map(|_| buf)
        } else {
            std::fs::read(path)
        };
        match read {
            Ok(bytes) => contents.push((path.display().to_string(), bytes)),
            Err(e) => {
                eprintln!("{NAME}: cannot read {}: {}", path.display(), e);
                return EXIT_USAGE;
            }
        }
    }

    // Panics of the code under test are caught and reported in the failure lines; keep the
    // default hook from also printing each one.
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let results: Vec<LineResult> = contents
        .iter()
        .flat_map(|(name, bytes)| check_bytes(name, bytes))
        .collect();
    std::panic::set_hook(previous_hook);

    let summary = Summary::of(&results);
    let mut skip_reasons: BTreeMap<&str, usize> = BTreeMap::new();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for r in &results {
        match &r.outcome {
            Outcome::Fail(_) => {
                if writeln!(out, "{}", r).is_err() {
                    return EXIT_FAILED;
                }
            }
            Outcome::Skipped(reason) => *skip_reasons.entry(reason.as_str()).or_default() += 1,
            Outcome::Pass => {}
        }
    }
    for (reason, count) in &skip_reasons {
        eprintln!("{NAME}: {} skipped: {}", count, reason);
    }
    if writeln!(out, "{}", summary).is_err() || out.flush().is_err() {
        return EXIT_FAILED;
    }
    if summary.failed > 0 {
        EXIT_FAILED
    } else {
        EXIT_OK
    }
}

fn run(command: Command) -> u8 {
    match command {
        Command::Help(None) => {
            print!("{}", general_help());
            EXIT_OK
        }
        Command::Help(Some(mode)) => {
            print!("{}", mode_help(&mode).unwrap_or_else(general_help));
            EXIT_OK
        }
        Command::Vectors(files) => run_vectors(&files),
        Command::Server(args) => run_server(&args),
        Command::Client(args) => run_client(&args),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = match std::env::args_os()
        .skip(1)
        .map(|a| a.into_string())
        .collect::<Result<_, _>>()
    {
        Ok(args) => args,
        Err(bad) => {
            eprintln!("{NAME}: argument {:?} is not valid UTF-8", bad);
            return ExitCode::from(EXIT_USAGE);
        }
    };
    // `replay` and `record` parse and run in conformance::trace::cli.
    if matches!(args.first().map(String::as_str), Some("replay" | "record")) {
        return ExitCode::from(conformance::trace::cli::run(&args));
    }
    match parse_args(&args) {
        Ok(command) => ExitCode::from(run(command)),
        Err(UsageError(message)) => {
            eprintln!("{NAME}: {}\nRun `{NAME} help` for usage.", message);
            ExitCode::from(EXIT_USAGE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn vectors_takes_files_and_rejects_unknown_options() {
        assert_eq!(
            parse_args(&args(&["vectors", "a.jsonl", "--", "-b"])),
            Ok(Command::Vectors(vec!["a.jsonl".into(), "-b".into()]))
        );
        assert!(parse_args(&args(&["vectors"])).is_err());
        assert!(parse_args(&args(&["vectors", "--fast", "a"])).is_err());
        assert_eq!(
            parse_args(&args(&["vectors", "--help"])),
            Ok(Command::Help(Some("vectors".into())))
        );
    }

    #[test]
    fn help_forms_and_unknown_modes() {
        assert_eq!(parse_args(&args(&["--help"])), Ok(Command::Help(None)));
        assert_eq!(parse_args(&args(&["-h"])), Ok(Command::Help(None)));
        assert_eq!(
            parse_args(&args(&["help", "vectors"])),
            Ok(Command::Help(Some("vectors".into())))
        );
        assert!(parse_args(&args(&[])).is_err());
        assert!(parse_args(&args(&["help", "nope"])).is_err());
        assert!(parse_args(&args(&["replay", "x"])).is_err());
        assert!(parse_args(&args(&["--verbose"])).is_err());
    }

    #[test]
    fn server_takes_a_url_and_options() {
        let parsed = parse_args(&args(&[
            "server",
            "ws://127.0.0.1:9001/warp",
            "--only",
            "link,auth",
            "--only=ping",
            "--json",
            "--node-prefix",
            "/agents",
            "--timeout=2.5",
            "--quiet",
            "100",
            "--max-frame",
            "0",
            "--bad-frames",
            "7",
        ]));
        let Ok(Command::Server(a)) = parsed else {
            panic!("{parsed:?}");
        };
        assert_eq!(a.url, "ws://127.0.0.1:9001/warp");
        assert_eq!(a.only, ["link", "auth", "ping"]);
        assert!(a.json);
        assert_eq!(a.node_prefix, "/agents");
        assert_eq!(a.timeout, Duration::from_millis(2500));
        assert_eq!(a.quiet, Duration::from_millis(100));
        assert_eq!((a.max_frame, a.bad_frames), (0, 7));

        let Ok(Command::Server(d)) = parse_args(&args(&["server", "ws://h:1"])) else {
            panic!("defaults");
        };
        assert_eq!(d.node_prefix, "/unit");
        assert_eq!(d.max_frame, 20 << 20);
        assert!(d.only.is_empty() && !d.json);

        for bad in [
            &["server"][..],
            &["server", "wss://h:1"],
            &["server", "ws://h:1", "ws://h:2"],
            &["server", "ws://h:1", "--only", "nope"],
            &["server", "ws://h:1", "--only"],
            &["server", "ws://h:1", "--timeout", "0"],
            &["server", "ws://h:1", "--node-prefix", "unit"],
            &["server", "ws://h:1", "--fast"],
        ] {
            assert!(parse_args(&args(bad)).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_args(&args(&["server", "--help"])),
            Ok(Command::Help(Some("server".into())))
        );
    }

    #[test]
    fn client_takes_listen_and_traces() {
        let parsed = parse_args(&args(&[
            "client",
            "--listen",
            "127.0.0.1:0",
            "a.jsonl",
            "--wait",
            "3",
            "--",
            "-b.jsonl",
        ]));
        let Ok(Command::Client(a)) = parsed else {
            panic!("{parsed:?}");
        };
        assert_eq!(a.listen, "127.0.0.1:0");
        assert_eq!(
            a.traces,
            [PathBuf::from("a.jsonl"), PathBuf::from("-b.jsonl")]
        );
        assert_eq!(a.wait, Duration::from_secs(3));
        assert!(parse_args(&args(&["client", "a.jsonl"])).is_err());
        assert!(parse_args(&args(&["client", "--listen", "x"])).is_err());
        assert!(parse_args(&args(&["client", "--listen", "x", "--fast", "a"])).is_err());
    }

    #[test]
    fn wrap_keeps_words_and_width() {
        let lines = wrap("aaa bbb ccc ddd", 7);
        assert_eq!(lines, ["aaa bbb", "ccc ddd"]);
        assert!(wrap("", 10).is_empty());
    }

    #[test]
    fn every_mode_has_help_and_is_in_the_general_help() {
        for mode in MODES {
            assert!(mode_help(mode).is_some(), "{}", mode);
            assert!(general_help().contains(mode), "{}", mode);
        }
    }
}
