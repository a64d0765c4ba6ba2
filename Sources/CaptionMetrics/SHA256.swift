import CKernels
import Foundation

/// SHA-256 (FIPS 180-4), for run fingerprints and for naming cached data by its digest. Foundation on Linux has no digest API and the
/// fingerprint needs only this one function, so it is written here rather than adding swift-crypto.
/// Whole blocks go through the CPU's SHA extensions when it has them (`nightcap_sha256_blocks`, about
/// ten times this loop's speed: a self-critical.pytorch checkpoint is 200 MB, hashed at every start);
/// this loop is the reference and the fallback.
public struct SHA256: Sendable {
    private var state: [UInt32] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    ]
    private var pending: [UInt8] = []
    private var length: UInt64 = 0

    /// The 64 round constants, shared with the SHA-extensions path (CKernels).
    private static var k: UnsafeBufferPointer<UInt32> { UnsafeBufferPointer(start: nightcap_sha256_round_constants(), count: 64) }

    public mutating func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        for byte in bytes {
            pending.append(byte)
            length &+= 1
            if pending.count == 64 {
                compressPending()
                pending.removeAll(keepingCapacity: true)
            }
        }
    }

    public mutating func update(_ data: Data) {
        data.withUnsafeBytes { raw in
            var offset = 0
            let count = raw.count
            // Top up a partial block, then compress whole blocks straight from the buffer.
            while !pending.isEmpty && offset < count {
                update(CollectionOfOne(raw[offset]))
                offset += 1
            }
            let blocks = (count - offset) / 64
            if blocks > 0 {
                compress(blocks: blocks, raw.baseAddress! + offset)
                length &+= UInt64(blocks * 64)
                offset += blocks * 64
            }
            if offset < count { update(raw[offset..<count]) }
        }
    }

    public mutating func update(_ text: String) { update(Array(text.utf8)) }

    public mutating func finalize() -> String {
        let bitLength = length &* 8
        update(CollectionOfOne(0x80))
        while pending.count != 56 { update(CollectionOfOne(0)) }
        for shift in stride(from: 56, through: 0, by: -8) { pending.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
        compressPending()
        pending.removeAll()
        return state.map { word in
            let hex = String(word, radix: 16)
            return String(repeating: "0", count: 8 - hex.count) + hex
        }.joined()
    }

    /// Whether whole blocks use the CPU's SHA extensions; tests turn it off to compare.
    public static let hardware: Bool = nightcap_cpu_has_sha() != 0
    public var useHardware = SHA256.hardware

    public init() {}

    private mutating func compress(blocks: Int, _ data: UnsafeRawPointer) {
        if useHardware {
            state.withUnsafeMutableBufferPointer { words in
                nightcap_sha256_blocks(words.baseAddress!, data.assumingMemoryBound(to: UInt8.self), blocks)
            }
        } else {
            for block in 0..<blocks { compress(data + 64 * block) }
        }
    }

    private mutating func compressPending() {
        let block = pending
        block.withUnsafeBytes { compress(blocks: 1, $0.baseAddress!) }
    }

    /// One 64-byte block. Works on raw memory and a stack buffer: an array per block made hashing
    /// the model file (tens of MB, at the start of every run) take most of a second.
    private mutating func compress(_ block: UnsafeRawPointer) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
            compress(block, schedule: w, constants: Self.k)
        }
    }

    private mutating func compress(_ block: UnsafeRawPointer, schedule w: UnsafeMutableBufferPointer<UInt32>, constants k: UnsafeBufferPointer<UInt32>) {
        for i in 0..<16 {
            w[i] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
        }
        for i in 16..<64 {
            let s0 = w[i - 15].rotatedRight(7) ^ w[i - 15].rotatedRight(18) ^ (w[i - 15] >> 3)
            let s1 = w[i - 2].rotatedRight(17) ^ w[i - 2].rotatedRight(19) ^ (w[i - 2] >> 10)
            w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
        }
        var a = state[0], b = state[1], c = state[2], d = state[3]
        var e = state[4], f = state[5], g = state[6], h = state[7]
        for i in 0..<64 {
            let s1 = e.rotatedRight(6) ^ e.rotatedRight(11) ^ e.rotatedRight(25)
            let choice = (e & f) ^ (~e & g)
            let t1 = h &+ s1 &+ choice &+ k[i] &+ w[i]
            let s0 = a.rotatedRight(2) ^ a.rotatedRight(13) ^ a.rotatedRight(22)
            let majority = (a & b) ^ (a & c) ^ (b & c)
            let t2 = s0 &+ majority
            h = g; g = f; f = e; e = d &+ t1
            d = c; c = b; b = a; a = t1 &+ t2
        }
        state[0] &+= a; state[1] &+= b; state[2] &+= c; state[3] &+= d
        state[4] &+= e; state[5] &+= f; state[6] &+= g; state[7] &+= h
    }
}

extension UInt32 {
    fileprivate func rotatedRight(_ count: UInt32) -> UInt32 { (self >> count) | (self << (32 - count)) }
}
