import Foundation

/// What a model-like file is, decided by its first bytes (never by its extension, since `.pth`,
/// `.pt`, `.pth.tar`, `.ckpt` and `.bin` are all used for both PyTorch formats).
public enum CheckpointFormat: String, Sendable, CaseIterable {
    /// An HDF5 file: a nightcap model file, or features.
    case hdf5 = "HDF5"
    /// `torch.save` since torch 1.6: a zip archive of `data.pkl` and raw storages.
    case torchZip = "zip"
    /// `torch.save` up to torch 1.5 (or `_use_new_zipfile_serialization=False`): concatenated
    /// pickles, then raw storages.
    case torchLegacy = "legacy"
    case safetensors
    /// A plain pickle (an infos file, an id map).
    case pickle

    static let hdf5Signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
    /// `pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2)`, the first bytes of every legacy file.
    static let legacyMagic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]

    /// Reads the first bytes of `path`.
    public static func detect(path: String) throws -> CheckpointFormat {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CheckpointError(.unreadable, file: path, message: "cannot open the file; check the path and its permissions")
        }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 512)) ?? Data()
        return try detect(head: head, path: path)
    }

    /// Decides from the first bytes (at least 16 if the file has them).
    static func detect(head: Data, path: String) throws -> CheckpointFormat {
        let bytes = [UInt8](head.prefix(512))
        if bytes.starts(with: hdf5Signature) { return .hdf5 }
        if ZipArchive.looksLikeZip(head) { return .torchZip }
        if bytes.starts(with: legacyMagic) { return .torchLegacy }
        if bytes.count >= 10, bytes[8] == 0x7B {  // u64 header length, then '{'
            let length = bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
            if length >= 2 { return .safetensors }
        }
        if let first = bytes.first, first == 0x80, bytes.count > 1, bytes[1] <= 5 {
            // `torch.save(..., pickle_protocol=N, _use_new_zipfile_serialization=False)` pickles the
            // magic number with protocol N too: read the first pickle to tell.
            var machine = PickleMachine(data: Data(bytes))
            if case .bigInt(let magic)? = try? machine.load().value, magic == Array(legacyMagic[4..<14]) {
                return .torchLegacy
            }
            return .pickle
        }
        if let first = bytes.first, first == 0x28 || first == 0x7D || first == 0x5D || first == 0x63 {
            return .pickle  // protocol 0/1: MARK, EMPTY_DICT, EMPTY_LIST, GLOBAL
        }
        if bytes.count >= 262, String(decoding: bytes[257..<262], as: UTF8.self) == "ustar" {
            throw CheckpointError(
                .unknownFormat, file: path,
                message: "a tar archive: the checkpoint format of torch < 0.1.10, which nightcap does not read; load it with an old torch and save it again with torch.save")
        }
        throw CheckpointError(
            .unknownFormat, file: path,
            message: "not an HDF5 file (features or a nightcap model), a PyTorch checkpoint (torch.save, zip or legacy), a safetensors file or a pickle, which are the files nightcap reads; check the path")
    }
}

/// Reads a whole file, memory-mapped: a checkpoint's storages are read once, in place.
func readCheckpointFile(_ path: String) throws -> Data {
    do {
        return try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
    } catch {
        throw CheckpointError(.unreadable, file: path, message: "cannot read the file (\(error.localizedDescription)); check the path and its permissions")
    }
}
