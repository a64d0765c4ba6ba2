import Foundation

/// The globals nightcap gives a meaning to. Nothing is imported or called: each allowed name maps
/// to a constructor of `PickleValue`; every other name makes an opaque `PickleObject`.
enum PickleAllowList {
    /// Callables and classes whose result nightcap rebuilds, with what it builds.
    static let rebuilt: [String: String] = [
        "collections.OrderedDict": "a dict",
        "builtins.dict": "a dict",
        "__builtin__.dict": "a dict",
        "builtins.list": "a list",
        "__builtin__.list": "a list",
        "builtins.set": "a set",
        "__builtin__.set": "a set",
        "builtins.frozenset": "a set",
        "__builtin__.frozenset": "a set",
        "builtins.object": "a base class marker",
        "__builtin__.object": "a base class marker",
        "torch._utils._rebuild_tensor_v2": "a tensor",
        "torch._utils._rebuild_tensor": "a tensor",
        "torch._utils._rebuild_parameter": "a tensor",
        "torch._utils._rebuild_parameter_with_state": "a tensor",
        "argparse.Namespace": "an object with attributes",
        "copy_reg._reconstructor": "an object of the class named",
        "copyreg._reconstructor": "an object of the class named",
        "numpy.core.multiarray.scalar": "a number",
        "numpy._core.multiarray.scalar": "a number",
        "numpy.dtype": "a dtype",
        "_codecs.encode": "bytes",
    ]

    /// `torch.<Type>Storage` (and `torch.cuda.<Type>Storage`, normalised like torch does) to its element type.
    static func storageType(_ global: PickleGlobal) -> TorchStorageType? {
        guard global.module == "torch" || global.module == "torch.cuda" else { return nil }
        return TorchStorageType(rawValue: global.name)
    }
}

extension PickleMachine {
    /// `REDUCE`: `callable(*args)` for the allow-list; an opaque object otherwise.
    func call(_ callable: PickleValue, _ args: [PickleValue]) throws -> PickleValue {
        guard case .global(let global) = callable else {
            // A call of something a previous call returned: nothing on the allow-list does that.
            return .object(PickleObject(className: PickleGlobal(module: "<call>", name: callable.typeName), arguments: args))
        }
        switch global.description {
        case "collections.OrderedDict", "builtins.dict", "__builtin__.dict":
            let dict = PickleDict()
            if let pairs = args.first?.sequence {
                for pair in pairs {
                    guard let kv = pair.sequence, kv.count == 2 else { throw fail("\(global)() with an item that is not a pair") }
                    dict.set(kv[0], kv[1])
                }
            }
            return .dict(dict)
        case "builtins.list", "__builtin__.list":
            return .list(PickleList(args.first?.sequence ?? []))
        case "builtins.set", "__builtin__.set", "builtins.frozenset", "__builtin__.frozenset":
            return .set(args.first?.sequence ?? [])
        case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
            return .tensor(try rebuildTensor(global, args))
        case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
            guard case .tensor(let tensor)? = args.first else {
                throw fail("\(global) of a \(args.first?.typeName ?? "nothing"), not a tensor")
            }
            return .tensor(tensor)
        case "copy_reg._reconstructor", "copyreg._reconstructor":
            // _reconstructor(cls, base, state): cls.__new__(cls) (base.__init__(obj, state) for builtin bases).
            guard let cls = args.first, case .global(let className) = cls else {
                throw fail("\(global) without a class")
            }
            return .object(PickleObject(className: className, arguments: Array(args.dropFirst())))
        case "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar":
            return try numpyScalar(args)
        case "numpy.dtype":
            guard case .string(let code)? = args.first else { throw fail("numpy.dtype of a \(args.first?.typeName ?? "nothing")") }
            return .numpyDType(NumpyDType(code: code))
        case "_codecs.encode":
            guard case .string(let text)? = args.first else { throw fail("_codecs.encode of a \(args.first?.typeName ?? "nothing")") }
            let encoding = (args.count > 1 ? args[1].string : nil)?.lowercased().replacingOccurrences(of: "-", with: "") ?? "utf8"
            switch encoding {
            case "latin1", "iso88591":
                guard text.unicodeScalars.allSatisfy({ $0.value < 256 }) else {
                    throw fail("_codecs.encode: a character beyond latin-1")
                }
                return .bytes(text.unicodeScalars.map { UInt8($0.value) })
            case "utf8":
                return .bytes(Array(text.utf8))
            default:
                return .object(PickleObject(className: global, arguments: args))
            }
        default:
            return .object(PickleObject(className: global, arguments: args))
        }
    }

