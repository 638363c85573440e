//! `warp-nostd-demo`: a WARP sensor with no standard library and no allocator.
//!
//! `#![no_std]` and `#![no_main]`: the C runtime calls [`main`] with `argc`/`argv`; everything
//! else is in the library (`warp_nostd_demo::host`). Usage and output: see README.md.
#![no_std]
#![no_main]

use core::ffi::{c_char, c_int};
use core::fmt::Write as _;

use warp_nostd_demo::shim;

/// The C entry point.
///
/// # Safety
///
/// Called by the C runtime only: `argv` holds `argc` valid NUL-terminated strings that live,
/// unchanged, for the whole run.
#[no_mangle]
pub unsafe extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    // SAFETY: guaranteed by the C runtime, as above.
    let args = unsafe { shim::Argv::from_raw(argc, argv) };
    warp_nostd_demo::host::main(args)
}

/// Writes the panic message to standard error and exits with status 101.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let mut err = shim::Console::stderr();
    let _ = writeln!(err, "warp-nostd-demo: panic: {info}");
    err.flush();
    shim::exit(101)
}

/// The unwinding personality routine that the precompiled `core` refers to. Nothing ever
/// unwinds here (the program is built with `panic = "abort"` and the panic handler exits), so
/// it is never called; stable Rust offers no other way to satisfy the reference.
#[no_mangle]
pub extern "C" fn rust_eh_personality() {
    shim::abort()
}
