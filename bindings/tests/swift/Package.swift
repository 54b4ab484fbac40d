// swift-tools-version:5.9
// The generated Swift bindings as a SwiftPM package, as an iOS app would consume them, with their tests.
// scripts/test-bindings.sh copies the generated Rectify.swift and RectifyFFI.h into Sources/ and the
// built library into lib/ before running `swift test`.
import PackageDescription

let package = Package(
    name: "Rectify",
    products: [.library(name: "Rectify", targets: ["Rectify"])],
    targets: [
        // The C declarations of the library's functions; the module map links librectify_ffi.
        .systemLibrary(name: "RectifyFFI", path: "Sources/RectifyFFI"),
        .target(
            name: "Rectify",
            dependencies: ["RectifyFFI"],
            path: "Sources/Rectify",
            linkerSettings: [.unsafeFlags(["-L", Context.packageDirectory + "/lib"])]
        ),
        .testTarget(name: "RectifyTests", dependencies: ["Rectify"], path: "Tests/RectifyTests"),
    ]
)
