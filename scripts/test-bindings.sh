#!/usr/bin/env bash
# Runs the binding tests in Python, Kotlin (JVM) and Swift (Linux), and the tests of the two shells' libraries
# over them (android: the Kotlin library in android/rectify on the JVM; ios: the RectifyKit package in ios/),
# each against its own real office on loopback (the binding-fixture binary). Each prints
# "NAME: N passed, N failed"; the script fails if any fails. The tools come from scripts/binding-tools.sh.
#
# Usage: scripts/test-bindings.sh [python] [kotlin] [swift] [android] [ios]     (default: all five)
# Environment: RECTIFY_TOOLS (default /opt/rectify-tools), RECTIFY_MEMORY_CYCLES / RECTIFY_MEMORY_CALLS
# (the Python memory test; default 10000 / 100000). Swift needs root: it mounts /proc and /dev into the
# chroot and runs `chroot`.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

languages=("$@")
((${#languages[@]})) || languages=(python kotlin swift android ios)
tools="${RECTIFY_TOOLS:-/opt/rectify-tools}"
kotlin_home="$tools/kotlin/node_modules/kotlin-compiler"
swift_root="$tools/swift-trixie"
java_lib=/usr/share/java
out="$root/target/bindings"
work="$root/target/binding-tests"
mkdir -p "$work"
# Runs from two checkouts share the Swift chroot (its package folder and mounts): one at a time.
if [ -d "$tools" ] && command -v flock >/dev/null 2>&1; then
    exec {run_lock}>>"$tools/.test-bindings.lock"
    flock "$run_lock"
fi

echo "== building the library, the generator, the office and the fixture"
# Two invocations: a `--bin` filter would apply to every package named with it.
cargo build --locked -p rectify-ffi -p uniffi-bindgen -p rectify-office
cargo build --locked -p rectify-tests --bin binding-fixture
./scripts/gen-bindings.sh --no-build --out "$out"

fixture_pid=""
fixture_in=""
# Starts a fresh office with fresh codes under $1 and loads its fixture.env into the environment.
start_fixture() {
    rm -rf "$1"
    mkdir -p "$1"
    coproc FIXTURE { "$root/target/debug/binding-fixture" --dir "$1"; }
    fixture_pid=$FIXTURE_PID
    # Closing this descriptor (its only copy) tells the fixture to stop the office.
    fixture_in=${FIXTURE[1]}
    local line=""
    # The office is up within a second or two; a fixture that hangs must not hang the run.
    read -r -t 120 line <&"${FIXTURE[0]}" || true
    [ "$line" = ready ] || { echo "the binding fixture did not start" >&2; return 1; }
    set -a
    # shellcheck disable=SC1091
    . "$1/fixture.env"
    set +a
}
stop_fixture() {
    if [ -n "$fixture_in" ]; then
        exec {fixture_in}>&-
        fixture_in=""
    fi
    [ -z "$fixture_pid" ] || wait "$fixture_pid" 2>/dev/null || true
    fixture_pid=""
}

mounted=()
cleanup() {
    stop_fixture
    for point in "${mounted[@]}"; do umount "$point" || echo "warning: could not unmount $point" >&2; done
}
trap cleanup EXIT

# The run_* functions are called as `run_x || …`, where `set -e` does not apply: each step checks itself.
run_python() {
    start_fixture "$work/python" || return 1
    local status=0
    PYTHONPATH="$out/python" python3 bindings/tests/python/test_rectify.py || status=$?
    stop_fixture
    return $status
}

# Runs JUnit's console launcher against a fresh office: $1 names the run (and its log), $2 is the class
# path, the rest selects the tests. Prints the log and "$1: N passed, N failed"; fails when anything failed
# or nothing ran.
junit_against_office() {
    local name=$1 classpath=$2
    shift 2
    start_fixture "$work/$name" || return 1
    local status=0 log="$work/$name.log" passed failed
    java -Djna.library.path="$out/lib" -jar "$java_lib/junit-platform-console-standalone.jar" \
        --disable-banner --disable-ansi-colors --details=tree --class-path "$classpath" "$@" >"$log" 2>&1 || status=$?
    stop_fixture
    cat "$log"
    passed=$(grep -o -E '[0-9]+ tests successful' "$log" | grep -o -E '^[0-9]+' || echo 0)
    failed=$(grep -o -E '[0-9]+ tests failed' "$log" | grep -o -E '^[0-9]+' || echo 1)
    echo "$name: $passed passed, $failed failed"
    [ "$passed" -gt 0 ] && [ "$failed" -eq 0 ] || status=1
    return $status
}

run_kotlin() {
    [ -x "$kotlin_home/bin/kotlinc" ] || { echo "kotlinc is missing: run scripts/binding-tools.sh" >&2; return 1; }
    local lib="$kotlin_home/lib" classes="$work/kotlin-classes"
    rm -rf "$classes"
    echo "== compiling the Kotlin bindings and tests"
    "$kotlin_home/bin/kotlinc" -nowarn \
        -cp "$java_lib/jna.jar:$java_lib/junit-jupiter-api.jar:$java_lib/apiguardian-api.jar:$lib/kotlinx-coroutines-core-jvm.jar:$lib/kotlin-test.jar" \
        -d "$classes" "$out"/kotlin/app/rectify/core/*.kt bindings/tests/kotlin/RectifyTest.kt || return 1
    junit_against_office kotlin \
        "$classes:$java_lib/jna.jar:$lib/kotlin-stdlib.jar:$lib/kotlinx-coroutines-core-jvm.jar:$lib/kotlin-test.jar" \
        --select-class app.rectify.core.test.RectifyTest
}

# The Android library (android/rectify) as Gradle's JVM unit tests would run it, built here without Gradle
# or the Android SDK: its platform-free sources (app/rectify/kit, Kotlin and Java) and its tests, against
# the generated bindings, OkHttp 3 from Debian and a real office. The Android glue (kit/android: the
# WorkManager worker and scheduler) needs the SDK and is left to Gradle.
run_android() {
    [ -x "$kotlin_home/bin/kotlinc" ] || { echo "kotlinc is missing: run scripts/binding-tools.sh" >&2; return 1; }
    [ -f "$java_lib/okhttp.jar" ] || { echo "OkHttp is missing: run scripts/binding-tools.sh" >&2; return 1; }
    local lib="$kotlin_home/lib" classes="$work/android-classes" module=android/rectify/src
    local deps="$java_lib/jna.jar:$java_lib/okhttp.jar:$java_lib/okio.jar:$lib/kotlin-stdlib.jar:$lib/kotlinx-coroutines-core-jvm.jar"
    local test_deps="$java_lib/junit-jupiter-api.jar:$java_lib/apiguardian-api.jar:$java_lib/opentest4j.jar:$lib/kotlin-test.jar:$lib/kotlin-test-junit5.jar"
    rm -rf "$classes"
    mkdir -p "$classes"
    echo "== compiling the Android library (JVM part) and its tests"
    # Kotlin first, reading the Java sources for their declarations; then javac against Kotlin's classes.
    "$kotlin_home/bin/kotlinc" -nowarn -cp "$deps:$test_deps" -d "$classes" \
        "$out"/kotlin/app/rectify/core/*.kt "$module"/main/kotlin/app/rectify/kit/*.kt \
        "$module"/main/java/app/rectify/kit/*.java "$module"/test/kotlin/app/rectify/kit/*.kt || return 1
    javac -nowarn -d "$classes" -cp "$classes:$deps" "$module"/main/java/app/rectify/kit/*.java || return 1
    junit_against_office android "$classes:$deps:$lib/kotlin-test.jar:$lib/kotlin-test-junit5.jar" \
        --select-package app.rectify.kit
}

# Mounts /proc and /dev into the Swift chroot (Swift's tools find their libraries through /proc/self/exe,
# and the tests need /dev); the EXIT trap unmounts them.
mount_chroot() {
    [ -x "$swift_root/usr/libexec/swift/bin/swift" ] || { echo "swift is missing: run scripts/binding-tools.sh" >&2; return 1; }
    for point in proc dev; do
        if ! mountpoint -q "$swift_root/$point"; then
            if [ $point = proc ]; then
                mount -t proc proc "$swift_root/proc" || return 1
            else
                mount --bind /dev "$swift_root/dev" || return 1
            fi
            mounted+=("$swift_root/$point")
        fi
    done
}

# Puts the generated bindings into the Swift package at $1 (inside the chroot): Rectify.swift, the C
# header with a module map that links the library (the generated one is for Apple platforms), and the
# library itself in lib/.
place_bindings() {
    local package=$1
    mkdir -p "$package/Sources/Rectify" "$package/Sources/RectifyFFI" "$package/lib" || return 1
    cp "$out/swift/Rectify.swift" "$package/Sources/Rectify/" || return 1
    cp "$out/swift/RectifyFFI.h" "$package/Sources/RectifyFFI/" || return 1
    cp "$out/lib/librectify_ffi.so" "$package/lib/" || return 1
    printf 'module RectifyFFI {\n    header "RectifyFFI.h"\n    link "rectify_ffi"\n    export *\n}\n' \
        >"$package/Sources/RectifyFFI/module.modulemap"
}

# Runs `swift test` for the package at $2 (a path inside the chroot) against a fresh office, and prints
# "$1: N passed, N failed".
swift_test() {
    local name=$1 inside=$2
    start_fixture "$swift_root/var/tmp/rectify-$name-fixture" || return 1
    # The fixture's paths, as seen from inside the chroot.
    local variable
    for variable in RECTIFY_PHOTO_BEFORE RECTIFY_PHOTO_AFTER RECTIFY_PHOTO_THIRD; do
        export "$variable=${!variable#"$swift_root"}"
    done
    local status=0 log="$work/$name.log"
    chroot "$swift_root" /usr/bin/env HOME=/root LD_LIBRARY_PATH="$inside/lib" \
        /bin/sh -c "cd $inside && swift test --disable-swift-testing 2>&1" >"$log" 2>&1 || status=$?
    stop_fixture
    grep -v -E '^\[[0-9]+/[0-9]+\] (Compiling|Emitting|Write|Linking|Build|Planning)' "$log" | tail -n 60
    local executed
    executed=$(grep -o -E 'Executed [0-9]+ tests?, with [0-9]+ failures?' "$log" | tail -n1 || true)
    if [ -n "$executed" ]; then
        local total bad
        total=$(echo "$executed" | awk '{print $2}')
        bad=$(echo "$executed" | awk '{print $5}')
        echo "$name: $((total - bad)) passed, $bad failed"
        [ "$total" -gt 0 ] || status=1
    else
        echo "$name: 0 passed, 1 failed (the package did not build or run)"
        status=1
    fi
    return $status
}

run_swift() {
    mount_chroot || return 1
    # The package lives inside the chroot; its .build stays between runs so a rerun only rebuilds what changed.
    local inside=/var/tmp/rectify-swift package="$swift_root/var/tmp/rectify-swift"
    mkdir -p "$package/Tests"
    cp bindings/tests/swift/Package.swift "$package/" || return 1
    rm -rf "$package/Tests/RectifyTests"
    cp -r bindings/tests/swift/Tests/RectifyTests "$package/Tests/" || return 1
    place_bindings "$package" || return 1
    swift_test swift "$inside"
}

# RectifyKit (ios/), the iOS app's Swift package, built and tested as on a Mac but against the Linux
# library: its sources are copied whole into the chroot next to the generated bindings.
run_ios() {
    mount_chroot || return 1
    local inside=/var/tmp/rectify-kit package="$swift_root/var/tmp/rectify-kit"
    mkdir -p "$package"
    rm -rf "$package/Sources/RectifyKit" "$package/Tests"
    cp ios/Package.swift "$package/" || return 1
    mkdir -p "$package/Sources" "$package/Tests"
    cp -r ios/Sources/RectifyKit "$package/Sources/" || return 1
    cp -r ios/Tests/RectifyKitTests "$package/Tests/" || return 1
    mkdir -p "$package/Sources/Rectify"
    cp ios/Sources/Rectify/README.md "$package/Sources/Rectify/" || return 1
    place_bindings "$package" || return 1
    swift_test ios "$inside"
}

failed_languages=()
for language in "${languages[@]}"; do
    echo "== binding tests: $language"
    case "$language" in
        python) run_python || failed_languages+=(python) ;;
        kotlin) run_kotlin || failed_languages+=(kotlin) ;;
        swift) run_swift || failed_languages+=(swift) ;;
        android) run_android || failed_languages+=(android) ;;
        ios) run_ios || failed_languages+=(ios) ;;
        *) echo "unknown name $language (python, kotlin, swift, android, ios)" >&2; exit 2 ;;
    esac
done
if ((${#failed_languages[@]})); then
    echo "binding tests failed in: ${failed_languages[*]}"
    exit 1
fi
echo "binding tests passed in: ${languages[*]}"