    /// `NEWOBJ`, `INST`, `OBJ`: `cls.__new__(cls, *args)`.
    func instantiate(_ cls: PickleValue, _ args: [PickleValue]) throws -> PickleValue {
        guard case .global(let global) = cls else {
            throw fail("an object's class is a \(cls.typeName), not a class name")
        }
        switch global.description {
        case "collections.OrderedDict", "builtins.dict", "__builtin__.dict":
            return .dict(PickleDict())
        case "builtins.list", "__builtin__.list":
            return .list(PickleList())
        case "builtins.set", "__builtin__.set", "builtins.frozenset", "__builtin__.frozenset":
            return .set(args.first?.sequence ?? [])
        default:
            // argparse.Namespace and any other class: attributes come from BUILD.
            return .object(PickleObject(className: global, arguments: args))
        }
    }

    private func integerArgument(_ value: PickleValue, _ what: String, of global: PickleGlobal) throws -> Int {
        guard let v = value.int, let i = Int(exactly: v) else {
            throw fail("\(global): \(what) is a \(value.typeName), not an integer")
        }
        return i
    }

    /// `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])` and
    /// `_rebuild_tensor(storage, offset, size, stride)`.
    private func rebuildTensor(_ global: PickleGlobal, _ args: [PickleValue]) throws -> TorchTensorReference {
        guard args.count >= 4 else { throw fail("\(global) with \(args.count) arguments (expected at least 4)") }
        guard case .storage(let storage) = args[0] else {
            throw fail("\(global): the storage is a \(args[0].typeName), not a persistent storage")
        }
        let offset = try integerArgument(args[1], "the storage offset", of: global)
        guard let sizes = args[2].sequence, let strides = args[3].sequence else {
            throw fail("\(global): size and stride must be tuples")
        }
        guard sizes.count == strides.count, sizes.count <= 64 else {
            throw fail("\(global): \(sizes.count) sizes and \(strides.count) strides")
        }
        let shape = try sizes.map { try integerArgument($0, "a size", of: global) }
        let stride = try strides.map { try integerArgument($0, "a stride", of: global) }
        guard offset >= 0, shape.allSatisfy({ $0 >= 0 }), stride.allSatisfy({ $0 >= 0 }) else {
            throw fail("\(global): a negative offset, size or stride")
        }
        return TorchTensorReference(storage: storage, offset: offset, shape: shape, strides: stride)
    }

    /// `numpy.core.multiarray.scalar(dtype, bytes)`: a numpy scalar (`best_val_score`).
    private func numpyScalar(_ args: [PickleValue]) throws -> PickleValue {
        guard args.count >= 2, case .numpyDType(var dtype) = args[0] else {
            return .object(PickleObject(className: PickleGlobal(module: "numpy", name: "scalar"), arguments: args))
        }
        let raw: [UInt8]
        switch args[1] {
        case .bytes(let b): raw = b
        case .string(let s):  // Python 2 str, read as latin-1
            raw = s.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) }
        default:
            throw fail("numpy scalar data is a \(args[1].typeName)")
        }
        // numpy writes dtype codes like 'f8'; a '>' prefix or BUILD state marks big-endian.
        var code = Substring(dtype.code)
        if let first = code.first, "<>=|".contains(first) {
            dtype.byteOrder = first
            code = code.dropFirst()
        }
        guard let kind = code.first, let size = Int(code.dropFirst()), size == raw.count, (1...8).contains(size) else {
            return .object(PickleObject(className: PickleGlobal(module: "numpy", name: "scalar"), arguments: args))
        }
        let bytes = dtype.byteOrder == ">" ? Array(raw.reversed()) : raw
        var bits: UInt64 = 0
        for (i, b) in bytes.enumerated() { bits |= UInt64(b) << (8 * UInt64(i)) }
        switch (kind, size) {
        case ("f", 8): return .float(Double(bitPattern: bits))
        case ("f", 4): return .float(Double(Float(bitPattern: UInt32(bits))))
        case ("f", 2): return .float(Double(Float(halfBits: UInt16(bits))))
        case ("i", _):
            let shift = UInt64(64 - 8 * size)
            return .int(Int64(bitPattern: bits << shift) >> Int64(shift))
        case ("u", _):
            guard let v = Int64(exactly: bits) else { return .bigInt(bytes + [0]) }
            return .int(v)
        case ("b", 1): return .bool(bits != 0)
        default:
            return .object(PickleObject(className: PickleGlobal(module: "numpy", name: "scalar"), arguments: args))
        }
    }
}

extension Float {
    /// An IEEE 754 half-precision value, widened exactly (written out because `Float16` is not
    /// available on every platform Swift runs on).
    init(halfBits h: UInt16) {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = Int(h >> 10) & 0x1F
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0x1F {
            self = Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        } else if exponent != 0 {
            self = Float(bitPattern: sign | UInt32(exponent + 112) << 23 | (mantissa << 13))
        } else if mantissa == 0 {
            self = Float(bitPattern: sign)
        } else {
            let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
            self = sign != 0 ? -magnitude : magnitude
        }
    }

    /// A bfloat16 value: the upper half of a float32.
    init(bfloat16Bits b: UInt16) {
        self = Float(bitPattern: UInt32(b) << 16)
    }
}
