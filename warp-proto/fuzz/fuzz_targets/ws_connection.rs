//! Fuzz target `ws_connection`: a server-role `WsConnection` fed arbitrary bytes in
//! fuzzer-chosen chunks and times: bounds, consistent end state, chunking changes nothing.
//! The checks are in `warp-proto/tests/fuzz_checks/ws_connection.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warp_proto_fuzz::checks::input::Chunked;
use warp_proto_fuzz::checks::ws_connection::ws_connection;

fuzz_target!(|input: Chunked| ws_connection(&input));
