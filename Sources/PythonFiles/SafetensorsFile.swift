import Foundation

/// safetensors: `u64 LE header length N`, N bytes of JSON (`{"name": {"dtype", "shape",
/// "data_offsets": [begin, end]}, "__metadata__": {...}}`), then the tensors' bytes, C-contiguous
/// and little-endian, at offsets relative to the end of the header.
///
/// A converted self-critical.pytorch checkpoint keeps the state dict's names; its options and
/// vocabulary are not in the file and come from the infos file.
enum SafetensorsFile {
    static let types: [String: TorchStorageType] = [
        "F32": .float32, "F64": .float64, "F16": .float16, "BF16": .bfloat16,
        "I64": .int64, "I32": .int32, "I16": .int16, "I8": .int8, "U8": .uint8, "BOOL": .bool,
    ]
    /// The format's own limit on the header (100 MB), which keeps a corrupt length from allocating.
    static let maximumHeader = 100_000_000

    static func load(path: String) throws -> TorchCheckpoint {
        try load(path: path, data: readCheckpointFile(path))
    }

    static func load(path: String, data: Data) throws -> TorchCheckpoint {
        func corrupt(_ object: String?, _ message: String) -> CheckpointError {
            CheckpointError(.corruptArchive, file: path, object: object, message: message)
        }
        guard data.count >= 8 else { throw corrupt(nil, "a safetensors file shorter than its 8-byte header length; copy it again") }
        let headerLength = data.readUInt64(at: 0)
        guard headerLength <= UInt64(maximumHeader), headerLength <= UInt64(data.count - 8) else {
            throw corrupt(nil, "the safetensors header claims \(headerLength) bytes but the file has \(data.count - 8) after the length; the file is truncated or corrupt: copy it again")
        }
        let bufferStart = 8 + Int(headerLength)
        let header: [String: Any]
        do {
            guard let object = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<bufferStart)) as? [String: Any] else {
                throw corrupt(nil, "the safetensors header is not a JSON object; the file is corrupt")
            }
            header = object
        } catch let error as CheckpointError {
            throw error
        } catch {
            throw corrupt(nil, "the safetensors header is not valid JSON (\(error.localizedDescription)); the file is corrupt")
        }

        struct Entry {
            var name: String
            var type: TorchStorageType
            var typeName: String
            var shape: [Int]
            var range: Range<Int>
        }
        var entries: [Entry] = []
        let bufferSize = data.count - bufferStart
        for (name, value) in header where name != "__metadata__" {
            guard let info = value as? [String: Any], let typeName = info["dtype"] as? String,
                let shapeValues = info["shape"] as? [Any], let offsets = info["data_offsets"] as? [Any], offsets.count == 2
            else {
                throw corrupt(name, "the header entry lacks dtype, shape or data_offsets; the file is corrupt")
            }
            guard let type = types[typeName] else {
                throw CheckpointError(
                    .globalNotAllowed, file: path, object: name,
                    message: "dtype \(typeName) is not one nightcap reads (F32, F16, BF16, F64 and integers); convert the tensor to float32 and save the file again")
            }
            let shape = shapeValues.compactMap { ($0 as? NSNumber)?.intValue }
            let bounds = offsets.compactMap { ($0 as? NSNumber)?.intValue }
            guard shape.count == shapeValues.count, shape.allSatisfy({ $0 >= 0 }), bounds.count == 2,
                bounds[0] >= 0, bounds[0] <= bounds[1], bounds[1] <= bufferSize
            else {
                throw corrupt(name, "shape \(shapeValues) or data_offsets \(offsets) are invalid or reach past the file (\(bufferSize) data bytes); the file is truncated or corrupt")
            }
            var count = 1
            for size in shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: size)
                guard !overflow, product <= bufferSize else { throw corrupt(name, "shape \(shape) is larger than the file; the file is corrupt") }
                count = product
            }
            guard count * type.elementSize == bounds[1] - bounds[0] else {
                throw corrupt(name, "shape \(shape) of \(typeName) needs \(count * type.elementSize) bytes, data_offsets give \(bounds[1] - bounds[0]); the file is corrupt")
            }
            entries.append(Entry(name: name, type: type, typeName: typeName, shape: shape, range: (bufferStart + bounds[0])..<(bufferStart + bounds[1])))
        }
        // The format keeps no order (its JSON header is a map, written sorted): list names sorted.
        entries.sort { $0.name < $1.name }
        guard !entries.isEmpty else {
            throw CheckpointError(.noStateDict, file: path, message: "the safetensors file holds no tensors")
        }

        // Each tensor is its own contiguous storage: reuse the strided reader with one table per file.
        var ranges: [String: Range<Int>] = [:]
        for entry in entries { ranges[entry.name] = entry.range }
        let table = StorageTable(path: path) { ranges[$0] }
        var tensors: [String: CheckpointTensor] = [:]
        var types: [String: String] = [:]
        for entry in entries {
            let count = entry.shape.reduce(1, *)
            let storage = try table.reference(
                persistentID: .tuple([
                    .string("storage"), .global(PickleGlobal(module: "torch", name: entry.type.rawValue)),
                    .string(entry.name), .string("cpu"), .int(Int64(count)),
                ]), legacy: false)
            var strides = [Int](repeating: 1, count: entry.shape.count)
            for axis in stride(from: entry.shape.count - 2, through: 0, by: -1) {
                strides[axis] = strides[axis + 1] * max(entry.shape[axis + 1], 1)
            }
            let reference = TorchTensorReference(storage: storage, offset: 0, shape: entry.shape, strides: strides)
            tensors[entry.name] = try table.floats(of: reference, name: entry.name, in: data)
            types[entry.name] = entry.type.dtypeName
        }
        // DataParallel's prefix, as for torch.save files.
        let prefix = "module."
        var names = entries.map(\.name)
        let strip = names.allSatisfy { $0.hasPrefix(prefix) }
        if strip {
            names = names.map { String($0.dropFirst(prefix.count)) }
            tensors = Dictionary(uniqueKeysWithValues: tensors.map { (String($0.key.dropFirst(prefix.count)), $0.value) })
            types = Dictionary(uniqueKeysWithValues: types.map { (String($0.key.dropFirst(prefix.count)), $0.value) })
        }
        return TorchCheckpoint(
            path: path, format: .safetensors, pickleProtocol: nil, stateDict: StateDict(tensors: tensors),
            tensorNames: names, storedTypes: types, container: "safetensors", removedPrefix: strip ? prefix : nil,
            skippedEntries: [], embeddedInfos: nil)
    }
}
