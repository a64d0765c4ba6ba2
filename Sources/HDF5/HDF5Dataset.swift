import CHDF5

/// A dataset in an HDF5 file, with what is known of it without reading its data.
public final class HDF5Dataset: HDF5Object {
    public let file: HDF5File
    /// The absolute path of the dataset inside the file.
    public let path: String
    /// The name inside its group.
    public let name: String
    /// The extent of each dimension; empty for a scalar.
    public let shape: [Int]
    public let elementType: HDF5ElementType
    /// The chunk extent when the dataset is chunked, nil when contiguous or compact.
    public let chunkShape: [Int]?
    /// The filter pipeline in the order HDF5 applies it on write.
    public let filters: [HDF5Filter]

    let handle: HDF5Handle
    let fileType: HDF5Handle
    var objectID: hid_t { handle.id }

    init(group: HDF5Group, name: String) throws {
        HDF5Library.ensureInitialized()
        file = group.file
        self.name = name
        path = group.childPath(name)
        let id = try HDF5Library.check(
            HDF5ReadWatch.during(file: group.file.path, object: group.childPath(name)) { H5Dopen2(group.handle.id, name, nc_H5P_DEFAULT()) },
            "H5Dopen2", file: file.path, object: path,
            message: "cannot open the dataset")
        handle = HDF5Handle(id, closer: H5Dclose)
        fileType = HDF5Handle(
            try HDF5Library.check(H5Dget_type(id), "H5Dget_type", file: file.path, object: path), closer: H5Tclose)
        elementType = HDF5ElementType(datatype: fileType.id)

        let space = HDF5Handle(
            try HDF5Library.check(H5Dget_space(id), "H5Dget_space", file: file.path, object: path), closer: H5Sclose)
        let rank = Int(H5Sget_simple_extent_ndims(space.id))
        guard (0...32).contains(rank) else {
            _ = HDF5Library.errorStack()
            throw HDF5Error(
                .wrongShape, file: file.path, object: path,
                message: "has \(rank) dimensions, which HDF5 never writes (at most 32): the file is damaged; write or copy it again")
        }
        var dims = [hsize_t](repeating: 0, count: max(rank, 1))
        var maxDims = [hsize_t](repeating: 0, count: max(rank, 1))
        if rank > 0 { _ = H5Sget_simple_extent_dims(space.id, &dims, &maxDims) }
        shape = try HDF5SizeCheck.shape(
            dims: Array(dims.prefix(rank)), maxDims: Array(maxDims.prefix(rank)), elementSize: H5Tget_size(fileType.id),
            fileSize: file.byteCount, file: file.path, object: path)

        let plist = HDF5Handle(
            try HDF5Library.check(H5Dget_create_plist(id), "H5Dget_create_plist", file: file.path, object: path),
            closer: H5Pclose)
        if H5Pget_layout(plist.id) == H5D_CHUNKED, rank > 0 {
            var chunk = [hsize_t](repeating: 0, count: rank)
            _ = H5Pget_chunk(plist.id, Int32(rank), &chunk)
            chunkShape = chunk.map { Int($0) }
        } else {
            chunkShape = nil
        }
        var filters: [HDF5Filter] = []
        let count = H5Pget_nfilters(plist.id)
        if count > 0 {
            for index in 0..<UInt32(count) {
                var flags: UInt32 = 0
                var elements = 8
                var values = [UInt32](repeating: 0, count: 8)
                var nameBuffer = [CChar](repeating: 0, count: 256)
                var config: UInt32 = 0
                let filterID = H5Pget_filter2(plist.id, index, &flags, &elements, &values, nameBuffer.count, &nameBuffer, &config)
                guard filterID >= 0 else { continue }
                let recorded = String(hdf5Buffer: nameBuffer)
                let known = HDF5Filter.knownName(Int(filterID))
                let label = known ?? (recorded.isEmpty ? "filter \(filterID)" : recorded)
                filters.append(HDF5Filter(id: Int(filterID), name: label, isAvailable: H5Zfilter_avail(filterID) > 0))
            }
        }
        _ = HDF5Library.errorStack()  // clear anything the optional queries left
        self.filters = filters
    }

    /// The number of elements.
    public var elementCount: Int { shape.reduce(1, *) }

    /// Throws a clear error when a filter in the pipeline cannot be decoded by this HDF5 build.
    public func checkFiltersAvailable() throws {
        if let missing = filters.first(where: { !$0.isAvailable }) {
            let advice = missing.id == 32000
                ? "lzf is a filter that only h5py provides; re-save the dataset with gzip compression (in h5py: compression=\"gzip\") or uncompressed"
                : "re-save the dataset with gzip compression or uncompressed"
            throw HDF5Error(
                .unsupportedFilter, file: file.path, object: path,
                message: "is compressed with \(missing.name) (filter id \(missing.id)), which this HDF5 build cannot decode; \(advice)")
        }
    }

    /// Validates a hyperslab and returns it as `hsize_t` arrays.
    private func selection(start: [Int]?, count: [Int]?) throws -> (start: [hsize_t], count: [hsize_t], elements: Int) {
        let start = start ?? [Int](repeating: 0, count: shape.count)
        let count = count ?? shape
        guard start.count == shape.count, count.count == shape.count else {
            throw HDF5Error(
                .invalidArgument, file: file.path, object: path,
                message: "a selection of rank \(start.count) does not fit a dataset of shape \(shape)")
        }
        for axis in 0..<shape.count where start[axis] < 0 || count[axis] < 0 || start[axis] + count[axis] > shape[axis] {
            throw HDF5Error(
                .invalidArgument, file: file.path, object: path,
                message: "selection start \(start) count \(count) lies outside the dataset's shape \(shape)")
        }
        return (start.map { hsize_t($0) }, count.map { hsize_t($0) }, count.reduce(1, *))
    }

