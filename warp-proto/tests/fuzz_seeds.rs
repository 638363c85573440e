//! Every committed seed of the fuzz corpus (`fuzz/seeds/<target>/`) runs through its target's
//! property checks: the same checks the fuzzer runs (`tests/fuzz_checks`), as an ordinary test.
//! Regenerate the seeds with `cargo run --manifest-path warp-proto/fuzz/Cargo.toml --example
//! seeds`.
#![cfg(feature = "std")]

mod fuzz_checks;

use std::path::{Path, PathBuf};

use fuzz_checks::input::Chunked;
use fuzz_checks::server_connection::{Op, ServerInput};
use fuzz_checks::{structured, TARGETS};

fn seeds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds")
}

/// The seed files of `target`, sorted, with their bytes.
fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = seeds_dir().join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (path, bytes)
        })
        .collect()
}

/// Runs the checks of `target` over its seeds; a failing seed is named in the panic.
fn run(target: &str) {
    let Some(&(_, check)) = TARGETS.iter().find(|(name, _)| *name == target) else {
        panic!("no fuzz target {target}");
    };
    let seeds = seeds(target);
    assert!(seeds.len() >= 5, "only {} seeds for {target}", seeds.len());
    for (path, bytes) in seeds {
        let result = std::panic::catch_unwind(|| check(&bytes));
        if let Err(cause) = result {
            eprintln!("seed {} failed", path.display());
            std::panic::resume_unwind(cause);
        }
    }
}

#[test]
fn recon_reader_seeds_keep_the_event_contract() {
    run("recon_reader");
}

#[test]
fn recon_value_seeds_round_trip_and_agree_with_the_reader() {
    run("recon_value");
}

#[test]
fn envelope_seeds_round_trip_and_agree_with_decode_header() {
    run("envelope");
}

#[test]
fn ws_frame_seeds_re_encode_and_prefixes_are_incomplete() {
    run("ws_frame");
}

#[test]
fn ws_handshake_seeds_accepted_requests_get_accepted_answers() {
    run("ws_handshake");
}

#[test]
fn ws_connection_seeds_keep_bounds_and_ignore_chunking() {
    run("ws_connection");
}

#[test]
fn server_connection_seeds_keep_bounds_and_answer_links_once() {
    run("server_connection");
}

#[test]
fn endpoint_seeds_answer_the_handshake_and_close_once() {
    run("endpoint");
}

#[test]
fn every_seed_directory_is_a_target() {
    for entry in std::fs::read_dir(seeds_dir()).expect("seeds directory") {
        let name = entry.expect("directory entry").file_name();
        let name = name.to_string_lossy();
        assert!(
            TARGETS.iter().any(|(target, _)| *target == name),
            "seeds/{name} is not a fuzz target"
        );
    }
}

/// Reading, writing and reading again gives the same structured input, so seeds written by
/// the generator mean what it meant.
#[test]
fn structured_inputs_read_back_as_written() {
    for target in ["ws_connection", "server_connection", "endpoint"] {
        for (path, bytes) in seeds(target) {
            if target != "server_connection" {
                let input: Chunked = structured(&bytes);
                let again: Chunked = structured(&input.to_bytes());
                assert_eq!(again, input, "{}", path.display());
            } else {
                let input: ServerInput = structured(&bytes);
                let again: ServerInput = structured(&input.to_bytes());
                assert_eq!(again, input, "{}", path.display());
            }
        }
    }
    let input = ServerInput {
        bounds: [1, 2, 3, 4, 5, 6],
        ops: vec![
            Op::Frame(b"@link(node:a,lane:b)".to_vec()),
            Op::Accept(0),
            Op::Reject(1, true),
            Op::Drain(0),
            Op::Close,
        ],
    };
    assert_eq!(structured::<ServerInput>(&input.to_bytes()), input);
    let input = Chunked {
        flags: 0b10_1010,
        max_message: 7,
        max_frame: 9,
        chunks: vec![(3, 10), (0, 0), (70, 2000)],
        stream: vec![0x81, 0x80, 1, 2, 3, 4],
    };
    assert_eq!(structured::<Chunked>(&input.to_bytes()), input);
}
