/// An n-gram of 1 to 4 token ids; unused positions hold -1.
struct NGram: Hashable, Sendable {
    var words: SIMD4<Int32>

    @inline(__always) init(_ tokens: UnsafeBufferPointer<Int32>, start: Int, length: Int) {
        var w = SIMD4<Int32>(repeating: -1)
        for k in 0..<length { w[k] = tokens[start + k] }
        words = w
    }

    @inline(__always) func hash(into hasher: inout Hasher) {
        hasher.combine(UInt64(UInt32(bitPattern: words[0])) | UInt64(UInt32(bitPattern: words[1])) << 32)
        hasher.combine(UInt64(UInt32(bitPattern: words[2])) | UInt64(UInt32(bitPattern: words[3])) << 32)
    }
}

/// N-gram counts of one sentence for n = 1...4, in Python's `precook` insertion order
/// (all unigrams by position, then bigrams, ...), which fixes the order of floating-point sums.
struct NGramCounts: Sendable {
    var grams: [NGram] = []
    var counts: [Int] = []
    var orders: [UInt8] = []  // n - 1 for each entry
    var length = 0

    init(_ tokens: [Int32], maxN: Int = 4) {
        length = tokens.count
        var index: [NGram: Int] = [:]
        index.reserveCapacity(tokens.count * maxN)
        tokens.withUnsafeBufferPointer { buffer in
            for k in 1...maxN where tokens.count >= k {
                for i in 0...(tokens.count - k) {
                    let gram = NGram(buffer, start: i, length: k)
                    if let at = index[gram] {
                        counts[at] += 1
                    } else {
                        index[gram] = grams.count
                        grams.append(gram)
                        counts.append(1)
                        orders.append(UInt8(k - 1))
                    }
                }
            }
        }
    }
}
