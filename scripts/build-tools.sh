#!/usr/bin/env bash
# Installs, on Debian, the programs the build needs and (with --for-tests) those the tests compare
# against, when they are missing. Sourced or run by demo.sh and test-all.sh; needs root or sudo only
# when something is missing.
set -euo pipefail

need_apt=()
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
# libjpeg-turbo is built from source: cmake drives it, nasm assembles its x86 SIMD code.
command -v cmake >/dev/null 2>&1 || need_apt+=(cmake)
command -v nasm >/dev/null 2>&1 || need_apt+=(nasm)
# The office reaches S3-compatible object storage over TLS with the system's OpenSSL.
[ -f /usr/include/openssl/ssl.h ] || need_apt+=(libssl-dev)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
if [ "${1:-}" = "--for-tests" ]; then
    # The photo tests compare with exiftool; the photo benchmark's anchor is vipsthumbnail.
    command -v exiftool >/dev/null 2>&1 || need_apt+=(libimage-exiftool-perl)
    # libFuzzer (scripts/fuzz.sh) is C++.
    command -v c++ >/dev/null 2>&1 || need_apt+=(g++)
    command -v vipsthumbnail >/dev/null 2>&1 || need_apt+=(libvips-tools)
    # The dashboard's browser test (scripts/test-browser.sh) drives Debian's chromium from Node.js.
    [ -x /usr/bin/chromium ] || need_apt+=(chromium)
    command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
    command -v npm >/dev/null 2>&1 || need_apt+=(npm)
    # The office's PostgreSQL backend is tested on a throwaway cluster (initdb + pg_ctl on loopback).
    compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null || need_apt+=(postgresql)
    # Photos in object storage are tested against moto's S3-compatible server, installed from PyPI below.
    python3 -c "import ensurepip" 2>/dev/null || need_apt+=(python3-venv)
fi
if ((${#need_apt[@]})); then
    echo "== installing: ${need_apt[*]}"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
if [ "${1:-}" = "--for-tests" ]; then
    moto="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/target/tools/moto"
    if [ ! -x "$moto/bin/moto_server" ]; then
        echo "== installing moto's S3-compatible server (PyPI) into target/tools/moto"
        rm -rf "$moto"
        python3 -m venv "$moto"
        "$moto/bin/pip" install --quiet 'moto[server]==5.2.5'
    fi
fi
