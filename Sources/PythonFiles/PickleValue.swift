import Foundation

/// A Python object rebuilt by `PickleMachine`, without running any Python.
///
/// Scalars are values; lists, dicts and objects are references (`PickleList`, `PickleDict`,
/// `PickleObject`) because a pickle fills them after creating them and may refer to the same one
/// twice through its memo. A graph can therefore contain cycles: every walk over it is bounded
/// (`PickleWalkBudget`).
enum PickleValue {
    case none
    case bool(Bool)
    case int(Int64)
    /// An integer too large for 64 bits: its little-endian two's-complement bytes.
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    /// `set` and `frozenset`, kept as their elements.
    case set([PickleValue])
    /// A class or function named by `GLOBAL`/`STACK_GLOBAL`; never looked up, never called.
    case global(PickleGlobal)
    /// An instance: `argparse.Namespace`, or an opaque object of a class not on the allow-list.
    case object(PickleObject)
    /// A storage named by a persistent id (`('storage', torch.FloatStorage, key, location, numel)`).
    case storage(TorchStorageReference)
    /// A tensor rebuilt by `torch._utils._rebuild_tensor(_v2)`: a view of a storage.
    case tensor(TorchTensorReference)
    /// A numpy dtype (`numpy.dtype('f8')` and its byte order).
    case numpyDType(NumpyDType)

    var isNone: Bool { if case .none = self { return true } else { return false } }

    var string: String? { if case .string(let s) = self { return s } else { return nil } }

    var int: Int64? {
        switch self {
        case .int(let v): return v
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    /// The elements of a tuple or a list.
    var sequence: [PickleValue]? {
        switch self {
        case .tuple(let items): return items
        case .list(let list): return list.items
        default: return nil
        }
    }

    /// A short name of the value's Python type, for messages.
    var typeName: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict: return "dict"
        case .set: return "set"
        case .global(let g): return "global \(g)"
        case .object(let o): return o.className.description
        case .storage: return "storage"
        case .tensor: return "tensor"
        case .numpyDType: return "numpy.dtype"
        }
    }
}

/// `module.name` of a `GLOBAL`.
struct PickleGlobal: Hashable, CustomStringConvertible {
    var module: String
    var name: String
    var description: String { "\(module).\(name)" }
}

final class PickleList {
    var items: [PickleValue]
    init(_ items: [PickleValue] = []) { self.items = items }
}

/// A dict in insertion order (Python 3.7+ order, which is also `OrderedDict`'s). Keys that are
/// strings, integers, booleans, bytes or None are unique as in Python; other keys (tuples,
/// objects) are kept as given.
final class PickleDict {
    private(set) var entries: [(key: PickleValue, value: PickleValue)] = []
    private var index: [PickleDictKey: Int] = [:]

    init() {}

    func set(_ key: PickleValue, _ value: PickleValue) {
        if let hashable = PickleDictKey(key) {
            if let position = index[hashable] {
                entries[position].value = value
                return
            }
            index[hashable] = entries.count
        }
        entries.append((key, value))
    }

    subscript(key: String) -> PickleValue? {
        guard let position = index[.string(key)] else { return nil }
        return entries[position].value
    }

    var count: Int { entries.count }
}

/// The keys of a `PickleDict` that Python compares by value. `True == 1` in Python, so booleans
/// share the integers' keys.
enum PickleDictKey: Hashable {
    case string(String)
    case int(Int64)
    case bytes([UInt8])
    case none

    init?(_ value: PickleValue) {
        switch value {
        case .string(let s): self = .string(s)
        case .int(let v): self = .int(v)
        case .bool(let b): self = .int(b ? 1 : 0)
        case .bytes(let b): self = .bytes(b)
        case .none: self = .none
        default: return nil
        }
    }
}

/// An instance of a class: `argparse.Namespace` (attributes from its `BUILD` state) or any
/// class not on the allow-list, kept with what the pickle gave it so that nothing is lost and
/// nothing is run.
final class PickleObject {
    let className: PickleGlobal
    /// The arguments the pickle would have passed to the class or function.
    let arguments: [PickleValue]
    /// `__dict__` from `BUILD` (a dict state, or the first element of a `(dict, slots)` state).
    let attributes = PickleDict()
    /// A `BUILD` state that is not a dict.
    var state: PickleValue?
    /// Items added by `SETITEM(S)` and `APPEND(S)` (dict and list subclasses).
    let dictItems = PickleDict()
    let listItems = PickleList()

    init(className: PickleGlobal, arguments: [PickleValue]) {
        self.className = className
        self.arguments = arguments
    }
}

/// A numpy dtype: its kind and size (`f8`, `i4`, `u1`, `b1`...) and its byte order.
struct NumpyDType {
    var code: String
    /// `<` little, `>` big, `|` not applicable, `=` native.
    var byteOrder: Character = "="
}

