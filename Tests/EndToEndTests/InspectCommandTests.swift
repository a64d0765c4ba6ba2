import Foundation
import HDF5
import TestSupport
import Testing

/// `nightcap inspect` run as a user runs it, on a file of each layout.
@Suite(.timeLimit(.minutes(10))) struct InspectCommandTests {
    let folder = TemporaryDirectory()
    let set = SyntheticImageSet(regionCounts: [10, 36, 4, 36, 20], dimension: 32)

    @Test func packed() throws {
        let path = folder.path("packed.h5")
        try set.writePacked(to: path, storage: .float16, options: HDF5StorageOptions(chunks: [1, 36, 32], gzipLevel: 4))
        let outcome = try NightcapProcess.run(["inspect", path])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        #expect(outcome.standardOutput.contains("layout         packed"))
        #expect(outcome.standardOutput.contains("images (N)     5"))
        #expect(outcome.standardOutput.contains("regions (R)    max 36, min 4"))
        #expect(outcome.standardOutput.contains("dimension (D)  32"))
        #expect(outcome.standardOutput.contains("dtype          float16"))
        #expect(outcome.standardOutput.contains("filters: gzip"))
    }

    @Test func perImage() throws {
        let path = folder.path("per-image.h5")
        try set.writePerImage(to: path, suffixed: true, withBoxes: true)
        let outcome = try NightcapProcess.run(["inspect", path])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        #expect(outcome.standardOutput.contains("layout         per-image"))
        #expect(outcome.standardOutput.contains("images (N)     5"))
        #expect(outcome.standardOutput.contains("regions (R)    max 36, min 4"))
        #expect(outcome.standardOutput.contains("dimension (D)  32"))
    }

    @Test func ragged() throws {
        let path = folder.path("ragged.h5")
        try set.writeRagged(to: path, storage: .float64, withBoxes: true)
        let outcome = try NightcapProcess.run(["inspect", path])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        #expect(outcome.standardOutput.contains("layout         ragged"))
        #expect(outcome.standardOutput.contains("images (N)     5"))
        #expect(outcome.standardOutput.contains("regions (R)    max 36, min 4"))
        #expect(outcome.standardOutput.contains("dimension (D)  32"))
        #expect(outcome.standardOutput.contains("positions = \"pos_boxes\""))
    }

    @Test func model() throws {
        let path = folder.path("model.h5")
        var model = TestModelFile(V: 40, E: 8, D: 32, H: 12, A: 10, activation: "relu", gate: false)
        model.storage = .float16
        try model.write(to: path)
        let outcome = try NightcapProcess.run(["inspect", path])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        #expect(outcome.standardOutput.contains("sizes            V=40 E=8 D=32 H=12 A=10"))
        #expect(outcome.standardOutput.contains("attention        relu"))
        #expect(outcome.standardOutput.contains("context gate     no"))
        #expect(outcome.standardOutput.contains("float16"))
        #expect(outcome.standardOutput.contains("end=2 \"<end>\""))
    }

    @Test func badFileExitsNonZeroWithTheMessage() throws {
        let path = folder.path("notes.txt")
        try "hello".write(toFile: path, atomically: true, encoding: .utf8)
        let outcome = try NightcapProcess.run(["inspect", path])
        #expect(outcome.status == 1)
        #expect(!outcome.wasSignalled)
        #expect(outcome.standardError.contains("notes.txt: not an HDF5 file"))
    }
}