    /// Reads a hyperslab (the whole dataset when `start` and `count` are nil) with `memoryType`.
    private func read(
        start: [Int]?, count: [Int]?, memoryType: hid_t, into buffer: UnsafeMutableRawPointer
    ) throws {
        HDF5Library.ensureInitialized()
        try checkFiltersAvailable()
        let selected = try selection(start: start, count: count)
        if selected.elements == 0 { return }
        if shape.isEmpty {
            try HDF5Library.check(
                HDF5ReadWatch.during(file: file.path, object: path, data: true) {
                    H5Dread(handle.id, memoryType, nc_H5S_ALL(), nc_H5S_ALL(), nc_H5P_DEFAULT(), buffer)
                }, "H5Dread",
                file: file.path, object: path, message: "cannot read the dataset")
            return
        }
        let fileSpace = HDF5Handle(
            try HDF5Library.check(H5Dget_space(handle.id), "H5Dget_space", file: file.path, object: path), closer: H5Sclose)
        var start = selected.start
        var count = selected.count
        try HDF5Library.check(
            H5Sselect_hyperslab(fileSpace.id, H5S_SELECT_SET, &start, nil, &count, nil), "H5Sselect_hyperslab",
            file: file.path, object: path)
        let memorySpace = HDF5Handle(
            try HDF5Library.check(H5Screate_simple(Int32(count.count), &count, nil), "H5Screate_simple", file: file.path, object: path),
            closer: H5Sclose)
        try HDF5Library.check(
            HDF5ReadWatch.during(file: file.path, object: path, data: true) {
                H5Dread(handle.id, memoryType, memorySpace.id, fileSpace.id, nc_H5P_DEFAULT(), buffer)
            }, "H5Dread",
            file: file.path, object: path, message: "cannot read the data (the file may be damaged or truncated)")
    }

    private func requireNumeric(_ what: String) throws {
        guard elementType.isFloat || elementType.isInteger else {
            throw HDF5Error(.wrongType, file: file.path, object: path, message: "holds \(elementType), expected \(what)")
        }
    }

    /// Reads floats (any float or integer type on disk arrives as `Float`) into `buffer`, which must
    /// hold exactly the selected number of elements.
    ///
    /// The corresponding C function is `H5Dread`.
    public func readFloats(start: [Int]? = nil, count: [Int]? = nil, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        try requireNumeric("numbers")
        let elements = (count ?? shape).reduce(1, *)
        precondition(buffer.count == elements, "buffer holds \(buffer.count) floats, the selection \(elements)")
        guard let base = buffer.baseAddress else { return }
        try read(start: start, count: count, memoryType: nc_H5T_NATIVE_FLOAT(), into: base)
    }

    /// Reads floats (any float or integer type on disk arrives as `Float`).
    public func readFloats(start: [Int]? = nil, count: [Int]? = nil) throws -> [Float] {
        let elements = (count ?? shape).reduce(1, *)
        var values = [Float](repeating: 0, count: elements)
        try values.withUnsafeMutableBufferPointer { try readFloats(start: start, count: count, into: $0) }
        return values
    }

    /// Reads integers of any width and sign as `Int64`. Float datasets are refused: their values
    /// would be truncated silently.
    public func readIntegers(start: [Int]? = nil, count: [Int]? = nil) throws -> [Int64] {
        guard elementType.isInteger else {
            throw HDF5Error(.wrongType, file: file.path, object: path, message: "holds \(elementType), expected integers")
        }
        var values = [Int64](repeating: 0, count: (count ?? shape).reduce(1, *))
        try values.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            try read(start: start, count: count, memoryType: nc_H5T_NATIVE_INT64(), into: base)
        }
        return values
    }

    /// Reads strings (variable- or fixed-length, UTF-8 or ASCII).
    public func readStrings(start: [Int]? = nil, count: [Int]? = nil) throws -> [String] {
        HDF5Library.ensureInitialized()
        guard elementType.isString else {
            throw HDF5Error(.wrongType, file: file.path, object: path, message: "holds \(elementType), expected strings")
        }
        try checkFiltersAvailable()
        let selected = try selection(start: start, count: count)
        let fileSpace = HDF5Handle(
            try HDF5Library.check(H5Dget_space(handle.id), "H5Dget_space", file: file.path, object: path), closer: H5Sclose)
        var memorySpaceID = nc_H5S_ALL()
        var memorySpace: HDF5Handle?
        if !shape.isEmpty {
            var first = selected.start
            var extent = selected.count
            try HDF5Library.check(
                H5Sselect_hyperslab(fileSpace.id, H5S_SELECT_SET, &first, nil, &extent, nil), "H5Sselect_hyperslab",
                file: file.path, object: path)
            let space = HDF5Handle(
                try HDF5Library.check(H5Screate_simple(Int32(extent.count), &extent, nil), "H5Screate_simple", file: file.path, object: path),
                closer: H5Sclose)
            memorySpace = space
            memorySpaceID = space.id
        }
        let fileSpaceID = shape.isEmpty ? nc_H5S_ALL() : fileSpace.id
        return try withExtendedLifetime(memorySpace) {
            try HDF5StringReader.read(
                fileType: fileType.id, count: selected.elements, file: file.path, fileSize: file.byteCount, object: path, space: fileSpace.id,
                memorySpace: shape.isEmpty ? fileSpace.id : memorySpaceID
            ) { memoryType, buffer in
                HDF5ReadWatch.during(file: file.path, object: path, data: true) {
                    H5Dread(handle.id, memoryType, memorySpaceID, fileSpaceID, nc_H5P_DEFAULT(), buffer)
                }
            }
        }
    }
}
