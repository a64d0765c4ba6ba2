import Foundation

/// A pickle that cannot be read: where in the stream and what was wrong.
struct PickleError: Error, CustomStringConvertible {
    /// Byte offset of the opcode at fault.
    var offset: Int
    var message: String
    var description: String { "pickle byte \(offset): \(message)" }
}

/// A restricted pickle reader (protocols 0 to 5) that never executes anything.
///
/// Python's unpickler imports every `GLOBAL` it meets and calls it; this one only names them.
/// The few callables a state dict and an infos file need are mapped to constructors of
/// `PickleValue` (`PickleMachine+AllowList.swift`); any other global becomes an opaque
/// `PickleObject` holding its arguments, so an unrelated field never breaks loading and no code
/// path ever runs it.
///
/// Every loop advances through the input, so work is linear in the input's length; every length
/// read from the stream is checked against the bytes that remain before anything is allocated;
/// the stack, the memo and the marks have fixed ceilings.
struct PickleMachine {
    /// Ceilings, far above what a checkpoint or infos file uses (a 262-tensor Transformer state
    /// dict needs about 1,500 memo entries and a stack of 20).
    static let maximumStack = 1 << 20
    static let maximumMemo = 1 << 20
    static let maximumMarks = 1 << 16

    /// Maps a persistent id (`BINPERSID`, `PERSID`) to a value; nil means the pickle may not use them.
    typealias PersistentLoader = (PickleValue) throws -> PickleValue

    private let data: Data
    private var position: Int
    private let end: Int
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    private var opcodeOffset = 0
    private let persistentLoad: PersistentLoader?
    /// The `PROTO` number, 0 or 1 when the stream has none.
    private(set) var proto = 0

    /// Reads one pickle starting at byte `start` of `data`.
    init(data: Data, start: Int = 0, persistentLoad: PersistentLoader? = nil) {
        self.data = data
        self.position = data.startIndex + start
        self.end = data.endIndex
        self.persistentLoad = persistentLoad
    }

    /// Runs to `STOP`; returns the object and the offset just after `STOP` (where a following
    /// pickle or raw data begins).
    mutating func load() throws -> (value: PickleValue, end: Int) {
        while true {
            opcodeOffset = position - data.startIndex
            let op = try byte()
            if op == Opcode.stop {
                guard stack.count == 1, marks.isEmpty else {
                    throw fail("STOP with \(stack.count) values on the stack (expected 1)")
                }
                return (stack[0], position - data.startIndex)
            }
            try execute(op)
            if stack.count > Self.maximumStack { throw fail("the stack exceeds \(Self.maximumStack) values") }
        }
    }

    /// Reads a pickle and returns its object.
    static func load(_ data: Data, persistentLoad: PersistentLoader? = nil) throws -> PickleValue {
        var machine = PickleMachine(data: data, persistentLoad: persistentLoad)
        return try machine.load().value
    }

    // MARK: - Opcodes