/// The element types of PyTorch storages (`torch.FloatStorage`...).
enum TorchStorageType: String, CaseIterable {
    case float32 = "FloatStorage"
    case float64 = "DoubleStorage"
    case float16 = "HalfStorage"
    case bfloat16 = "BFloat16Storage"
    case int64 = "LongStorage"
    case int32 = "IntStorage"
    case int16 = "ShortStorage"
    case int8 = "CharStorage"
    case uint8 = "ByteStorage"
    case bool = "BoolStorage"
    /// torch >= 1.13 `UntypedStorage`: bytes.
    case untyped = "UntypedStorage"

    var elementSize: Int {
        switch self {
        case .float64, .int64: return 8
        case .float32, .int32: return 4
        case .float16, .bfloat16, .int16: return 2
        case .int8, .uint8, .bool, .untyped: return 1
        }
    }

    var isFloatingPoint: Bool {
        switch self {
        case .float32, .float64, .float16, .bfloat16: return true
        default: return false
        }
    }

    /// The dtype name as PyTorch prints it.
    var dtypeName: String {
        switch self {
        case .float32: return "float32"
        case .float64: return "float64"
        case .float16: return "float16"
        case .bfloat16: return "bfloat16"
        case .int64: return "int64"
        case .int32: return "int32"
        case .int16: return "int16"
        case .int8: return "int8"
        case .uint8, .untyped: return "uint8"
        case .bool: return "bool"
        }
    }
}

/// A storage named by a persistent id. `type` is nil when the pickle named a storage class that
/// is not on the allow-list (`typeName` says which).
struct TorchStorageReference {
    var key: String
    var type: TorchStorageType?
    var typeName: String
    /// Elements of the storage as the persistent id declares them.
    var count: Int
    /// Legacy files of torch <= 0.4 may name a view of storage `key`: `count` elements from here.
    var elementOffset = 0
}

/// A tensor: a strided view of a storage. Offsets and strides are in elements.
struct TorchTensorReference {
    var storage: TorchStorageReference
    var offset: Int
    var shape: [Int]
    var strides: [Int]
}

/// A bound on how much of a pickle graph one walk may visit, so that a cyclic or exponentially
/// shared graph (a tuple holding the same tuple twice, 60 levels deep) cannot hang a conversion.
struct PickleWalkBudget {
    var remainingNodes: Int
    let maximumDepth: Int

    init(nodes: Int = 100_000, depth: Int = 64) {
        remainingNodes = nodes
        maximumDepth = depth
    }

    /// Takes one node; false when the budget is spent or `depth` is too deep.
    mutating func take(depth: Int) -> Bool {
        guard remainingNodes > 0, depth <= maximumDepth else { return false }
        remainingNodes -= 1
        return true
    }
}

extension PickleValue {
    /// A short, bounded Python-like rendering for messages and `inspect`.
    func render(maxLength: Int = 200) -> String {
        var budget = PickleWalkBudget(nodes: 400, depth: 8)
        var out = ""
        render(into: &out, depth: 0, budget: &budget, maxLength: maxLength)
        if out.count > maxLength { out = String(out.prefix(maxLength)) + "..." }
        return out
    }

    private func render(into out: inout String, depth: Int, budget: inout PickleWalkBudget, maxLength: Int) {
        guard out.count <= maxLength, budget.take(depth: depth) else {
            out += "..."
            return
        }
        func list(_ items: [PickleValue], _ open: String, _ close: String) {
            out += open
            for (i, item) in items.enumerated() {
                if i > 0 { out += ", " }
                if out.count > maxLength { out += "..."; break }
                item.render(into: &out, depth: depth + 1, budget: &budget, maxLength: maxLength)
            }
            if items.count == 1 && open == "(" { out += "," }
            out += close
        }
        switch self {
        case .none: out += "None"
        case .bool(let b): out += b ? "True" : "False"
        case .int(let v): out += String(v)
        case .bigInt(let bytes): out += "int(\(bytes.count * 8)-bit)"
        case .float(let v): out += pythonFloatText(v)
        case .string(let s): out += "'\(s)'"
        case .bytes(let b): out += "b<\(b.count) bytes>"
        case .tuple(let items): list(items, "(", ")")
        case .list(let l): list(l.items, "[", "]")
        case .set(let items): list(items, "{", "}")
        case .dict(let d):
            out += "{"
            for (i, entry) in d.entries.enumerated() {
                if i > 0 { out += ", " }
                if out.count > maxLength { out += "..."; break }
                entry.key.render(into: &out, depth: depth + 1, budget: &budget, maxLength: maxLength)
                out += ": "
                entry.value.render(into: &out, depth: depth + 1, budget: &budget, maxLength: maxLength)
            }
            out += "}"
        case .global(let g): out += g.description
        case .object(let o): out += "<\(o.className)>"
        case .storage(let s): out += "<\(s.typeName) \(s.key)>"
        case .tensor(let t): out += "tensor\(t.shape)"
        case .numpyDType(let d): out += "dtype('\(d.code)')"
        }
    }
}

/// Python's `repr` of a float for the values options take (`0.5`, `1e-05`, `5.0`).
func pythonFloatText(_ value: Double) -> String {
    if value == value.rounded(), abs(value) < 1e16 { return String(format: "%.1f", value) }
    return "\(value)"
}
