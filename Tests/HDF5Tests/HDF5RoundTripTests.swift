import Foundation
@testable import HDF5
import TestSupport
import Testing

@Suite struct HDF5RoundTripTests {
    let folder = TemporaryDirectory()

    @Test(arguments: [HDF5StorageType.float16, .float32, .float64])
    func floatsArriveAsFloat32(storage: HDF5StorageType) throws {
        let path = folder.path("floats.h5")
        let values: [Float] = (0..<24).map { Float($0) * 0.25 - 2 }  // exact in float16 too
        do {
            let file = try HDF5File.create(path)
            try file.root.writeFloats("x", values, shape: [2, 3, 4], as: storage)
        }
        let dataset = try HDF5File.open(path).root.dataset("x")
        #expect(dataset.shape == [2, 3, 4])
        #expect(dataset.elementType == .float(bits: storage == .float16 ? 16 : storage == .float32 ? 32 : 64))
        #expect(try dataset.readFloats() == values)
        // A hyperslab: the second row of the first plane.
        #expect(try dataset.readFloats(start: [0, 1, 0], count: [1, 1, 4]) == Array(values[4..<8]))
        #expect(try dataset.readFloats(start: [1, 0, 0], count: [1, 3, 4]) == Array(values[12..<24]))
    }

    /// One row per chunk, shuffle + gzip: the raw-chunk path (libdeflate) gives exactly what HDF5's
    /// pipeline gives; other layouts are refused, for the caller to read through HDF5.
    @Test func rowChunksInflateDirectlyToTheSameBits() throws {
        let path = folder.path("rows.h5")
        // Post-ReLU-like: half exact zeros, the rest of all magnitudes.
        let values: [Float] = (0..<(7 * 5 * 6)).map { (index: Int) -> Float in
            let scale: Float = pow(10, Float(index % 9) - 4)
            return index % 2 == 0 ? 0 : sin(Float(index)) * scale
        }
        do {
            let file = try HDF5File.create(path)
            try file.root.writeFloats(
                "rows", values, shape: [7, 5, 6], options: HDF5StorageOptions(chunks: [1, 5, 6], gzipLevel: 4, shuffle: true))
            try file.root.writeFloats(
                "gzipOnly", values, shape: [7, 5, 6], options: HDF5StorageOptions(chunks: [1, 5, 6], gzipLevel: 4))
            try file.root.writeFloats(
                "blocks", values, shape: [7, 5, 6], options: HDF5StorageOptions(chunks: [3, 5, 6], gzipLevel: 4, shuffle: true))
        }
        let root = try HDF5File.open(path).root
        let rows = try root.dataset("rows")
        var direct = [Float](repeating: -1, count: 3 * 30)
        #expect(try direct.withUnsafeMutableBufferPointer { try rows.readRowChunksInflatingDirectly(start: 2, count: 3, into: $0) })
        var expected = [Float](repeating: -2, count: 3 * 30)
        try expected.withUnsafeMutableBufferPointer {
            try rows.readFloats(start: [2, 0, 0], count: [3, 5, 6], into: $0, inflatingDirectly: false)
        }
        #expect(direct.map(\.bitPattern) == expected.map(\.bitPattern))
        #expect(expected == Array(values[60..<150]))
        // The public read takes the fast path by itself and gives the same bits.
        #expect(try rows.readFloats(start: [2, 0, 0], count: [3, 5, 6]).map(\.bitPattern) == expected.map(\.bitPattern))
        // A selection that is not whole rows reads through HDF5.
        #expect(try rows.readFloats(start: [2, 1, 0], count: [3, 4, 6]) == (2..<5).flatMap { row in Array(values[(row * 30 + 6)..<(row * 30 + 30)]) })
        for name in ["gzipOnly", "blocks"] {
            let other = try root.dataset(name)
            var buffer = [Float](repeating: 0, count: 30)
            #expect(try !buffer.withUnsafeMutableBufferPointer { try other.readRowChunksInflatingDirectly(start: 0, count: 1, into: $0) })
        }
    }

    @Test func compressedChunkedReadsTransparently() throws {
        let path = folder.path("gzip.h5")
        let values: [Float] = (0..<(10 * 6 * 8)).map { sin(Float($0)) }
        do {
            let file = try HDF5File.create(path)
            try file.root.writeFloats(
                "x", values, shape: [10, 6, 8], options: HDF5StorageOptions(chunks: [3, 6, 8], gzipLevel: 4, shuffle: true))
        }
        let dataset = try HDF5File.open(path).root.dataset("x")
        #expect(dataset.chunkShape == [3, 6, 8])
        #expect(dataset.filters.map(\.name) == ["shuffle", "gzip"])
        #expect(dataset.filters.allSatisfy { $0.isAvailable })
        #expect(try dataset.readFloats(start: [4, 0, 0], count: [3, 6, 8]) == Array(values[(4 * 48)..<(7 * 48)]))
    }