    enum Opcode {
        static let mark: UInt8 = 0x28, stop: UInt8 = 0x2E, pop: UInt8 = 0x30, popMark: UInt8 = 0x31
        static let dup: UInt8 = 0x32, float: UInt8 = 0x46, int: UInt8 = 0x49, binInt: UInt8 = 0x4A
        static let binInt1: UInt8 = 0x4B, long: UInt8 = 0x4C, binInt2: UInt8 = 0x4D, none: UInt8 = 0x4E
        static let persID: UInt8 = 0x50, binPersID: UInt8 = 0x51, reduce: UInt8 = 0x52, string: UInt8 = 0x53
        static let binString: UInt8 = 0x54, shortBinString: UInt8 = 0x55, unicode: UInt8 = 0x56
        static let binUnicode: UInt8 = 0x58, append: UInt8 = 0x61, build: UInt8 = 0x62, global: UInt8 = 0x63
        static let dict: UInt8 = 0x64, emptyDict: UInt8 = 0x7D, appends: UInt8 = 0x65, get: UInt8 = 0x67
        static let binGet: UInt8 = 0x68, inst: UInt8 = 0x69, longBinGet: UInt8 = 0x6A, list: UInt8 = 0x6C
        static let emptyList: UInt8 = 0x5D, obj: UInt8 = 0x6F, put: UInt8 = 0x70, binPut: UInt8 = 0x71
        static let longBinPut: UInt8 = 0x72, setItem: UInt8 = 0x73, tuple: UInt8 = 0x74
        static let emptyTuple: UInt8 = 0x29, setItems: UInt8 = 0x75, binFloat: UInt8 = 0x47
        // protocol 2
        static let proto: UInt8 = 0x80, newObj: UInt8 = 0x81, ext1: UInt8 = 0x82, ext2: UInt8 = 0x83
        static let ext4: UInt8 = 0x84, tuple1: UInt8 = 0x85, tuple2: UInt8 = 0x86, tuple3: UInt8 = 0x87
        static let newTrue: UInt8 = 0x88, newFalse: UInt8 = 0x89, long1: UInt8 = 0x8A, long4: UInt8 = 0x8B
        // protocol 3
        static let binBytes: UInt8 = 0x42, shortBinBytes: UInt8 = 0x43
        // protocol 4
        static let shortBinUnicode: UInt8 = 0x8C, binUnicode8: UInt8 = 0x8D, binBytes8: UInt8 = 0x8E
        static let emptySet: UInt8 = 0x8F, addItems: UInt8 = 0x90, frozenSet: UInt8 = 0x91
        static let newObjEx: UInt8 = 0x92, stackGlobal: UInt8 = 0x93, memoize: UInt8 = 0x94, frame: UInt8 = 0x95
        // protocol 5
        static let byteArray8: UInt8 = 0x96, nextBuffer: UInt8 = 0x97, readonlyBuffer: UInt8 = 0x98
    }

