#!/usr/bin/env bash
# Builds every fuzz target of warp-proto and runs each for SECONDS (default 30), starting from
# the committed seeds (fuzz/seeds/<target>) plus the local corpus (fuzz/corpus/<target>, not
# committed). Prints the executions per target; exits non-zero if any target finds a crash,
# a panic (a broken property) or a hang (an input taking over 10 s).
#
#   bash warp-proto/fuzz/run.sh [SECONDS]
#
# One libFuzzer process per target; FUZZ_PARALLEL targets at a time (default: the number of
# cores, at most 2). FUZZ_TARGETS="a b" runs only those. Needs a nightly toolchain; uses
# cargo-fuzz when installed and otherwise builds with cargo-fuzz's flags itself. Without
# nightly it prints "skipped: ..." and exits 0, so CI machines without it go on.
set -uo pipefail

seconds="${1:-30}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
    echo "usage: $0 [SECONDS]" >&2
    exit 2
fi
cd "$(dirname "$0")/.." || exit 2 # warp-proto/

if ! command -v cargo >/dev/null 2>&1; then
    echo "skipped: fuzzing needs cargo (rustup)"
    exit 0
fi
if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "skipped: fuzzing needs a nightly toolchain (rustup toolchain install nightly)"
    exit 0
fi
have_cargo_fuzz=yes
cargo +nightly fuzz --version >/dev/null 2>&1 || have_cargo_fuzz=no

all_targets=$(cd fuzz && ls fuzz_targets | sed -n 's/\.rs$//p') || exit 1
targets="${FUZZ_TARGETS:-$all_targets}"
cores=$(nproc 2>/dev/null || echo 1)
parallel="${FUZZ_PARALLEL:-$((cores < 2 ? cores : 2))}"

echo "building fuzz targets: $(echo $targets)"
start=$(date +%s)
host=$(rustc +nightly -vV | sed -n 's/^host: //p')
if [ "$have_cargo_fuzz" = yes ]; then
    cargo +nightly fuzz build || exit 1
else
    # Without cargo-fuzz (a fresh CI machine): the same build it does, by hand. These are the
    # flags cargo-fuzz 0.13 passes for libFuzzer with AddressSanitizer.
    echo "(cargo-fuzz not installed: building with cargo +nightly and cargo-fuzz's flags)"
    RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Zsanitizer=address \
-Cdebug-assertions -Coverflow-checks" \
        cargo +nightly build --release --manifest-path fuzz/Cargo.toml --bins \
        --target "$host" --target-dir fuzz/target || exit 1
fi
echo "built in $(($(date +%s) - start)) s"

logs=fuzz/target/run-logs
mkdir -p "$logs"

# The binaries just built, run directly (as `cargo fuzz run` would, without its rebuild check).
bin_dir="fuzz/target/$host/release"

run_one() {
    local target=$1
    mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
    "$bin_dir/$target" -artifact_prefix="fuzz/artifacts/$target/" \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
        "fuzz/corpus/$target" "fuzz/seeds/$target" >"$logs/$target.log" 2>&1
    echo $? >"$logs/$target.rc"
}

for target in $targets; do
    rm -f "$logs/$target.rc"
    while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do
        wait -n
    done
    echo "fuzzing $target for $seconds s"
    run_one "$target" &
done
wait

failed=()
printf '\n%-20s %12s %10s %10s  %s\n' target executions exec/s "new units" result
for target in $targets; do
    log="$logs/$target.log"
    rc=$(cat "$logs/$target.rc" 2>/dev/null || echo 1)
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    units=$(grep -o 'stat::new_units_added: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    result=ok
    if [ "$rc" != 0 ]; then
        result="FAILED (exit $rc; log $log)"
        failed+=("$target")
    fi
    printf '%-20s %12s %10s %10s  %s\n' "$target" "${execs:-?}" "${rate:-?}" "${units:-?}" "$result"
done

if [ "${#failed[@]}" -gt 0 ]; then
    for target in "${failed[@]}"; do
        echo
        echo "=== $target: the end of $logs/$target.log"
        grep -E -A2 'panicked at|ERROR: libFuzzer|SUMMARY' "$logs/$target.log" | head -20
        grep -E 'Test unit written' "$logs/$target.log" | head -3
        echo "reproduce: (cd warp-proto && cargo +nightly fuzz run $target <artifact>)"
    done
    echo
    echo "fuzzing found failures in: ${failed[*]}"
    exit 1
fi
echo "fuzzing: no failures in $(($(date +%s) - start)) s"
