//! A `no_std`, no-heap program speaking WARP through `warp-proto`, as a device would (not yet implemented; see issue 5).
#![no_std]