    private mutating func execute(_ op: UInt8) throws {
        switch op {
        case Opcode.proto:
            let version = Int(try byte())
            guard version <= 5 else { throw fail("pickle protocol \(version) is newer than 5, the highest nightcap reads") }
            proto = version
        case Opcode.frame:
            _ = try bytes(8)  // a length hint for buffering; the opcodes inside are read as they come
        case Opcode.mark:
            guard marks.count < Self.maximumMarks else { throw fail("more than \(Self.maximumMarks) open MARKs") }
            marks.append(stack.count)
        case Opcode.pop:
            if let mark = marks.last, mark == stack.count {
                marks.removeLast()  // POP of a bare MARK, as Python allows
            } else {
                _ = try pop()
            }
        case Opcode.popMark:
            _ = try popToMark()
        case Opcode.dup:
            push(try top())

        // Scalars
        case Opcode.none: push(.none)
        case Opcode.newTrue: push(.bool(true))
        case Opcode.newFalse: push(.bool(false))
        case Opcode.binInt: push(.int(Int64(Int32(bitPattern: try uint32()))))
        case Opcode.binInt1: push(.int(Int64(try byte())))
        case Opcode.binInt2: push(.int(Int64(try uint16())))
        case Opcode.long1: push(Self.integer(littleEndian: try bytes(Int(try byte()))))
        case Opcode.long4:
            let length = Int(Int32(bitPattern: try uint32()))
            guard length >= 0 else { throw fail("LONG4 with a negative length \(length)") }
            push(Self.integer(littleEndian: try bytes(length)))
        case Opcode.int: push(try textInt(try line()))
        case Opcode.long:
            var text = try line()
            if text.hasSuffix("L") { text.removeLast() }
            push(try textLong(text))
        case Opcode.float:
            let text = try line()
            guard let value = Double(text.trimmingCharacters(in: .whitespaces)) else {
                throw fail("FLOAT \"\(text.prefix(40))\" is not a number")
            }
            push(.float(value))
        case Opcode.binFloat:
            push(.float(Double(bitPattern: try uint64BigEndian())))

        // Strings and bytes
        case Opcode.string: push(.string(try Self.decodeStringLiteral(try line(), offset: opcodeOffset)))
        case Opcode.binString:
            let length = Int(Int32(bitPattern: try uint32()))
            guard length >= 0 else { throw fail("BINSTRING with a negative length \(length)") }
            push(.string(Self.latin1(try bytes(length))))
        case Opcode.shortBinString: push(.string(Self.latin1(try bytes(Int(try byte())))))
        case Opcode.unicode: push(.string(try Self.decodeRawUnicodeEscape(try lineBytes(), offset: opcodeOffset)))
        case Opcode.binUnicode: push(.string(try utf8(try bytes(Int(try uint32())))))
        case Opcode.shortBinUnicode: push(.string(try utf8(try bytes(Int(try byte())))))
        case Opcode.binUnicode8: push(.string(try utf8(try bytes(try length64()))))
        case Opcode.binBytes: push(.bytes(try bytes(Int(try uint32()))))
        case Opcode.shortBinBytes: push(.bytes(try bytes(Int(try byte()))))
        case Opcode.binBytes8, Opcode.byteArray8: push(.bytes(try bytes(try length64())))
        case Opcode.nextBuffer, Opcode.readonlyBuffer:
            throw fail("out-of-band buffers (pickle protocol 5 NEXT_BUFFER) are not stored in the file")

        // Containers
        case Opcode.emptyTuple: push(.tuple([]))
        case Opcode.tuple: push(.tuple(try popToMark()))
        case Opcode.tuple1:
            let a = try pop()
            push(.tuple([a]))
        case Opcode.tuple2:
            let b = try pop(), a = try pop()
            push(.tuple([a, b]))
        case Opcode.tuple3:
            let c = try pop(), b = try pop(), a = try pop()
            push(.tuple([a, b, c]))
        case Opcode.emptyList: push(.list(PickleList()))
        case Opcode.list: push(.list(PickleList(try popToMark())))
        case Opcode.append:
            let item = try pop()
            try append([item], to: try top())
        case Opcode.appends:
            let items = try popToMark()
            try append(items, to: try top())
        case Opcode.emptyDict: push(.dict(PickleDict()))
        case Opcode.dict:
            let items = try popToMark()
            let dict = PickleDict()
            try setItems(items, in: .dict(dict))
            push(.dict(dict))
        case Opcode.setItem:
            let value = try pop(), key = try pop()
            try setItems([key, value], in: try top())
        case Opcode.setItems:
            let items = try popToMark()
            try setItems(items, in: try top())
        case Opcode.emptySet: push(.set([]))
        case Opcode.addItems:
            let items = try popToMark()
            guard case .set(let existing) = try pop() else { throw fail("ADDITEMS on a value that is not a set") }
            push(.set(existing + items))
        case Opcode.frozenSet: push(.set(try popToMark()))

        // Memo
        case Opcode.put: try memoize(at: try textIndex(try line()))
        case Opcode.binPut: try memoize(at: Int(try byte()))
        case Opcode.longBinPut: try memoize(at: Int(try uint32()))
        case Opcode.memoize: try memoize(at: memo.count)
        case Opcode.get: push(try recall(try textIndex(try line())))
        case Opcode.binGet: push(try recall(Int(try byte())))
        case Opcode.longBinGet: push(try recall(Int(try uint32())))

        // Classes, calls and persistent ids: never executed
        case Opcode.global:
            let module = try line(), name = try line()
            push(.global(PickleGlobal(module: module, name: name)))
        case Opcode.stackGlobal:
            let name = try pop(), module = try pop()
            guard case .string(let n) = name, case .string(let m) = module else {
                throw fail("STACK_GLOBAL needs two strings, got \(module.typeName) and \(name.typeName)")
            }
            push(.global(PickleGlobal(module: m, name: n)))
        case Opcode.reduce:
            let arguments = try pop(), callable = try pop()
            guard case .tuple(let args) = arguments else {
                throw fail("REDUCE arguments are a \(arguments.typeName), not a tuple")
            }
            push(try call(callable, args))
        case Opcode.newObj:
            let arguments = try pop(), cls = try pop()
            guard case .tuple(let args) = arguments else {
                throw fail("NEWOBJ arguments are a \(arguments.typeName), not a tuple")
            }
            push(try instantiate(cls, args))
        case Opcode.newObjEx:
            _ = try pop()  // keyword arguments
            let arguments = try pop(), cls = try pop()
            guard case .tuple(let args) = arguments else {
                throw fail("NEWOBJ_EX arguments are a \(arguments.typeName), not a tuple")
            }
            push(try instantiate(cls, args))
        case Opcode.inst:
            let module = try line(), name = try line()
            let args = try popToMark()
            push(try instantiate(.global(PickleGlobal(module: module, name: name)), args))
        case Opcode.obj:
            let items = try popToMark()
            guard let cls = items.first else { throw fail("OBJ without a class") }
            push(try instantiate(cls, Array(items.dropFirst())))
        case Opcode.build:
            let state = try pop()
            try build(try top(), state: state)
        case Opcode.binPersID:
            let id = try pop()
            push(try persistent(id))
        case Opcode.persID:
            push(try persistent(.string(Self.latin1(try lineBytes()))))
        case Opcode.ext1, Opcode.ext2, Opcode.ext4:
            throw fail("extension-registry opcodes (EXT1/2/4) name code registered at run time; nightcap does not read them")
        default:
            throw fail(String(format: "unknown opcode 0x%02x; the file is not a pickle or is corrupt", op))
        }
    }

