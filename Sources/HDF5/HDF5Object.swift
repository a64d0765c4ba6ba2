import CHDF5

/// A value stored in an attribute.
public enum HDF5AttributeValue: Sendable, Equatable {
    case string(String)
    case integer(Int64)
    case float(Double)
    case strings([String])
    case integers([Int64])
    case floats([Double])
}

/// A group or dataset: something that carries attributes.
public protocol HDF5Object: AnyObject {
    var file: HDF5File { get }
    var path: String { get }
}

protocol HDF5ObjectInternal {
    var objectID: hid_t { get }
}

extension HDF5Group: HDF5ObjectInternal {}
extension HDF5Dataset: HDF5ObjectInternal {}

extension HDF5Object {
    private var internalID: hid_t {
        // Every conforming type in this module provides its identifier; the protocol is public only
        // so that callers can treat groups and datasets alike.
        guard let object = self as? HDF5ObjectInternal else {
            preconditionFailure("HDF5Object is implemented only by HDF5Group and HDF5Dataset")
        }
        return object.objectID
    }

    private func attributeLabel(_ name: String) -> String { "\(path)@\(name)" }

    /// The names of the object's attributes.
    public func attributeNames() throws -> [String] {
        var info = H5O_info_t()
        let id = internalID
        try HDF5Library.call("H5Oget_info2", file: file.path, object: path) { H5Oget_info2(id, &info, UInt32(H5O_INFO_NUM_ATTRS)) }
        var names: [String] = []
        for index in 0..<info.num_attrs {
            // An attribute whose name HDF5 cannot give is skipped, as it cannot be read by name either.
            guard let length = HDF5Library.query({
                H5Aget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, nc_H5P_DEFAULT())
            }) else { continue }
            var buffer = [CChar](repeating: 0, count: Int(length) + 1)
            try HDF5Library.call("H5Aget_name_by_idx", file: file.path, object: path) {
                H5Aget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer, buffer.count, nc_H5P_DEFAULT())
            }
            names.append(String(hdf5Buffer: buffer))
        }
        return names
    }

    public func hasAttribute(_ name: String) -> Bool {
        let id = internalID
        return (HDF5Library.query { H5Aexists(id, name) } ?? 0) > 0
    }

    /// Reads an attribute, or returns nil when it does not exist.
    ///
    /// The corresponding C function is `H5Aread`.
    public func attribute(_ name: String) throws -> HDF5AttributeValue? {
        guard hasAttribute(name) else { return nil }
        let label = attributeLabel(name)
        let id = internalID
        let attribute = try HDF5Library.open("H5Aopen", file: file.path, object: label, closer: H5Aclose) {
            H5Aopen(id, name, nc_H5P_DEFAULT())
        }
        let type = try HDF5Library.open("H5Aget_type", file: file.path, object: label, closer: H5Tclose) { H5Aget_type(attribute.id) }
        let space = try HDF5Library.open("H5Aget_space", file: file.path, object: label, closer: H5Sclose) { H5Aget_space(attribute.id) }
        let rank = Int(try HDF5Library.call("H5Sget_simple_extent_ndims", file: file.path, object: label) { H5Sget_simple_extent_ndims(space.id) })
        let count = Int(try HDF5Library.call("H5Sget_simple_extent_npoints", file: file.path, object: label) {
            H5Sget_simple_extent_npoints(space.id)
        })
        // H5Tget_size answers 0 when it fails; the check then counts 8 bytes an element, the most a
        // supported number takes.
        let elementSize = HDF5Library.query(failed: { $0 == 0 }) { H5Tget_size(type.id) } ?? 0
        _ = try HDF5SizeCheck.bytes(count: count, elementSize: max(Int(elementSize), 8), fileSize: file.byteCount, file: file.path, object: label)
        guard rank >= 0, rank > 0 || count == 1 else {
            throw HDF5Error(
                .wrongShape, file: file.path, object: label,
                message: "declares \(rank) dimensions and \(count) elements: the file is damaged; write or copy it again")
        }
        let element = try HDF5ElementType(datatype: type.id, file: file.path, object: label)
        switch element {
        case .string:
            let values = try HDF5StringReader.read(
                fileType: type.id, count: count, fileID: file.handle.id, file: file.path, fileSize: file.byteCount, object: label,
                space: space.id
            ) { memoryType, buffer in
                HDF5ReadWatch.during(file: file.path, object: label) { H5Aread(attribute.id, memoryType, buffer) }
            }
            return rank == 0 ? .string(values.first ?? "") : .strings(values)
        case .integer:
            var values = [Int64](repeating: 0, count: count)
            try HDF5Library.call("H5Aread", file: file.path, object: label) {
                HDF5ReadWatch.during(file: file.path, object: label) { H5Aread(attribute.id, nc_H5T_NATIVE_INT64(), &values) }
            }
            return rank == 0 ? .integer(values[0]) : .integers(values)
        case .float:
            var values = [Double](repeating: 0, count: count)
            try HDF5Library.call("H5Aread", file: file.path, object: label) {
                HDF5ReadWatch.during(file: file.path, object: label) { H5Aread(attribute.id, nc_H5T_NATIVE_DOUBLE(), &values) }
            }
            return rank == 0 ? .float(values[0]) : .floats(values)
        case .other(let kind):
            throw HDF5Error(.wrongType, file: file.path, object: label, message: "attribute of type \(kind) is not supported")
        }
    }

    /// Reads a string attribute (a one-element string array counts too), or nil when absent.
    public func stringAttribute(_ name: String) throws -> String? {
        switch try attribute(name) {
        case nil: return nil
        case .string(let value): return value
        case .strings(let values) where values.count == 1: return values[0]
        default:
            throw HDF5Error(.wrongType, file: file.path, object: attributeLabel(name), message: "expected a string attribute")
        }
    }

    /// Reads an integer attribute (a one-element integer array counts too), or nil when absent.
    public func integerAttribute(_ name: String) throws -> Int64? {
        switch try attribute(name) {
        case nil: return nil
        case .integer(let value): return value
        case .integers(let values) where values.count == 1: return values[0]
        case .float(let value) where value == value.rounded(): return Int64(exactly: value)
        default:
            throw HDF5Error(.wrongType, file: file.path, object: attributeLabel(name), message: "expected an integer attribute")
        }
    }

    /// Writes a scalar attribute, replacing an existing one. Used by tests and tools.
    ///
    /// The corresponding C function is `H5Awrite`.
    public func setAttribute(_ name: String, _ value: HDF5AttributeValue) throws {
        let label = attributeLabel(name)
        let id = internalID
        let path = file.path
        if hasAttribute(name) {
            try HDF5Library.call("H5Adelete", file: path, object: label) { H5Adelete(id, name) }
        }
        func create(_ type: hid_t, dims: [hsize_t]?) throws -> HDF5Handle {
            let space: HDF5Handle
            if var dims {
                space = try HDF5Library.open("H5Screate_simple", file: path, object: label, closer: H5Sclose) { H5Screate_simple(1, &dims, nil) }
            } else {
                space = try HDF5Library.open("H5Screate", file: path, object: label, closer: H5Sclose) { H5Screate(H5S_SCALAR) }
            }
            return try HDF5Library.open("H5Acreate2", file: path, object: label, closer: H5Aclose) {
                H5Acreate2(id, name, type, space.id, nc_H5P_DEFAULT(), nc_H5P_DEFAULT())
            }
        }
        func write(_ attribute: HDF5Handle, _ type: hid_t, _ pointer: UnsafeRawPointer) throws {
            try HDF5Library.call("H5Awrite", file: path, object: label) { H5Awrite(attribute.id, type, pointer) }
        }
        switch value {
        case .string(let text):
            let type = try HDF5StringWriter.variableLengthType(file: path, object: label)
            let attribute = try create(type.id, dims: nil)
            try HDF5StringWriter.withCStrings([text]) { try write(attribute, type.id, $0) }
        case .strings(let texts):
            let type = try HDF5StringWriter.variableLengthType(file: path, object: label)
            let attribute = try create(type.id, dims: [hsize_t(texts.count)])
            try HDF5StringWriter.withCStrings(texts) { try write(attribute, type.id, $0) }
        case .integer(var number):
            let attribute = try create(nc_H5T_STD_I64LE(), dims: nil)
            try HDF5Library.call("H5Awrite", file: path, object: label) { H5Awrite(attribute.id, nc_H5T_NATIVE_INT64(), &number) }
        case .integers(var numbers):
            let attribute = try create(nc_H5T_STD_I64LE(), dims: [hsize_t(numbers.count)])
            try HDF5Library.call("H5Awrite", file: path, object: label) { H5Awrite(attribute.id, nc_H5T_NATIVE_INT64(), &numbers) }
        case .float(var number):
            let attribute = try create(nc_H5T_IEEE_F64LE(), dims: nil)
            try HDF5Library.call("H5Awrite", file: path, object: label) { H5Awrite(attribute.id, nc_H5T_NATIVE_DOUBLE(), &number) }
        case .floats(var numbers):
            let attribute = try create(nc_H5T_IEEE_F64LE(), dims: [hsize_t(numbers.count)])
            try HDF5Library.call("H5Awrite", file: path, object: label) { H5Awrite(attribute.id, nc_H5T_NATIVE_DOUBLE(), &numbers) }
        }
    }
}

/// Not `Sendable`: groups and datasets hold handles of the file's thread.
@available(*, unavailable)
extension HDF5Group: Sendable {}

@available(*, unavailable)
extension HDF5Dataset: Sendable {}
