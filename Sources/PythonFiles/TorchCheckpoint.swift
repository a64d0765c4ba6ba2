import Foundation

/// A PyTorch checkpoint (`torch.save`, zip or legacy) or a safetensors file, read natively: its
/// state dict as `Float` tensors, and the options and vocabulary when the file carries them
/// (Lightning `.ckpt` files of self-critical.pytorch's `train_pl.py`).
public struct TorchCheckpoint: Sendable {
    public enum Format: String, Sendable {
        case zip, legacy, safetensors
    }

    public var path: String
    public var format: Format
    /// The object pickle's protocol (nil for safetensors).
    public var pickleProtocol: Int?
    public var stateDict: StateDict
    /// Tensor names in file order.
    public var tensorNames: [String]
    /// Each tensor's element type as stored (`float32`, `float16`, `int64`...).
    public var storedTypes: [String: String]
    /// Where the state dict was found: `state dict`, `['state_dict']` or `['model']`.
    public var container: String
    /// `module.` when DataParallel's prefix was removed from the keys.
    public var removedPrefix: String?
    /// Entries of the state dict that are not tensors (skipped), by name.
    public var skippedEntries: [String]
    /// Options and vocabulary stored in the checkpoint itself (Lightning's `_opt`/`_vocab`).
    public var embeddedInfos: TrainingInfos?

    /// Reads `path`, whichever of the three formats it is.
    public static func load(path: String) throws -> TorchCheckpoint {
        switch try CheckpointFormat.detect(path: path) {
        case .torchZip: return try loadZip(path: path, data: readCheckpointFile(path))
        case .torchLegacy: return try loadLegacy(path: path, data: readCheckpointFile(path))
        case .safetensors: return try SafetensorsFile.load(path: path)
        case .hdf5:
            throw CheckpointError(.unknownFormat, file: path, message: "an HDF5 file (a nightcap model file or features), not a PyTorch checkpoint")
        case .pickle:
            throw CheckpointError(
                .unknownFormat, file: path,
                message: "a plain pickle, not a torch.save checkpoint (an infos file? pass it with --infos, and the model-best.pth beside it with --model)")
        }
    }

    // MARK: - Zip (torch >= 1.6)

