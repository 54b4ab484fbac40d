#!/usr/bin/env bash
# Builds RectifyFFI.xcframework (rectify-ffi as a static library for iPhones, both simulators and the Mac,
# where `swift test` runs RectifyKit's tests) and the Swift bindings generated from the same build, so the
# app and RectifyKit always match the library.
#
# Writes:
#   ios/RectifyFFI.xcframework         ios-arm64, ios-arm64_x86_64-simulator and macos-arm64_x86_64, each
#                                      with RectifyFFI.h and a module map for the C module `RectifyFFI`
#   ios/Sources/Rectify/Rectify.swift  the generated Swift bindings (never edited by hand)
#
# Usage: ios/scripts/build-xcframework.sh        (macOS with Xcode, rustup, cmake and nasm)
# Then:  cd ios && xcodegen generate && open RectifyApp.xcodeproj
set -euo pipefail
cd "$(dirname "$0")/../.."

fail() {
    echo "build-xcframework: $*" >&2
    exit 1
}

[ "$(uname -s)" = Darwin ] || fail "XCFrameworks can only be made on macOS with Xcode; this is $(uname -s). \
On Linux, scripts/gen-bindings.sh and scripts/test-bindings.sh build and test the Swift bindings instead."
command -v xcodebuild >/dev/null 2>&1 || fail "xcodebuild is missing: install Xcode and run \
'sudo xcode-select -s /Applications/Xcode.app/Contents/Developer'."
xcodebuild -version >/dev/null 2>&1 || fail "xcodebuild does not run (only the Command Line Tools are selected?): \
run 'sudo xcode-select -s /Applications/Xcode.app/Contents/Developer'."
command -v cargo >/dev/null 2>&1 || fail "cargo is missing: install Rust with rustup (https://rustup.rs)."
command -v rustup >/dev/null 2>&1 || fail "rustup is missing: the iOS targets are added with rustup (https://rustup.rs)."
command -v lipo >/dev/null 2>&1 || fail "lipo is missing: it comes with Xcode's command line tools."
# libjpeg-turbo is built from its vendored source with cmake, and its x86 SIMD code needs nasm.
command -v cmake >/dev/null 2>&1 || fail "cmake is missing (libjpeg-turbo is built with it): brew install cmake"
command -v nasm >/dev/null 2>&1 || fail "nasm is missing (libjpeg-turbo's x86_64 simulator SIMD code needs it): brew install nasm"

device=aarch64-apple-ios
simulators=(aarch64-apple-ios-sim x86_64-apple-ios)
macs=(aarch64-apple-darwin x86_64-apple-darwin)
targets=("$device" "${simulators[@]}" "${macs[@]}")
target_dir="${CARGO_TARGET_DIR:-target}"
lib=librectify_ffi.a
output=ios/RectifyFFI.xcframework

installed="$(rustup target list --installed)"
for target in "${targets[@]}"; do
    if ! grep -qx "$target" <<<"$installed"; then
        echo "== rustup target add $target" >&2
        rustup target add "$target" >&2
    fi
done

# The C code built along the way (SQLite, libjpeg-turbo) targets the package's minimum versions.
export IPHONEOS_DEPLOYMENT_TARGET=16.0
export MACOSX_DEPLOYMENT_TARGET=13.0
for target in "${targets[@]}"; do
    echo "== building rectify-ffi for $target (release)" >&2
    cargo build --release --locked -p rectify-ffi --target "$target" >&2
    [ -f "$target_dir/$target/release/$lib" ] || fail "$target_dir/$target/release/$lib was not built"
done

work="$(mktemp -d "${TMPDIR:-/tmp}/rectify-xcframework.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# Both simulator architectures go into one library: an XCFramework holds one library per platform variant.
simulator_lib="$work/simulator/$lib"
mkdir -p "$work/simulator"
lipo -create \
    "$target_dir/aarch64-apple-ios-sim/release/$lib" \
    "$target_dir/x86_64-apple-ios/release/$lib" \
    -output "$simulator_lib"
mac_lib="$work/mac/$lib"
mkdir -p "$work/mac"
lipo -create \
    "$target_dir/aarch64-apple-darwin/release/$lib" \
    "$target_dir/x86_64-apple-darwin/release/$lib" \
    -output "$mac_lib"

# The same invocation as scripts/gen-bindings.sh, on the device library: library mode reads the exported
# interface from the built library and the names from bindings/uniffi.toml (found through cargo metadata).
echo "== generating the Swift bindings" >&2
cargo run --release --locked -p uniffi-bindgen -- \
    generate --library "$target_dir/$device/release/$lib" --language swift --out-dir "$work/swift" --no-format >&2
for generated in Rectify.swift RectifyFFI.h; do
    [ -f "$work/swift/$generated" ] || fail "the bindgen did not write $generated"
done

mkdir -p ios/Sources/Rectify
cp "$work/swift/Rectify.swift" ios/Sources/Rectify/Rectify.swift

headers="$work/headers"
mkdir -p "$headers"
cp "$work/swift/RectifyFFI.h" "$headers/"
cat >"$headers/module.modulemap" <<'MODULEMAP'
module RectifyFFI {
    header "RectifyFFI.h"
    export *
}
MODULEMAP

rm -rf "$output"
echo "== creating $output" >&2
xcodebuild -create-xcframework \
    -library "$target_dir/$device/release/$lib" -headers "$headers" \
    -library "$simulator_lib" -headers "$headers" \
    -library "$mac_lib" -headers "$headers" \
    -output "$output" >&2

echo "Made:"
echo "  $output"
for slice in "$output"/*/; do
    [ -d "$slice" ] || continue
    echo "    $(basename "$slice"): $(lipo -archs "$slice$lib" 2>/dev/null || echo '?')"
done
echo "  ios/Sources/Rectify/Rectify.swift ($(wc -l <ios/Sources/Rectify/Rectify.swift | tr -d ' ') lines)"
echo "Next: cd ios && xcodegen generate && open RectifyApp.xcodeproj"
