// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "nightcap",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "nightcap", targets: ["nightcap"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // C libraries, reached through pkg-config; their modules stay internal to the Swift wrappers.
        .systemLibrary(
            name: "CHDF5", pkgConfig: "hdf5-serial",
            providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(
            name: "CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CDeflate", pkgConfig: "libdeflate",
            providers: [.apt(["libdeflate-dev"])]),
        .systemLibrary(
            name: "CTurboJPEG", pkgConfig: "libturbojpeg",
            providers: [.apt(["libturbojpeg0-dev"])]),
        .systemLibrary(
            name: "CPNG", pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"])]),

        // The decoder's AVX2 kernels: the project's own C, header-only, x86-64 only (kernels.h).
        .target(name: "CKernels"),

        // Threads, locks, bounded queues and bounded parallel loops: the one home of concurrency.
        .target(name: "ConcurrencyPrimitives"),
        .target(name: "HDF5", dependencies: ["CHDF5", "CDeflate"]),
        .target(name: "RegionFeatures", dependencies: ["HDF5"]),
        // Python's files, read without Python: restricted pickle, zip, PyTorch zip and legacy checkpoints,
        // safetensors, training infos and image-id maps (docs/checkpoints.md). Knows no model family.
        .target(name: "PythonFiles"),
        // Model families (one folder and one registry entry each) and their shared searches; README.md says where to start.
        .target(name: "Captioner", dependencies: ["HDF5", "CBLAS", "CKernels", "PythonFiles"], exclude: ["README.md"]),
        .target(name: "CaptionMetrics", dependencies: ["ConcurrencyPrimitives", "CKernels", "CDeflate", "PythonFiles"]),
        .target(name: "ResultStore", dependencies: [.product(name: "GRDB", package: "GRDB.swift")]),
        // The report's pictures: decoded, scaled down and re-encoded as JPEG (libjpeg-turbo, libpng).
        .target(name: "Pictures", dependencies: ["CTurboJPEG", "CPNG"]),
        .target(name: "RunReport", dependencies: ["ResultStore", "CaptionMetrics", "Pictures"]),
        .target(
            name: "Pipeline",
            dependencies: [
                "ConcurrencyPrimitives", "HDF5", "RegionFeatures", "PythonFiles", "Captioner", "CaptionMetrics", "ResultStore",
                "CKernels", .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            // The resume tests' crash and signal simulation (FaultInjection.swift) exists in debug
            // builds only, as swift-system compiles its mocking: a release binary ignores the
            // NIGHTCAP_FAULT_* variables.
            swiftSettings: [.define("NIGHTCAP_FAULT_INJECTION", .when(configuration: .debug))]),
        .executableTarget(
            name: "nightcap",
            dependencies: [
                "ConcurrencyPrimitives", "HDF5", "RegionFeatures", "PythonFiles", "Captioner", "CaptionMetrics", "ResultStore",
                "Pipeline", "RunReport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // Writers of synthetic inputs, shared by the test targets only.
        .target(name: "TestSupport", dependencies: ["ConcurrencyPrimitives", "HDF5"], path: "Sources/TestSupport"),

        .testTarget(name: "ConcurrencyPrimitivesTests", dependencies: ["ConcurrencyPrimitives"]),
        .testTarget(name: "HDF5Tests", dependencies: ["HDF5", "TestSupport"]),
        .testTarget(name: "RegionFeaturesTests", dependencies: ["RegionFeatures", "HDF5", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "PythonFilesTests", dependencies: ["PythonFiles", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "CaptionerTests", dependencies: ["Captioner", "PythonFiles", "HDF5", "TestSupport"], resources: [.copy("Goldens")]),
        .testTarget(name: "CaptionMetricsTests", dependencies: ["CaptionMetrics"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "ResultStoreTests",
            dependencies: ["ResultStore", "TestSupport", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "PicturesTests", dependencies: ["Pictures", "TestSupport"]),
        .testTarget(
            name: "RunReportTests",
            dependencies: ["RunReport", "Pictures", "ResultStore", "CaptionMetrics", "TestSupport"]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "HDF5", "RegionFeatures", "ResultStore", "TestSupport"]),
        .testTarget(name: "NightcapCLITests", dependencies: ["nightcap", "CaptionMetrics", "Pipeline", "TestSupport"]),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["HDF5", "TestSupport", "ResultStore", "CaptionMetrics", .product(name: "GRDB", package: "GRDB.swift")]),
    ],
    swiftLanguageModes: [.v6]
)
