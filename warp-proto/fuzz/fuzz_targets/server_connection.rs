//! Fuzz target `server_connection`: a `ServerConnection` driven by arbitrary frames and
//! application answers: bounds, backpressure, links answered once, nothing after `unlinked`.
//! The checks are in `warp-proto/tests/fuzz_checks/server_connection.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warp_proto_fuzz::checks::server_connection::{server_connection, ServerInput};

fuzz_target!(|input: ServerInput| server_connection(&input));