    static func loadZip(path: String, data: Data) throws -> TorchCheckpoint {
        let archive = try ZipArchive(data: data, path: path)
        guard let first = archive.entries.first else {
            throw CheckpointError(.corruptArchive, file: path, message: "an empty zip archive; the checkpoint was not written completely: save it again")
        }
        if let script = archive.entries.first(where: {
            $0.name.hasSuffix("/constants.pkl") || $0.name == "constants.pkl" || $0.name.contains("/code/") || $0.name.hasPrefix("code/")
        }) {
            throw CheckpointError(
                .torchScript, file: path, object: script.name,
                message: "a TorchScript archive (torch.jit.save), which holds compiled code rather than a state dict; in Python, load the model and save its weights with torch.save(model.state_dict(), 'model.pth'), then pass that file")
        }
        if let deflated = archive.entries.first(where: \.isCompressed) {
            throw CheckpointError(
                .corruptArchive, file: path, object: deflated.name,
                message: "this entry is compressed; torch.save stores entries uncompressed, so the archive was rewritten by another tool: re-save it with torch.save, or unzip it and zip it again with `zip -0`")
        }
        // Every record lives under one folder, named after the file or `archive`; torch takes the
        // prefix of the first record, and so does this.
        let prefix = first.name.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        guard let pickleEntry = archive.entry("\(prefix)/data.pkl") ?? archive.entries.first(where: { $0.name.hasSuffix("/data.pkl") }) else {
            throw CheckpointError(
                .corruptArchive, file: path,
                message: "a zip archive without data.pkl, so not a torch.save checkpoint (entries: \(archive.entries.prefix(5).map(\.name).joined(separator: ", ")))")
        }
        let folder = String(pickleEntry.name.dropLast("data.pkl".count))
        if let order = archive.entry("\(folder)byteorder") {
            let text = String(decoding: archive.contents(of: order), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard text == "little" else {
                throw CheckpointError(
                    .corruptArchive, file: path, object: order.name,
                    message: "storages are \(text)-endian; nightcap reads little-endian checkpoints: load and save it again with torch on a little-endian machine")
            }
        }

        let storages = StorageTable(path: path) { key in
            guard let entry = archive.entry("\(folder)data/\(key)") else { return nil }
            return entry.range
        }
        var machine = PickleMachine(data: archive.contents(of: pickleEntry)) { id in
            .storage(try storages.reference(persistentID: id, legacy: false))
        }
        let value: PickleValue
        do {
            value = try machine.load().value
        } catch let error as PickleError {
            throw CheckpointError(.corruptPickle, file: path, object: pickleEntry.name, message: "\(error); the file is corrupt: save or copy it again")
        }
        return try Self(path: path, format: .zip, pickleProtocol: machine.proto, top: value, data: data, storages: storages)
    }

    // MARK: - Legacy (torch <= 1.5)

    static func loadLegacy(path: String, data: Data) throws -> TorchCheckpoint {
        func corrupt(_ message: String) -> CheckpointError {
            CheckpointError(.corruptPickle, file: path, message: message)
        }
        var offset = 0
        func next(_ what: String, persistent: PickleMachine.PersistentLoader? = nil) throws -> (PickleValue, Int) {
            var machine = PickleMachine(data: data, start: offset, persistentLoad: persistent)
            do {
                let (value, end) = try machine.load()
                offset = end
                return (value, machine.proto)
            } catch let error as PickleError {
                throw corrupt("legacy checkpoint, \(what): \(error); the file is truncated or corrupt: copy it again")
            }
        }
        _ = try next("magic number")  // checked by detection
        let (version, _) = try next("protocol version")
        guard version.int == 1001 else {
            throw corrupt("legacy checkpoint protocol \(version.render()) (expected 1001); nightcap reads files of torch 0.4 to 1.5")
        }
        let (systemInfo, _) = try next("system info")
        if case .dict(let info) = systemInfo, case .bool(false)? = info["little_endian"] {
            throw CheckpointError(
                .corruptArchive, file: path,
                message: "saved on a big-endian machine; nightcap reads little-endian checkpoints: load and save it again with torch on a little-endian machine")
        }

        // Storage keys are decimal addresses; their bytes follow the last pickle, in the order of
        // the key list, each as an int64 element count and the raw elements.
        var ranges: [String: Range<Int>] = [:]
        let storages = StorageTable(path: path) { ranges[$0] }
        let (top, proto) = try next("state dict") { id in
            .storage(try storages.reference(persistentID: id, legacy: true))
        }
        let (keyList, _) = try next("storage keys")
        guard let keys = keyList.sequence else {
            throw corrupt("legacy checkpoint: the storage key list is a \(keyList.typeName); the file is corrupt")
        }
        for keyValue in keys {
            guard let key = keyValue.string else { throw corrupt("legacy checkpoint: a storage key is a \(keyValue.typeName)") }
            guard let size = storages.elementSize(of: key) else {
                throw corrupt("legacy checkpoint: storage \(key) is listed but no tensor names its type; the file is corrupt")
            }
            guard offset + 8 <= data.count else {
                throw corrupt("legacy checkpoint: the data of storage \(key) is missing; the file is truncated: copy it again")
            }
            let count = Int64(bitPattern: data.readUInt64(at: offset))
            offset += 8
            let (bytes, overflow) = Int(clamping: count).multipliedReportingOverflow(by: size)
            guard count >= 0, !overflow, bytes <= data.count - offset else {
                throw corrupt("legacy checkpoint: storage \(key) declares \(count) elements, more than the \(data.count - offset) bytes left; the file is truncated: copy it again")
            }
            ranges[key] = offset..<(offset + bytes)
            offset += bytes
        }
        return try Self(path: path, format: .legacy, pickleProtocol: proto, top: top, data: data, storages: storages)
    }

}

// MARK: - The state dict inside the object

extension TorchCheckpoint {
    fileprivate init(path: String, format: Format, pickleProtocol: Int?, top: PickleValue, data: Data, storages: StorageTable) throws {
        self.path = path
        self.format = format
        self.pickleProtocol = pickleProtocol
        let (dict, container) = try Self.locateStateDict(top, path: path)
        self.container = container

        var tensors: [String: CheckpointTensor] = [:]
        var names: [String] = []
        var types: [String: String] = [:]
        var skipped: [String] = []
        var lightningBlobs: [String: [UInt8]] = [:]
        let keys = dict.entries.compactMap { $0.key.string }
        let prefix = "module."
        let stripPrefix = !keys.isEmpty && keys.allSatisfy { $0.hasPrefix(prefix) }
        for entry in dict.entries {
            guard var name = entry.key.string else {
                skipped.append(entry.key.render(maxLength: 40))
                continue
            }
            if stripPrefix { name.removeFirst(prefix.count) }
            switch entry.value {
            case .tensor(let reference):
                if name == "_vocab" || name == "_opt" {
                    lightningBlobs[name] = try storages.bytes(of: reference, name: name, in: data)
                    continue
                }
                guard tensors[name] == nil else {
                    throw CheckpointError(.badTensor, file: path, object: name, message: "two tensors have this name (one with and one without the `module.` prefix); save the model's state_dict again")
                }
                tensors[name] = try storages.floats(of: reference, name: name, in: data)
                types[name] = reference.storage.type?.dtypeName ?? reference.storage.typeName
                names.append(name)
            case .object(let object) where object.className.module.hasPrefix("torch"):
                throw CheckpointError(
                    .globalNotAllowed, file: path, object: name,
                    message: "this tensor is built by \(object.className), which is not on nightcap's allow-list (it reads dense tensors: float32, float16, bfloat16, float64 and integers); convert the model to a dense float state dict in Python and save it with torch.save")
            default:
                skipped.append(name)
            }
        }
        guard !tensors.isEmpty else {
            throw CheckpointError(
                .noStateDict, file: path,
                message: "\(container == "state dict" ? "the state dict" : "checkpoint\(container)") holds no tensors; save the model with torch.save(model.state_dict(), 'model.pth')")
        }
        self.stateDict = StateDict(tensors: tensors)
        self.tensorNames = names
        self.storedTypes = types
        self.removedPrefix = stripPrefix ? prefix : nil
        self.skippedEntries = skipped
        if let vocab = lightningBlobs["_vocab"], let opt = lightningBlobs["_opt"] {
            self.embeddedInfos = try TrainingInfos(lightningVocab: vocab, options: opt, source: "\(path) (_vocab, _opt)")
        } else {
            self.embeddedInfos = nil
        }
    }

