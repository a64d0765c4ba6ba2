import Foundation
import HDF5
import TestSupport
import Testing

/// `--id-map`: a packed file without ids, named by an `*_imgid2idx.pkl`, gives the run a run with
/// the ids in the file gives.
@Suite(.timeLimit(.minutes(5)))
struct IDMapRunTests {
    /// `pickle.dumps({id: row, ...}, protocol=2)` as Python writes it: EMPTY_DICT, BINPUT, MARK,
    /// BININT key, BININT value..., SETITEMS, STOP.
    static func idMapPickle(_ ids: [Int32]) -> Data {
        var bytes: [UInt8] = [0x80, 0x02, 0x7D, 0x71, 0x00, 0x28]
        func binInt(_ v: Int32) -> [UInt8] { [0x4A] + withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        for (row, id) in ids.enumerated() { bytes += binInt(id) + binInt(Int32(row)) }
        bytes += [0x75, 0x2E]
        return Data(bytes)
    }

    @Test func anIDMapNamesTheRowsOfAFileWithoutIDs() throws {
        let fixture = try RunFixture(images: 12)
        let counts = (0..<12).map { 3 + ($0 * 5) % 6 }
        let bare = fixture.path("val36.h5")
        try SyntheticImageSet(regionCounts: counts, dimension: 16, firstID: 500_000)
            .writePacked(to: bare, ids: .none, options: HDF5StorageOptions(chunks: [8, 8, 16], gzipLevel: 4), withBoxes: true, withLabels: true)
        let map = fixture.path("val36_imgid2idx.pkl")
        try Self.idMapPickle((0..<12).map { 500_000 + Int32($0) }).write(to: URL(fileURLWithPath: map))

        let withIDs = fixture.path("with-ids.sqlite"), fromMap = fixture.path("from-map.sqlite")
        let first = try NightcapProcess.run(fixture.runArguments(database: withIDs, extra: ["--threads", "2"]))
        #expect(first.status == 0, "\(first.standardError)")
        var arguments = fixture.runArguments(database: fromMap, replacing: "--features", with: bare)
        arguments += ["--id-map", map, "--threads", "2"]
        let second = try NightcapProcess.run(arguments)
        #expect(second.status == 0, "\(second.standardError)")
        #expect(try RunFixture.snapshot(database: fromMap) == RunFixture.snapshot(database: withIDs))
    }

    @Test func aBrokenIDMapIsOneMessage() throws {
        let fixture = try RunFixture(images: 4)
        let bare = fixture.path("bare.h5")
        try SyntheticImageSet(regionCounts: [3, 4, 5, 6], dimension: 16, firstID: 500_000).writePacked(to: bare, ids: .none)
        let map = fixture.path("train_imgid2idx.pkl")
        try Data([0x80, 0x02, 0x7D, 0x71]).write(to: URL(fileURLWithPath: map))  // truncated
        var arguments = fixture.runArguments(database: fixture.path("r.sqlite"), replacing: "--features", with: bare)
        arguments += ["--id-map", map, "--threads", "2"]
        let outcome = try NightcapProcess.run(arguments)
        #expect(outcome.status == 1)
        #expect(outcome.standardError.contains("\(map): pickle byte 3: the pickle ends before STOP (truncated)"), "\(outcome.standardError)")
        #expect(outcome.standardError.contains("copy it again or write it again with the converter"))
    }
}
