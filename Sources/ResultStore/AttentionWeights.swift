import Foundation

/// The encoding of `attention.weights`: little-endian IEEE-754 float32 values, one after another,
/// with no header. Lossless: decoding gives back the same bit patterns.
public enum AttentionWeights {
    /// Encodes weights as a blob of `4 * weights.count` bytes.
    public static func encode(_ weights: [Float]) -> Data {
        var data = Data(count: weights.count * 4)
        data.withUnsafeMutableBytes { raw in
            for (i, w) in weights.enumerated() {
                raw.storeBytes(of: w.bitPattern.littleEndian, toByteOffset: i * 4, as: UInt32.self)
            }
        }
        return data
    }

    /// Decodes a blob made by `encode(_:)`; nil when its length is not a multiple of 4.
    public static func decode(_ data: Data) -> [Float]? {
        guard data.count % 4 == 0 else { return nil }
        let count = data.count / 4
        return data.withUnsafeBytes { raw in
            (0..<count).map { i in
                Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
            }
        }
    }

    /// The index and value of the largest weight (the first of ties); nil for no weights.
    public static func top(_ weights: [Float]) -> (region: Int, weight: Float)? {
        guard var best = weights.first else { return nil }
        var bestIndex = 0
        for (i, w) in weights.enumerated().dropFirst() where w > best {
            best = w
            bestIndex = i
        }
        return (bestIndex, best)
    }
}