    /// A bare state dict, `{'state_dict': ...}` (Lightning) or `{'model': ...}`.
    static func locateStateDict(_ top: PickleValue, path: String) throws -> (PickleDict, String) {
        switch top {
        case .dict(let dict):
            for key in ["state_dict", "model"] {
                if case .dict(let inner)? = dict[key] { return (inner, "['\(key)']") }
            }
            if dict.entries.contains(where: { if case .tensor = $0.value { return true } else { return false } }) {
                return (dict, "state dict")
            }
            let keys = dict.entries.prefix(8).map { $0.key.render(maxLength: 40) }.joined(separator: ", ")
            throw CheckpointError(
                .noStateDict, file: path,
                message: "a dict with keys \(keys) and no tensors; nightcap reads a state dict (torch.save(model.state_dict(), path)), or a dict holding one under 'state_dict' or 'model'")
        case .object(let object):
            throw CheckpointError(
                .noStateDict, file: path,
                message: "a pickled \(object.className) object, not a state dict; nightcap never runs pickled code: in Python, save the weights with torch.save(model.state_dict(), 'model.pth')")
        default:
            throw CheckpointError(
                .noStateDict, file: path,
                message: "the checkpoint holds a \(top.typeName), not a state dict; save it with torch.save(model.state_dict(), 'model.pth')")
        }
    }
}
