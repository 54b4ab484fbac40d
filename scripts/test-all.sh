#!/usr/bin/env bash
# Installs what the build and the tests need on a fresh Debian machine (run as root, or with sudo
# available), then runs every check: formatting, clippy with warnings as errors, the whole workspace's
# tests, and a short run of each benchmark suite.
set -euo pipefail
cd "$(dirname "$0")/.."

# A one-off build gains nothing from incremental state, and it roughly doubles the target folder.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
free_kib=$(df -Pk . | awk 'NR == 2 {print $4}')
echo "== disk: $((free_kib / 1024 / 1024)) GiB free here; a full run writes about 10 GiB under target/"
if [ "${free_kib:-0}" -lt $((10 * 1024 * 1024)) ]; then
    echo "warning: less than 10 GiB free; the build may stop with 'No space left on device'" >&2
fi

./scripts/build-tools.sh --for-tests
# Kotlin 2.x, JNA, JUnit 5, OkHttp and a Debian trixie chroot with Swift, for the binding and shell tests.
./scripts/binding-tools.sh

if [ -d ../shared/data ]; then
    echo "== third-party test data found in ../shared/data"
else
    echo "== ../shared/data is absent: tests that read it will say they skipped"
fi

echo "== cargo fmt --check"
cargo fmt --all --check

echo "== cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
# The tools were installed above, so a test that compares with one must not skip for lack of it.
RECTIFY_REQUIRE_TOOLS=1 cargo test --workspace --locked

echo "== the bindings in Python, Kotlin (JVM) and Swift (Linux), and the Android and iOS shell libraries, each against a real office on loopback"
./scripts/test-bindings.sh

echo "== the dashboard in a real browser (Playwright driving Debian's chromium)"
./scripts/test-browser.sh

echo "== the deterministic simulation, CI-sized (release build; a failure prints its seed)"
RECTIFY_SIM_SEEDS="${RECTIFY_SIM_SEEDS:-0..300}" cargo test --release --locked -p rectify-tests --test simulation -- --nocapture \
    | grep -v -E "^seed [0-9]+$"

echo "== fuzzing: every decoder that reads outside input, ${FUZZ_SECONDS:-20} s each"
FUZZ_SECONDS="${FUZZ_SECONDS:-20}" ./scripts/fuzz.sh

echo "== benchmark harness smoke runs (small sizes; real numbers come from 'bench -- <suite>')"
cargo run --release --locked -p rectify-tests --bin bench -- ledger --quick >/dev/null
cargo run --release --locked -p rectify-tests --bin bench -- photo --quick >/dev/null
cargo run --release --locked -p rectify-tests --bin bench -- geo --quick >/dev/null
cargo run --release --locked -p rectify-tests --bin bench -- sync --quick >/dev/null
cargo run --release --locked -p rectify-tests --bin bench -- score --quick >/dev/null
# office-pages starts the release rectify-office binary, which building rectify-tests does not build.
cargo build --release --locked -p rectify-office
cargo run --release --locked -p rectify-tests --bin bench -- office-pages --quick >/dev/null
cargo run --release --locked -p rectify-tests --bin bench -- office-pg --quick >/dev/null
cargo run --release --locked -p rectify-tests --bin bench -- ffi --quick >/dev/null
echo "all checks passed"
