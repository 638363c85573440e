//! Fuzz target `ws_frame`: WebSocket frame decoding: re-encoding, prefixes incomplete never invalid, masking, UTF-8.
//! The checks are in `warp-proto/tests/fuzz_checks/ws_frame.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warp_proto_fuzz::checks::ws_frame;

fuzz_target!(|data: &[u8]| ws_frame::ws_frame(data));