    // MARK: - Stack, marks, memo

    private mutating func push(_ value: PickleValue) { stack.append(value) }

    private mutating func pop() throws -> PickleValue {
        if let mark = marks.last, mark >= stack.count { throw fail("an opcode pops past a MARK") }
        guard let value = stack.popLast() else { throw fail("an opcode pops an empty stack") }
        return value
    }

    private func top() throws -> PickleValue {
        if let mark = marks.last, mark >= stack.count { throw fail("an opcode reads past a MARK") }
        guard let value = stack.last else { throw fail("an opcode reads an empty stack") }
        return value
    }

    private mutating func popToMark() throws -> [PickleValue] {
        guard let mark = marks.popLast() else { throw fail("an opcode needs a MARK and there is none") }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    private mutating func memoize(at index: Int) throws {
        guard memo.count < Self.maximumMemo || memo[index] != nil else {
            throw fail("the memo exceeds \(Self.maximumMemo) entries")
        }
        memo[index] = try top()
    }

    private func recall(_ index: Int) throws -> PickleValue {
        guard let value = memo[index] else { throw fail("memo entry \(index) is read before it is written") }
        return value
    }

    // MARK: - Containers

    private func append(_ items: [PickleValue], to target: PickleValue) throws {
        switch target {
        case .list(let list): list.items.append(contentsOf: items)
        case .object(let object): object.listItems.items.append(contentsOf: items)
        default: throw fail("APPEND to a \(target.typeName)")
        }
    }

    private func setItems(_ items: [PickleValue], in target: PickleValue) throws {
        guard items.count % 2 == 0 else { throw fail("SETITEMS with an odd number (\(items.count)) of keys and values") }
        let dict: PickleDict
        switch target {
        case .dict(let d): dict = d
        case .object(let object): dict = object.dictItems
        default: throw fail("SETITEM on a \(target.typeName)")
        }
        var i = 0
        while i < items.count {
            dict.set(items[i], items[i + 1])
            i += 2
        }
    }

    /// `BUILD`: an object's state. Dict-like targets ignore it (a state dict's `_metadata`).
    private func build(_ target: PickleValue, state: PickleValue) throws {
        switch target {
        case .object(let object):
            var attributes: PickleValue = state
            if case .tuple(let parts) = state, parts.count == 2 {
                attributes = parts[0]
                if case .dict(let slots) = parts[1] {
                    for entry in slots.entries { object.attributes.set(entry.key, entry.value) }
                }
            }
            if case .dict(let d) = attributes {
                for entry in d.entries { object.attributes.set(entry.key, entry.value) }
            } else if !attributes.isNone {
                object.state = attributes
            }
        case .numpyDType:
            // (version, byte order, ...): the byte order is applied where the dtype is built.
            break
        case .dict, .list, .tensor, .global, .set, .tuple, .storage:
            break
        case .none, .bool, .int, .bigInt, .float, .string, .bytes:
            throw fail("BUILD on a \(target.typeName)")
        }
    }

    private func persistent(_ id: PickleValue) throws -> PickleValue {
        guard let persistentLoad else {
            throw fail("a persistent id (\(id.render(maxLength: 80))) in a pickle that may not have any")
        }
        do {
            return try persistentLoad(id)
        } catch let error as PickleError {
            throw error
        } catch {
            throw fail("\(error)")
        }
    }

    // MARK: - Reading

    func fail(_ message: String) -> PickleError { PickleError(offset: opcodeOffset, message: message) }

    private mutating func byte() throws -> UInt8 {
        guard position < end else { throw fail("the pickle ends before STOP (truncated)") }
        defer { position += 1 }
        return data[position]
    }

    /// `count` bytes, checked against what remains before anything is allocated.
    private mutating func bytes(_ count: Int) throws -> [UInt8] {
        guard count >= 0, count <= end - position else {
            throw fail("a length of \(count) bytes runs past the end of the pickle (\(end - position) left; truncated or corrupt)")
        }
        defer { position += count }
        return [UInt8](data[position..<(position + count)])
    }

    private mutating func uint16() throws -> UInt16 {
        let b = try bytes(2)
        return UInt16(b[0]) | UInt16(b[1]) << 8
    }

    private mutating func uint32() throws -> UInt32 {
        let b = try bytes(4)
        return UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
    }

    private mutating func uint64() throws -> UInt64 {
        let b = try bytes(8)
        return b.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    }

    private mutating func uint64BigEndian() throws -> UInt64 {
        try bytes(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    /// An 8-byte length, refused when it is larger than the remaining input.
    private mutating func length64() throws -> Int {
        let length = try uint64()
        guard length <= UInt64(end - position) else {
            throw fail("a length of \(length) bytes runs past the end of the pickle (\(end - position) left; truncated or corrupt)")
        }
        return Int(length)
    }

    /// The bytes up to the next newline (text opcodes), without it.
    private mutating func lineBytes() throws -> [UInt8] {
        var cursor = position
        while cursor < end, data[cursor] != 0x0A { cursor += 1 }
        guard cursor < end else { throw fail("a text opcode's line has no newline before the end of the pickle") }
        defer { position = cursor + 1 }
        return [UInt8](data[position..<cursor])
    }

    /// A text line: ASCII in every pickle Python writes; bytes above 127 read as latin-1.
    private mutating func line() throws -> String { Self.latin1(try lineBytes()) }

    private func utf8(_ bytes: [UInt8]) throws -> String {
        guard let s = String(validating: bytes, as: UTF8.self) else { throw fail("a unicode string is not valid UTF-8") }
        return s
    }

    private func textIndex(_ text: String) throws -> Int {
        guard let value = Int(text), value >= 0 else { throw fail("memo index \"\(text.prefix(40))\" is not a number") }
        return value
    }

    /// `INT`: a decimal, or `01`/`00` for Python 2's True/False.
    private func textInt(_ text: String) throws -> PickleValue {
        if text == "01" { return .bool(true) }
        if text == "00" { return .bool(false) }
        return try textLong(text)
    }

    private func textLong(_ text: String) throws -> PickleValue {
        if let value = Int64(text) { return .int(value) }
        let digits = text.hasPrefix("-") || text.hasPrefix("+") ? text.dropFirst() : Substring(text)
        guard !digits.isEmpty, digits.count <= 4096, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw fail("integer \"\(text.prefix(40))\" is not a number")
        }
        return .bigInt(Self.twosComplement(decimal: digits, negative: text.hasPrefix("-")))
    }

    // MARK: - Decoding helpers

    static func latin1(_ bytes: [UInt8]) -> String {
        String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }

    /// A little-endian two's-complement integer (`LONG1`, `LONG4`).
    static func integer(littleEndian bytes: [UInt8]) -> PickleValue {
        if bytes.isEmpty { return .int(0) }
        let negative = bytes[bytes.count - 1] & 0x80 != 0
        // Drop sign-extension bytes beyond 8.
        var trimmed = bytes
        let fill: UInt8 = negative ? 0xFF : 0x00
        while trimmed.count > 8, trimmed[trimmed.count - 1] == fill,
            (trimmed[trimmed.count - 2] & 0x80 != 0) == negative
        {
            trimmed.removeLast()
        }
        guard trimmed.count <= 8 else { return .bigInt(trimmed) }
        var value: UInt64 = negative ? ~0 : 0
        for (i, b) in trimmed.enumerated() {
            value &= ~(UInt64(0xFF) << (8 * UInt64(i)))
            value |= UInt64(b) << (8 * UInt64(i))
        }
        return .int(Int64(bitPattern: value))
    }

    /// Decimal digits to little-endian two's complement (only for integers beyond 64 bits).
    static func twosComplement(decimal digits: Substring, negative: Bool) -> [UInt8] {
        var magnitude: [UInt8] = [0]  // little-endian base 256
        for character in digits {
            var carry = Int(character.asciiValue! - 48)
            for i in magnitude.indices {
                let v = Int(magnitude[i]) * 10 + carry
                magnitude[i] = UInt8(v & 0xFF)
                carry = v >> 8
            }
            while carry > 0 {
                magnitude.append(UInt8(carry & 0xFF))
                carry >>= 8
            }
        }
        magnitude.append(0)  // room for the sign bit
        guard negative else { return magnitude }
        var carry = 1
        for i in magnitude.indices {
            let v = Int(~magnitude[i]) + carry
            magnitude[i] = UInt8(v & 0xFF)
            carry = v >> 8
        }
        return magnitude
    }

    /// `STRING`: a Python 2 `repr` of a byte string, `'...'` or `"..."` with backslash escapes,
    /// decoded as latin-1 (what `pickle.load(encoding='latin-1')` gives).
    static func decodeStringLiteral(_ text: String, offset: Int) throws -> String {
        let scalars = Array(text.unicodeScalars)
        guard scalars.count >= 2, let quote = scalars.first, quote == "'" || quote == "\"", scalars.last == quote else {
            throw PickleError(offset: offset, message: "STRING \(text.prefix(40)) is not a quoted string")
        }
        var out = String.UnicodeScalarView()
        var i = 1
        let last = scalars.count - 1
        func hexValue(_ s: Unicode.Scalar) -> UInt32? { UInt32(String(s), radix: 16) }
        while i < last {
            let s = scalars[i]
            guard s == "\\", i + 1 < last else {
                out.append(s)
                i += 1
                continue
            }
            let e = scalars[i + 1]
            i += 2
            switch e {
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "t": out.append("\t")
            case "a": out.append(Unicode.Scalar(7))
            case "b": out.append(Unicode.Scalar(8))
            case "f": out.append(Unicode.Scalar(12))
            case "v": out.append(Unicode.Scalar(11))
            case "\n": break
            case "x":
                guard i + 1 < last, let h = hexValue(scalars[i]), let l = hexValue(scalars[i + 1]) else {
                    throw PickleError(offset: offset, message: "STRING has a bad \\x escape")
                }
                out.append(Unicode.Scalar(UInt8(h * 16 + l)))
                i += 2
            case "0"..."7":
                var value = e.value - 48
                var digits = 1
                while digits < 3, i < last, ("0"..."7").contains(scalars[i]) {
                    value = value * 8 + scalars[i].value - 48
                    i += 1
                    digits += 1
                }
                out.append(Unicode.Scalar(UInt8(value & 0xFF)))
            default:
                if e == "\\" || e == "'" || e == "\"" {
                    out.append(e)
                } else {
                    out.append("\\")
                    out.append(e)
                }
            }
        }
        return String(out)
    }

    /// `UNICODE`: raw-unicode-escape, i.e. latin-1 bytes with `\uXXXX` and `\UXXXXXXXX` escapes.
    static func decodeRawUnicodeEscape(_ bytes: [UInt8], offset: Int) throws -> String {
        var out = String.UnicodeScalarView()
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == 0x5C, i + 1 < bytes.count, bytes[i + 1] == 0x75 || bytes[i + 1] == 0x55 {
                // An odd run of backslashes escapes; Python's raw-unicode-escape only looks at \u.
                let width = bytes[i + 1] == 0x75 ? 4 : 8
                guard i + 2 + width <= bytes.count,
                    let value = UInt32(Self.latin1(Array(bytes[(i + 2)..<(i + 2 + width)])), radix: 16),
                    let scalar = Unicode.Scalar(value)
                else {
                    throw PickleError(offset: offset, message: "UNICODE has a bad \\u escape")
                }
                out.append(scalar)
                i += 2 + width
            } else {
                out.append(Unicode.Scalar(b))
                i += 1
            }
        }
        return String(out)
    }
}
