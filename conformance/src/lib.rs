//! WARP conformance: vectors, traces and the runner.
