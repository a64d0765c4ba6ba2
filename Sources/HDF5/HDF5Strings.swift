import CHDF5
import Foundation

/// Reads string elements, variable-length (h5py's default) or fixed-length, as Swift strings.
enum HDF5StringReader {
    /// `read` performs the actual H5Dread/H5Aread with the memory type it is given.
    static func read(
        fileType: hid_t, count: Int, fileID: hid_t, file: String, fileSize: Int, object: String, space: hid_t,
        memorySpace: hid_t? = nil,
        _ read: (hid_t, UnsafeMutableRawPointer) -> herr_t
    ) throws -> [String] {
        if count == 0 { return [] }
        let cset = try HDF5Library.call("H5Tget_cset", file: file, object: object, failed: { $0 == H5T_CSET_ERROR }) {
            H5Tget_cset(fileType)
        }
        let utf8 = cset == H5T_CSET_UTF8
        if try HDF5Library.call("H5Tis_variable_str", file: file, object: object, { H5Tis_variable_str(fileType) }) > 0 {
            try HDF5GlobalHeapCheck.check(count: count, fileID: fileID, file: file, fileSize: fileSize, object: object, read: read)
            let memoryType = try HDF5Library.open("H5Tcopy", file: file, object: object, closer: H5Tclose) { H5Tcopy(nc_H5T_C_S1()) }
            try HDF5Library.call("H5Tset_size", file: file, object: object) { H5Tset_size(memoryType.id, nc_H5T_VARIABLE()) }
            try HDF5Library.call("H5Tset_cset", file: file, object: object) {
                H5Tset_cset(memoryType.id, utf8 ? H5T_CSET_UTF8 : H5T_CSET_ASCII)
            }
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            try pointers.withUnsafeMutableBytes { bytes -> Void in
                try HDF5Library.call("H5Dread", file: file, object: object) { read(memoryType.id, bytes.baseAddress!) }
            }
            let strings = pointers.map { $0.map { String(cString: $0) } ?? "" }
            try pointers.withUnsafeMutableBytes { bytes -> Void in
                try HDF5Library.call("H5Dvlen_reclaim", file: file, object: object) {
                    H5Dvlen_reclaim(memoryType.id, memorySpace ?? space, nc_H5P_DEFAULT(), bytes.baseAddress!)
                }
            }
            return strings
        }
        let size = try HDF5Library.call("H5Tget_size", file: file, object: object, failed: { $0 == 0 }) { H5Tget_size(fileType) }
        let memoryType = try HDF5Library.open("H5Tcopy", file: file, object: object, closer: H5Tclose) { H5Tcopy(fileType) }
        let byteCount = try HDF5SizeCheck.bytes(count: count, elementSize: size, fileSize: fileSize, file: file, object: object)
        var bytes = [UInt8](repeating: 0, count: byteCount)
        try bytes.withUnsafeMutableBytes { raw -> Void in
            try HDF5Library.call("H5Dread", file: file, object: object) { read(memoryType.id, raw.baseAddress!) }
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
    /// A variable-length UTF-8 string type, owned by the returned handle.
    static func variableLengthType(file: String, object: String) throws -> HDF5Handle {
        let type = try HDF5Library.open("H5Tcopy", file: file, object: object, closer: H5Tclose) { H5Tcopy(nc_H5T_C_S1()) }
        try HDF5Library.call("H5Tset_size", file: file, object: object) { H5Tset_size(type.id, nc_H5T_VARIABLE()) }
        try HDF5Library.call("H5Tset_cset", file: file, object: object) { H5Tset_cset(type.id, H5T_CSET_UTF8) }
        return type
    }

    static func withCStrings<R>(_ strings: [String], _ body: (UnsafeRawPointer) throws -> R) rethrows -> R {
        let pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        defer { pointers.forEach { free($0) } }
        return try pointers.withUnsafeBytes { try body($0.baseAddress!) }
    }
}
