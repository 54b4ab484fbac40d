#!/usr/bin/env bash
# The main job from a fresh clone: installs the build tools if they are missing (Debian; root or sudo),
# then starts the demo district office (`rectify-office demo`): realistic data, served at a printed URL with a
# printed login until Ctrl-C. Extra arguments go to `rectify-office demo` (e.g. --data DIR --listen ADDR --json).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build-tools.sh
exec cargo run --release --locked -q -p rectify-office -- demo "$@"
