//! Shared code of the warp-proto fuzz targets: the property checks, which live with the tests
//! (`warp-proto/tests/fuzz_checks`) so that the committed seeds also run under `cargo test`.

#[path = "../../tests/fuzz_checks/mod.rs"]
pub mod checks;
