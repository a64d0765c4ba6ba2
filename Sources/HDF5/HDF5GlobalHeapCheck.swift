import CHDF5
import Foundation

/// Checks variable-length strings against the global heap that holds them, before HDF5 reads them.
///
/// A variable-length element on disk is a length and the id of an object in a global heap
/// collection. HDF5 1.10 trusts both: it allocates the element's buffer from the length, then copies
/// the heap object's own recorded size into it (`H5HG_read` under `H5T__conv_vlen`), so a damaged
/// size writes past the buffer and corrupts memory that faults later, anywhere (fuzzing found it, in
/// datasets and in attributes); and while loading a collection it steps from object to object by
/// their sizes, so a free-space object of size zero never advances and the read loops for ever.
/// Neither can be caught once HDF5 is inside; both are visible in the bytes. This check reads the
/// selected elements as they are stored (the conversion `nc_raw_vlen_convert` registers in CHDF5),
/// reads each collection they point into with `pread`, walks it as HDF5's loader does, and requires
/// every object step to advance and stay inside the collection, every collection to lie inside the
/// file, and every element's heap object to exist with exactly the element's length. A file HDF5
/// wrote passes; a damaged one is one clear error naming the file and the dataset or attribute.
///
/// A file's addresses count from its superblock, which follows the user block when there is one
/// (MATLAB's v7.3 files, `h5py.File(..., userblock_size=N)`): the collections are read that far
/// into the file. Files with other than 8-byte addresses and lengths (neither h5py nor HDF5's
/// defaults write them) are read by HDF5 unchecked, as before.
enum HDF5GlobalHeapCheck {
    /// A collection's objects: index -> size in bytes.
    typealias Collection = [UInt16: UInt64]

    /// Whether HDF5 took the raw-element conversion (once per process).
    static let conversionRegistered: Bool = HDF5Library.query { nc_raw_vlen_register() } != nil

    /// Checks `count` elements, read raw with `read` (the caller's H5Dread or H5Aread with its
    /// selection, given the memory type and a buffer).
    static func check(
        count: Int, fileID: hid_t, file: String, fileSize: Int, object: String,
        read: (hid_t, UnsafeMutableRawPointer) -> herr_t
    ) throws {
        guard count > 0, conversionRegistered else { return }
        let (addressSize, lengthSize, userBlock) = try fileSizes(fileID: fileID, file: file, object: object)
        guard addressSize == 8, lengthSize == 8, userBlock < UInt64(fileSize) else { return }
        // Owned by a handle, as every identifier: it closes the type (and clears the error stack of
        // a failed close) when released.
        guard let rawType = HDF5Library.query({ nc_raw_vlen_type() }).map({ HDF5Handle($0, closer: H5Tclose) }) else { return }
        let elementSize = Int(NC_RAW_VLEN_SIZE)
        var elements = [UInt8](repeating: 0, count: count * elementSize)
        let status = withExtendedLifetime(rawType) {
            elements.withUnsafeMutableBytes { read(rawType.id, $0.baseAddress!) }
        }
        guard status >= 0 else {
            // No raw path for this type: HDF5 reads it as before, unchecked.
            HDF5Library.clearErrorStack()
            return
        }
        let damaged = { (what: String) in
            HDF5Error(
                .wrongShape, file: file, object: object,
                message: "its variable-length strings are damaged (\(what)); write or copy the file again")
        }
        guard let handle = FileHandle(forReadingAtPath: file) else {
            throw HDF5Error(.fileNotFound, file: file, object: object, message: "cannot be opened to check its strings")
        }
        defer { try? handle.close() }
        let descriptor = handle.fileDescriptor
        var collections: [UInt64: Collection] = [:]
        for index in 0..<count {
            let element = index * elementSize
            let length = elements.load(at: element, size: 4)
            let address = elements.load(at: element + 4, size: 8)
            let objectIndex = elements.load(at: element + 12, size: 4)
            // No heap object: HDF5 reads none. (It follows any other heap id, whatever the length.)
            if address == 0 { continue }
            if collections[address] == nil {
                collections[address] = try collection(
                    descriptor, at: address, base: userBlock, fileSize: fileSize, damaged: damaged)
            }
            guard objectIndex <= UInt16.max, let size = collections[address]![UInt16(objectIndex)] else {
                throw damaged("string \(index) points to heap object \(objectIndex), which does not exist")
            }
            guard size == length else {
                throw damaged("string \(index) is \(length) bytes long but its heap object holds \(size)")
            }
        }
    }

