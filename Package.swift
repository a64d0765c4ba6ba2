// swift-tools-version: 6.1
import PackageDescription

/// The resume tests' crash and signal simulation (Pipeline's FaultInjection.swift) and the
/// misbehaving HDF5 reads (HDF5ReadWatch's DebugReadHook) exist in debug builds only, as
/// swift-system compiles its mocking: a release binary ignores the NIGHTCAP_FAULT_* and
/// NIGHTCAP_DEBUG_* variables.
let faultInjection: [SwiftSetting] = [.define("NIGHTCAP_FAULT_INJECTION", .when(configuration: .debug))]

let package = Package(
    name: "nightcap",
    // macOS 15: `Mutex` and `Atomic` (the Synchronization module).
    platforms: [.macOS(.v15)],
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

        // The project's own C, x86-64 code with portable fallbacks, in one target with its one CPUID
        // probe (cpu_features.h): the decoder's AVX2 kernels (static inline in kernels.h and
        // transformer_kernels.h, compiled into their Swift callers) and SHA-256's compression on the
        // SHA extensions (sha256_blocks.c, for Pipeline's SHA256).
        .target(name: "CKernels"),

        // Threads, locks, bounded queues and bounded parallel loops: the one home of concurrency.
        .target(name: "ConcurrencyPrimitives"),
        .target(name: "HDF5", dependencies: ["CHDF5", "CDeflate", "ConcurrencyPrimitives"], swiftSettings: faultInjection),
        .target(name: "RegionFeatures", dependencies: ["HDF5"]),
        // Python's files, read without Python: restricted pickle, zip, PyTorch zip and legacy checkpoints,
        // safetensors, training infos and image-id maps (docs/checkpoints.md). Knows no model family.
        .target(name: "PythonFiles"),
        // Model families (one folder and one registry entry each) and their shared searches; README.md says where to start.
        .target(name: "Captioner", dependencies: ["HDF5", "CBLAS", "CKernels", "PythonFiles"], exclude: ["README.md"]),
        // Metrics as pycocoevalcap computes them; METEOR reads meteor-1.5.jar's data through PythonFiles' zip
        // reader, inflates with libdeflate, and hashes the paraphrase table with CKernels' SHA-256.
        .target(name: "CaptionMetrics", dependencies: ["ConcurrencyPrimitives", "CKernels", "CDeflate", "PythonFiles"]),
        .target(name: "ResultStore", dependencies: ["CaptionMetrics", .product(name: "GRDB", package: "GRDB.swift")]),
        // The report's pictures: decoded, scaled down and re-encoded as JPEG (libjpeg-turbo, libpng).
        .target(name: "Pictures", dependencies: ["CTurboJPEG", "CPNG"]),
        .target(name: "RunReport", dependencies: ["ResultStore", "CaptionMetrics", "Pictures"]),
        .target(
            name: "Pipeline",
            dependencies: [
                "ConcurrencyPrimitives", "HDF5", "RegionFeatures", "PythonFiles", "Captioner", "CaptionMetrics", "ResultStore",
                "CKernels", .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            swiftSettings: faultInjection),
        .executableTarget(
            name: "nightcap",
            dependencies: [
                "ConcurrencyPrimitives", "HDF5", "RegionFeatures", "PythonFiles", "Captioner", "CaptionMetrics", "ResultStore",
                "Pipeline", "RunReport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // Writers of synthetic inputs, shared by the test targets and the in-process benchmarks.
        .target(name: "TestSupport", dependencies: ["ConcurrencyPrimitives", "HDF5"], path: "Sources/TestSupport"),
        // The in-process benchmarks (bench/NightcapBench/main.swift says how to run them); never run
        // by `swift test`.
        .executableTarget(
            name: "nightcap-bench", dependencies: ["Captioner", "CaptionMetrics", "ResultStore", "TestSupport"],
            path: "bench/NightcapBench"),

        .testTarget(name: "ConcurrencyPrimitivesTests", dependencies: ["ConcurrencyPrimitives"]),
        .testTarget(name: "HDF5Tests", dependencies: ["HDF5", "TestSupport"]),
        .testTarget(name: "RegionFeaturesTests", dependencies: ["RegionFeatures", "HDF5", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "PythonFilesTests", dependencies: ["PythonFiles", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "CaptionerTests", dependencies: ["Captioner", "PythonFiles", "HDF5", "TestSupport"], resources: [.copy("Goldens")]),
        .testTarget(name: "CaptionMetricsTests", dependencies: ["CaptionMetrics"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "ResultStoreTests",
            dependencies: ["ResultStore", "CaptionMetrics", "TestSupport", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "PicturesTests", dependencies: ["Pictures", "TestSupport"]),
        .testTarget(
            name: "RunReportTests",
            dependencies: ["RunReport", "Pictures", "ResultStore", "CaptionMetrics", "TestSupport"]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "CaptionMetrics", "HDF5", "RegionFeatures", "PythonFiles", "ResultStore", "TestSupport"]),
        .testTarget(name: "NightcapCLITests", dependencies: ["nightcap", "CaptionMetrics", "Pipeline", "TestSupport"]),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["HDF5", "TestSupport", "ResultStore", "CaptionMetrics", .product(name: "GRDB", package: "GRDB.swift")]),
    ],
    swiftLanguageModes: [.v6]
)
