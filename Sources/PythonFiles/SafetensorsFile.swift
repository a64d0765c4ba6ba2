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

    /// A tensor of the header: its dtype, shape and the bytes of the file it occupies.
    private struct Entry {
        var name: String
        var type: TorchStorageType
        var typeName: String
        var shape: [Int]
        var range: Range<Int>
    }

    static func load(path: String, data: Data) throws -> TorchCheckpoint {
        let (header, bufferStart) = try readHeader(path: path, data: data)
        let bufferSize = data.count - bufferStart
        var entries: [Entry] = []
        for (name, value) in header where name != "__metadata__" {
            entries.append(try entry(name: name, value, bufferStart: bufferStart, bufferSize: bufferSize, path: path))
        }
        // The format keeps no order (its JSON header is a map, written sorted): list names sorted.
        entries.sort { $0.name < $1.name }
        guard !entries.isEmpty else {
            throw CheckpointError(.noStateDict, file: path, message: "the safetensors file holds no tensors")
        }
        try checkLayout(
            entries.map { (name: $0.name, begin: $0.range.lowerBound - bufferStart, end: $0.range.upperBound - bufferStart) },
            dataBytes: bufferSize, path: path)
        return try checkpoint(entries, data: data, path: path)
    }

    /// The JSON header and where the data after it starts.
    private static func readHeader(path: String, data: Data) throws -> (header: [String: Any], bufferStart: Int) {
        func corrupt(_ message: String) -> CheckpointError {
            CheckpointError(.corruptArchive, file: path, message: message)
        }
        guard data.count >= 8 else { throw corrupt("a safetensors file shorter than its 8-byte header length; copy it again") }
        let headerLength = data.readUInt64(at: 0)
        guard headerLength <= UInt64(maximumHeader), headerLength <= UInt64(data.count - 8) else {
            throw corrupt("the safetensors header claims \(headerLength) bytes but the file has \(data.count - 8) after the length; the file is truncated or corrupt: copy it again")
        }
        let bufferStart = 8 + Int(headerLength)
        do {
            guard let object = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<bufferStart)) as? [String: Any] else {
                throw corrupt("the safetensors header is not a JSON object; the file is corrupt")
            }
            return (object, bufferStart)
        } catch let error as CheckpointError {
            throw error
        } catch {
            throw corrupt("the safetensors header is not valid JSON (\(error.localizedDescription)); the file is corrupt")
        }
    }

    /// One header entry, checked: a dtype nightcap reads, a shape, and data_offsets inside the data
    /// whose length matches the shape.
    private static func entry(name: String, _ value: Any, bufferStart: Int, bufferSize: Int, path: String) throws -> Entry {
        func corrupt(_ message: String) -> CheckpointError {
            CheckpointError(.corruptArchive, file: path, object: name, message: message)
        }
        guard let info = value as? [String: Any], let typeName = info["dtype"] as? String,
            let shapeValues = info["shape"] as? [Any], let offsets = info["data_offsets"] as? [Any], offsets.count == 2
        else {
            throw corrupt("the header entry lacks dtype, shape or data_offsets; the file is corrupt")
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
            throw corrupt("shape \(shapeValues) or data_offsets \(offsets) are invalid or reach past the file (\(bufferSize) data bytes); the file is truncated or corrupt")
        }
        var count = 1
        for size in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow, product <= bufferSize else { throw corrupt("shape \(shape) is larger than the file; the file is corrupt") }
            count = product
        }
        guard count * type.elementSize == bounds[1] - bounds[0] else {
            throw corrupt("shape \(shape) of \(typeName) needs \(count * type.elementSize) bytes, data_offsets give \(bounds[1] - bounds[0]); the file is corrupt")
        }
        return Entry(name: name, type: type, typeName: typeName, shape: shape, range: (bufferStart + bounds[0])..<(bufferStart + bounds[1]))
    }

    /// The tensors of the checked entries, as a checkpoint (a `module.` prefix on every name removed).
    private static func checkpoint(_ entries: [Entry], data: Data, path: String) throws -> TorchCheckpoint {
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

    /// The format's layout rule, as the safetensors library checks it (`validate`, then the buffer's
    /// length): in the order of their offsets, the tensors tile the data exactly, each beginning
    /// where the previous ended, the first at 0, the last at the end of the file. Tensors sharing
    /// bytes, bytes between tensors and bytes after the last are refused, naming the tensors.
    static func checkLayout(_ spans: [(name: String, begin: Int, end: Int)], dataBytes: Int, path: String) throws {
        let ordered = spans.sorted { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var previous: (name: String, begin: Int, end: Int)?
        for span in ordered {
            let expected = previous?.end ?? 0
            if span.begin < expected, let previous {
                throw CheckpointError(
                    .corruptArchive, file: path, object: span.name,
                    message: "the tensors `\(previous.name)` (data_offsets [\(previous.begin), \(previous.end)]) and `\(span.name)` ([\(span.begin), \(span.end)]) share bytes, which the safetensors format forbids (its library refuses the file); the file is corrupt or was written by another tool: save the state dict again with safetensors.torch.save_file")
            }
            if span.begin > expected {
                let place = previous.map { "between `\($0.name)` (data_offsets [\($0.begin), \($0.end)]) and `\(span.name)` ([\(span.begin), \(span.end)])" }
                    ?? "before the first tensor, `\(span.name)` (data_offsets [\(span.begin), \(span.end)])"
                throw CheckpointError(
                    .corruptArchive, file: path, object: span.name,
                    message: "bytes \(expected)..<\(span.begin) of the data, \(place), belong to no tensor, which the safetensors format forbids (its library refuses the file); the file is corrupt or was written by another tool: save the state dict again with safetensors.torch.save_file")
            }
            previous = span
        }
        if let last = previous, last.end != dataBytes {
            throw CheckpointError(
                .corruptArchive, file: path, object: last.name,
                message: "the file holds \(dataBytes - last.end) bytes after its last tensor `\(last.name)` (data_offsets [\(last.begin), \(last.end)] of \(dataBytes) data bytes), which the safetensors format forbids (its library refuses the file); the file is corrupt or something was appended to it: copy or save it again")
        }
    }
}
