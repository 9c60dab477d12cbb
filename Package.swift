// swift-tools-version:6.0
// swquant: quantization of LLM tensors and quantized matmul on the CPU, with a C ABI.
//
// CMakeLists.txt builds the same sources for the C and Python faces: the two lists of files and flags
// must agree (CMake lists files explicitly; SwiftPM takes each folder).
import PackageDescription

let package = Package(
    name: "swquant",
    products: [
        // The Swift API: `import SwQuant`.
        .library(name: "SwQuant", targets: ["SwQuant"]),
        // The C ABI of include/swquant.h as libswquant.so.
        .library(name: "swquant", type: .dynamic, targets: ["SwQuantCABI"]),
        // The command-line tool (demo table by default, `bench`). SwiftPM cannot give an executable
        // the name of the library product above, so here it is `swquant-cli`; CMake installs it as `swquant`.
        .executable(name: "swquant-cli", targets: ["swquant-cli"]),
    ],
    targets: [
        // MARK: Core (standard library, Synchronization and Dispatch only)
        .target(name: "SwQuant"),

        // MARK: C ABI
        // The hand-written header as a Clang module, so that `@c @implementation` checks each export.
        .systemLibrary(name: "CSwQuant", path: "include"),
        .target(name: "SwQuantCABI", dependencies: ["SwQuant", "CSwQuant"]),

        // MARK: Tools and examples
        // The CLI imports CSwQuant only for the header's version macros.
        .executableTarget(name: "swquant-cli", dependencies: ["SwQuant", "CSwQuant"]),
        .executableTarget(name: "swquant-example", dependencies: ["SwQuant"], path: "examples/swift"),

        // MARK: Tests
        .testTarget(name: "SwQuantTests", dependencies: ["SwQuant"]),
        // Calls the exported C symbols from Swift, through the header.
        .testTarget(name: "SwQuantCABITests", dependencies: ["SwQuantCABI", "CSwQuant"]),
    ]
)
