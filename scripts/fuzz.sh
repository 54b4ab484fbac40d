#!/usr/bin/env bash
# Fuzzes every decoder that reads outside input with libFuzzer on the stable toolchain: the `fuzz/` crate
# is built with LLVM's coverage instrumentation (sancov), seeded with traffic captured from a real office
# (`fuzz-seeds`) plus every crash already committed, and each target runs for FUZZ_SECONDS (default 20).
#
#   scripts/fuzz.sh                    # every target, 20 s each
#   FUZZ_SECONDS=600 scripts/fuzz.sh pull_body
#
# A crash fails the run; its input is copied to tests/fuzz/regressions/TARGET/, where `cargo test` replays
# it (tests/tests/fuzz_replay.rs) — commit it with the fix. Prints one summary line per target.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-20}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(push_body pull_body photo_chunk geojson_import exif_inspect)
fi
triple="$(rustc -vV | sed -n 's/^host: //p')"
work="$PWD/target/fuzz"
mkdir -p "$work"

echo "== building the fuzz targets with coverage instrumentation ($triple)"
if ! cargo metadata --locked --format-version 1 --manifest-path fuzz/Cargo.toml >/dev/null 2>&1; then
    echo "fuzz/Cargo.lock no longer matches the workspace's dependencies; refresh it from Cargo.lock with:" >&2
    echo "  cp Cargo.lock fuzz/Cargo.lock && (cd fuzz && cargo tree >/dev/null)" >&2
    exit 1
fi
# --target keeps the instrumentation off build scripts and proc macros.
RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks" \
    cargo build --release --locked --manifest-path fuzz/Cargo.toml --target "$triple" \
    --target-dir "$work/build" --bins

echo "== writing seeds"
rm -rf "$work/seeds"
cargo run --release --locked -q -p rectify-tests --bin fuzz-seeds -- "$work/seeds"

failed=0
for target in "${targets[@]}"; do
    corpus="$work/corpus/$target"
    mkdir -p "$corpus" "$work/crashes/$target"
    cp -n "$work/seeds/$target/"* "$corpus/" 2>/dev/null || true
    if [ -d "tests/fuzz/regressions/$target" ]; then
        cp -n "tests/fuzz/regressions/$target/"* "$corpus/" 2>/dev/null || true
    fi
    log="$work/$target.log"
    status=0
    # The targets' fixture (an office and devices on disk) lives for the process; keep it in one place.
    rm -rf "$work/tmp" && mkdir -p "$work/tmp"
    TMPDIR="$work/tmp" "$work/build/$triple/release/$target" "$corpus" \
        -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
        -artifact_prefix="$work/crashes/$target/" >"$log" 2>&1 || status=$?
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
    cov="$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)"
    echo "{\"target\":\"$target\",\"seconds\":$seconds,\"executions\":${runs:-0},\"per_second\":${rate:-0},\"coverage\":${cov:-0},\"corpus\":$(ls "$corpus" | wc -l),\"status\":$status}"
    if [ "$status" -ne 0 ]; then
        failed=1
        mkdir -p "tests/fuzz/regressions/$target"
        for crash in "$work/crashes/$target/"*; do
            [ -f "$crash" ] && cp "$crash" "tests/fuzz/regressions/$target/"
        done
        echo "!! $target failed; its input is in tests/fuzz/regressions/$target/ and the log in $log:" >&2
        grep -m 20 -E "panicked|ERROR|SUMMARY" "$log" >&2 || tail -20 "$log" >&2
    fi
done
rm -rf "$work/tmp"
exit "$failed"
