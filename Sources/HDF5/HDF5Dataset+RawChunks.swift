import CDeflate
import CHDF5

extension HDF5Dataset {
    /// Reads rows `start..<start + count` (along the first axis) of a float32 little-endian dataset
    /// whose chunks are one row each (`[1, rest of the shape]`) and whose filters are exactly
    /// shuffle then deflate, the layout of gzip feature dumps: each chunk's stored bytes are read
    /// as they are (`H5Dread_chunk`), inflated with libdeflate (about twice zlib's speed) and
    /// unshuffled here. Deflate is lossless and the shuffle a byte permutation, so the values are
    /// bit for bit those HDF5's own filter pipeline gives.
    ///
    /// Returns false when the dataset or one of its chunks is not stored that way (another layout,
    /// another filter, a skipped filter, an unallocated chunk, a chunk that does not inflate to a
    /// whole row); `readFloats`, its only caller, then reads the selection through HDF5, which
    /// overwrites every element of `buffer` and reports any error as usual.
    func readRowChunksInflatingDirectly(start: Int, count: Int, into buffer: UnsafeMutableBufferPointer<Float>) throws -> Bool {
        #if _endian(little)
            guard shape.count >= 2, chunkShape == [1] + shape.dropFirst(), filters.map(\.id) == [HDF5Filter.shuffle, HDF5Filter.deflate],
                (HDF5Library.query { H5Tequal(fileType.id, nc_H5T_IEEE_F32LE()) } ?? 0) > 0, start >= 0, count >= 0,
                start + count <= shape[0]
            else { return false }
            let rowElements = shape.dropFirst().reduce(1, *)
            precondition(buffer.count == count * rowElements, "buffer holds \(buffer.count) floats, the selection \(count * rowElements)")
            guard count > 0, rowElements > 0, let destination = buffer.baseAddress else { return count == 0 }
            let rowBytes = rowElements * 4
            guard let decompressor = libdeflate_alloc_decompressor() else { return false }
            defer { libdeflate_free_decompressor(decompressor) }
            var stored = [UInt8](repeating: 0, count: rowBytes)
            var inflated = [UInt8](repeating: 0, count: rowBytes)
            var offset = [hsize_t](repeating: 0, count: shape.count)
            for row in 0..<count {
                offset[0] = hsize_t(start + row)
                var size: hsize_t = 0
                guard HDF5Library.query({ H5Dget_chunk_storage_size(handle.id, &offset, &size) }) != nil, size > 0 else {
                    return false
                }
                // Deflate never grows data by more than a few bytes per 16 KiB block: a larger stored
                // size is damage, left to HDF5's own pipeline to report.
                guard size <= hsize_t(rowBytes + rowBytes / 1000 + 1024) else { return false }
                if Int(size) > stored.count { stored = [UInt8](repeating: 0, count: Int(size)) }
                var filterMask: UInt32 = 0
                let status = HDF5Library.query {
                    HDF5ReadWatch.during(file: file.path, object: path, data: true) {
                        stored.withUnsafeMutableBytes { H5Dread_chunk(handle.id, nc_H5P_DEFAULT(), &offset, &filterMask, $0.baseAddress) }
                    }
                }
                guard status != nil, filterMask == 0 else { return false }
                var actual = 0
                let result = stored.withUnsafeBytes { source in
                    inflated.withUnsafeMutableBytes { target in
                        libdeflate_zlib_decompress(decompressor, source.baseAddress, Int(size), target.baseAddress, rowBytes, &actual)
                    }
                }
                guard result == LIBDEFLATE_SUCCESS, actual == rowBytes else { return false }
                // HDF5's shuffle stores byte k of every element together: bytes [k * n, (k + 1) * n).
                let n = rowElements
                inflated.withUnsafeBufferPointer { bytes in
                    let b = bytes.baseAddress!
                    let row = UnsafeMutableRawPointer(destination + row * n).assumingMemoryBound(to: UInt32.self)
                    for i in 0..<n {
                        row[i] = UInt32(b[i]) | UInt32(b[n + i]) << 8 | UInt32(b[2 * n + i]) << 16 | UInt32(b[3 * n + i]) << 24
                    }
                }
            }
            return true
        #else
            return false
        #endif
    }
}
