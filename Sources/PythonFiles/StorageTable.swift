import Foundation

/// The storages a checkpoint's pickle names through persistent ids, and where their bytes lie in
/// the file; turns tensor views of them into `Float` values.
///
/// A class because the pickle's persistent loader records each storage's type as the pickle is
/// read, and the legacy reader only learns where the bytes are after the pickle.
final class StorageTable {
    let path: String
    /// The byte range of a storage key in the file, once known.
    private let locate: (String) -> Range<Int>?
    /// Element type and declared element count of every root storage named so far.
    private var declared: [String: (type: TorchStorageType?, count: Int)] = [:]

    /// The most elements a broadcast view (stride 0) may expand to beyond its storage: 64 MiB of Float.
    static let maximumBroadcastElements = 1 << 24

    init(path: String, locate: @escaping (String) -> Range<Int>?) {
        self.path = path
        self.locate = locate
    }

    func elementSize(of key: String) -> Int? {
        declared[key]?.type?.elementSize
    }

    /// `('storage', torch.FloatStorage, key, location, numel)` (zip) or the legacy
    /// `('storage', type, root_key, location, root_numel, view_metadata)` where `view_metadata` is
    /// None or `(view_key, offset, size)`.
    func reference(persistentID id: PickleValue, legacy: Bool) throws -> TorchStorageReference {
        guard let parts = id.sequence, parts.count >= 5, parts[0].string == "storage" else {
            throw PickleError(offset: 0, message: "a persistent id \(id.render(maxLength: 80)) that is not a storage")
        }
        guard case .global(let typeGlobal) = parts[1] else {
            throw PickleError(offset: 0, message: "a storage whose type is a \(parts[1].typeName)")
        }
        guard let key = parts[2].string ?? parts[2].int.map({ String($0) }) else {
            throw PickleError(offset: 0, message: "a storage key that is a \(parts[2].typeName)")
        }
        guard let count64 = parts[4].int, count64 >= 0, let count = Int(exactly: count64) else {
            throw PickleError(offset: 0, message: "storage \(key) has a bad size \(parts[4].render(maxLength: 40))")
        }
        let type = PickleAllowList.storageType(typeGlobal)
        if let known = declared[key], known.count != count {
            throw PickleError(offset: 0, message: "storage \(key) is declared with \(known.count) and \(count) elements")
        }
        declared[key] = (type, count)
        var reference = TorchStorageReference(key: key, type: type, typeName: typeGlobal.description, count: count)
        if legacy, parts.count >= 6, case .tuple(let view) = parts[5], view.count == 3 {
            guard let offset = view[1].int, let size = view[2].int, offset >= 0, size >= 0, offset + size <= count64 else {
                throw PickleError(offset: 0, message: "storage \(key) has a view outside it: \(parts[5].render(maxLength: 60))")
            }
            reference.elementOffset = Int(offset)
            reference.count = Int(size)
        }
        return reference
    }

    private func fail(_ kind: CheckpointError.Kind = .badTensor, _ name: String, _ message: String) -> CheckpointError {
        CheckpointError(kind, file: path, object: name, message: message)
    }

