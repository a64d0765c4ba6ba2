import CHDF5

/// What one element of a dataset or attribute is, as stored on disk.
public enum HDF5ElementType: Sendable, Equatable, CustomStringConvertible {
    case float(bits: Int)
    case integer(bits: Int, signed: Bool)
    /// A string; `variableLength` strings are what h5py writes, fixed-length ones occur in older dumps.
    case string(variableLength: Bool, size: Int)
    /// Anything else (compound, enum, opaque, ...), with HDF5's class name.
    case other(String)

    public var description: String {
        switch self {
        case .float(let bits): return "float\(bits)"
        case .integer(let bits, let signed): return (signed ? "int" : "uint") + "\(bits)"
        case .string(let variable, let size): return variable ? "string (variable length)" : "string (fixed, \(size) bytes)"
        case .other(let name): return name
        }
    }

    public var isFloat: Bool { if case .float = self { return true } else { return false } }
    public var isInteger: Bool { if case .integer = self { return true } else { return false } }
    public var isString: Bool { if case .string = self { return true } else { return false } }

    /// Reads the element type of an HDF5 datatype identifier; `file` and `object` name it in errors.
    init(datatype: hid_t, file: String, object: String) throws {
        let size = try HDF5Library.call("H5Tget_size", file: file, object: object, failed: { $0 == 0 }) { H5Tget_size(datatype) }
        let typeClass = try HDF5Library.call("H5Tget_class", file: file, object: object, failed: { $0 == H5T_NO_CLASS }) {
            H5Tget_class(datatype)
        }
        if typeClass == H5T_FLOAT || typeClass == H5T_INTEGER {
            try Self.checkNumber(datatype, size: size, float: typeClass == H5T_FLOAT, file: file, object: object)
        }
        switch typeClass {
        case H5T_FLOAT:
            self = .float(bits: size * 8)
        case H5T_INTEGER:
            let sign = try HDF5Library.call("H5Tget_sign", file: file, object: object, failed: { $0 == H5T_SGN_ERROR }) {
                H5Tget_sign(datatype)
            }
            self = .integer(bits: size * 8, signed: sign != H5T_SGN_NONE)
        case H5T_STRING:
            let variable = try HDF5Library.call("H5Tis_variable_str", file: file, object: object) { H5Tis_variable_str(datatype) }
            self = .string(variableLength: variable > 0, size: size)
        case H5T_COMPOUND: self = .other("compound")
        case H5T_ENUM: self = .other("enum")
        case H5T_OPAQUE: self = .other("opaque")
        case H5T_ARRAY: self = .other("array")
        case H5T_VLEN: self = .other("variable-length sequence")
        case H5T_REFERENCE: self = .other("reference")
        case H5T_BITFIELD: self = .other("bitfield")
        case H5T_TIME: self = .other("time")
        default: self = .other("unknown type")
        }
    }
}

extension HDF5ElementType {
    /// HDF5's numbers are 1, 2, 4, 8 or 16 bytes with their bits inside them. A damaged datatype
    /// message can declare, say, a 246-byte float16 (fuzzing found it), which HDF5 1.10 accepts and
    /// then converts out of bounds (a fault in `H5VM_memcpyvv` under `H5Dread`); HDF5 1.14 refuses
    /// such types as corrupted. Checked before any read.
    fileprivate static func checkNumber(_ datatype: hid_t, size: Int, float: Bool, file: String, object: String) throws {
        let precision = HDF5Library.query(failed: { $0 == 0 }) { H5Tget_precision(datatype) } ?? 0
        let offset = HDF5Library.query { H5Tget_offset(datatype) } ?? -1
        guard [1, 2, 4, 8, 16].contains(size), precision > 0, offset >= 0, Int(offset) + precision <= size * 8 else {
            throw HDF5Error(
                .wrongType, file: file, object: object,
                message: "declares \(float ? "a float" : "an integer") type of \(size) bytes with \(precision) bits at bit \(offset), which HDF5 never writes: the file is damaged; write or copy it again")
        }
    }
}

/// The element types the writer can store (used by tests and tools to make feature and model files).
public enum HDF5StorageType: Sendable {
    case float16, float32, float64, int32, int64

    /// The file type: a predefined type, or a handle that owns the one made for float16.
    func makeFileType(file: String, object: String) throws -> (id: hid_t, owner: HDF5Handle?) {
        switch self {
        case .float16:
            let type = try HDF5Library.open("H5Tcopy (float16)", file: file, object: object, closer: H5Tclose) { nc_H5T_IEEE_F16LE() }
            return (type.id, type)
        case .float32: return (nc_H5T_IEEE_F32LE(), nil)
        case .float64: return (nc_H5T_IEEE_F64LE(), nil)
        case .int32: return (nc_H5T_STD_I32LE(), nil)
        case .int64: return (nc_H5T_STD_I64LE(), nil)
        }
    }
}

/// A filter in a dataset's pipeline (compression, shuffle, checksum).
public struct HDF5Filter: Sendable, Equatable, CustomStringConvertible {
    /// HDF5's registered filter id (1 deflate, 2 shuffle, 32000 lzf, ...).
    public var id: Int
    /// The name recorded in the file, or a known name for the id.
    public var name: String
    /// Whether this build of the library can decode it.
    public var isAvailable: Bool

    public var description: String { isAvailable ? name : "\(name) (not available in this HDF5 build)" }

    /// HDF5's deflate (gzip), `H5Z_FILTER_DEFLATE`.
    public static let deflate = 1
    /// HDF5's byte shuffle, `H5Z_FILTER_SHUFFLE`.
    public static let shuffle = 2
    /// `H5Z_FILTER_FLETCHER32`.
    public static let fletcher32 = 3
    /// `H5Z_FILTER_SZIP`.
    public static let szip = 4
    /// h5py's LZF, a filter only h5py registers.
    public static let lzf = 32000

    static func knownName(_ id: Int) -> String? {
        switch id {
        case deflate: return "gzip"
        case shuffle: return "shuffle"
        case fletcher32: return "fletcher32"
        case szip: return "szip"
        case 5: return "nbit"
        case 6: return "scaleoffset"
        case 307: return "bzip2"
        case lzf: return "lzf"
        case 32001: return "blosc"
        case 32004: return "lz4"
        case 32008: return "bitshuffle"
        case 32015: return "zstd"
        default: return nil
        }
    }
}
