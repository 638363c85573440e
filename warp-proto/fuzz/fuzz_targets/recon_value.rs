//! Fuzz target `recon_value`: `Value::parse` on text: print/parse round trip, agreement with the pull reader.
//! The checks are in `warp-proto/tests/fuzz_checks/recon.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warp_proto_fuzz::checks::recon;

fuzz_target!(|data: &[u8]| recon::recon_value(data));
