#!/usr/bin/env bash
# Builds the rectify-ffi library and generates its Kotlin, Swift and Python bindings from it: the one way
# bindings are made (never by hand). Writes, under OUT (default target/bindings):
#   lib/librectify_ffi.so       the library the bindings load (also beside the Python module)
#   kotlin/app/rectify/core/…   the Kotlin package (JNA)
#   swift/Rectify.swift, swift/RectifyFFI.h, swift/RectifyFFI.modulemap
#   python/rectify.py
# Usage: scripts/gen-bindings.sh [--release] [--no-build] [--out DIR]
set -euo pipefail
cd "$(dirname "$0")/.."

profile=debug
build=1
out=target/bindings
while (($#)); do
    case "$1" in
        --release) profile=release ;;
        --no-build) build=0 ;;
        --out) out="$2"; shift ;;
        *) echo "usage: $0 [--release] [--no-build] [--out DIR]" >&2; exit 2 ;;
    esac
    shift
done

if ((build)); then
    flag=()
    [ "$profile" = release ] && flag=(--release)
    echo "== building rectify-ffi and uniffi-bindgen ($profile)" >&2
    cargo build "${flag[@]}" --locked -p rectify-ffi -p uniffi-bindgen >&2
fi
target_dir="${CARGO_TARGET_DIR:-target}"
# macOS developers (building the Android or iOS shell) get a .dylib; Linux a .so.
suffix=so
[ "$(uname -s)" = Darwin ] && suffix=dylib
library="$target_dir/$profile/librectify_ffi.$suffix"
bindgen="$target_dir/$profile/uniffi-bindgen"
for needed in "$library" "$bindgen"; do
    [ -f "$needed" ] || { echo "$needed is missing: run without --no-build" >&2; exit 1; }
done

rm -rf "$out"
mkdir -p "$out/lib"
cp "$library" "$out/lib/"
for language in kotlin swift python; do
    "$bindgen" generate --library "$library" --language "$language" --out-dir "$out/$language" --no-format >&2
done
cp "$library" "$out/python/"
echo "== bindings written to $out" >&2
