//! `warp-conformance`: runs the WARP conformance checks from the command line.
//!
//! Each mode is a variant of [`Command`], parsed by [`parse_args`] and run by [`run`]; a new mode
//! adds a variant, a help text in [`mode_help`] and a `run_*` function.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

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
}

const MODES: [&str; 2] = ["vectors", "help"];

fn general_help() -> String {
    format!(
        "\
{NAME}: WARP conformance runner

USAGE:
    {NAME} vectors FILE...     check codec vector files (JSON Lines)
    {NAME} help [MODE]         print this help, or the help of MODE
    {NAME} --help | -h         print this help

MODES:
    vectors   Checks every line of each FILE against the Recon parser of warp-proto
              (and the envelope decoder, once it is wired in). Prints one line per failing
              vector, then a summary line. Run `{NAME} help vectors` for the details.
    help      Prints help.

EXIT STATUS:
    0  every check passed (skipped checks aside)
    1  at least one check failed
    2  usage error: unknown mode or option, missing argument, or a FILE that cannot be read
"
    )
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
        "help" => Some(format!(
            "{NAME} help [MODE]\n\nPrints the general help, or the help of MODE ({}).\n",
            MODES.join(", ")
        )),
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
        other if other.starts_with('-') => Err(UsageError(format!("unknown option `{}`", other))),
        other => Err(UsageError(format!("unknown mode `{}`", other))),
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
    fn every_mode_has_help_and_is_in_the_general_help() {
        for mode in MODES {
            assert!(mode_help(mode).is_some(), "{}", mode);
            assert!(general_help().contains(mode), "{}", mode);
        }
    }
}
