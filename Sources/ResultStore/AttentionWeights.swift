import Foundation

/// The encoding of `attention.weights`: little-endian IEEE-754 float32 values, one after another,
/// with no header. Lossless: decoding gives back the same bit patterns.
public enum AttentionWeights {
    /// Encodes weights as a blob of `4 * weights.count` bytes.
    public static func encode(_ weights: [Float]) -> Data {
        #if _endian(little)
        // Float's in-memory layout is already the stored one.
        return weights.withUnsafeBytes { Data($0) }
        #else
        var data = Data(count: weights.count * 4)
        data.withUnsafeMutableBytes { raw in
            for (i, w) in weights.enumerated() {
                raw.storeBytes(of: w.bitPattern.littleEndian, toByteOffset: i * 4, as: UInt32.self)
            }
        }
        return data
        #endif
    }

    /// Decodes a blob made by `encode(_:)`; nil when its length is not a multiple of 4.
    public static func decode(_ data: Data) -> [Float]? {
        guard data.count % 4 == 0 else { return nil }
        let count = data.count / 4
        return data.withUnsafeBytes { raw in
            [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                #if _endian(little)
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: raw)
                #else
                for i in 0..<count {
                    buffer[i] = Float(
                        bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
                }
                #endif
                initialized = count
            }
        }
    }

    /// The index and value of the largest weight (the first of ties); nil for no weights.
    public static func top(_ weights: [Float]) -> (region: Int, weight: Float)? {
        weights.withUnsafeBufferPointer { w in
            guard var best = w.first else { return nil }
            var bestIndex = 0
            for i in w.indices.dropFirst() where w[i] > best {
                best = w[i]
                bestIndex = i
            }
            return (bestIndex, best)
        }
    }
}
