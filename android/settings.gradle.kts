// The Android shell: `:rectify`, a Kotlin library over the generated uniffi bindings (its logic runs on a
// plain JVM), and `:app`, the Compose app for inspectors, village secretaries and acceptors.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "rectify-android"
include(":rectify", ":app")
