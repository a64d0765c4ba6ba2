import Foundation
import Testing
@testable import PythonFiles

/// The safetensors layout rule: the tensors tile the data exactly, in the order of their offsets.
/// Files breaking it (which the safetensors library refuses) are refused with the tensors named.
@Suite("SafetensorsFile: data offsets")
struct SafetensorsLayoutTests {
    /// A safetensors file of F32 tensors `name: [begin, end]` over `dataBytes` bytes of data.
    static func file(_ tensors: [(String, Int, Int)], dataBytes: Int) throws -> String {
        var header: [String: Any] = [:]
        for (name, begin, end) in tensors {
            header[name] = ["dtype": "F32", "shape": [(end - begin) / 4], "data_offsets": [begin, end]]
        }
        let json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        var bytes = withUnsafeBytes(of: UInt64(json.count).littleEndian) { Data($0) }
        bytes += json
        bytes += Data((0..<dataBytes).map { UInt8($0 % 7) })
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("nightcap-st-\(UUID().uuidString).safetensors")
        try bytes.write(to: url)
        return url.path
    }

    func error(_ path: String) -> CheckpointError? {
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try TorchCheckpoint.load(path: path)
            return nil
        } catch {
            return error as? CheckpointError
        }
    }

    @Test func readsTensorsThatTileTheData() throws {
        let path = try Self.file([("b", 16, 24), ("a", 0, 16), ("empty", 16, 16)], dataBytes: 24)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let checkpoint = try TorchCheckpoint.load(path: path)
        #expect(checkpoint.tensorNames == ["a", "b", "empty"])
        #expect(checkpoint.stateDict.tensors["a"]?.shape == [4])
        #expect(checkpoint.stateDict.tensors["b"]?.shape == [2])
    }

    @Test func refusesTensorsSharingBytes() throws {
        let path = try Self.file([("first", 0, 16), ("second", 8, 24)], dataBytes: 24)
        let e = try #require(error(path))
        #expect(e.kind == .corruptArchive)
        #expect(e.file == path)
        #expect(e.object == "second")
        #expect(e.message.contains("the tensors `first` (data_offsets [0, 16]) and `second` ([8, 24]) share bytes, which the safetensors format forbids"))
        #expect(e.description.hasPrefix(path))
    }

    @Test func refusesTheSameBytesTwice() throws {
        let path = try Self.file([("a", 0, 16), ("alias", 0, 16)], dataBytes: 16)
        let e = try #require(error(path))
        #expect(e.message.contains("the tensors `a` (data_offsets [0, 16]) and `alias` ([0, 16]) share bytes"))
    }

    @Test func refusesBytesBetweenTensors() throws {
        let path = try Self.file([("a", 0, 8), ("b", 16, 24)], dataBytes: 24)
        let e = try #require(error(path))
        #expect(e.kind == .corruptArchive)
        #expect(e.object == "b")
        #expect(e.message.contains("bytes 8..<16 of the data, between `a` (data_offsets [0, 8]) and `b` ([16, 24]), belong to no tensor"))
    }

    @Test func refusesBytesBeforeTheFirstTensor() throws {
        let path = try Self.file([("a", 8, 16)], dataBytes: 16)
        let e = try #require(error(path))
        #expect(e.message.contains("bytes 0..<8 of the data, before the first tensor, `a` (data_offsets [8, 16]), belong to no tensor"))
    }

    @Test func refusesBytesAfterTheLastTensor() throws {
        let path = try Self.file([("a", 0, 8)], dataBytes: 12)
        let e = try #require(error(path))
        #expect(e.object == "a")
        #expect(e.message.contains("the file holds 4 bytes after its last tensor `a` (data_offsets [0, 8] of 12 data bytes)"))
    }

    @Test func theFixtureTilesItsData() throws {
        let checkpoint = try TorchCheckpoint.load(path: CheckpointFixtures.path("updown.safetensors"))
        #expect(!checkpoint.tensorNames.isEmpty)
    }
}
