#!/usr/bin/env bash
# The main job from a fresh clone: installs the build tools if they are missing (Debian; root or sudo),
# then runs the scripted demo week. Extra arguments go to `rectify demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build-tools.sh
exec cargo run --release --locked -q -p rectify-cli -- demo "$@"
