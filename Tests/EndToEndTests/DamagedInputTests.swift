import Foundation
import TestSupport
import Testing

/// Damaged inputs end `nightcap run` with one message naming the file and the dataset, exit 1.
@Suite(.timeLimit(.minutes(3))) struct DamagedInputTests {
    /// Replaces the first little-endian 64-bit encoding of `dims` in the file with `replacement`.
    static func patch(_ path: String, dims: [UInt64], with replacement: [UInt64]) throws {
        func encoded(_ values: [UInt64]) -> [UInt8] { values.flatMap { value in (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } } }
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let original = encoded(dims)
        let at = try #require((0...(bytes.count - original.count)).first { Array(bytes[$0..<($0 + original.count)]) == original })
        bytes.replaceSubrange(at..<(at + original.count), with: encoded(replacement))
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    @Test func aHugeDimensionInTheFeaturesHeader() throws {
        let fixture = try RunFixture()
        // The fixture's features are (48, 8, 16); the fuzzing found (48, 222101348810766, 40)-like headers.
        try Self.patch(fixture.features, dims: [48, 8, 16], with: [48, 222_101_348_810_766, 16])
        let outcome = try NightcapProcess.run(fixture.runArguments(database: fixture.path("r.sqlite"), extra: ["--threads", "2"]))
        #expect(outcome.status == 1)
        #expect(
            outcome.standardError.contains(
                "\(fixture.features), dataset /features: its shape (48, 222101348810766, 16) exceeds its maximum shape (48, 8, 16) in dimension 1: the file is damaged; write or copy it again"),
            "\(outcome.standardError)")
    }

    @Test func aHugeDimensionInTheModel() throws {
        let fixture = try RunFixture()
        // The embedding of the fixture's model is [30, 8] (V, E); its maximum shape follows it.
        try Self.patch(fixture.model, dims: [30, 8, 30, 8], with: [30, 1 << 61, 30, 8])
        let outcome = try NightcapProcess.run(fixture.runArguments(database: fixture.path("r.sqlite"), extra: ["--threads", "2"]))
        #expect(outcome.status == 1)
        #expect(outcome.standardError.contains(fixture.model))
        #expect(
            outcome.standardError.contains(
                "dataset /embedding.weight: its shape (30, \(UInt64(1) << 61)) exceeds its maximum shape (30, 8) in dimension 1: the file is damaged; write or copy it again"),
            "\(outcome.standardError)")
        // The file is named once, by the model file's error, not again by the HDF5 error inside it.
        #expect(
            outcome.standardError.contains("model file \(fixture.model): dataset /embedding.weight: its shape"),
            "\(outcome.standardError)")
        #expect(outcome.standardError.components(separatedBy: fixture.model).count == 2, "\(outcome.standardError)")
    }
}

/// A file whose damaged string heap made libhdf5 1.10 write out of bounds (found by scripts/fuzz),
/// and a fault inside libhdf5 itself: each one message and exit 1, never a crash.
@Suite(.timeLimit(.minutes(3))) struct LibraryFaultTests {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let model = repository.appendingPathComponent("pipelines/demo/model.h5").path
    static let references = repository.appendingPathComponent("pipelines/demo/references.json").path

    func run(_ features: String, environment: [String: String] = [:]) throws -> (NightcapProcess.Outcome, TemporaryDirectory) {
        let folder = TemporaryDirectory()
        let outcome = try NightcapProcess.run([
            "run", "--features", features, "--model", Self.model, "--references", Self.references, "--db", folder.path("r.sqlite"),
            "--threads", "2", "--shard-size", "8", "--quiet",
        ], environment: environment)
        return (outcome, folder)
    }

    @Test func aDamagedStringHeapIsADamagedFileError() throws {
        let features = Self.repository.appendingPathComponent("scripts/fuzz-cases/libhdf5-fault-features.h5").path
        let (outcome, _) = try run(features)
        #expect(outcome.status == 1, "\(outcome.standardError)")
        #expect(
            outcome.standardError.contains(
                "\(features), dataset /region_labels: its variable-length strings are damaged (string 17 points to heap object 65198, which does not exist); write or copy the file again"),
            "\(outcome.standardError)")
        #expect(!outcome.standardError.contains("Program crashed"))
    }

    @Test func aFaultInsideLibHDF5IsADamagedFileError() throws {
        let features = Self.repository.appendingPathComponent("pipelines/demo/features.h5").path
        let (outcome, _) = try run(features, environment: ["NIGHTCAP_DEBUG_FAULTING_READ": "/features@2"])
        #expect(outcome.status == 1, "\(outcome.standardError)")
        #expect(
            outcome.standardError.contains(
                "nightcap: the HDF5 library crashed (a memory fault) while reading \(features) or \(Self.model): the file is damaged; check each with `nightcap inspect FILE` and write or copy the damaged one again. Shards committed before are kept: run the same command to resume."),
            "\(outcome.standardError)")
        #expect(!outcome.standardError.contains("Program crashed"))
    }
}
