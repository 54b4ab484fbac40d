// The Kotlin library over the generated bindings. `scripts/build-rust.sh` (run before the first build,
// and again after the Rust changes) fills build/generated/uniffi with the Kotlin bindings, src/main/jniLibs
// with the library for each Android ABI, and build/host-lib with the library for this machine (for the
// JVM unit tests).
plugins {
    alias(libs.plugins.android.library)
    alias(libs.plugins.kotlin.android)
}

android {
    namespace = "app.rectify.kit"
    compileSdk = 35

    defaultConfig {
        minSdk = 26
        consumerProguardFiles("consumer-rules.pro")
    }

    sourceSets["main"].kotlin.srcDir(layout.buildDirectory.dir("generated/uniffi"))

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    testOptions {
        unitTests.all { test ->
            test.useJUnitPlatform()
            // The host build of librectify_ffi, and the office fixture's variables when a run provides them
            // (see android/README.md); the tests that need an office are skipped without them.
            test.systemProperty("jna.library.path", layout.buildDirectory.dir("host-lib").get().asFile.path)
        }
    }
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    api(libs.kotlinx.coroutines.core)
    implementation(libs.kotlinx.coroutines.android)
    implementation(libs.okhttp)
    implementation(libs.androidx.work.runtime)
    implementation(libs.jna.aar) { artifact { type = "aar" } }

    testImplementation(libs.jna.jvm)
    testImplementation(libs.junit.jupiter)
    testImplementation(kotlin("test-junit5"))
    testRuntimeOnly(libs.junit.platform.launcher)
}
