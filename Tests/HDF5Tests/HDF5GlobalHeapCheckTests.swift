import Foundation
import HDF5
import TestSupport
import Testing

/// `HDF5GlobalHeapCheck`, through the string reads that run it. Variable-length strings live in a
/// global heap; HDF5 1.10 trusts the heap's recorded sizes, so a damaged heap corrupts memory or
/// loops for ever inside the library (found by scripts/fuzz). The heap is checked before HDF5 reads
/// the strings: each damage is one clear error naming the file and the dataset.
@Suite struct HDF5GlobalHeapCheckTests {
    let folder = TemporaryDirectory()
    static let strings = ["a cat", "on a mat", "", "two dogs playing", "ünïcödé"]

    /// A file with `names` (strings, shape (5,)) and `grid` (the same strings twice, shape (2, 5)),
    /// and the byte offset of the global heap collection holding them.
    func file(_ name: String, userBlock: Int = 0) throws -> (path: String, bytes: [UInt8], heap: Int) {
        let path = folder.path(name)
        do {
            let file = try HDF5File.create(path, userBlock: userBlock)
            try file.root.writeStrings("names", Self.strings)
            try file.root.writeStrings("grid", Self.strings + Self.strings, shape: [2, 5])
        }
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let heap = try #require((0...(bytes.count - 4)).first { bytes[$0..<($0 + 4)].elementsEqual("GCOL".utf8) })
        return (path, bytes, heap)
    }

    /// The byte offset of the heap object holding `text`'s bytes (its 16-byte header comes first).
    func objectHeader(of text: String, in bytes: [UInt8], heap: Int) throws -> Int {
        let body = Array(text.utf8)
        let at = try #require((heap..<(bytes.count - body.count)).first { bytes[$0..<($0 + body.count)].elementsEqual(body) })
        return at - 16
    }

