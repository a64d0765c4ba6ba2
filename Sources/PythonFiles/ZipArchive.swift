import Foundation

/// The entries of a zip archive as `torch.save` writes them: stored (uncompressed) records found
/// through the central directory, with ZIP64 sizes and offsets when present.
///
/// Only what a PyTorch checkpoint needs: no decompression (torch always writes method 0, stored;
/// a deflated entry is listed, and refused when read), no encryption, no multi-disk archives.
/// Each of those is refused with a message. Offsets and
/// sizes are checked against the file before any entry is read, so a truncated download fails
/// here, not later with garbage.
public struct ZipArchive: Sendable {
    public struct Entry: Sendable {
        public var name: String
        /// Where the entry's bytes lie in the file.
        public var range: Range<Int>
        /// Deflated (method 8): torch never writes these; `TorchScript` archives (`torch.jit.save`)
        /// do, and the reader names those before it looks at compression.
        public var isCompressed = false
    }

    public let path: String
    public let data: Data
    /// Entries in central-directory order.
    public let entries: [Entry]
    private let index: [String: Int]

    static let localHeaderSignature: UInt32 = 0x0403_4B50
    static let centralHeaderSignature: UInt32 = 0x0201_4B50
    static let endSignature: UInt32 = 0x0605_4B50
    static let zip64EndSignature: UInt32 = 0x0606_4B50
    static let zip64LocatorSignature: UInt32 = 0x0706_4B50

    /// True when the data starts like a zip (a local file header), which is how `torch.load` decides.
    static func looksLikeZip(_ data: Data) -> Bool {
        data.count >= 4 && data.readUInt32(at: 0) == localHeaderSignature
    }

    /// Reads the directory of the archive `data` (read from `path`, which messages name); throws a
    /// `CheckpointError` (`.corruptArchive`) naming the file and the damage.
    public init(data: Data, path: String) throws {
        self.path = path
        self.data = data
        let reader = Reader(data: data, path: path)
        let directory = try reader.centralDirectory()
        var entries: [Entry] = []
        entries.reserveCapacity(directory.count)
        var index: [String: Int] = [:]
        var position = directory.offset
        for number in 0..<directory.count {
            let (entry, next) = try reader.entry(number: number, at: position, directoryEnd: directory.offset + directory.size)
            if index[entry.name] == nil { index[entry.name] = entries.count }
            entries.append(entry)
            position = next
        }
        self.entries = entries
        self.index = index
    }

    /// Reads the records of an archive; each problem is a `CheckpointError` naming the file.
    private struct Reader {
        let data: Data
        let path: String
        let truncated = "the file is probably truncated (an interrupted copy or download): copy it again"

        func corrupt(_ message: String) -> CheckpointError {
            CheckpointError(.corruptArchive, file: path, message: message)
        }

        /// The central directory's entry count, offset and size, from the end-of-central-directory
        /// record (22 bytes plus a comment of at most 65,535 bytes) and, when there is one, the
        /// ZIP64 record (torch >= 2 always writes the locator and record; their 64-bit values win).
        func centralDirectory() throws -> (count: Int, offset: Int, size: Int) {
            let size = data.count
            var endOffset = -1
            var cursor = size - 22
            let lowest = max(0, size - 22 - 65_535)
            while cursor >= lowest {
                if data.readUInt32(at: cursor) == ZipArchive.endSignature {
                    endOffset = cursor
                    break
                }
                cursor -= 1
            }
            guard endOffset >= 0 else {
                throw corrupt("a zip archive without its end-of-central-directory record; \(truncated)")
            }
            let disk = Int(data.readUInt16(at: endOffset + 4))
            let centralDisk = Int(data.readUInt16(at: endOffset + 6))
            var count = Int(data.readUInt16(at: endOffset + 10))
            var centralSize = Int(data.readUInt32(at: endOffset + 12))
            var centralOffset = Int(data.readUInt32(at: endOffset + 16))
            guard disk == 0 || disk == 0xFFFF, centralDisk == 0 || centralDisk == 0xFFFF else {
                throw corrupt("a multi-disk zip archive; torch writes single files: re-save the checkpoint with torch.save")
            }
            let locator = endOffset - 20
            if locator >= 0, data.readUInt32(at: locator) == ZipArchive.zip64LocatorSignature {
                let recordOffset64 = data.readUInt64(at: locator + 8)
                guard recordOffset64 <= UInt64(size - 56), data.readUInt32(at: Int(recordOffset64)) == ZipArchive.zip64EndSignature else {
                    throw corrupt("the ZIP64 end-of-central-directory record is missing or misplaced; \(truncated)")
                }
                let record = Int(recordOffset64)
                let count64 = data.readUInt64(at: record + 32)
                let size64 = data.readUInt64(at: record + 40)
                let offset64 = data.readUInt64(at: record + 48)
                guard count64 <= UInt64(size), size64 <= UInt64(size), offset64 <= UInt64(size) else {
                    throw corrupt("the ZIP64 end record gives sizes beyond the file (\(size) bytes); \(truncated)")
                }
                count = Int(count64)
                centralSize = Int(size64)
                centralOffset = Int(offset64)
            }
            guard centralOffset <= size, centralSize <= size - centralOffset, centralOffset + centralSize <= endOffset + 1 else {
                throw corrupt("the central directory (\(centralSize) bytes at \(centralOffset)) lies outside the file (\(size) bytes); \(truncated)")
            }
            // Each central record is at least 46 bytes: a count beyond that is corrupt.
            guard count <= centralSize / 46 else {
                throw corrupt("the end record lists \(count) entries, more than the central directory can hold; the file is corrupt")
            }
            return (count, centralOffset, centralSize)
        }

