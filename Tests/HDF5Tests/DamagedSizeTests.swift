import Foundation
import HDF5
import TestSupport
import Testing

/// Sizes a damaged file declares are checked before anything is allocated for them: each case is
/// one clear error naming the file and the dataset, never an aborted allocation.
@Suite struct DamagedSizeTests {
    let folder = TemporaryDirectory()

    /// Writes `x` of shape (7, 13, 40), then overwrites the dataspace's dimensions and maximum
    /// dimensions (little-endian 64-bit values, one after the other in the object header).
    func damagedFile(dims: [UInt64], maxDims: [UInt64], chunked: Bool) throws -> String {
        let path = folder.path("damaged-\(dims)-\(maxDims)-\(chunked).h5")
        do {
            let file = try HDF5File.create(path)
            let options = chunked ? HDF5StorageOptions(chunks: [1, 13, 40], gzipLevel: 1) : HDF5StorageOptions()
            try file.root.writeFloats("x", [Float](repeating: 0.5, count: 7 * 13 * 40), shape: [7, 13, 40], options: options)
        }
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        func encoded(_ values: [UInt64]) -> [UInt8] { values.flatMap { value in (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } } }
        let original = encoded([7, 13, 40])
        // The dataspace message: dims, then maxdims when present (the same values for a fixed-size
        // dataset, or unlimited). Replace the first occurrence of the dims and what follows.
        let at = try #require((0...(bytes.count - original.count)).first { Array(bytes[$0..<($0 + original.count)]) == original })
        let replacement = encoded(dims) + encoded(maxDims)
        bytes.replaceSubrange(at..<(at + replacement.count), with: replacement)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func openError(_ path: String) throws -> HDF5Error? {
        let file = try HDF5File.open(path)
        return #expect(throws: HDF5Error.self) { _ = try file.root.dataset("x").readFloats() }
    }

    @Test(arguments: [false, true])
    func aDimensionBeyondItsMaximum(chunked: Bool) throws {
        let path = try damagedFile(dims: [7, 222_101_348_810_766, 40], maxDims: [7, 13, 40], chunked: chunked)
        let error = try openError(path)
        #expect(
            error?.description
                == "\(path), dataset /x: its shape (7, 222101348810766, 40) exceeds its maximum shape (7, 13, 40) in dimension 1: the file is damaged; write or copy it again")
    }

    @Test func moreBytesThanTheFileCanStore() throws {
        let huge: UInt64 = 1 << 40
        let path = try damagedFile(dims: [7, huge, 40], maxDims: [7, huge, 40], chunked: true)
        let size = try #require((try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue)
        let error = try openError(path)
        #expect(
            error?.description
                == "\(path), dataset /x: its shape (7, \(huge), 40) holds \(7 * Int(huge) * 40 * 4) bytes, more than a file of \(size) bytes can store: the file is damaged; write or copy it again")
    }

    @Test func aShapeWhoseSizeOverflows() throws {
        let huge: UInt64 = 1 << 62
        let path = try damagedFile(dims: [7, huge, 40], maxDims: [7, huge, 40], chunked: true)
        let error = try openError(path)
        #expect(
            error?.description
                == "\(path), dataset /x: its shape (7, \(huge), 40) holds more elements than any computer can address: the file is damaged; write or copy it again")
    }

    @Test func anUndamagedFileStillReads() throws {
        let path = try damagedFile(dims: [7, 13, 40], maxDims: [7, 13, 40], chunked: true)
        #expect(try HDF5File.open(path).root.dataset("x").readFloats().allSatisfy { $0 == 0.5 })
    }

    /// A float16 whose datatype message says 246 bytes (found by scripts/fuzz: HDF5 1.10 then
    /// converts out of bounds).
    @Test func aFloatTypeOfAnImpossibleSize() throws {
        let path = folder.path("float-size.h5")
        do {
            let file = try HDF5File.create(path)
            try file.root.writeFloats("x", [Float](repeating: 0.5, count: 6), shape: [2, 3], as: .float16)
        }
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        // An IEEE half's properties: bit offset 0, precision 16, exponent at 10 of 5 bits, mantissa
        // at 0 of 10 bits; the 4-byte size comes just before them.
        let properties: [UInt8] = [0x00, 0x00, 0x10, 0x00, 0x0a, 0x05, 0x00, 0x0a]
        let at = try #require((0...(bytes.count - properties.count)).first { bytes[$0..<($0 + properties.count)].elementsEqual(properties) })
        #expect(bytes[at - 4] == 2)
        bytes[at - 4] = 246
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: HDF5Error.self) { _ = try HDF5File.open(path).root.dataset("x") }
        #expect(error?.description == "\(path), dataset /x: declares a float type of 246 bytes with 16 bits at bit 0, which HDF5 never writes: the file is damaged; write or copy it again")
    }
}
