//! Writes the seed corpus `warp-proto/fuzz/seeds/<target>/` from the conformance vectors and
//! traces, replacing what is there:
//!
//! ```text
//! cargo run --manifest-path warp-proto/fuzz/Cargo.toml --example seeds
//! ```
//!
//! The set is kept small (a few hundred tiny files): a spread of the vectors, every trace. The
//! fuzz runs start from it, and `cargo test -p warp-proto --test fuzz_seeds` runs every seed
//! through the target's checks. Files named `regress-*` are inputs the fuzzer once failed on,
//! copied in by hand from `fuzz/artifacts/`; they are kept.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use warp_proto::ws::{encode_frame, ClientHandshake, Opcode, ServerHandshake, Status};
use warp_proto_fuzz::checks::input::Chunked;
use warp_proto_fuzz::checks::server_connection::{Op, ServerInput};
use warp_proto_fuzz::checks::ws_handshake::CLIENT_NONCE;
use warp_proto_fuzz::checks::TARGETS;

/// Seeds by target, then by file name.
type Corpus = BTreeMap<&'static str, BTreeMap<String, Vec<u8>>>;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The JSON lines of a conformance file. Lines serde_json cannot read (strings holding lone
/// UTF-16 surrogates, which Rust strings cannot hold) are skipped.
fn lines(path: &str) -> Vec<Json> {
    let path = root().join("conformance").join(path);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// Every `step`-th item of `items` with the string field `field`, named `prefix-NNN`.
fn spread<'j>(
    items: &'j [Json],
    field: &str,
    step: usize,
    prefix: &str,
    filter: impl Fn(&Json) -> bool,
) -> Vec<(String, &'j str)> {
    items
        .iter()
        .enumerate()
        .filter(|(_, item)| filter(item))
        .filter_map(|(i, item)| Some((i, item.get(field)?.as_str()?)))
        .enumerate()
        .filter(|(n, _)| n % step == 0)
        .map(|(_, (i, text))| (format!("{prefix}-{i:03}"), text))
        .collect()
}

/// One trace: its name and its client-to-server text frames.
struct Trace {
    name: String,
    frames: Vec<String>,
}

fn traces() -> Vec<Trace> {
    let dir = root().join("conformance/traces");
    let mut paths: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
            let relative = format!("traces/{}.jsonl", name.as_deref().unwrap_or(""));
            let frames = lines(&relative)
                .iter()
                .filter(|line| line.get("dir").and_then(Json::as_str) == Some("c2s"))
                .filter_map(|line| Some(line.get("text")?.as_str()?.to_owned()))
                .collect();
            Trace {
                name: name.unwrap_or_default(),
                frames,
            }
        })
        .collect()
}

/// A frame as a client sends it (masked) or a server (unmasked).
fn frame(opcode: Opcode, fin: bool, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![0u8; payload.len() + 14];
    let n = encode_frame(&mut out, fin, opcode, mask, payload).expect("seed frame encodes");
    out.truncate(n);
    out
}

const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn recon(corpus: &mut Corpus) {
    let valid = lines("vectors/recon_valid.jsonl");
    let invalid = lines("vectors/recon_invalid.jsonl");
    let disagreements = lines("vectors/disagreements.jsonl");
    let recon_parse = |j: &Json| j.get("kind").and_then(Json::as_str) == Some("recon-parse");
    let all = |_: &Json| true;
    let mut reader = spread(&valid, "recon", 5, "valid", all);
    reader.extend(spread(&invalid, "recon", 4, "invalid", all));
    reader.extend(spread(&disagreements, "input", 12, "disagree", recon_parse));
    // A different spread of the valid vectors from the reader's.
    let mut value = spread(&valid, "recon", 4, "valid", all);
    value.retain(|(name, _)| !reader.iter().any(|(n, _)| n == name));
    value.extend(spread(&disagreements, "input", 9, "disagree", recon_parse));
    for (name, text) in reader {
        corpus
            .entry("recon_reader")
            .or_default()
            .insert(name, text.as_bytes().to_vec());
    }
    for (name, text) in value {
        corpus
            .entry("recon_value")
            .or_default()
            .insert(name, text.as_bytes().to_vec());
    }
}

