#!/usr/bin/env bash
# The office dashboard in a real browser: tests/browser/dashboard.test.mjs seeds one `rectify-office demo`
# and drives Debian's chromium through it with playwright-core (no browser download). Installs nothing
# but the pinned playwright-core (npm ci, when tests/browser/node_modules is missing or stale); Node.js
# 20+, npm and chromium come from scripts/build-tools.sh --for-tests.
# Builds target/release/rectify-office unless RECTIFY_OFFICE_BIN names a binary to use instead.
# Screenshots go to $RECTIFY_SCREENSHOTS (default target/browser-screenshots).
set -euo pipefail
cd "$(dirname "$0")/.."

chromium="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
    echo "error: no chromium at $chromium; install Debian's: apt-get install chromium" >&2
    exit 1
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "error: node and npm are needed; install them: apt-get install nodejs npm" >&2
    exit 1
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
    echo "error: node $(node --version) is too old; playwright-core needs Node.js 20 or newer" >&2
    exit 1
fi

# npm ci rewrites node_modules/.package-lock.json, so a lockfile newer than it means a stale install.
browser_dir=tests/browser
if [ ! -f "$browser_dir/node_modules/.package-lock.json" ] \
    || [ "$browser_dir/package-lock.json" -nt "$browser_dir/node_modules/.package-lock.json" ] \
    || [ "$browser_dir/package.json" -nt "$browser_dir/node_modules/.package-lock.json" ]; then
    echo "== npm ci in $browser_dir (playwright-core, pinned; it downloads no browser)"
    (cd "$browser_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi

if [ -n "${RECTIFY_OFFICE_BIN:-}" ]; then
    if [ ! -x "$RECTIFY_OFFICE_BIN" ]; then
        echo "error: RECTIFY_OFFICE_BIN=$RECTIFY_OFFICE_BIN is not an executable" >&2
        exit 1
    fi
else
    echo "== cargo build --release -p rectify-office"
    cargo build --release --locked -p rectify-office
    export RECTIFY_OFFICE_BIN="$PWD/target/release/rectify-office"
fi

export CHROMIUM="$chromium"
export RECTIFY_SCREENSHOTS="${RECTIFY_SCREENSHOTS:-$PWD/target/browser-screenshots}"
node --test "$browser_dir/"
