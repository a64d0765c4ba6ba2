/// Random damage to a file's bytes for the fuzz tests of the file readers (pickles, checkpoints).
public enum ByteMutation {
    /// One mutation: flip bits, overwrite with an interesting byte, insert, delete, truncate or
    /// duplicate a run.
    public static func mutate(_ input: [UInt8], using random: inout SeededGenerator) -> [UInt8] {
        var bytes = input
        let interesting: [UInt8] = [0x00, 0xFF, 0x7F, 0x80, 0x28, 0x2E, 0x4A, 0x58, 0x8A, 0x8B, 0x8D, 0x95, 0x71, 0x72, 0x68, 0x6A, 0x0A]
        let edits = Int.random(in: 1...4, using: &random)
        for _ in 0..<edits where !bytes.isEmpty {
            let at = Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<7, using: &random) {
            case 0: bytes[at] ^= UInt8(1 << Int.random(in: 0..<8, using: &random))
            case 1: bytes[at] = interesting.randomElement(using: &random)!
            case 2: bytes.insert(interesting.randomElement(using: &random)!, at: at)
            case 3: bytes.remove(at: at)
            case 4: bytes = Array(bytes.prefix(at))
            case 5:
                let length = min(Int.random(in: 1...16, using: &random), bytes.count - at)
                bytes.insert(contentsOf: bytes[at..<(at + length)], at: at)
            default:
                // A huge length right after an opcode that reads one.
                for i in 0..<min(4, bytes.count - at) { bytes[at + i] = 0xFF }
            }
        }
        return bytes
    }
}