    /// The checked layout of a tensor: its storage type, the bytes of its root storage, its
    /// first element and element count.
    private func layout(of tensor: TorchTensorReference, name: String) throws -> (TorchStorageType, Range<Int>, Int, Int) {
        let storage = tensor.storage
        guard let type = storage.type else {
            throw fail(.globalNotAllowed, name,
                "its storage type \(storage.typeName) is not on nightcap's allow-list (it reads torch.FloatStorage, HalfStorage, BFloat16Storage, DoubleStorage and the integer and bool storages); convert the tensor to float32 in Python and save the state dict again")
        }
        guard let range = locate(storage.key) else {
            throw fail(.badTensor, name, "the bytes of its storage \(storage.key) are missing from the file; the checkpoint is truncated or corrupt: copy it again")
        }
        let rootCount = declared[storage.key]?.count ?? storage.count
        let (rootBytes, rootOverflow) = rootCount.multipliedReportingOverflow(by: type.elementSize)
        guard !rootOverflow, range.count >= rootBytes else {
            throw fail(.badTensor, name, "its storage \(storage.key) holds \(range.count) bytes, less than its \(rootCount) \(type.dtypeName) elements; the checkpoint is truncated or corrupt: copy it again")
        }
        var count = 1
        for size in tensor.shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: size)
            // A view holds more elements than its storage only when broadcast (stride 0, from
            // `expand`); a corrupt shape must not allocate without bound, so such views are capped.
            guard !overflow, product <= max(rootCount, Self.maximumBroadcastElements) else {
                throw fail(.badTensor, name, "its shape \(tensor.shape) holds more elements than its storage (\(rootCount)); the checkpoint is corrupt")
            }
            count = product
        }
        // The last element a non-empty view reaches; an empty tensor reaches nothing.
        var last = 0
        if count > 0 {
            for (size, stride) in zip(tensor.shape, tensor.strides) {
                let (reach, overflow) = (size - 1).multipliedReportingOverflow(by: stride)
                guard !overflow, reach <= rootCount else {
                    throw fail(.badTensor, name, "its strides \(tensor.strides) reach past its storage (\(rootCount) elements); the checkpoint is corrupt")
                }
                last += reach
            }
        }
        guard tensor.offset <= rootCount else {
            throw fail(.badTensor, name, "its storage offset \(tensor.offset) lies past its storage of \(rootCount) elements; the checkpoint is corrupt")
        }
        let first = storage.elementOffset + tensor.offset
        if count > 0 {
            guard first + last < storage.elementOffset + storage.count, first + last < rootCount else {
                throw fail(.badTensor, name, "shape \(tensor.shape), strides \(tensor.strides) and offset \(tensor.offset) reach past its storage of \(storage.count) elements; the checkpoint is corrupt")
            }
        }
        return (type, range, first, count)
    }

    /// Element indices of a strided view in row-major order, as a visitor (no index array).
    private func forEachIndex(_ tensor: TorchTensorReference, first: Int, count: Int, _ body: (Int, Int) -> Void) {
        if count == 0 { return }
        let rank = tensor.shape.count
        if isContiguous(tensor) {
            for i in 0..<count { body(i, first + i) }
            return
        }
        var counter = [Int](repeating: 0, count: rank)
        var index = first
        for i in 0..<count {
            body(i, index)
            var axis = rank - 1
            while axis >= 0 {
                counter[axis] += 1
                index += tensor.strides[axis]
                if counter[axis] < tensor.shape[axis] { break }
                index -= tensor.strides[axis] * tensor.shape[axis]
                counter[axis] = 0
                axis -= 1
            }
        }
    }

    /// Whether a view's elements are one run of its storage, in order (0-d, size-1 axes and
    /// contiguous strides).
    private func isContiguous(_ tensor: TorchTensorReference) -> Bool {
        var expected = 1
        for axis in stride(from: tensor.shape.count - 1, through: 0, by: -1) where tensor.shape[axis] != 1 {
            if tensor.strides[axis] != expected { return false }
            expected *= tensor.shape[axis]
        }
        return true
    }

    /// The tensor's values as `Float`, in row-major order of its shape.
    func floats(of tensor: TorchTensorReference, name: String, in data: Data) throws -> CheckpointTensor {
        let (type, range, first, count) = try layout(of: tensor, name: name)
        var values = [Float](repeating: 0, count: count)
        data.withUnsafeBytes { (file: UnsafeRawBufferPointer) in
            let base = UnsafeRawBufferPointer(rebasing: file[range])
            values.withUnsafeMutableBufferPointer { out in
                // The common case, a contiguous float32 tensor on a little-endian machine, is a copy.
                if type == .float32, isContiguous(tensor), count > 0, UInt32(1).littleEndian == 1 {
                    UnsafeMutableRawBufferPointer(out).copyMemory(
                        from: UnsafeRawBufferPointer(rebasing: base[(first * 4)..<((first + count) * 4)]))
                    return
                }
                switch type {
                case .float32:
                    forEachIndex(tensor, first: first, count: count) { i, e in
                        out[i] = Float(bitPattern: base.loadUnaligned(fromByteOffset: e * 4, as: UInt32.self).littleEndian)
                    }
                case .float64:
                    forEachIndex(tensor, first: first, count: count) { i, e in
                        out[i] = Float(Double(bitPattern: base.loadUnaligned(fromByteOffset: e * 8, as: UInt64.self).littleEndian))
                    }
                case .float16:
                    forEachIndex(tensor, first: first, count: count) { i, e in
                        out[i] = Float(halfBits: base.loadUnaligned(fromByteOffset: e * 2, as: UInt16.self).littleEndian)
                    }
                case .bfloat16:
                    forEachIndex(tensor, first: first, count: count) { i, e in
                        out[i] = Float(bfloat16Bits: base.loadUnaligned(fromByteOffset: e * 2, as: UInt16.self).littleEndian)
                    }
                case .int64:
                    forEachIndex(tensor, first: first, count: count) { i, e in
                        out[i] = Float(Int64(littleEndian: base.loadUnaligned(fromByteOffset: e * 8, as: Int64.self)))
                    }
                case .int32:
                    forEachIndex(tensor, first: first, count: count) { i, e in
                        out[i] = Float(Int32(littleEndian: base.loadUnaligned(fromByteOffset: e * 4, as: Int32.self)))
                    }
                case .int16:
                    forEachIndex(tensor, first: first, count: count) { i, e in
                        out[i] = Float(Int16(littleEndian: base.loadUnaligned(fromByteOffset: e * 2, as: Int16.self)))
                    }
                case .int8:
                    forEachIndex(tensor, first: first, count: count) { i, e in out[i] = Float(Int8(bitPattern: base[e])) }
                case .uint8, .untyped:
                    forEachIndex(tensor, first: first, count: count) { i, e in out[i] = Float(base[e]) }
                case .bool:
                    forEachIndex(tensor, first: first, count: count) { i, e in out[i] = base[e] != 0 ? 1 : 0 }
                }
            }
        }
        return CheckpointTensor(shape: tensor.shape, values: values)
    }

    /// The raw bytes of a uint8 tensor (Lightning's `_vocab`/`_opt` pickles).
    func bytes(of tensor: TorchTensorReference, name: String, in data: Data) throws -> [UInt8] {
        let (type, range, first, count) = try layout(of: tensor, name: name)
        guard type == .uint8 || type == .untyped || type == .int8 else {
            throw fail(.badTensor, name, "expected a uint8 tensor holding a pickle (as self-critical.pytorch's train_pl.py writes), found \(type.dtypeName)")
        }
        var out = [UInt8](repeating: 0, count: count)
        data.withUnsafeBytes { (file: UnsafeRawBufferPointer) in
            let base = UnsafeRawBufferPointer(rebasing: file[range])
            forEachIndex(tensor, first: first, count: count) { i, e in out[i] = base[e] }
        }
        return out
    }
}