    @Test func integersAndStrings() throws {
        let path = folder.path("mixed.h5")
        do {
            let file = try HDF5File.create(path)
            try file.root.writeIntegers("ids", [391895, 522418, 184613], shape: [3], as: .int32)
            try file.root.writeStrings("names", ["a cat", "ünïcödé", ""])
            try file.root.writeStrings("fixed", ["12", "345", "6789"], fixedLength: 6)
            try file.root.setAttribute("model_type", .string("show-attend-tell"))
            try file.root.setAttribute("format_version", .integer(1))
            try file.root.setAttribute("scale", .float(0.5))
            let group = try file.root.createGroup("per_image")
            try group.writeFloats("1_features", [1, 2], shape: [1, 2])
        }
        let root = try HDF5File.open(path).root
        #expect(try root.dataset("ids").readIntegers() == [391895, 522418, 184613])
        #expect(try root.dataset("ids").readIntegers(start: [1], count: [2]) == [522418, 184613])
        #expect(try root.dataset("names").readStrings() == ["a cat", "ünïcödé", ""])
        #expect(try root.dataset("names").readStrings(start: [1], count: [1]) == ["ünïcödé"])
        #expect(try root.dataset("fixed").readStrings() == ["12", "345", "6789"])
        #expect(try root.stringAttribute("model_type") == "show-attend-tell")
        #expect(try root.integerAttribute("format_version") == 1)
        #expect(try root.attribute("scale") == .float(0.5))
        #expect(try root.stringAttribute("absent") == nil)
        #expect(Set(try root.attributeNames()) == ["model_type", "format_version", "scale"])
        #expect(try root.memberNames() == ["fixed", "ids", "names", "per_image"])
        #expect(root.kind(of: "per_image") == .group)
        #expect(root.kind(of: "ids") == .dataset)
        #expect(root.kind(of: "nothing") == nil)
        #expect(try root.group("per_image").memberNames() == ["1_features"])
    }

    @Test func missingFileSaysSo() throws {
        let error = #expect(throws: HDF5Error.self) { try HDF5File.open(folder.path("absent.h5")) }
        #expect(error?.kind == .fileNotFound)
        #expect(error?.description.contains("absent.h5: no such file") == true)
    }

    @Test func textFileIsNotHDF5() throws {
        let path = folder.path("notes.h5")
        try "just some text\n".write(toFile: path, atomically: true, encoding: .utf8)
        let error = #expect(throws: HDF5Error.self) { try HDF5File.open(path) }
        #expect(error?.kind == .notHDF5)
        #expect(error?.description.contains("not an HDF5 file") == true)
    }

    @Test func truncatedFileIsReportedNotCrashed() throws {
        let path = folder.path("cut.h5")
        do {
            let file = try HDF5File.create(path)
            try file.root.writeFloats("x", [Float](repeating: 1, count: 4096), shape: [64, 64])
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: HDF5Error.self) { _ = try HDF5File.open(path).root.dataset("x").readFloats() }
        #expect(error?.description.contains("truncated") == true)
    }

    @Test func wrongKindsAreErrors() throws {
        let path = folder.path("kinds.h5")
        do {
            let file = try HDF5File.create(path)
            try file.root.writeFloats("x", [1.5], shape: [1])
            try file.root.writeStrings("s", ["a"])
        }
        let root = try HDF5File.open(path).root
        let missing = #expect(throws: HDF5Error.self) { try root.dataset("features") }
        #expect(missing?.description == "\(path), dataset /features: no such dataset")
        let floatsAsInts = #expect(throws: HDF5Error.self) { try root.dataset("x").readIntegers() }
        #expect(floatsAsInts?.description.contains("holds float32, expected integers") == true)
        let stringsAsFloats = #expect(throws: HDF5Error.self) { try root.dataset("s").readFloats() }
        #expect(stringsAsFloats?.kind == .wrongType)
        let outside = #expect(throws: HDF5Error.self) { try root.dataset("x").readFloats(start: [1], count: [1]) }
        #expect(outside?.description.contains("outside the dataset's shape [1]") == true)
    }
}