    /// The file's address and length sizes and its user block's size.
    private static func fileSizes(fileID: hid_t, file: String, object: String) throws -> (Int, Int, UInt64) {
        let plist = try HDF5Library.open("H5Fget_create_plist", file: file, object: object, closer: H5Pclose) {
            H5Fget_create_plist(fileID)
        }
        var addressSize = 0, lengthSize = 0
        try HDF5Library.call("H5Pget_sizes", file: file, object: object) { H5Pget_sizes(plist.id, &addressSize, &lengthSize) }
        var userBlock: hsize_t = 0
        try HDF5Library.call("H5Pget_userblock", file: file, object: object) { H5Pget_userblock(plist.id, &userBlock) }
        return (addressSize, lengthSize, UInt64(userBlock))
    }

    /// A global heap collection, walked as `H5HG__cache_heap_deserialize` walks it; `relative` counts
    /// from `base`, the superblock's byte in the file (the user block's size).
    private static func collection(
        _ descriptor: Int32, at relative: UInt64, base: UInt64, fileSize: Int, damaged: (String) -> HDF5Error
    ) throws -> Collection {
        guard relative <= UInt64(fileSize) - base else {
            throw damaged("a string points to byte \(relative) of the file's data, past its end")
        }
        let address = base + relative
        let header = try read(descriptor, at: address, count: 16, fileSize: fileSize, damaged: damaged)
        guard header.prefix(4).elementsEqual("GCOL".utf8), header[4] == 1 else {
            throw damaged("no global heap collection at byte \(address)")
        }
        let size = header.load(at: 8, size: 8)
        guard size >= 16, address <= UInt64(fileSize), size <= UInt64(fileSize) - address else {
            throw damaged("the heap collection at byte \(address) claims \(size) bytes, past the end of the file")
        }
        let bytes = try read(descriptor, at: address, count: Int(size), fileSize: fileSize, damaged: damaged)
        var objects: Collection = [:]
        var cursor = 16
        let objectHeader = 16
        while cursor < bytes.count {
            // Too little left for an object's header: HDF5 takes the rest as free space.
            if cursor + objectHeader > bytes.count { break }
            let index = UInt16(bytes.load(at: cursor, size: 2))
            let objectSize = bytes.load(at: cursor + 8, size: 8)
            let need: UInt64
            if index > 0 {
                guard objectSize <= UInt64(bytes.count) else {
                    throw damaged("heap object \(index) at byte \(address) claims \(objectSize) bytes")
                }
                need = UInt64(objectHeader) + ((objectSize + 7) & ~7)
                objects[index] = objectSize
            } else {
                need = objectSize  // the free space, its header included
            }
            guard need >= UInt64(objectHeader), need <= UInt64(bytes.count - cursor) else {
                throw damaged("heap object \(index) at byte \(address) has a size (\(objectSize)) that does not fit its collection")
            }
            cursor += Int(need)
        }
        return objects
    }

    private static func read(
        _ descriptor: Int32, at offset: UInt64, count: Int, fileSize: Int, damaged: (String) -> HDF5Error
    ) throws -> [UInt8] {
        guard offset <= UInt64(fileSize), UInt64(count) <= UInt64(fileSize) - offset else {
            throw damaged("\(count) bytes at byte \(offset) lie past the end of the file")
        }
        var bytes = [UInt8](repeating: 0, count: count)
        let got = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, count, off_t(offset)) }
        guard got == count else { throw damaged("\(count) bytes at byte \(offset) cannot be read") }
        return bytes
    }
}

extension Array where Element == UInt8 {
    /// A little-endian unsigned integer of `size` bytes at `offset`.
    fileprivate func load(at offset: Int, size: Int) -> UInt64 {
        var value: UInt64 = 0
        for byte in (0..<size).reversed() { value = value << 8 | UInt64(self[offset + byte]) }
        return value
    }
}
