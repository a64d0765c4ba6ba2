import Foundation
import Testing
@testable import PythonFiles

/// The fixtures of tools/make_checkpoint_fixtures.py: real `torch.save` output and what torch
/// itself read back from each file (`expected.json`).
enum CheckpointFixtures {
    static var directory: URL? {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)?.appendingPathComponent("checkpoints")
    }

    static func path(_ name: String) -> String { directory!.appendingPathComponent(name).path }

    /// Read on each use: `[String: Any]` cannot be a shared static under strict concurrency.
    static var expected: [String: Any] {
        guard let directory, let data = try? Data(contentsOf: directory.appendingPathComponent("expected.json")),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return [:] }
        return object
    }

    static var checkpoints: [String: [String: Any]] { expected["checkpoints"] as? [String: [String: Any]] ?? [:] }
    static var infos: [String: [String: Any]] { expected["infos"] as? [String: [String: Any]] ?? [:] }

    /// A copy of a fixture, changed, in a temporary file.
    static func mutated(_ name: String, in directory: URL, _ change: (inout [UInt8]) -> Void) throws -> String {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(name))))
        change(&bytes)
        let out = directory.appendingPathComponent(UUID().uuidString + "-" + name)
        try Data(bytes).write(to: out)
        return out.path
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("nightcap-ckpt-" + UUID().uuidString)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Compares a TrainingInfos with what Python read from the same file.
func expectInfos(_ infos: TrainingInfos, equal record: [String: Any]) {
    let options = record["options"] as? [String: [String: Any]] ?? [:]
    #expect(infos.options.count == options.count)
    for (name, value) in options {
        let actual = infos.options[name]
        if value["none"] != nil {
            #expect(actual == TrainingOption.none, "option \(name)")
        } else if let b = value["bool"] as? Bool {
            #expect(actual == .bool(b), "option \(name)")
        } else if let i = value["int"] as? Int {
            #expect(actual == .int(i), "option \(name)")
        } else if let d = value["double"] as? Double {
            #expect(actual == .double(d), "option \(name)")
        } else if let s = value["string"] as? String {
            #expect(actual == .string(s), "option \(name)")
        } else {
            guard case .other? = actual else {
                Issue.record("option \(name): expected an unreadable value, got \(String(describing: actual))")
                continue
            }
        }
    }
    let vocabulary = record["vocabulary"] as? [String: String] ?? [:]
    #expect(infos.vocabulary.count == vocabulary.count)
    for (key, word) in vocabulary {
        #expect(infos.vocabulary[Int(key)!] == word, "vocabulary \(key)")
    }
}

@Suite("Checkpoint reader: real torch.save files")
struct CheckpointReaderTests {
    @Test func fixturesArePresent() {
        #expect(CheckpointFixtures.checkpoints.count >= 10, "run tools/make_checkpoint_fixtures.py")
        #expect(CheckpointFixtures.infos.count == 3)
    }

    @Test(arguments: CheckpointFixtures.checkpoints.keys.sorted())
    func readsLikeTorch(_ name: String) throws {
        let record = try #require(CheckpointFixtures.checkpoints[name])
        let checkpoint = try TorchCheckpoint.load(path: CheckpointFixtures.path(name))
        #expect(checkpoint.format.rawValue == record["format"] as? String)
        #expect(checkpoint.container == record["container"] as? String)
        #expect(checkpoint.removedPrefix == record["removed_prefix"] as? String)
        if let proto = record["pickle_protocol"] as? Int { #expect(checkpoint.pickleProtocol == proto) }
        let names = try #require(record["tensor_names"] as? [String])
        #expect(checkpoint.tensorNames == names)
        let tensors = try #require(record["tensors"] as? [String: [String: Any]])
        #expect(checkpoint.stateDict.tensors.count == tensors.count)
        for (tensorName, expected) in tensors {
            let tensor = try #require(checkpoint.stateDict.tensors[tensorName], "tensor \(tensorName)")
            #expect(tensor.shape == expected["shape"] as? [Int], "shape of \(tensorName)")
            #expect(checkpoint.storedTypes[tensorName] == expected["dtype"] as? String, "dtype of \(tensorName)")
            let values = (expected["values"] as? [Double] ?? []).map { Float($0) }
            #expect(tensor.values == values, "values of \(tensorName)")
        }
        if let embedded = record["embedded_infos"] as? [String: Any] {
            let infos = try #require(checkpoint.embeddedInfos)
            expectInfos(infos, equal: embedded)
        } else {
            #expect(checkpoint.embeddedInfos == nil)
        }
    }

    @Test func zipAndLegacyHoldTheSameTensors() throws {
        let zip = try TorchCheckpoint.load(path: CheckpointFixtures.path("updown_zip.pth"))
        let legacy = try TorchCheckpoint.load(path: CheckpointFixtures.path("updown_legacy.pth"))
        #expect(zip.format == .zip)
        #expect(legacy.format == .legacy)
        #expect(zip.stateDict.tensors == legacy.stateDict.tensors)
        #expect(zip.tensorNames.count == 21)
    }

    @Test func formatsAreFoundByContent() throws {
        let directory = try CheckpointFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // A legacy file named .ckpt and a zip named .bin still read as what they are.
        for (name, renamed, format) in [("updown_legacy.pth", "x.ckpt", TorchCheckpoint.Format.legacy), ("updown_zip.pth", "y.bin", .zip)] {
            let target = directory.appendingPathComponent(renamed)
            try FileManager.default.copyItem(atPath: CheckpointFixtures.path(name), toPath: target.path)
            #expect(try TorchCheckpoint.load(path: target.path).format == format)
        }
        #expect(try CheckpointFormat.detect(path: CheckpointFixtures.path("updown.safetensors")) == .safetensors)
        // A legacy file saved with pickle_protocol=4 starts with FRAME, not the protocol-2 magic bytes.
        #expect(try CheckpointFormat.detect(path: CheckpointFixtures.path("updown_legacy_protocol4.pth")) == .torchLegacy)
        #expect(try CheckpointFormat.detect(path: CheckpointFixtures.path("infos_protocol2.pkl")) == .pickle)
        #expect(try CheckpointFormat.detect(path: CheckpointFixtures.path("infos_protocol0.pkl")) == .pickle)
    }

    @Test(arguments: ["infos_protocol2.pkl", "infos_protocol0.pkl", "infos_python2.pkl"])
    func readsInfos(_ name: String) throws {
        let infos = try TrainingInfos.load(path: CheckpointFixtures.path(name))
        expectInfos(infos, equal: try #require(CheckpointFixtures.infos[name]))
        #expect(infos.source == CheckpointFixtures.path(name))
    }

    @Test func readsNumpyScalarsInInfos() throws {
        // best_val_score is a numpy.float64 in all three files (a raw Python 2 str in the last one).
        for name in ["infos_protocol2.pkl", "infos_protocol0.pkl", "infos_python2.pkl"] {
            let data = try Data(contentsOf: URL(fileURLWithPath: CheckpointFixtures.path(name)))
            guard case .dict(let top) = try PickleMachine.load(data), case .float(let score)? = top["best_val_score"] else {
                Issue.record("\(name): best_val_score is not a number")
                continue
            }
            #expect(score == CheckpointFixtures.infos[name]?["best_val_score"] as? Double, "\(name)")
        }
    }

    @Test func readsAnImageIDMap() throws {
        let ids = try ImageIDMap.load(path: CheckpointFixtures.path("val36_imgid2idx.pkl"))
        let expected = (CheckpointFixtures.expected["id_maps"] as? [String: [String]])?["val36_imgid2idx.pkl"]
        #expect(ids == expected)
    }
}
