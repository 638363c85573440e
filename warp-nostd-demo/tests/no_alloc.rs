//! Nothing in the program's dependency graph links `alloc` or `std`: no crate of the graph has
//! an `alloc` or `std` feature on, and the built program has no allocator symbol, no symbol
//! of the `alloc` or `std` crates, and calls no C heap function.
//!
//! (CI also builds `warp-proto` alone with `--no-default-features`.)

mod common;

use std::process::Command;

use common::{cargo, program, run_command, RUN_TIMEOUT};

#[test]
fn no_crate_of_the_graph_enables_alloc_or_std() {
    let mut command = cargo();
    command.args([
        "tree",
        "-p",
        "warp-nostd-demo",
        "--features",
        "firmware",
        "-e",
        "normal,features",
        "--prefix",
        "none",
    ]);
    let run = run_command(command, common::BUILD_TIMEOUT);
    assert!(run.status.success(), "{}", run.transcript());
    let lines = run.lines();
    assert!(
        lines.iter().any(|l| l.starts_with("warp-proto v")),
        "warp-proto is not in the graph:\n{}",
        run.stdout
    );
    assert!(
        lines.iter().any(|l| l.starts_with("embedded-io v")),
        "embedded-io is not in the graph:\n{}",
        run.stdout
    );
    let offending: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| {
            l.contains("feature \"std\"")
                || l.contains("feature \"alloc\"")
                || l.starts_with("num-bigint ")
        })
        .collect();
    assert!(
        offending.is_empty(),
        "std or alloc in the graph: {offending:?}\n{}",
        run.stdout
    );
}

#[test]
fn the_program_links_no_allocator_and_no_std() {
    let program = program();
    let mut command = Command::new("nm");
    command.arg("-C").arg(&program);
    let run = run_command(command, RUN_TIMEOUT);
    assert!(run.status.success(), "{}", run.transcript());
    let symbols: Vec<&str> = run
        .lines()
        .into_iter()
        .filter_map(|l| l.split_whitespace().nth(2).map(|_| l))
        .collect();
    assert!(
        symbols.iter().any(|s| s.contains("warp_proto::")),
        "no warp_proto symbols: is this the program?\n{}",
        run.stdout
    );
    let offending: Vec<&str> = symbols
        .iter()
        .copied()
        .filter(|s| {
            [
                "__rust_alloc",
                "__rg_alloc",
                "__rust_dealloc",
                "__rdl_alloc",
            ]
            .iter()
            .any(|name| s.contains(name))
                || [" alloc::", "<alloc::", " std::", "<std::"]
                    .iter()
                    .any(|path| s.contains(path))
        })
        .collect();
    assert!(offending.is_empty(), "{offending:?}");

    let mut command = Command::new("nm");
    command.arg("-u").arg(&program);
    let run = run_command(command, RUN_TIMEOUT);
    assert!(run.status.success(), "{}", run.transcript());
    let undefined: Vec<&str> = run
        .lines()
        .into_iter()
        .filter_map(|l| l.split_whitespace().last())
        .collect();
    assert!(undefined.contains(&"socket"), "{undefined:?}");
    for heap in ["malloc", "calloc", "realloc", "free", "posix_memalign"] {
        assert!(
            !undefined.iter().any(|u| u.split('@').next() == Some(heap)),
            "the program calls {heap}: {undefined:?}"
        );
    }
}
