import CHDF5

/// Checks the sizes a file declares before anything is allocated for them: a damaged header can
/// turn a dimension into 222101348810766, and allocating a buffer for it aborts the process.
enum HDF5SizeCheck {
    /// The most any filter this build decodes can shrink data: deflate's best is about 1032:1
    /// (a run of equal bytes), shuffle and the others do not compress.
    static let maximumCompressionRatio = 1100

    /// The dataset's shape as `Int`s, after checking each dimension against its maximum, the
    /// element count and byte size against overflow, and the byte size against what a file of
    /// `fileSize` bytes can hold.
    static func shape(
        dims: [hsize_t], maxDims: [hsize_t], elementSize: Int, fileSize: Int, file: String, object: String
    ) throws -> [Int] {
        let shown = "(" + dims.map(String.init).joined(separator: ", ") + ")"
        func damaged(_ why: String) -> HDF5Error {
            HDF5Error(.wrongShape, file: file, object: object, message: "\(why): the file is damaged; write or copy it again")
        }
        let unlimited = hsize_t.max  // H5S_UNLIMITED
        for (axis, (dim, max)) in zip(dims, maxDims).enumerated() where max != unlimited && dim > max {
            let maxShown = "(" + maxDims.map { $0 == unlimited ? "unlimited" : String($0) }.joined(separator: ", ") + ")"
            throw damaged("its shape \(shown) exceeds its maximum shape \(maxShown) in dimension \(axis)")
        }
        var elements = 1
        for dim in dims {
            guard dim <= hsize_t(Int.max) else { throw damaged("its shape \(shown) does not fit in memory sizes") }
            let (product, overflow) = elements.multipliedReportingOverflow(by: Int(dim))
            guard !overflow else { throw damaged("its shape \(shown) holds more elements than any computer can address") }
            elements = product
        }
        let (bytes, overflow) = elements.multipliedReportingOverflow(by: max(elementSize, 1))
        guard !overflow else { throw damaged("its shape \(shown) holds more bytes than any computer can address") }
        // Compressed data can hold more than the file's size, but not more than the best
        // compression allows; an unallocated dataset reads as fill values and is rare in inputs.
        let (bound, boundOverflow) = (max(fileSize, 0) + (1 << 20)).multipliedReportingOverflow(by: maximumCompressionRatio)
        if !boundOverflow && bytes > bound {
            throw damaged("its shape \(shown) holds \(bytes) bytes, more than a file of \(fileSize) bytes can store")
        }
        return dims.map { Int($0) }
    }

    /// `count` elements of `elementSize` bytes, checked against overflow and the file's size, for
    /// attributes and fixed-length strings.
    static func bytes(count: Int, elementSize: Int, fileSize: Int, file: String, object: String) throws -> Int {
        guard count >= 0, elementSize >= 0 else {
            throw HDF5Error(
                .wrongShape, file: file, object: object,
                message: "declares \(count) elements of \(elementSize) bytes: the file is damaged; write or copy it again")
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: elementSize)
        let (bound, boundOverflow) = (max(fileSize, 0) + (1 << 20)).multipliedReportingOverflow(by: maximumCompressionRatio)
        if overflow || (!boundOverflow && bytes > bound) {
            throw HDF5Error(
                .wrongShape, file: file, object: object,
                message: "declares \(count) elements of \(elementSize) bytes, more than a file of \(fileSize) bytes can store: the file is damaged; write or copy it again")
        }
        return bytes
    }
}
