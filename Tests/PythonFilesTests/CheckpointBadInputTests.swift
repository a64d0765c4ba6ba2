import Foundation
import Testing
@testable import PythonFiles

/// Every way a checkpoint, infos or id-map file can be wrong gives one message naming the file
/// and the fix.
@Suite("Checkpoint reader: bad input")
struct CheckpointBadInputTests {
    func error(_ body: () throws -> Void) -> CheckpointError? {
        do {
            try body()
            return nil
        } catch let error as CheckpointError {
            return error
        } catch {
            Issue.record("expected a CheckpointError, got \(error)")
            return nil
        }
    }

    @Test func refusesATorchScriptArchive() throws {
        let path = CheckpointFixtures.path("torchscript.pt")
        let e = try #require(error { _ = try TorchCheckpoint.load(path: path) })
        #expect(e.kind == .torchScript)
        #expect(e.file == path)
        #expect(e.description.contains("TorchScript archive (torch.jit.save)"))
        #expect(e.description.contains("torch.save(model.state_dict(), 'model.pth')"))
    }

    @Test func refusesATruncatedZip() throws {
        let directory = try CheckpointFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        for keep in [100, 4000, 9000] {
            let path = try CheckpointFixtures.mutated("updown_zip.pth", in: directory) { $0 = Array($0.prefix(keep)) }
            let e = try #require(error { _ = try TorchCheckpoint.load(path: path) }, "kept \(keep) bytes")
            #expect(e.kind == .corruptArchive)
            #expect(e.file == path)
            #expect(e.message.contains("truncated"), "\(e)")
        }
    }

    @Test func refusesACorruptCentralDirectory() throws {
        let directory = try CheckpointFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // Overwrite the first central-directory header's signature.
        let path = try CheckpointFixtures.mutated("updown_zip.pth", in: directory) { bytes in
            for i in stride(from: bytes.count - 4, through: 0, by: -1)
            where bytes[i] == 0x50 && bytes[i + 1] == 0x4B && bytes[i + 2] == 0x01 && bytes[i + 3] == 0x02 {
                bytes[i + 2] = 0x09
                break
            }
        }
        let e = try #require(error { _ = try TorchCheckpoint.load(path: path) })
        #expect(e.kind == .corruptArchive)
        #expect(e.description == "\(path): central directory entry 0 is damaged; the file is corrupt: copy it again"
            || e.message.contains("central directory"), "\(e)")
    }

    @Test func refusesATruncatedLegacyFile() throws {
        let directory = try CheckpointFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        for keep in [40, 1200, 2300] {
            let path = try CheckpointFixtures.mutated("dtypes_legacy.pth", in: directory) { $0 = Array($0.prefix(keep)) }
            let e = try #require(error { _ = try TorchCheckpoint.load(path: path) }, "kept \(keep) bytes")
            #expect(e.file == path)
            #expect(e.message.contains("truncated"), "\(e)")
        }
    }

    @Test func refusesATensorWhoseGlobalIsNotAllowed() throws {
        let path = CheckpointFixtures.path("quantized.pth")
        let e = try #require(error { _ = try TorchCheckpoint.load(path: path) })
        #expect(e.kind == .globalNotAllowed)
        #expect(e.object == "quantized")
        #expect(e.message.contains("torch._utils._rebuild_qtensor"), "\(e)")
        #expect(e.message.contains("not on nightcap's allow-list"))
    }

    @Test func refusesAStorageTypeThatIsNotAllowed() throws {
        let path = CheckpointFixtures.path("complex.pth")
        let e = try #require(error { _ = try TorchCheckpoint.load(path: path) })
        #expect(e.kind == .globalNotAllowed)
        #expect(e.object == "spectrum")
        #expect(e.message.hasPrefix("its storage type torch.ComplexFloatStorage is not on nightcap's allow-list"), "\(e)")
        #expect(e.message.contains("convert the tensor to float32 in Python"))
    }

    @Test func refusesAPickledModule() throws {
        let path = CheckpointFixtures.path("whole_module.pth")
        let e = try #require(error { _ = try TorchCheckpoint.load(path: path) })
        #expect(e.kind == .noStateDict)
        #expect(e.message.contains("torch.nn.modules.linear.Linear"), "\(e)")
        #expect(e.message.contains("torch.save(model.state_dict()"))
    }

    @Test func refusesDictsWithoutAStateDict() throws {
        let empty = CheckpointFixtures.path("empty_model.pth")
        let e1 = try #require(error { _ = try TorchCheckpoint.load(path: empty) })
        #expect(e1.kind == .noStateDict)
        #expect(e1.description == "\(empty): checkpoint['model'] holds no tensors; save the model with torch.save(model.state_dict(), 'model.pth')")
        let none = CheckpointFixtures.path("no_tensors.pth")
        let e2 = try #require(error { _ = try TorchCheckpoint.load(path: none) })
        #expect(e2.kind == .noStateDict)
        #expect(e2.message.hasPrefix("a dict with keys 'epoch', 'lr' and no tensors; nightcap reads a state dict"), "\(e2)")
    }

    @Test func refusesInfosWithoutVocabulary() throws {
        let path = CheckpointFixtures.path("infos_novocab.pkl")
        let e = try #require(error { _ = try TrainingInfos.load(path: path) })
        #expect(e.kind == .badInfos)
        #expect(e.file == path)
        #expect(e.object == "vocab")
        #expect(e.description.hasPrefix("\(path): vocab: the infos file has no 'vocab'"), "\(e)")
    }

    @Test func refusesACheckpointPassedAsInfos() throws {
        let path = CheckpointFixtures.path("updown_zip.pth")
        let e = try #require(error { _ = try TrainingInfos.load(path: path) })
        #expect(e.kind == .badInfos)
        #expect(e.message.contains("not an infos pickle"), "\(e)")
    }

    @Test func refusesAnInfosFilePassedAsModel() throws {
        let path = CheckpointFixtures.path("infos_protocol2.pkl")
        let e = try #require(error { _ = try TorchCheckpoint.load(path: path) })
        #expect(e.kind == .unknownFormat)
        #expect(e.message.contains("pass it with --infos"), "\(e)")
    }

    @Test func refusesAMissingFile() throws {
        let e = try #require(error { _ = try TorchCheckpoint.load(path: "/nonexistent/model-best.pth") })
        #expect(e.kind == .unreadable)
        #expect(e.description.hasPrefix("/nonexistent/model-best.pth: cannot open the file"))
    }

    @Test func refusesATruncatedSafetensorsFile() throws {
        let directory = try CheckpointFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = try CheckpointFixtures.mutated("updown.safetensors", in: directory) { $0 = Array($0.dropLast(100)) }
        let e = try #require(error { _ = try TorchCheckpoint.load(path: path) })
        #expect(e.kind == .corruptArchive)
        #expect(e.message.contains("truncated"), "\(e)")
    }

    @Test func refusesAnIDMapThatIsNotOneRowPerImage() throws {
        let directory = try CheckpointFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // {1: 0, 2: 0} in protocol 2: two images on one row.
        let bytes: [UInt8] = [0x80, 0x02, 0x7D, 0x28, 0x4B, 0x01, 0x4B, 0x00, 0x4B, 0x02, 0x4B, 0x00, 0x75, 0x2E]
        let path = directory.appendingPathComponent("bad_imgid2idx.pkl").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let e = try #require(error { _ = try ImageIDMap.load(path: path) })
        #expect(e.kind == .badIDMap)
        #expect(e.description == "\(path): images 1 and 2 both map to row 0; every row must appear once")
    }
}
