import Foundation
import Testing
import TestSupport
@testable import PythonFiles

/// Mutated real pickles and checkpoints: the reader either reads them or throws a
/// `PickleError`/`CheckpointError`; it never crashes, never hangs, never allocates from a corrupt
/// length (a crash or a trap fails the whole test process, a hang fails the time limit).
@Suite("Pickle reader: fuzzing")
struct PickleFuzzTests {
    /// One mutation: flip bits, overwrite with an interesting byte, insert, delete, truncate or
    /// duplicate a run.
    static func mutate(_ input: [UInt8], using random: inout SeededGenerator) -> [UInt8] {
        var bytes = input
        let interesting: [UInt8] = [0x00, 0xFF, 0x7F, 0x80, 0x28, 0x2E, 0x4A, 0x58, 0x8A, 0x8B, 0x8D, 0x95, 0x71, 0x72, 0x68, 0x6A, 0x0A]
        let edits = Int.random(in: 1...4, using: &random)
        for _ in 0..<edits where !bytes.isEmpty {
            let at = Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<7, using: &random) {
            case 0: bytes[at] ^= UInt8(1 << Int.random(in: 0..<8, using: &random))
            case 1: bytes[at] = interesting.randomElement(using: &random)!
            case 2: bytes.insert(interesting.randomElement(using: &random)!, at: at)
            case 3: bytes.remove(at: at)
            case 4: bytes = Array(bytes.prefix(at))
            case 5:
                let length = min(Int.random(in: 1...16, using: &random), bytes.count - at)
                bytes.insert(contentsOf: bytes[at..<(at + length)], at: at)
            default:
                // A huge length right after an opcode that reads one.
                for i in 0..<min(4, bytes.count - at) { bytes[at + i] = 0xFF }
            }
        }
        return bytes
    }

    static func fixture(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: CheckpointFixtures.path(name))))
    }

    /// The data.pkl of a zip checkpoint.
    static func zipPickle(_ name: String) throws -> [UInt8] {
        let data = Data(try fixture(name))
        let archive = try ZipArchive(data: data, path: name)
        let entry = try #require(archive.entries.first { $0.name.hasSuffix("/data.pkl") })
        return [UInt8](archive.contents(of: entry))
    }

    @Test(.timeLimit(.minutes(3)))
    func mutatedPicklesNeverCrash() throws {
        let seeds: [(String, [UInt8])] = [
            ("infos_protocol2", try Self.fixture("infos_protocol2.pkl")),
            ("infos_protocol0", try Self.fixture("infos_protocol0.pkl")),
            ("infos_python2", try Self.fixture("infos_python2.pkl")),
            ("imgid2idx", try Self.fixture("val36_imgid2idx.pkl")),
            ("updown data.pkl", try Self.zipPickle("updown_zip.pth")),
            ("protocol 4 data.pkl", try Self.zipPickle("updown_protocol4.pth")),
            ("lightning data.pkl", try Self.zipPickle("lightning.ckpt")),
        ]
        var random = SeededGenerator(seed: 14)
        var read = 0, refused = 0
        // Any persistent id is accepted as a float storage, so that mutated tensor pickles reach
        // the tensor rebuilding code too.
        let table = StorageTable(path: "fuzz") { _ in 0..<0 }
        for round in 0..<4000 {
            let (_, seed) = seeds[round % seeds.count]
            let bytes = Self.mutate(seed, using: &random)
            do {
                let value = try PickleMachine.load(Data(bytes)) { id in
                    .storage(try table.reference(persistentID: id, legacy: false))
                }
                _ = value.render()
                read += 1
            } catch is PickleError {
                refused += 1
            }
        }
        #expect(read + refused == 4000)
        #expect(refused > 1000, "most mutations break a pickle")
        #expect(read > 50, "some mutations keep a readable pickle")
    }

    @Test(.timeLimit(.minutes(3)))
    func mutatedCheckpointsNeverCrash() throws {
        let zips = [try Self.fixture("dtypes_zip.pth"), try Self.fixture("updown_zip.pth")]
        let legacies = [try Self.fixture("dtypes_legacy.pth"), try Self.fixture("updown_legacy.pth")]
        var random = SeededGenerator(seed: 1950)
        var outcomes = [String: Int]()
        for round in 0..<1500 {
            let legacy = round % 2 == 1
            let seed = legacy ? legacies[round / 2 % 2] : zips[round / 2 % 2]
            let data = Data(Self.mutate(seed, using: &random))
            do {
                let checkpoint = legacy
                    ? try TorchCheckpoint.loadLegacy(path: "fuzz.pth", data: data)
                    : try TorchCheckpoint.loadZip(path: "fuzz.pth", data: data)
                #expect(!checkpoint.stateDict.tensors.isEmpty)
                outcomes["read", default: 0] += 1
            } catch let error as CheckpointError {
                #expect(error.file == "fuzz.pth")
                outcomes[error.kind.rawValue, default: 0] += 1
            }
        }
        #expect(outcomes.values.reduce(0, +) == 1500)
        #expect(outcomes["read", default: 0] > 0)
    }

    @Test(.timeLimit(.minutes(3)))
    func mutatedInfosIDMapsAndSafetensorsNeverCrash() throws {
        let infos = [try Self.fixture("infos_protocol2.pkl"), try Self.fixture("infos_protocol0.pkl"), try Self.fixture("infos_python2.pkl")]
        let idMap = try Self.fixture("val36_imgid2idx.pkl")
        let safetensors = try Self.fixture("updown.safetensors")
        var random = SeededGenerator(seed: 2048)
        var read = 0, refused = 0
        for round in 0..<3000 {
            do {
                switch round % 3 {
                case 0:
                    let loaded = try TrainingInfos.load(path: "fuzz.pkl", data: Data(Self.mutate(infos[round / 3 % 3], using: &random)))
                    #expect(!loaded.vocabulary.isEmpty)
                case 1:
                    let ids = try ImageIDMap.load(path: "fuzz.pkl", data: Data(Self.mutate(idMap, using: &random)))
                    #expect(Set(ids).count == ids.count)
                default:
                    let checkpoint = try SafetensorsFile.load(path: "fuzz.safetensors", data: Data(Self.mutate(safetensors, using: &random)))
                    #expect(!checkpoint.stateDict.tensors.isEmpty)
                }
                read += 1
            } catch let error as CheckpointError {
                #expect(error.file.hasPrefix("fuzz."))
                refused += 1
            }
        }
        #expect(read + refused == 3000)
        #expect(read > 0 && refused > 0)
    }

    @Test func memoAndLengthsAreBounded() throws {
        // BINUNICODE declaring 4 GiB with 3 bytes left; LONG_BINGET of an index never written;
        // a memo index far out (LONG_BINPUT 0xFFFFFFFF) is stored sparsely, not as an array.
        let cases: [([UInt8], String)] = [
            ([0x80, 0x02, 0x58, 0xFF, 0xFF, 0xFF, 0xFF, 0x61, 0x62, 0x63], "runs past the end of the pickle"),
            ([0x80, 0x02, 0x6A, 0x05, 0x00, 0x00, 0x00, 0x2E], "memo entry 5 is read before it is written"),
            ([0x80, 0x04, 0x8D, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x2E], "runs past the end of the pickle"),
            ([0x80, 0x02, 0x8B, 0x00, 0x00, 0x00, 0x80, 0x2E], "LONG4 with a negative length"),
            ([0x80, 0x02, 0x28, 0x2E], "STOP with 0 values on the stack"),
            ([0x80, 0x02, 0x4E, 0x61, 0x2E], "an empty stack"),
            ([0x80, 0x02, 0x4E], "ends before STOP"),
            ([0x80, 0x09, 0x4E, 0x2E], "pickle protocol 9"),
            ([0x80, 0x02, 0xFE, 0x2E], "unknown opcode 0xfe"),
        ]
        for (bytes, message) in cases {
            #expect(throws: PickleError.self) { try PickleMachine.load(Data(bytes)) }
            do {
                _ = try PickleMachine.load(Data(bytes))
            } catch let error as PickleError {
                #expect(error.message.contains(message), "\(bytes): \(error)")
            }
        }
        let sparse: [UInt8] = [0x80, 0x02, 0x4E, 0x72, 0xFF, 0xFF, 0xFF, 0xFF, 0x2E]
        #expect(try PickleMachine.load(Data(sparse)).isNone)
    }

    @Test func cyclesAndSharingAreWalkedWithinBounds() throws {
        // l = []; l.append(l): a list that contains itself, rendered without recursion blow-up.
        let cyclic: [UInt8] = [0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E]
        let value = try PickleMachine.load(Data(cyclic))
        #expect(value.render().contains("..."))
        // t = (x, x) nested 40 times: 2^40 leaves if walked naively.
        var shared: [UInt8] = [0x80, 0x02, 0x4E]
        for _ in 0..<40 { shared += [0x32, 0x86] }  // DUP, TUPLE2
        shared.append(0x2E)
        #expect(try PickleMachine.load(Data(shared)).render().count < 400)
    }
}
