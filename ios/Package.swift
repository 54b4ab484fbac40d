// swift-tools-version:5.9
// RectifyKit: the Rectify core for Swift apps, over the generated uniffi bindings.
//
// - `RectifyFFI`: the C side of the bindings. On Apple platforms, the XCFramework that
//   `scripts/build-xcframework.sh` builds; on Linux (where the tests run), the generated header with a
//   module map that links librectify_ffi from `lib/`.
// - `Rectify`: the generated Swift bindings (`Sources/Rectify/Rectify.swift`, written by the same script or
//   by scripts/test-bindings.sh; never edited by hand).
// - `RectifyKit`: async/await, change streams, URLSession transports and the background sync's logic.
import PackageDescription

#if os(Linux)
let ffi: Target = .systemLibrary(name: "RectifyFFI", path: "Sources/RectifyFFI")
let linkLibrary: [LinkerSetting] = [.unsafeFlags(["-L", Context.packageDirectory + "/lib"])]
#else
let ffi: Target = .binaryTarget(name: "RectifyFFI", path: "RectifyFFI.xcframework")
let linkLibrary: [LinkerSetting] = []
#endif

let package = Package(
    name: "RectifyKit",
    platforms: [.iOS(.v16), .macOS(.v13)],
    products: [.library(name: "RectifyKit", targets: ["RectifyKit"])],
    targets: [
        ffi,
        .target(
            name: "Rectify", dependencies: ["RectifyFFI"], path: "Sources/Rectify", exclude: ["README.md"],
            linkerSettings: linkLibrary
        ),
        .target(name: "RectifyKit", dependencies: ["Rectify"], path: "Sources/RectifyKit"),
        .testTarget(name: "RectifyKitTests", dependencies: ["RectifyKit"], path: "Tests/RectifyKitTests"),
    ]
)