        /// Central directory entry `number` at `position`, checked against its local header, and
        /// where the next entry starts.
        func entry(number: Int, at position: Int, directoryEnd centralEnd: Int) throws -> (Entry, next: Int) {
            let size = data.count
            guard position + 46 <= centralEnd, data.readUInt32(at: position) == ZipArchive.centralHeaderSignature else {
                throw corrupt("central directory entry \(number) is damaged; the file is corrupt: copy it again")
            }
            let flags = data.readUInt16(at: position + 8)
            let method = data.readUInt16(at: position + 10)
            let nameLength = Int(data.readUInt16(at: position + 28))
            let extraLength = Int(data.readUInt16(at: position + 30))
            let commentLength = Int(data.readUInt16(at: position + 32))
            let next = position + 46 + nameLength + extraLength + commentLength
            guard next <= centralEnd else {
                throw corrupt("central directory entry \(number) runs past the directory; the file is corrupt: copy it again")
            }
            let name = String(decoding: data[(position + 46)..<(position + 46 + nameLength)], as: UTF8.self)
            let (compressedSize, uncompressedSize, localOffset) = zip64Values(
                compressed: UInt64(data.readUInt32(at: position + 20)), uncompressed: UInt64(data.readUInt32(at: position + 24)),
                localOffset: UInt64(data.readUInt32(at: position + 42)), extra: position + 46 + nameLength, length: extraLength)
            guard flags & 0x1 == 0 else {
                throw corrupt("entry \(name) is encrypted; torch never encrypts: use the file torch.save wrote")
            }
            guard method == 0 || method == 8 else {
                throw corrupt("entry \(name) uses compression method \(method), which no zip tool torch reads writes; re-save the checkpoint with torch.save")
            }
            guard method != 0 || compressedSize == uncompressedSize else {
                throw corrupt("entry \(name) is stored with \(compressedSize) bytes but declares \(uncompressedSize); the file is corrupt")
            }
            // The local header's own name and extra lengths (torch pads the extra field for alignment).
            guard localOffset <= UInt64(size - 30), data.readUInt32(at: Int(localOffset)) == ZipArchive.localHeaderSignature else {
                throw corrupt("entry \(name): its local header at \(localOffset) is missing; \(truncated)")
            }
            let local = Int(localOffset)
            let start = local + 30 + Int(data.readUInt16(at: local + 26)) + Int(data.readUInt16(at: local + 28))
            guard compressedSize <= UInt64(size), start <= size, Int(compressedSize) <= size - start else {
                throw corrupt("entry \(name) (\(compressedSize) bytes at \(start)) runs past the end of the file (\(size) bytes); \(truncated)")
            }
            return (Entry(name: name, range: start..<(start + Int(compressedSize)), isCompressed: method != 0), next)
        }

        /// The ZIP64 extended information (0x0001) of an entry's extra field at `extra`: the 64-bit
        /// values of the fields set to 0xFFFFFFFF, in order.
        func zip64Values(
            compressed: UInt64, uncompressed: UInt64, localOffset: UInt64, extra start: Int, length extraLength: Int
        ) -> (compressed: UInt64, uncompressed: UInt64, localOffset: UInt64) {
            var (compressedSize, uncompressedSize, localOffset) = (compressed, uncompressed, localOffset)
            var extra = start
            let extraEnd = extra + extraLength
            while extra + 4 <= extraEnd {
                let tag = data.readUInt16(at: extra)
                let length = Int(data.readUInt16(at: extra + 2))
                guard extra + 4 + length <= extraEnd else { break }
                if tag == 0x0001 {
                    var field = extra + 4
                    func next64() -> UInt64? {
                        guard field + 8 <= extra + 4 + length else { return nil }
                        defer { field += 8 }
                        return data.readUInt64(at: field)
                    }
                    if uncompressedSize == 0xFFFF_FFFF { uncompressedSize = next64() ?? uncompressedSize }
                    if compressedSize == 0xFFFF_FFFF { compressedSize = next64() ?? compressedSize }
                    if localOffset == 0xFFFF_FFFF { localOffset = next64() ?? localOffset }
                }
                extra += 4 + length
            }
            return (compressedSize, uncompressedSize, localOffset)
        }
    }

    /// The entry named `name` (the first, when the archive repeats a name).
    public func entry(_ name: String) -> Entry? {
        index[name].map { entries[$0] }
    }

    /// The bytes of an entry (a slice of the file, no copy).
    public func contents(of entry: Entry) -> Data {
        data.subdata(in: entry.range)
    }
}

extension Data {
    /// Little-endian reads at an offset from the start; 0 when out of range (callers check ranges).
    func readUInt16(at offset: Int) -> UInt16 {
        guard offset >= 0, offset + 2 <= count else { return 0 }
        let base = startIndex + offset
        return UInt16(self[base]) | UInt16(self[base + 1]) << 8
    }

    func readUInt32(at offset: Int) -> UInt32 {
        guard offset >= 0, offset + 4 <= count else { return 0 }
        let base = startIndex + offset
        return UInt32(self[base]) | UInt32(self[base + 1]) << 8 | UInt32(self[base + 2]) << 16 | UInt32(self[base + 3]) << 24
    }

    func readUInt64(at offset: Int) -> UInt64 {
        guard offset >= 0, offset + 8 <= count else { return 0 }
        return UInt64(readUInt32(at: offset)) | UInt64(readUInt32(at: offset + 4)) << 32
    }
}
