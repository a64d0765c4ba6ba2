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

    /// Reads the element type of an HDF5 datatype identifier.
    init(datatype: hid_t) {
        let size = Int(H5Tget_size(datatype))
        switch H5Tget_class(datatype) {
        case H5T_FLOAT:
            self = .float(bits: size * 8)
        case H5T_INTEGER:
            self = .integer(bits: size * 8, signed: H5Tget_sign(datatype) != H5T_SGN_NONE)
        case H5T_STRING:
            self = .string(variableLength: H5Tis_variable_str(datatype) > 0, size: size)
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

/// The element types the writer can store (used by tests and tools to make feature and model files).
public enum HDF5StorageType: Sendable {
    case float16, float32, float64, int32, int64

    func makeFileType() -> (id: hid_t, owned: Bool) {
        switch self {
        case .float16: return (nc_H5T_IEEE_F16LE(), true)
        case .float32: return (nc_H5T_IEEE_F32LE(), false)
        case .float64: return (nc_H5T_IEEE_F64LE(), false)
        case .int32: return (nc_H5T_STD_I32LE(), false)
        case .int64: return (nc_H5T_STD_I64LE(), false)
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

    static func knownName(_ id: Int) -> String? {
        switch id {
        case 1: return "gzip"
        case 2: return "shuffle"
        case 3: return "fletcher32"
        case 4: return "szip"
        case 5: return "nbit"
        case 6: return "scaleoffset"
        case 307: return "bzip2"
        case 32000: return "lzf"
        case 32001: return "blosc"
        case 32004: return "lz4"
        case 32008: return "bitshuffle"
        case 32015: return "zstd"
        default: return nil
        }
    }
}