fn envelope(corpus: &mut Corpus) {
    let valid = lines("vectors/warp_valid.jsonl");
    let invalid = lines("vectors/warp_invalid.jsonl");
    let disagreements = lines("vectors/disagreements.jsonl");
    let warp_parse = |j: &Json| j.get("kind").and_then(Json::as_str) == Some("warp-parse");
    let mut seeds = spread(&valid, "frame", 3, "valid", |_| true);
    seeds.extend(spread(&invalid, "frame", 3, "invalid", |_| true));
    seeds.extend(spread(&disagreements, "input", 8, "disagree", warp_parse));
    for (name, text) in seeds {
        corpus
            .entry("envelope")
            .or_default()
            .insert(name, text.as_bytes().to_vec());
    }
}

fn ws_frame(corpus: &mut Corpus, traces: &[Trace]) {
    let seeds = corpus.entry("ws_frame").or_default();
    for trace in traces {
        if let Some(text) = trace.frames.first() {
            let name = &trace.name;
            seeds.insert(
                format!("{name}-masked"),
                frame(Opcode::Text, true, text.as_bytes(), Some(MASK)),
            );
            seeds.insert(
                format!("{name}-plain"),
                frame(Opcode::Text, true, text.as_bytes(), None),
            );
        }
    }
    let long = vec![b'x'; 300];
    seeds.insert("ping".into(), frame(Opcode::Ping, true, b"hi", Some(MASK)));
    seeds.insert("pong".into(), frame(Opcode::Pong, true, b"", None));
    seeds.insert(
        "close".into(),
        frame(Opcode::Close, true, b"\x03\xe8bye", Some(MASK)),
    );
    seeds.insert("close-empty".into(), frame(Opcode::Close, true, b"", None));
    seeds.insert(
        "binary-16bit-len".into(),
        frame(Opcode::Binary, true, &long, Some(MASK)),
    );
    seeds.insert(
        "continuation".into(),
        frame(Opcode::Continuation, false, b"lo", None),
    );
    // A 64-bit length written for a short payload (not minimal; accepted).
    let mut wide = vec![0x81, 127, 0, 0, 0, 0, 0, 0, 0, 2];
    wide.extend_from_slice(b"ok");
    seeds.insert("wide-length".into(), wide);
}

fn ws_handshake(corpus: &mut Corpus) {
    let seeds = corpus.entry("ws_handshake").or_default();
    let mut buf = [0u8; 1024];
    let client = ClientHandshake::new("localhost", "/", CLIENT_NONCE);
    let n = client.write_request(&mut buf).expect("request");
    let request = buf[..n].to_vec();
    seeds.insert("request-warp0".into(), request.clone());
    let protocols: &[&str] = &["chat", "warp0"];
    let chat = ClientHandshake::new("example.com:9001", "/chat?room=1", CLIENT_NONCE)
        .with_protocols(protocols)
        .with_origin("http://example.com");
    let n = chat.write_request(&mut buf).expect("request");
    seeds.insert("request-chat".into(), buf[..n].to_vec());
    let none = ClientHandshake::new("localhost", "/", [9; 16]).with_protocols(&[]);
    let n = none.write_request(&mut buf).expect("request");
    seeds.insert("request-no-protocol".into(), buf[..n].to_vec());
    let Ok(Status::Complete(upgrade)) = ServerHandshake::new().parse_request(&request) else {
        panic!("own request refused");
    };
    let n = upgrade.write_response(&mut buf).expect("response");
    seeds.insert("response-warp0".into(), buf[..n].to_vec());
    let mut with_frame = buf[..n].to_vec();
    with_frame.extend_from_slice(&frame(Opcode::Text, true, b"@event(node:a,lane:b)", None));
    seeds.insert("response-then-frame".into(), with_frame);
    seeds.insert(
        "request-bad-version".into(),
        String::from_utf8_lossy(&request)
            .replace("Version: 13", "Version: 8")
            .into_bytes(),
    );
    seeds.insert(
        "response-refused".into(),
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
    );
}

