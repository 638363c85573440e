//! Benchmark corpora and helpers.
