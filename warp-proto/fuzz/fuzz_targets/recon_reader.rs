//! Fuzz target `recon_reader`: arbitrary bytes through the Recon pull reader: the event contract, offsets, termination.
//! The checks are in `warp-proto/tests/fuzz_checks/recon.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warp_proto_fuzz::checks::recon;

fuzz_target!(|data: &[u8]| recon::recon_reader(data));