/// Streams of masked client frames, one per trace, with the trace's index.
fn ws_connection(corpus: &mut Corpus, traces: &[Trace]) {
    for (i, trace) in traces.iter().enumerate() {
        let mut stream = Vec::new();
        for (j, text) in trace.frames.iter().enumerate() {
            let bytes = text.as_bytes();
            if j % 3 == 1 && bytes.len() > 4 {
                // Fragmented, with a ping in between.
                let (a, b) = bytes.split_at(bytes.len() / 2);
                stream.extend(frame(Opcode::Text, false, a, Some(MASK)));
                stream.extend(frame(Opcode::Ping, true, b"p", Some(MASK)));
                stream.extend(frame(Opcode::Continuation, true, b, Some(MASK)));
            } else {
                stream.extend(frame(Opcode::Text, true, bytes, Some(MASK)));
            }
        }
        if i % 2 == 0 {
            stream.extend(frame(Opcode::Close, true, b"\x03\xe8", Some(MASK)));
        }
        let chunks = (0..i % 5)
            .map(|k| ((7 + 13 * k + i) as u16, (40 * k) as u16))
            .collect();
        let input = Chunked {
            flags: (i * 11 % 64) as u8,
            max_message: if i % 3 == 0 { 255 } else { 15 },
            max_frame: if i % 4 == 0 { 255 } else { 20 },
            chunks,
            stream,
        };
        let seeds = corpus.entry("ws_connection").or_default();
        seeds.insert(trace.name.clone(), input.to_bytes());
        // The endpoint reads the same frames after its upgrade request (which the target
        // puts first), with its own flags and chunks that also cut the request.
        let endpoint = Chunked {
            flags: (i * 37 % 256) as u8 & !0b10_0000,
            chunks: (0..i % 4)
                .map(|k| ((50 + 61 * k + i) as u16, (30 * k) as u16))
                .collect(),
            ..input
        };
        let seeds = corpus.entry("endpoint").or_default();
        seeds.insert(trace.name.clone(), endpoint.to_bytes());
    }
}

fn server_connection(corpus: &mut Corpus, traces: &[Trace]) {
    let seeds = corpus.entry("server_connection").or_default();
    for (i, trace) in traces.iter().enumerate() {
        let mut ops = Vec::new();
        for (j, text) in trace.frames.iter().enumerate() {
            ops.push(Op::Frame(text.as_bytes().to_vec()));
            let pick = j as u8;
            ops.push(Op::Accept(pick));
            ops.push(Op::SyncEvent(pick, j as u8));
            ops.push(Op::Synced(pick));
            ops.push(Op::Event(pick, 3));
            ops.push(Op::Drain(if i % 2 == 0 { 0 } else { 1 }));
        }
        ops.push(Op::Publish(0, 4));
        ops.push(Op::Unlink(1, 2));
        ops.push(Op::Authenticate(i % 3 != 0));
        ops.push(Op::Drain(0));
        let input = ServerInput {
            bounds: [4, (i * 5) as u8, (i * 40) as u8, i as u8, 40 + i as u8, 255],
            ops,
        };
        seeds.insert(trace.name.clone(), input.to_bytes());
    }
}

fn main() {
    let traces = traces();
    let mut corpus = Corpus::new();
    recon(&mut corpus);
    envelope(&mut corpus);
    ws_frame(&mut corpus, &traces);
    ws_handshake(&mut corpus);
    ws_connection(&mut corpus, &traces);
    server_connection(&mut corpus, &traces);

    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let mut total = 0;
    for (target, _) in TARGETS {
        let files = corpus.get(target).cloned().unwrap_or_default();
        let dir = seeds.join(target);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        // Replace the generated seeds; keep the regression inputs (`regress-*`), which are
        // inputs the fuzzer once failed on, added by hand.
        for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("directory entry").path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            if !name.is_some_and(|n| n.starts_with("regress-")) {
                fs::remove_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            }
        }
        for (name, bytes) in &files {
            let path = dir.join(name);
            fs::write(&path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
        println!("{target}: {} seeds", files.len());
        total += files.len();
    }
    println!("{total} seeds in {}", seeds.display());
}
