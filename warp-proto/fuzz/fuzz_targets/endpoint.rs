//! Fuzz target `endpoint`: the joined server endpoint (handshake, WebSocket, WARP) fed a valid
//! upgrade request then arbitrary bytes in chunks: a valid `101` and server frames, one close
//! with the reported code, `Closed` once, chunking changes nothing.
//! The checks are in `warp-proto/tests/fuzz_checks/endpoint.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warp_proto_fuzz::checks::endpoint::endpoint;
use warp_proto_fuzz::checks::input::Chunked;

fuzz_target!(|input: Chunked| endpoint(&input));
