import CHDF5
import Foundation

/// Reads string elements, variable-length (h5py's default) or fixed-length, as Swift strings.
enum HDF5StringReader {
    /// `read` performs the actual H5Dread/H5Aread with the memory type it is given.
    static func read(
        fileType: hid_t, count: Int, file: String, fileSize: Int, object: String, space: hid_t,
        memorySpace: hid_t? = nil,
        _ read: (hid_t, UnsafeMutableRawPointer) -> herr_t
    ) throws -> [String] {
        if count == 0 { return [] }
        let utf8 = H5Tget_cset(fileType) == H5T_CSET_UTF8
        if H5Tis_variable_str(fileType) > 0 {
            let memoryType = H5Tcopy(nc_H5T_C_S1())
            defer { _ = H5Tclose(memoryType) }
            _ = H5Tset_size(memoryType, nc_H5T_VARIABLE())
            _ = H5Tset_cset(memoryType, utf8 ? H5T_CSET_UTF8 : H5T_CSET_ASCII)
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            try pointers.withUnsafeMutableBytes { bytes in
                try HDF5Library.check(read(memoryType, bytes.baseAddress!), "H5Dread", file: file, object: object)
            }
            let strings = pointers.map { $0.map { String(cString: $0) } ?? "" }
            pointers.withUnsafeMutableBytes { bytes in
                _ = H5Dvlen_reclaim(memoryType, memorySpace ?? space, nc_H5P_DEFAULT(), bytes.baseAddress!)
            }
            return strings
        }
        let size = Int(H5Tget_size(fileType))
        let memoryType = H5Tcopy(fileType)
        defer { _ = H5Tclose(memoryType) }
        let byteCount = try HDF5SizeCheck.bytes(count: count, elementSize: size, fileSize: fileSize, file: file, object: object)
        var bytes = [UInt8](repeating: 0, count: byteCount)
        try bytes.withUnsafeMutableBytes { raw in
            try HDF5Library.check(read(memoryType, raw.baseAddress!), "H5Dread", file: file, object: object)
        }
        var strings: [String] = []
        strings.reserveCapacity(count)
        for index in 0..<count {
            var slice = bytes[(index * size)..<((index + 1) * size)]
            // Fixed-length strings are padded with NULs or spaces depending on how they were written.
            while let last = slice.last, last == 0 || last == 0x20 { slice = slice.dropLast() }
            if let nul = slice.firstIndex(of: 0) { slice = slice[slice.startIndex..<nul] }
            strings.append(String(decoding: slice, as: UTF8.self))
        }
        return strings
    }
}

/// Writes strings as variable-length UTF-8, the way h5py does.
enum HDF5StringWriter {
    static func variableLengthType() -> hid_t {
        let type = H5Tcopy(nc_H5T_C_S1())
        _ = H5Tset_size(type, nc_H5T_VARIABLE())
        _ = H5Tset_cset(type, H5T_CSET_UTF8)
        return type
    }

    static func withCStrings<R>(_ strings: [String], _ body: (UnsafeRawPointer) throws -> R) rethrows -> R {
        let pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        defer { pointers.forEach { free($0) } }
        return try pointers.withUnsafeBytes { try body($0.baseAddress!) }
    }
}
