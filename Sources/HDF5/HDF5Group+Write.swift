import CHDF5

/// How a new dataset is laid out on disk.
public struct HDF5StorageOptions: Sendable {
    /// Chunk extent; required for compression.
    public var chunks: [Int]?
    /// gzip (deflate) level 1...9, or nil for none.
    public var gzipLevel: Int?
    public var shuffle: Bool

    public init(chunks: [Int]? = nil, gzipLevel: Int? = nil, shuffle: Bool = false) {
        self.chunks = chunks
        self.gzipLevel = gzipLevel
        self.shuffle = shuffle
    }

    public static let contiguous = HDF5StorageOptions()
}

/// Writing datasets. nightcap itself only reads HDF5; tests and tools write the files they need with
/// these functions, so that the fixtures exercise the same library the reader uses.
extension HDF5Group {
    private func makeDataset(
        _ name: String, shape: [Int], fileType: hid_t, options: HDF5StorageOptions
    ) throws -> HDF5Handle {
        let label = childPath(name), path = file.path
        var dims = shape.map { hsize_t($0) }
        let space = try HDF5Library.open("H5Screate_simple", file: path, object: label, closer: H5Sclose) {
            shape.isEmpty ? H5Screate(H5S_SCALAR) : H5Screate_simple(Int32(dims.count), &dims, nil)
        }
        let plist = try HDF5Library.open("H5Pcreate", file: path, object: label, closer: H5Pclose) { H5Pcreate(nc_H5P_DATASET_CREATE()) }
        if let chunks = options.chunks ?? ((options.gzipLevel != nil || options.shuffle) ? shape.map { max(1, $0) } : nil) {
            var chunkDims = chunks.map { hsize_t(max(1, $0)) }
            try HDF5Library.call("H5Pset_chunk", file: path, object: label) { H5Pset_chunk(plist.id, Int32(chunkDims.count), &chunkDims) }
            if options.shuffle {
                try HDF5Library.call("H5Pset_shuffle", file: path, object: label) { H5Pset_shuffle(plist.id) }
            }
            if let level = options.gzipLevel {
                try HDF5Library.call("H5Pset_deflate", file: path, object: label) { H5Pset_deflate(plist.id, UInt32(level)) }
            }
        }
        return try HDF5Library.open("H5Dcreate2", file: path, object: label, closer: H5Dclose) {
            H5Dcreate2(handle.id, name, fileType, space.id, nc_H5P_DEFAULT(), plist.id, nc_H5P_DEFAULT())
        }
    }

    private func checkCount(_ count: Int, _ shape: [Int], _ name: String) throws {
        guard count == shape.reduce(1, *) else {
            throw HDF5Error(
                .invalidArgument, file: file.path, object: childPath(name),
                message: "\(count) values do not fill the shape \(shape)")
        }
    }

    /// Creates `name` with the file type of `storage` and writes `values` from memory type `memoryType`.
    private func writeNumbers<Element>(
        _ name: String, _ values: [Element], shape: [Int], storage: HDF5StorageType, memoryType: hid_t,
        options: HDF5StorageOptions
    ) throws {
        try checkCount(values.count, shape, name)
        let type = try storage.makeFileType(file: file.path, object: childPath(name))
        let dataset = try withExtendedLifetime(type.owner) {
            try makeDataset(name, shape: shape, fileType: type.id, options: options)
        }
        try values.withUnsafeBytes { raw -> Void in
            try HDF5Library.call("H5Dwrite", file: file.path, object: childPath(name)) {
                H5Dwrite(dataset.id, memoryType, nc_H5S_ALL(), nc_H5S_ALL(), nc_H5P_DEFAULT(), raw.baseAddress)
            }
        }
    }

    /// Writes a float dataset, stored as `storage` (float16, float32 or float64).
    ///
    /// The corresponding C functions are `H5Dcreate2` and `H5Dwrite`.
    public func writeFloats(
        _ name: String, _ values: [Float], shape: [Int], as storage: HDF5StorageType = .float32,
        options: HDF5StorageOptions = .contiguous
    ) throws {
        try writeNumbers(name, values, shape: shape, storage: storage, memoryType: nc_H5T_NATIVE_FLOAT(), options: options)
    }

    /// Writes an integer dataset, stored as `storage` (int32 or int64).
    public func writeIntegers(
        _ name: String, _ values: [Int64], shape: [Int], as storage: HDF5StorageType = .int64,
        options: HDF5StorageOptions = .contiguous
    ) throws {
        try writeNumbers(name, values, shape: shape, storage: storage, memoryType: nc_H5T_NATIVE_INT64(), options: options)
    }

    /// Writes a string dataset: variable-length UTF-8 (as h5py does) or, with `fixedLength`, strings
    /// padded with NULs to that many bytes (as numpy `S` arrays are stored).
    public func writeStrings(_ name: String, _ values: [String], shape: [Int]? = nil, fixedLength: Int? = nil) throws {
        let shape = shape ?? [values.count]
        try checkCount(values.count, shape, name)
        let label = childPath(name)
        if let fixedLength {
            let type = try HDF5Library.open("H5Tcopy", file: file.path, object: label, closer: H5Tclose) { H5Tcopy(nc_H5T_C_S1()) }
            try HDF5Library.call("H5Tset_size", file: file.path, object: label) { H5Tset_size(type.id, fixedLength) }
            try HDF5Library.call("H5Tset_strpad", file: file.path, object: label) { H5Tset_strpad(type.id, H5T_STR_NULLPAD) }
            let dataset = try makeDataset(name, shape: shape, fileType: type.id, options: .contiguous)
            var bytes = [UInt8](repeating: 0, count: fixedLength * values.count)
            for (index, value) in values.enumerated() {
                for (offset, byte) in value.utf8.prefix(fixedLength).enumerated() { bytes[index * fixedLength + offset] = byte }
            }
            try bytes.withUnsafeBytes { raw -> Void in
                try HDF5Library.call("H5Dwrite", file: file.path, object: label) {
                    H5Dwrite(dataset.id, type.id, nc_H5S_ALL(), nc_H5S_ALL(), nc_H5P_DEFAULT(), raw.baseAddress)
                }
            }
            return
        }
        let type = try HDF5StringWriter.variableLengthType(file: file.path, object: label)
        let dataset = try makeDataset(name, shape: shape, fileType: type.id, options: .contiguous)
        try HDF5StringWriter.withCStrings(values) { pointer -> Void in
            try HDF5Library.call("H5Dwrite", file: file.path, object: label) {
                H5Dwrite(dataset.id, type.id, nc_H5S_ALL(), nc_H5S_ALL(), nc_H5P_DEFAULT(), pointer)
            }
        }
    }
}
