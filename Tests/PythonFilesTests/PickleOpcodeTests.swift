import Foundation
import Testing
@testable import PythonFiles

/// Opcodes the real fixtures do not all contain (Python 2 binary strings, big integers, INST,
/// frozensets, STACK_GLOBAL); each expected value is what Python 3's `pickle.loads(data,
/// encoding='latin-1')` returns for the same bytes.
@Suite("Pickle reader: opcodes")
struct PickleOpcodeTests {
    func load(_ bytes: [UInt8]) throws -> PickleValue { try PickleMachine.load(Data(bytes)) }
    func bytes(_ text: String) -> [UInt8] { text.unicodeScalars.map { UInt8($0.value) } }

    @Test func python2BinaryStringsReadAsLatin1() throws {
        #expect(try load([0x80, 0x02, 0x55, 0x03] + bytes("abc") + [0x71, 0x00, 0x2E]).string == "abc")
        #expect(try load([0x80, 0x02, 0x54, 0x03, 0x00, 0x00, 0x00, 0x64, 0xE9, 0x66, 0x2E]).string == "déf")
    }

    @Test func integersBeyondAndWithin64Bits() throws {
        // 0x1950a86a20f9469cfc6c, the legacy magic number: 119547037146038801333356, kept as bytes.
        guard case .bigInt(let magic) = try load([0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]) else {
            Issue.record("the magic number is not a big integer")
            return
        }
        #expect(magic == [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19])
        #expect(try load([0x80, 0x02, 0x8A, 0x02, 0x00, 0xFF, 0x2E]).int == -256)
        guard case .bigInt(let negative) = try load(bytes("L-12345678901234567890L\n.")) else {
            Issue.record("-12345678901234567890 is not a big integer")
            return
        }
        // -12345678901234567890 in two's complement, little-endian: 0x...FF5537...
        #expect(negative.count >= 9 && negative.last == 0xFF)
    }

    @Test func floatsTextAndBinary() throws {
        guard case .float(let half) = try load([0x80, 0x02, 0x47, 0x3F, 0xE0, 0, 0, 0, 0, 0, 0, 0x2E]),
            case .float(let small) = try load(bytes("F-2.5e-3\n."))
        else {
            Issue.record("not floats")
            return
        }
        #expect(half == 0.5)
        #expect(small == -0.0025)
    }

    @Test func textStringsWithEscapes() throws {
        #expect(try load(bytes("Vsnow\\u2603 caf") + [0xE9] + bytes("\n.")).string == "snow☃ café")
        #expect(try load(bytes("S'a\\101\\x42\\''\n.")).string == "aAB'")
    }

    @Test func instBuildsANamespace() throws {
        guard case .object(let namespace) = try load(bytes("(iargparse\nNamespace\n(dS'rnn_size'\nI512\nsb.")) else {
            Issue.record("INST did not build an object")
            return
        }
        #expect(namespace.className == PickleGlobal(module: "argparse", name: "Namespace"))
        #expect(namespace.attributes["rnn_size"]?.int == 512)
    }

    @Test func protocol4FrameFrozensetAndStackGlobal() throws {
        guard case .set(let items) = try load([0x80, 0x04, 0x95, 0x08, 0, 0, 0, 0, 0, 0, 0, 0x28, 0x4B, 0x01, 0x4B, 0x02, 0x91, 0x94, 0x2E]) else {
            Issue.record("not a set")
            return
        }
        #expect(items.compactMap(\.int) == [1, 2])
        let ordered: [UInt8] = [0x80, 0x04, 0x8C, 0x0B] + bytes("collections") + [0x94, 0x8C, 0x0B] + bytes("OrderedDict")
            + [0x94, 0x93, 0x94, 0x29, 0x52, 0x94, 0x8C, 0x01, 0x61, 0x94, 0x4B, 0x01, 0x73, 0x2E]
        guard case .dict(let dict) = try load(ordered) else {
            Issue.record("OrderedDict() did not build a dict")
            return
        }
        #expect(dict["a"]?.int == 1)
    }

    @Test func numpyScalarsOfEveryWidth() throws {
        // numpy.core.multiarray.scalar(numpy.dtype(code), raw bytes), as Python 2 pickles them.
        func scalar(_ code: String, _ raw: [UInt8]) throws -> PickleValue {
            var text = bytes("cnumpy.core.multiarray\nscalar\n(cnumpy\ndtype\n(S'\(code)'\nI0\nI1\ntRS'")
            for b in raw { text += bytes(String(format: "\\x%02x", b)) }
            return try load(text + bytes("'\ntR."))
        }
        #expect(try scalar("i2", [0xFE, 0xFF]).int == -2)
        #expect(try scalar("u1", [0xC8]).int == 200)
        #expect(try scalar("i8", [0x01, 0, 0, 0, 0, 0, 0, 0x80]).int == Int64.min + 1)
        guard case .float(let f4) = try scalar("f4", [0, 0, 0xC0, 0x3F]) else {
            Issue.record("f4 is not a float")
            return
        }
        #expect(f4 == 1.5)
        // A width no numpy scalar has stays an opaque object instead of trapping.
        guard case .object = try scalar("i16", [UInt8](repeating: 1, count: 16)) else {
            Issue.record("i16 did not stay opaque")
            return
        }
    }

    @Test func aGlobalOffTheAllowListIsOpaqueAndNeverFatal() throws {
        // os.system('echo hi'): named, kept with its arguments, never called.
        let value = try load(bytes("cos\nsystem\n(S'echo hi'\ntR."))
        guard case .object(let object) = value else {
            Issue.record("os.system(...) did not become an opaque object")
            return
        }
        #expect(object.className.description == "os.system")
        #expect(object.arguments.first?.string == "echo hi")
    }
}
