import CHDF5
import Foundation

/// An open HDF5 file.
///
/// Not `Sendable`: HDF5 serialises every call behind one global lock in this build, so a file is
/// owned by one thread (the pipeline's reader) and never shared.
public final class HDF5File {
    public enum Mode: Sendable { case readOnly, readWrite }

    /// The path the file was opened with.
    public let path: String
    let handle: HDF5Handle
    /// The file's size in bytes when it was opened: the bound on what its datasets can hold.
    let byteCount: Int

    private init(path: String, handle: HDF5Handle) {
        self.path = path
        self.handle = handle
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        byteCount = (attributes?[.size] as? NSNumber)?.intValue ?? 0
    }

    /// Opens an existing file, checking first that it exists and is HDF5 so that the error says so.
    ///
    /// The corresponding C function is `H5Fopen`.
    public static func open(_ path: String, mode: Mode = .readOnly) throws -> HDF5File {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw HDF5Error(.fileNotFound, file: path, message: "no such file; check the path (relative paths in a pipeline file resolve against that file's folder)")
        }
        if isDirectory.boolValue {
            throw HDF5Error(.fileNotFound, file: path, message: "is a directory, not an HDF5 file")
        }
        let isHDF5 = try HDF5Library.call(
            "H5Fis_hdf5", file: path, kind: .notHDF5, message: "cannot be read as HDF5 (unreadable or damaged)"
        ) { H5Fis_hdf5(path) }
        if isHDF5 == 0 {
            throw HDF5Error(.notHDF5, file: path, message: "not an HDF5 file (no HDF5 signature found); features files are HDF5 (.h5), models are HDF5 or PyTorch checkpoints (`nightcap inspect FILE` says what a file is)")
        }
        let flags = mode == .readOnly ? nc_H5F_ACC_RDONLY() : nc_H5F_ACC_RDWR()
        do {
            let handle = try HDF5Library.open(
                "H5Fopen", file: path, kind: .notHDF5, message: "cannot be opened as HDF5 (damaged or unsupported)", closer: H5Fclose
            ) { HDF5ReadWatch.during(file: path, object: nil) { H5Fopen(path, flags, nc_H5P_DEFAULT()) } }
            return HDF5File(path: path, handle: handle)
        } catch var error as HDF5Error where error.stack.contains(where: { $0.contains("truncated") }) {
            error.message = "the file is truncated (shorter than HDF5 says it is); it was probably cut off while being written or copied: write or copy it again"
            throw error
        }
    }

    /// Creates a file, replacing any file at `path`. Used by tests and tools that write fixtures.
    /// `userBlock` bytes (0, or a power of 2 of at least 512) are reserved before the HDF5 data, as
    /// MATLAB's v7.3 files and `h5py.File(..., userblock_size=N)` have them.
    ///
    /// The corresponding C functions are `H5Fcreate` and `H5Pset_userblock`.
    public static func create(_ path: String, userBlock: Int = 0) throws -> HDF5File {
        let creation = try HDF5Library.open("H5Pcreate", file: path, message: "cannot create the file", closer: H5Pclose) {
            H5Pcreate(nc_H5P_FILE_CREATE())
        }
        if userBlock > 0 {
            try HDF5Library.call("H5Pset_userblock", file: path, message: "cannot reserve a user block of \(userBlock) bytes") {
                H5Pset_userblock(creation.id, hsize_t(userBlock))
            }
        }
        let handle = try HDF5Library.open("H5Fcreate", file: path, message: "cannot create the file", closer: H5Fclose) {
            H5Fcreate(path, nc_H5F_ACC_TRUNC(), creation.id, nc_H5P_DEFAULT())
        }
        return HDF5File(path: path, handle: handle)
    }

    /// The root group `/`.
    public var root: HDF5Group {
        get throws { try HDF5Group(file: self, path: "/") }
    }

    /// Flushes what was written to disk. Files being written should be flushed or closed explicitly,
    /// since a failure there would otherwise go unseen in `deinit`.
    ///
    /// The corresponding C function is `H5Fflush`.
    public func flush() throws {
        try HDF5Library.call("H5Fflush", file: path, message: "cannot flush the file") { H5Fflush(handle.id, H5F_SCOPE_GLOBAL) }
    }
}

/// Not `Sendable`: An open HDF5 file is used on the thread that opened it (HDF5 serialises calls behind one global
/// lock; the handles themselves are not guarded).
@available(*, unavailable)
extension HDF5File: Sendable {}
