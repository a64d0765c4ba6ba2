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
        file = group.file
        self.name = name
        path = group.childPath(name)
        let file = self.file.path, path = self.path
        let handle = try HDF5Library.open("H5Dopen2", file: file, object: path, message: "cannot open the dataset", closer: H5Dclose) {
            HDF5ReadWatch.during(file: file, object: path) { H5Dopen2(group.handle.id, name, nc_H5P_DEFAULT()) }
        }
        self.handle = handle
        fileType = try HDF5Library.open("H5Dget_type", file: file, object: path, closer: H5Tclose) { H5Dget_type(handle.id) }
        elementType = try HDF5ElementType(datatype: fileType.id, file: file, object: path)

        let space = try HDF5Library.open("H5Dget_space", file: file, object: path, closer: H5Sclose) { H5Dget_space(handle.id) }
        let rank = Int(try HDF5Library.call("H5Sget_simple_extent_ndims", file: file, object: path) { H5Sget_simple_extent_ndims(space.id) })
        guard (0...32).contains(rank) else {
            throw HDF5Error(
                .wrongShape, file: file, object: path,
                message: "has \(rank) dimensions, which HDF5 never writes (at most 32): the file is damaged; write or copy it again")
        }
        var dims = [hsize_t](repeating: 0, count: max(rank, 1))
        var maxDims = [hsize_t](repeating: 0, count: max(rank, 1))
        if rank > 0 {
            try HDF5Library.call("H5Sget_simple_extent_dims", file: file, object: path) { H5Sget_simple_extent_dims(space.id, &dims, &maxDims) }
        }
        let fileTypeID = fileType.id
        let elementSize = try HDF5Library.call("H5Tget_size", file: file, object: path, failed: { $0 == 0 }) { H5Tget_size(fileTypeID) }
        shape = try HDF5SizeCheck.shape(
            dims: Array(dims.prefix(rank)), maxDims: Array(maxDims.prefix(rank)), elementSize: elementSize,
            fileSize: self.file.byteCount, file: file, object: path)

        let plist = try HDF5Library.open("H5Dget_create_plist", file: file, object: path, closer: H5Pclose) {
            H5Dget_create_plist(handle.id)
        }
        let layout = try HDF5Library.call("H5Pget_layout", file: file, object: path, failed: { $0 == H5D_LAYOUT_ERROR }) {
            H5Pget_layout(plist.id)
        }
        if layout == H5D_CHUNKED, rank > 0 {
            var chunk = [hsize_t](repeating: 0, count: rank)
            try HDF5Library.call("H5Pget_chunk", file: file, object: path) { H5Pget_chunk(plist.id, Int32(rank), &chunk) }
            chunkShape = chunk.map { Int($0) }
        } else {
            chunkShape = nil
        }
        var filters: [HDF5Filter] = []
        let count = try HDF5Library.call("H5Pget_nfilters", file: file, object: path) { H5Pget_nfilters(plist.id) }
        for index in 0..<UInt32(count) {
            var flags: UInt32 = 0
            var elements = 8
            var values = [UInt32](repeating: 0, count: 8)
            var nameBuffer = [CChar](repeating: 0, count: 256)
            var config: UInt32 = 0
            // A filter HDF5 cannot describe is left out here; reading through it fails with HDF5's reason.
            guard let filterID = HDF5Library.query({
                H5Pget_filter2(plist.id, index, &flags, &elements, &values, nameBuffer.count, &nameBuffer, &config)
            }) else { continue }
            let recorded = String(hdf5Buffer: nameBuffer)
            let known = HDF5Filter.knownName(Int(filterID))
            let label = known ?? (recorded.isEmpty ? "filter \(filterID)" : recorded)
            let available = (HDF5Library.query { H5Zfilter_avail(filterID) } ?? 0) > 0
            filters.append(HDF5Filter(id: Int(filterID), name: label, isAvailable: available))
        }
        self.filters = filters
    }

    /// The number of elements.
    public var elementCount: Int { shape.reduce(1, *) }

    /// Throws a clear error when a filter in the pipeline cannot be decoded by this HDF5 build.
    public func checkFiltersAvailable() throws {
        if let missing = filters.first(where: { !$0.isAvailable }) {
            let advice = missing.id == HDF5Filter.lzf
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
        try checkFiltersAvailable()
        let selected = try selection(start: start, count: count)
        if selected.elements == 0 { return }
        if shape.isEmpty {
            try HDF5Library.call("H5Dread", file: file.path, object: path, message: "cannot read the dataset") {
                HDF5ReadWatch.during(file: file.path, object: path, data: true) {
                    H5Dread(handle.id, memoryType, nc_H5S_ALL(), nc_H5S_ALL(), nc_H5P_DEFAULT(), buffer)
                }
            }
            return
        }
        let (fileSpace, memorySpace) = try selectedSpaces(selected)
        try HDF5Library.call(
            "H5Dread", file: file.path, object: path, message: "cannot read the data (the file may be damaged or truncated)"
        ) {
            HDF5ReadWatch.during(file: file.path, object: path, data: true) {
                H5Dread(handle.id, memoryType, memorySpace.id, fileSpace.id, nc_H5P_DEFAULT(), buffer)
            }
        }
    }

    /// The dataset's space with `selected` chosen, and a memory space of the selection's extent.
    private func selectedSpaces(
        _ selected: (start: [hsize_t], count: [hsize_t], elements: Int)
    ) throws -> (file: HDF5Handle, memory: HDF5Handle) {
        let fileSpace = try HDF5Library.open("H5Dget_space", file: file.path, object: path, closer: H5Sclose) {
            H5Dget_space(handle.id)
        }
        var start = selected.start
        var count = selected.count
        try HDF5Library.call("H5Sselect_hyperslab", file: file.path, object: path) {
            H5Sselect_hyperslab(fileSpace.id, H5S_SELECT_SET, &start, nil, &count, nil)
        }
        let memorySpace = try HDF5Library.open("H5Screate_simple", file: file.path, object: path, closer: H5Sclose) {
            H5Screate_simple(Int32(count.count), &count, nil)
        }
        return (fileSpace, memorySpace)
    }

    private func requireNumeric(_ what: String) throws {
        guard elementType.isFloat || elementType.isInteger else {
            throw HDF5Error(.wrongType, file: file.path, object: path, message: "holds \(elementType), expected \(what)")
        }
    }

    /// Reads floats (any float or integer type on disk arrives as `Float`) into `buffer`, which must
    /// hold exactly the selected number of elements.
    ///
    /// A selection of whole rows of a float32 dataset stored one row per chunk with shuffle + gzip
    /// (the common layout of feature dumps) is read as raw chunks and inflated with libdeflate, the
    /// same bits at about twice zlib's speed (`readRowChunksInflatingDirectly`); everything else, and
    /// any chunk not stored that way, goes through HDF5's own pipeline.
    ///
    /// The corresponding C functions are `H5Dread` and `H5Dread_chunk`.
    public func readFloats(start: [Int]? = nil, count: [Int]? = nil, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        try readFloats(start: start, count: count, into: buffer, inflatingDirectly: true)
    }

    /// `readFloats`; with `inflatingDirectly` false, always through HDF5's pipeline (the tests compare
    /// the two).
    func readFloats(
        start: [Int]?, count: [Int]?, into buffer: UnsafeMutableBufferPointer<Float>, inflatingDirectly: Bool
    ) throws {
        try requireNumeric("numbers")
        let elements = (count ?? shape).reduce(1, *)
        precondition(buffer.count == elements, "buffer holds \(buffer.count) floats, the selection \(elements)")
        guard let base = buffer.baseAddress else { return }
        if inflatingDirectly, let rows = wholeRows(start: start, count: count),
            try readRowChunksInflatingDirectly(start: rows.lowerBound, count: rows.count, into: buffer)
        {
            return
        }
        try read(start: start, count: count, memoryType: nc_H5T_NATIVE_FLOAT(), into: base)
    }

    /// The rows a selection covers when it is whole rows along the first axis (every other axis
    /// from 0 to its end), else nil.
    private func wholeRows(start: [Int]?, count: [Int]?) -> Range<Int>? {
        guard shape.count >= 2 else { return nil }
        let start = start ?? [Int](repeating: 0, count: shape.count)
        let count = count ?? shape
        guard start.count == shape.count, count.count == shape.count, start.dropFirst().allSatisfy({ $0 == 0 }),
            Array(count.dropFirst()) == Array(shape.dropFirst()), start[0] >= 0, count[0] >= 0, start[0] + count[0] <= shape[0]
        else { return nil }
        return start[0]..<(start[0] + count[0])
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
        guard elementType.isString else {
            throw HDF5Error(.wrongType, file: file.path, object: path, message: "holds \(elementType), expected strings")
        }
        try checkFiltersAvailable()
        let selected = try selection(start: start, count: count)
        let fileSpace: HDF5Handle
        var memorySpace: HDF5Handle?
        if shape.isEmpty {
            fileSpace = try HDF5Library.open("H5Dget_space", file: file.path, object: path, closer: H5Sclose) { H5Dget_space(handle.id) }
        } else {
            (fileSpace, memorySpace) = try selectedSpaces(selected)
        }
        let memorySpaceID = memorySpace?.id ?? nc_H5S_ALL()
        let fileSpaceID = shape.isEmpty ? nc_H5S_ALL() : fileSpace.id
        return try withExtendedLifetime(memorySpace) {
            try HDF5StringReader.read(
                fileType: fileType.id, count: selected.elements, fileID: file.handle.id, file: file.path, fileSize: file.byteCount,
                object: path, space: fileSpace.id,
                memorySpace: memorySpace?.id ?? fileSpace.id
            ) { memoryType, buffer in
                HDF5ReadWatch.during(file: file.path, object: path, data: true) {
                    H5Dread(handle.id, memoryType, memorySpaceID, fileSpaceID, nc_H5P_DEFAULT(), buffer)
                }
            }
        }
    }
}
