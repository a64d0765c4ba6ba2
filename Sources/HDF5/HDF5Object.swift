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
        try HDF5Library.check(H5Oget_info2(internalID, &info, UInt32(H5O_INFO_NUM_ATTRS)), "H5Oget_info2", file: file.path, object: path)
        var names: [String] = []
        for index in 0..<info.num_attrs {
            let length = H5Aget_name_by_idx(internalID, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, nc_H5P_DEFAULT())
            guard length >= 0 else { continue }
            var buffer = [CChar](repeating: 0, count: Int(length) + 1)
            _ = H5Aget_name_by_idx(internalID, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer, buffer.count, nc_H5P_DEFAULT())
            names.append(String(hdf5Buffer: buffer))
        }
        return names
    }

    public func hasAttribute(_ name: String) -> Bool {
        H5Aexists(internalID, name) > 0
    }

    /// Reads an attribute, or returns nil when it does not exist.
    ///
    /// The corresponding C function is `H5Aread`.
    public func attribute(_ name: String) throws -> HDF5AttributeValue? {
        HDF5Library.ensureInitialized()
        guard hasAttribute(name) else { return nil }
        let label = attributeLabel(name)
        let attribute = HDF5Handle(
            try HDF5Library.check(H5Aopen(internalID, name, nc_H5P_DEFAULT()), "H5Aopen", file: file.path, object: label),
            closer: H5Aclose)
        let type = HDF5Handle(try HDF5Library.check(H5Aget_type(attribute.id), "H5Aget_type", file: file.path, object: label), closer: H5Tclose)
        let space = HDF5Handle(try HDF5Library.check(H5Aget_space(attribute.id), "H5Aget_space", file: file.path, object: label), closer: H5Sclose)
        let rank = Int(H5Sget_simple_extent_ndims(space.id))
        let count = Int(H5Sget_simple_extent_npoints(space.id))
        _ = try HDF5SizeCheck.bytes(count: count, elementSize: max(Int(H5Tget_size(type.id)), 8), fileSize: file.byteCount, file: file.path, object: label)
        guard rank >= 0, rank > 0 || count == 1 else {
            throw HDF5Error(
                .wrongShape, file: file.path, object: label,
                message: "declares \(rank) dimensions and \(count) elements: the file is damaged; write or copy it again")
        }
        let element = HDF5ElementType(datatype: type.id)
        switch element {
        case .string:
            let values = try HDF5StringReader.read(
                fileType: type.id, count: count, file: file.path, fileSize: file.byteCount, object: label, space: space.id
            ) { memoryType, buffer in
                HDF5ReadWatch.during(file: file.path, object: label) { H5Aread(attribute.id, memoryType, buffer) }
            }
            return rank == 0 ? .string(values.first ?? "") : .strings(values)
        case .integer:
            var values = [Int64](repeating: 0, count: count)
            try HDF5Library.check(
                HDF5ReadWatch.during(file: file.path, object: label) { H5Aread(attribute.id, nc_H5T_NATIVE_INT64(), &values) },
                "H5Aread", file: file.path, object: label)
            return rank == 0 ? .integer(values[0]) : .integers(values)
        case .float:
            var values = [Double](repeating: 0, count: count)
            try HDF5Library.check(
                HDF5ReadWatch.during(file: file.path, object: label) { H5Aread(attribute.id, nc_H5T_NATIVE_DOUBLE(), &values) },
                "H5Aread", file: file.path, object: label)
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
        HDF5Library.ensureInitialized()
        let label = attributeLabel(name)
        if hasAttribute(name) {
            try HDF5Library.check(H5Adelete(internalID, name), "H5Adelete", file: file.path, object: label)
        }
        func create(_ type: hid_t, dims: [hsize_t]?) throws -> HDF5Handle {
            let space: hid_t
            if var dims { space = H5Screate_simple(1, &dims, nil) } else { space = H5Screate(H5S_SCALAR) }
            let spaceHandle = HDF5Handle(try HDF5Library.check(space, "H5Screate", file: file.path, object: label), closer: H5Sclose)
            return HDF5Handle(
                try HDF5Library.check(
                    H5Acreate2(internalID, name, type, spaceHandle.id, nc_H5P_DEFAULT(), nc_H5P_DEFAULT()), "H5Acreate2",
                    file: file.path, object: label),
                closer: H5Aclose)
        }
        switch value {
        case .string(let text):
            let type = HDF5StringWriter.variableLengthType()
            defer { _ = H5Tclose(type) }
            let attribute = try create(type, dims: nil)
            try HDF5StringWriter.withCStrings([text]) { pointer in
                try HDF5Library.check(H5Awrite(attribute.id, type, pointer), "H5Awrite", file: file.path, object: label)
            }
        case .strings(let texts):
            let type = HDF5StringWriter.variableLengthType()
            defer { _ = H5Tclose(type) }
            let attribute = try create(type, dims: [hsize_t(texts.count)])
            try HDF5StringWriter.withCStrings(texts) { pointer in
                try HDF5Library.check(H5Awrite(attribute.id, type, pointer), "H5Awrite", file: file.path, object: label)
            }
        case .integer(var number):
            let attribute = try create(nc_H5T_STD_I64LE(), dims: nil)
            try HDF5Library.check(H5Awrite(attribute.id, nc_H5T_NATIVE_INT64(), &number), "H5Awrite", file: file.path, object: label)
        case .integers(var numbers):
            let attribute = try create(nc_H5T_STD_I64LE(), dims: [hsize_t(numbers.count)])
            try HDF5Library.check(H5Awrite(attribute.id, nc_H5T_NATIVE_INT64(), &numbers), "H5Awrite", file: file.path, object: label)
        case .float(var number):
            let attribute = try create(nc_H5T_IEEE_F64LE(), dims: nil)
            try HDF5Library.check(H5Awrite(attribute.id, nc_H5T_NATIVE_DOUBLE(), &number), "H5Awrite", file: file.path, object: label)
        case .floats(var numbers):
            let attribute = try create(nc_H5T_IEEE_F64LE(), dims: [hsize_t(numbers.count)])
            try HDF5Library.check(H5Awrite(attribute.id, nc_H5T_NATIVE_DOUBLE(), &numbers), "H5Awrite", file: file.path, object: label)
        }
    }
}

/// Not `Sendable`: groups and datasets hold handles of the file's thread.
@available(*, unavailable)
extension HDF5Group: Sendable {}

@available(*, unavailable)
extension HDF5Dataset: Sendable {}
