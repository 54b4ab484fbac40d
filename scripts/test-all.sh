#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine (run as root, or with sudo available), then runs
# every check: formatting, clippy with warnings as errors, and the whole workspace's tests.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
if ((${#need_apt[@]})); then
    echo "== installing: ${need_apt[*]}"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}"
fi

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
cargo test --workspace --locked

echo "== benchmark harness smoke run (small sizes; real numbers come from 'bench -- ledger')"
cargo run --release --locked -p rectify-tests --bin bench -- ledger --quick >/dev/null
echo "all checks passed"
