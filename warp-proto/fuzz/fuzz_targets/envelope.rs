//! Fuzz target `envelope`: `Envelope::decode` and `decode_header`: agreement, encode/decode round trip, offsets.
//! The checks are in `warp-proto/tests/fuzz_checks/envelope.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warp_proto_fuzz::checks::envelope;

fuzz_target!(|data: &[u8]| envelope::envelope(data));
