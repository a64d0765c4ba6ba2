import Foundation
import Testing
@testable import PythonFiles

/// The zip reader on its own: archives written byte by byte here (stored, deflated, encrypted,
/// damaged) and a real `torch.save` archive.
@Suite("ZipArchive")
struct ZipArchiveTests {
    /// A zip archive of `files`, each with compression `method` and general-purpose `flags` as
    /// given (the bytes are stored as they are, whatever the method says).
    static func archive(_ files: [(name: String, bytes: [UInt8])], method: UInt16 = 0, flags: UInt16 = 0) -> [UInt8] {
        func u16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func u32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
        var out: [UInt8] = []
        var central: [UInt8] = []
        for file in files {
            let name = Array(file.name.utf8)
            let offset = UInt32(out.count)
            out += u32(0x0403_4B50) + u16(20) + u16(flags) + u16(method) + u16(0) + u16(0) + u32(0)
            out += u32(UInt32(file.bytes.count)) + u32(UInt32(file.bytes.count)) + u16(UInt16(name.count)) + u16(0) + name + file.bytes
            central += u32(0x0201_4B50) + u16(20) + u16(20) + u16(flags) + u16(method) + u16(0) + u16(0) + u32(0)
            central += u32(UInt32(file.bytes.count)) + u32(UInt32(file.bytes.count)) + u16(UInt16(name.count)) + u16(0) + u16(0)
            central += u16(0) + u16(0) + u32(0) + u32(offset) + name
        }
        let directoryOffset = UInt32(out.count)
        out += central
        out += u32(0x0605_4B50) + u16(0) + u16(0) + u16(UInt16(files.count)) + u16(UInt16(files.count))
        out += u32(UInt32(central.count)) + u32(directoryOffset) + u16(0)
        return out
    }

    func error(_ bytes: [UInt8]) -> CheckpointError? {
        do {
            _ = try ZipArchive(data: Data(bytes), path: "a.zip")
            return nil
        } catch {
            return error as? CheckpointError
        }
    }

    @Test func readsStoredEntriesInDirectoryOrder() throws {
        let zip = try ZipArchive(data: Data(Self.archive([("m/data.pkl", [1, 2, 3]), ("m/version", Array("3\n".utf8))])), path: "a.zip")
        #expect(zip.entries.map(\.name) == ["m/data.pkl", "m/version"])
        let version = try #require(zip.entry("m/version"))
        #expect(zip.contents(of: version) == Data("3\n".utf8))
        #expect(zip.contents(of: zip.entries[0]) == Data([1, 2, 3]))
        #expect(!version.isCompressed)
        #expect(zip.entry("m/missing") == nil)
    }

    @Test func listsADeflatedEntryAsCompressed() throws {
        let zip = try ZipArchive(data: Data(Self.archive([("code/x.py", [9, 9])], method: 8)), path: "a.zip")
        #expect(zip.entries.first?.isCompressed == true)
    }

    @Test func refusesAnEncryptedEntry() throws {
        let e = try #require(error(Self.archive([("secret", [1])], flags: 1)))
        #expect(e.kind == .corruptArchive)
        #expect(e.description == "a.zip: entry secret is encrypted; torch never encrypts: use the file torch.save wrote")
    }

    @Test func refusesAnUnknownCompressionMethod() throws {
        let e = try #require(error(Self.archive([("x", [1])], method: 12)))
        #expect(e.message.contains("entry x uses compression method 12"))
    }

    @Test func refusesAnArchiveWithoutItsEndRecord() throws {
        let bytes = Self.archive([("x", [1, 2, 3])])
        let e = try #require(error(Array(bytes.dropLast(22))))
        #expect(e.message.hasPrefix("a zip archive without its end-of-central-directory record; the file is probably truncated"))
    }

    @Test func refusesAnEntryRunningPastTheFile() throws {
        var bytes = Self.archive([("x", [1, 2, 3])])
        // The central record's compressed and uncompressed sizes (offsets 20 and 24 of the record).
        let central = bytes.count - 22 - (46 + 1)
        bytes[central + 20] = 200
        bytes[central + 24] = 200
        let e = try #require(error(bytes))
        #expect(e.message.contains("entry x (200 bytes at 31) runs past the end of the file"))
    }

    @Test func readsATorchSaveArchive() throws {
        let path = CheckpointFixtures.path("updown_zip.pth")
        let zip = try ZipArchive(data: try Data(contentsOf: URL(fileURLWithPath: path)), path: path)
        #expect(zip.entries.first?.name == "updown_zip/data.pkl")
        let format = try #require(zip.entry("updown_zip/.format_version"))
        #expect(zip.contents(of: format) == Data("1".utf8))
        #expect(zip.entries.allSatisfy { !$0.isCompressed })
    }
}
