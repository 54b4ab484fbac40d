#!/usr/bin/env bash
# Installs what the foreign-language binding tests need on a fresh Debian 12 machine, when it is missing:
#   - JNA, JUnit 5 and OkHttp from Debian, and Kotlin 2.x from the npm package kotlin-compiler (Debian's kotlin
#     1.3 cannot compile uniffi's output);
#   - Swift for Linux: bookworm has none, so a minimal Debian trixie chroot with swiftlang in it.
# Everything lands under $RECTIFY_TOOLS (default /opt/rectify-tools) and is reused on the next run.
# Needs root (or sudo) only for what is missing. Prints where each tool is.
set -euo pipefail

tools="${RECTIFY_TOOLS:-/opt/rectify-tools}"
sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"

need_apt=()
[ -f /usr/share/java/jna.jar ] || need_apt+=(libjna-java)
[ -f /usr/share/java/junit-platform-console-standalone.jar ] || need_apt+=(junit5)
# OkHttp 3 and okio 1 (Java): what the Android library's OkHttp transport is compiled and tested against.
[ -f /usr/share/java/okhttp.jar ] || need_apt+=(libokhttp-java)
command -v debootstrap >/dev/null 2>&1 || need_apt+=(debootstrap)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
command -v java >/dev/null 2>&1 || need_apt+=(default-jdk-headless)
if ((${#need_apt[@]})); then
    echo "== installing from Debian: ${need_apt[*]}"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
$sudo_cmd mkdir -p "$tools"

kotlin_home="$tools/kotlin/node_modules/kotlin-compiler"
if [ ! -x "$kotlin_home/bin/kotlinc" ]; then
    echo "== installing Kotlin 2.x (npm kotlin-compiler)"
    $sudo_cmd npm install --silent --no-audit --no-fund --prefix "$tools/kotlin" kotlin-compiler@2 >/dev/null
    # The package ships its launcher scripts without the execute bit.
    $sudo_cmd chmod +x "$kotlin_home"/bin/*
fi

swift_root="$tools/swift-trixie"
if [ ! -x "$swift_root/usr/bin/swift" ]; then
    # Reuse whatever Debian mirror this machine's apt already uses.
    mirror="$(grep -h -E '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
        | grep -o -E 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -n1 | tr -d ' ' || true)"
    mirror="${mirror:-http://deb.debian.org/debian}"
    if [ ! -x "$swift_root/usr/bin/apt-get" ]; then
        echo "== debootstrap: a minimal Debian trixie for Swift (a few minutes)"
        $sudo_cmd rm -rf "$swift_root"
        if ! $sudo_cmd debootstrap --variant=minbase trixie "$swift_root" "$mirror" >/dev/null; then
            echo "debootstrap failed; its log:" >&2
            tail -n 20 "$swift_root/debootstrap/debootstrap.log" >&2 || true
            exit 1
        fi
    fi
    echo "== installing swiftlang inside the trixie chroot"
    $sudo_cmd chroot "$swift_root" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd chroot "$swift_root" \
        apt-get install -y -qq --no-install-recommends swiftlang libc6-dev libstdc++-14-dev ca-certificates >/dev/null
fi

echo "kotlin: $kotlin_home/bin/kotlinc"
echo "swift chroot: $swift_root"
