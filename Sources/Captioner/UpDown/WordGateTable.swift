import Synchronization

/// The word's share of UpDown's attention-LSTM gates, `ReLU(E[w]) · W_x` for a word `w` (`W_x` the
/// `[E x 4R]` word part of `weight_ih`), looked up instead of multiplied at every step.
///
/// A step's rows then multiply only `[h_lang | h_att]` (2R inputs instead of 2R + E: a quarter of the
/// attention LSTM's products, an eighth of the step's). The whole table (V x 4R, 152 MB and 38 G
/// multiply-adds at the zoo's size) would cost more than it saves on a small run, so it is filled
/// in blocks of `blockSize` consecutive words, each the first time a step needs one of its words.
///
/// The values never depend on which thread, step or run asks first: a block is always computed by
/// the same product (its own rows, the same shapes, the same inputs), whatever else is computed at
/// the time, so databases stay byte-identical across `--threads` and runs.
final class WordGateTable: @unchecked Sendable {
    // @unchecked Sendable: `values` is written only inside `filled.withLock`, each block once,
    // before its flag is set there; a thread reads a block only after it saw the block's flag set
    // inside the same lock (or set it itself), so every write happens before every read.
    static let blockSize = 64

    let vocabulary: Int
    let width: Int
    private let embedding: [Float]
    private let weights: [Float]
    private let column: Int
    private let stride: Int
    private let embeddingSize: Int
    private let values: UnsafeMutablePointer<Float>
    private let filled: Mutex<[Bool]>

    /// `embedding` `[V x E]`; `W_x[g][e] = weights[g * stride + column + e]` for `g < width`,
    /// `e < E` (the word columns of PyTorch's `[out, in]` `weight_ih`, used where they are).
    init(embedding: [Float], weights: [Float], column: Int, stride: Int, vocabulary V: Int, embeddingSize E: Int, width: Int) {
        precondition(
            embedding.count == V * E && column + E <= stride && weights.count >= (width - 1) * stride + column + E,
            "word gate table: inconsistent sizes")
        self.embedding = embedding
        self.weights = weights
        self.column = column
        self.stride = stride
        vocabulary = V
        embeddingSize = E
        self.width = width
        // Pages of blocks never needed are never touched.
        values = UnsafeMutablePointer<Float>.allocate(capacity: V * width)
        filled = Mutex([Bool](repeating: false, count: (V + Self.blockSize - 1) / Self.blockSize))
    }

    deinit { values.deallocate() }

    /// The gates of `word`; its block must have been made ready by `prepare` on this thread.
    @inline(__always)
    func gates(of word: Int) -> UnsafePointer<Float> {
        UnsafePointer(values + word * width)
    }

    /// Makes the blocks of `tokens[0..<count]` ready. `known` is the caller's own record of blocks
    /// it has seen ready (one flag per block), so that a step whose words are all known takes no lock.
    func prepare(tokens: UnsafePointer<Int32>, count: Int, known: inout [Bool]) {
        var missing: [Int] = []
        for row in 0..<count {
            let block = Int(tokens[row]) / Self.blockSize
            if !known[block] && !missing.contains(block) { missing.append(block) }
        }
        guard !missing.isEmpty else { return }
        filled.withLock { ready in
            for block in missing {
                if !ready[block] {
                    compute(block: block)
                    ready[block] = true
                }
                known[block] = true
            }
        }
    }

    /// Block `block`: ReLU of its words' embeddings times the word weights, one product.
    private func compute(block: Int) {
        let (E, W) = (embeddingSize, width)
        let first = block * Self.blockSize
        let count = min(Self.blockSize, vocabulary - first)
        var activated = [Float](repeating: 0, count: count * E)
        embedding.withUnsafeBufferPointer { e in
            for index in 0..<(count * E) {
                let x = e[first * E + index]
                activated[index] = x > 0 ? x : 0
            }
        }
        activated.withUnsafeBufferPointer { x in
            weights.withUnsafeBufferPointer { w in
                BLAS.multiplyTransposed(
                    rows: count, outputs: W, inputs: E, x.baseAddress!, xStride: E, w.baseAddress! + column, wStride: stride,
                    into: values + first * W, cStride: W)
            }
        }
    }
}
