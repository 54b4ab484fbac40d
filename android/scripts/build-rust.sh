#!/usr/bin/env bash
# Builds the Rust core for the Android app: librectify_ffi.so for each Android ABI into the library
# module's jniLibs (through cargo-ndk), the Kotlin bindings generated from that very library into
# rectify/build/generated/uniffi, and a build for this machine into rectify/build/host-lib for the JVM
# unit tests. Run it before the first Gradle build and after any change to the Rust code.
#
# Usage: android/scripts/build-rust.sh [--debug] [--abi ABI ...]
#   default: release, ABIs arm64-v8a armeabi-v7a x86_64
# Needs: the Android NDK (ANDROID_NDK_HOME, or the one cargo-ndk finds under ANDROID_HOME), cargo-ndk
# (`cargo install cargo-ndk`), and the Rust targets (added here with rustup when missing).
set -euo pipefail
cd "$(dirname "$0")/../.."

profile=release
abis=()
while (($#)); do
    case "$1" in
        --debug) profile=debug ;;
        --abi) abis+=("$2"); shift ;;
        *) echo "usage: $0 [--debug] [--abi ABI ...]" >&2; exit 2 ;;
    esac
    shift
done
((${#abis[@]})) || abis=(arm64-v8a armeabi-v7a x86_64)

command -v cargo-ndk >/dev/null 2>&1 || { echo "cargo-ndk is missing: cargo install cargo-ndk" >&2; exit 1; }
if [ -z "${ANDROID_NDK_HOME:-}" ] && [ -z "${ANDROID_HOME:-}" ] && [ -z "${ANDROID_SDK_ROOT:-}" ]; then
    echo "no Android NDK: set ANDROID_NDK_HOME (or ANDROID_HOME with the NDK installed through the SDK manager)" >&2
    exit 1
fi

declare -A rust_target=(
    [arm64-v8a]=aarch64-linux-android
    [armeabi-v7a]=armv7-linux-androideabi
    [x86_64]=x86_64-linux-android
    [x86]=i686-linux-android
)
targets=()
for abi in "${abis[@]}"; do
    [ -n "${rust_target[$abi]:-}" ] || { echo "unknown ABI $abi (arm64-v8a, armeabi-v7a, x86_64, x86)" >&2; exit 2; }
    targets+=("${rust_target[$abi]}")
done
if command -v rustup >/dev/null 2>&1; then
    rustup target add "${targets[@]}" >/dev/null
fi

flag=()
[ "$profile" = release ] && flag=(--release)
jni=android/rectify/src/main/jniLibs
rm -rf "$jni"
ndk_args=()
for abi in "${abis[@]}"; do ndk_args+=(-t "$abi"); done
echo "== building librectify_ffi for ${abis[*]} ($profile)"
# minSdk 26, as the library module declares.
cargo ndk "${ndk_args[@]}" --platform 26 -o "$jni" build "${flag[@]}" --locked -p rectify-ffi

echo "== generating the Kotlin bindings and the host library for the JVM tests"
./scripts/gen-bindings.sh "${flag[@]}" --out target/android-bindings
generated=android/rectify/build/generated/uniffi
rm -rf "$generated" android/rectify/build/host-lib
mkdir -p "$generated" android/rectify/build/host-lib
cp -r target/android-bindings/kotlin/. "$generated/"
cp target/android-bindings/lib/* android/rectify/build/host-lib/

echo "== done"
for abi in "${abis[@]}"; do ls -l "$jni/$abi/librectify_ffi.so"; done
echo "Kotlin bindings: $generated"