    func write(_ bytes: [UInt8], _ path: String) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }

    func readError(_ path: String, _ dataset: String = "names") throws -> HDF5Error? {
        let root = try HDF5File.open(path).root
        return #expect(throws: HDF5Error.self) { _ = try root.dataset(dataset).readStrings() }
    }

    /// `userBlock` 512: addresses count from the superblock, 512 bytes into the file (MATLAB v7.3
    /// files have such a user block), and the heap is still checked, at the right place.
    @Test(arguments: [0, 512]) func anIntactHeapReads(userBlock: Int) throws {
        let (path, bytes, _) = try file("intact-\(userBlock).h5", userBlock: userBlock)
        #expect(bytes.count > userBlock && bytes[userBlock..<(userBlock + 8)].elementsEqual([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]))
        let root = try HDF5File.open(path).root
        #expect(try root.dataset("names").readStrings() == Self.strings)
        #expect(try root.dataset("grid").readStrings(start: [1, 2], count: [1, 3]) == Array(Self.strings[2..<5]))
    }

    @Test(arguments: [0, 512]) func anObjectLargerThanItsString(userBlock: Int) throws {
        var (path, bytes, heap) = try file("larger-\(userBlock).h5", userBlock: userBlock)
        let header = try objectHeader(of: "a cat", in: bytes, heap: heap)
        // Object size 5 -> 8 (the same 8-byte slot, so the collection still walks): HDF5 would copy
        // 8 bytes into the 6 it allocates for a 5-byte string.
        bytes[header + 8] = 8
        try write(bytes, path)
        let error = try readError(path)
        #expect(error?.description == "\(path), dataset /names: its variable-length strings are damaged (string 0 is 5 bytes long but its heap object holds 8); write or copy the file again")
    }

    @Test func anObjectPastItsCollection() throws {
        var (path, bytes, heap) = try file("past.h5")
        let header = try objectHeader(of: "on a mat", in: bytes, heap: heap)
        bytes[header + 13] = 0x01  // object size 8 -> 2^40 + 8
        try write(bytes, path)
        let error = try readError(path)
        #expect(error?.description.hasPrefix("\(path), dataset /names: its variable-length strings are damaged (heap object ") == true, "\(String(describing: error))")
        #expect(error?.description.hasSuffix("claims 1099511627784 bytes); write or copy the file again") == true, "\(String(describing: error))")
    }

    @Test func aFreeSpaceOfSizeZeroWouldLoopForEver() throws {
        var (path, bytes, heap) = try file("loop.h5")
        // Walk the collection to its free-space object (index 0) and zero its size, the damage that
        // made HDF5's heap loader loop for ever.
        var cursor = heap + 16
        while bytes[cursor] != 0 || bytes[cursor + 1] != 0 {
            let size = (0..<8).reduce(0) { $0 | Int(bytes[cursor + 8 + $1]) << (8 * $1) }
            cursor += 16 + (size + 7) / 8 * 8
        }
        for offset in 8..<16 { bytes[cursor + offset] = 0 }
        try write(bytes, path)
        let error = try readError(path)
        #expect(error?.description == "\(path), dataset /names: its variable-length strings are damaged (heap object 0 at byte \(heap) has a size (0) that does not fit its collection); write or copy the file again")
    }

    @Test func aStringPointingToNoObject() throws {
        var (path, bytes, heap) = try file("missing.h5")
        let header = try objectHeader(of: "a cat", in: bytes, heap: heap)
        bytes[header] = 0x77  // the object's index: the string's heap id now names an object that is not there
        try write(bytes, path)
        let error = try readError(path)
        #expect(error?.description.contains("its variable-length strings are damaged (string 0 points to heap object ") == true, "\(String(describing: error))")
    }

    /// HDF5 stores an empty string as a heap object of size 0 and follows its id like any other:
    /// a damaged id of an empty string faults as surely (found by scripts/fuzz).
    @Test func anEmptyStringPointingToNoObject() throws {
        var (path, bytes, heap) = try file("empty.h5")
        // The elements of `names`: 4-byte length, 8-byte collection address, 4-byte object index.
        let address = (0..<8).map { UInt8(truncatingIfNeeded: heap >> (8 * $0)) }
        let first = try #require((0...(bytes.count - 12)).first { bytes[$0..<($0 + 12)].elementsEqual([5, 0, 0, 0] + address) })
        let empty = first + 2 * 16
        #expect(Array(bytes[empty..<(empty + 4)]) == [0, 0, 0, 0])
        bytes[empty + 13] = 0x0a
        try write(bytes, path)
        let error = try readError(path)
        #expect(error?.description.contains("its variable-length strings are damaged (string 2 points to heap object ") == true, "\(String(describing: error))")
    }

    @Test func aCollectionThatIsNotOne() throws {
        var (path, bytes, heap) = try file("signature.h5")
        bytes[heap] = UInt8(ascii: "X")
        try write(bytes, path)
        let error = try readError(path, "grid")
        #expect(error?.description == "\(path), dataset /grid: its variable-length strings are damaged (no global heap collection at byte \(heap)); write or copy the file again")
    }

    @Test func aDamagedStringAttribute() throws {
        let path = folder.path("attribute.h5")
        let value = "thirteen char"
        do {
            let file = try HDF5File.create(path)
            try file.root.setAttribute("note", .string(value))
        }
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let heap = try #require((0...(bytes.count - 4)).first { bytes[$0..<($0 + 4)].elementsEqual("GCOL".utf8) })
        #expect(try HDF5File.open(path).root.stringAttribute("note") == value)
        let header = try objectHeader(of: value, in: bytes, heap: heap)
        bytes[header + 8] = 16  // 13 -> 16 bytes, the same 16-byte slot: HDF5 would copy 16 into 14
        try write(bytes, path)
        let root = try HDF5File.open(path).root
        let error = #expect(throws: HDF5Error.self) { _ = try root.stringAttribute("note") }
        #expect(error?.description == "\(path), dataset /@note: its variable-length strings are damaged (string 0 is 13 bytes long but its heap object holds 16); write or copy the file again")
    }
}
