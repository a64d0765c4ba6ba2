import Foundation

/// Every sentence of an evaluated set as n-gram counts (n = 1...4) over dense global n-gram ids.
///
/// Interning each distinct n-gram once turns the per-image dictionaries of pycocoevalcap into
/// array lookups: document frequencies, clipped counts and vector matching index plain arrays.
/// Counts keep Python's `precook` insertion order (unigrams by position, then bigrams, ...).
struct NGramCorpus: Sendable {
    /// Flattened per-sentence entries: global n-gram id, count in the sentence, n - 1.
    var grams: [Int32] = []
    var counts: [Int32] = []
    var orders: [UInt8] = []
    /// Sentence `s` owns entries `starts[s]..<starts[s + 1]`.
    var starts: [Int] = [0]
    /// Number of words of each sentence.
    var lengths: [Int] = []
    /// Number of distinct n-grams.
    var distinct = 0

    /// Interns n-grams hierarchically: a unigram's id is its word id, an n-gram's id comes from the
    /// pair (id of its first n - 1 words, last word), so every lookup is one 64-bit key.
    ///
    /// Two halves of the sentences are interned in parallel with their own tables; the second half's
    /// n-grams are then translated into the first table's ids (in id order, so a prefix is always
    /// translated before the n-grams that extend it). Ids are identities only: no score depends on them.
    init(sentences: [[Int32]]) {
        var vocabularySize = 0
        var total = 0
        for words in sentences {
            total += words.count
            for w in words where Int(w) >= vocabularySize { vocabularySize = Int(w) + 1 }
        }
        let vocabulary = vocabularySize
        let split = sentences.count >= 2048 && ProcessInfo.processInfo.activeProcessorCount > 1 ? sentences.count / 2 : sentences.count
        let wholeCapacity = max(1 << 16, (total * 2).nextPowerOfTwo)
        @Sendable func part(_ k: Int) -> Part {
            let sentenceRange = k == 0 ? 0..<split : split..<sentences.count
            var words = 0
            for s in sentenceRange { words += sentences[s].count }
            let capacity = k == 0 ? wholeCapacity : max(1 << 16, (words * 2).nextPowerOfTwo)
            return Part(sentences[sentenceRange], vocabularySize: vocabulary, capacity: capacity)
        }
        let parts: [Part]
        if split < sentences.count {
            let (a, b) = runBoth({ part(0) }, { part(1) })
            parts = [a, b]
        } else {
            parts = [part(0)]
        }
        var first = parts[0]
        grams = first.grams
        counts = first.counts
        orders = first.orders
        starts = first.starts
        lengths = first.lengths
        if parts.count > 1 {
            let second = parts[1]
            // Translate the second table's ids into the first table.
            var translation = [Int32](repeating: 0, count: second.keys.count)
            for (local, key) in second.keys.enumerated() {
                let prefix = Int32(truncatingIfNeeded: key >> 32)
                let globalPrefix = Int(prefix) < vocabulary ? prefix : translation[Int(prefix) - vocabulary]
                translation[local] = first.table.id(
                    UInt64(UInt32(bitPattern: globalPrefix)) << 32 | (key & 0xFFFF_FFFF), record: &first.keys)
            }
            let offset = grams.count
            grams.append(contentsOf: second.grams.lazy.map { Int($0) < vocabulary ? $0 : translation[Int($0) - vocabulary] })
            counts.append(contentsOf: second.counts)
            orders.append(contentsOf: second.orders)
            starts.append(contentsOf: second.starts.dropFirst().map { $0 + offset })
            lengths.append(contentsOf: second.lengths)
        }
        distinct = vocabularySize + first.table.count
    }

    /// One half of the sentences interned with its own table.
    struct Part: Sendable {
        var table: NGramTable
        /// The key of each table id (minus the vocabulary size), in id order.
        var keys: [UInt64] = []
        var grams: [Int32] = []
        var counts: [Int32] = []
        var orders: [UInt8] = []
        var starts: [Int] = [0]
        var lengths: [Int] = []

        init(_ sentences: ArraySlice<[Int32]>, vocabularySize: Int, capacity: Int) {
            table = NGramTable(capacity: capacity, firstID: Int32(vocabularySize))
            var total = 0
            for words in sentences { total += words.count }
            var seenIn = [Int32](repeating: -1, count: vocabularySize + total * 3 + 1)  // sentence that last saw a gram
            var localIndex = [Int32](repeating: 0, count: seenIn.count)
            keys.reserveCapacity(total * 2)
            grams.reserveCapacity(total * 3)
            counts.reserveCapacity(total * 3)
            orders.reserveCapacity(total * 3)
            lengths.reserveCapacity(sentences.count)
            starts.reserveCapacity(sentences.count + 1)
            var prefix: [Int32] = []
            for (s, words) in sentences.enumerated() {
                lengths.append(words.count)
                // prefix[i] holds the id of the (k-1)-gram starting at i while order k is processed.
                prefix.removeAll(keepingCapacity: true)
                prefix.append(contentsOf: words)
                for k in 1...4 where words.count >= k {
                    for i in 0...(words.count - k) {
                        let id: Int32
                        if k == 1 {
                            id = words[i]
                        } else {
                            id = table.id(
                                UInt64(UInt32(bitPattern: prefix[i])) << 32 | UInt64(UInt32(bitPattern: words[i + k - 1])),
                                record: &keys)
                            prefix[i] = id
                        }
                        let g = Int(id)
                        if seenIn[g] == Int32(s) {
                            counts[Int(localIndex[g])] += 1
                        } else {
                            seenIn[g] = Int32(s)
                            localIndex[g] = Int32(grams.count)
                            grams.append(id)
                            counts.append(1)
                            orders.append(UInt8(k - 1))
                        }
                    }
                }
                starts.append(grams.count)
            }
        }
    }

    @inline(__always) func range(_ sentence: Int) -> Range<Int> { starts[sentence]..<starts[sentence + 1] }
}

/// Open-addressing hash table from a 64-bit key (prefix id, word id) to a dense id.
struct NGramTable: Sendable {
    private struct Entry: Sendable {
        var key: UInt64
        var id: Int32  // -1: empty
    }
    private var entries: [Entry]
    private var mask: Int
    private let firstID: Int32
    private(set) var count = 0

    init(capacity: Int, firstID: Int32) {
        entries = [Entry](repeating: Entry(key: 0, id: -1), count: capacity)
        mask = capacity - 1
        self.firstID = firstID
    }

    @inline(__always) static func hash(_ key: UInt64) -> Int {
        var h = key &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 31
        return Int(truncatingIfNeeded: h)
    }

    /// The id of `key`, assigning the next id (and appending the key to `keys`) when it is new.
    mutating func id(_ key: UInt64, record keys: inout [UInt64]) -> Int32 {
        var slot = Self.hash(key) & mask
        while true {
            let entry = entries[slot]
            if entry.id < 0 { break }
            if entry.key == key { return entry.id }
            slot = (slot + 1) & mask
        }
        let id = firstID + Int32(count)
        entries[slot] = Entry(key: key, id: id)
        keys.append(key)
        count += 1
        if count * 2 > entries.count { grow() }
        return id
    }

    private mutating func grow() {
        let old = entries
        entries = [Entry](repeating: Entry(key: 0, id: -1), count: old.count * 2)
        mask = entries.count - 1
        for entry in old where entry.id >= 0 {
            var slot = Self.hash(entry.key) & mask
            while entries[slot].id >= 0 { slot = (slot + 1) & mask }
            entries[slot] = entry
        }
    }
}

extension Int {
    var nextPowerOfTwo: Int { self <= 1 ? 1 : 1 << (Int.bitWidth - (self - 1).leadingZeroBitCount) }
}

/// BLEU statistics and CIDEr-D for a whole set from one `NGramCorpus`; same arithmetic as
/// `BleuStatistics` and `CiderD`'s per-image path, in the same order.
enum BatchScorer {
    /// `hypotheses[i]` against `references[i]`: BLEU statistics per image, CIDEr-D per image and mean.
    static func score(hypotheses: [[Int32]], references: [[[Int32]]])
        -> (bleu: [BleuStatistics], cider: [Double], ciderMean: Double)
    {
        let count = hypotheses.count
        var sentences = hypotheses
        var refStart = [Int]()
        refStart.reserveCapacity(count + 1)
        for refs in references {
            refStart.append(sentences.count)
            sentences.append(contentsOf: refs)
        }
        refStart.append(sentences.count)
        let corpus = NGramCorpus(sentences: sentences)

        // Document frequency over the references of each image, and the idf term per n-gram.
        var df = [Int32](repeating: 0, count: corpus.distinct)
        var stamp = [Int32](repeating: -1, count: corpus.distinct)
        for i in 0..<count {
            for s in refStart[i]..<refStart[i + 1] {
                for e in corpus.range(s) {
                    let g = Int(corpus.grams[e])
                    if stamp[g] != Int32(i) {
                        stamp[g] = Int32(i)
                        df[g] += 1
                    }
                }
            }
        }
        let refLength = log(Double(count))
        let idf = df.map { refLength - log(max(1.0, Double($0))) }
        let starts = refStart

        let perImage = parallelChunks(count) { range -> [(BleuStatistics, Double)] in
            var maxCount = [Int32](repeating: 0, count: corpus.distinct)
            var seen = [Int32](repeating: -1, count: corpus.distinct)
            var position = [Int32](repeating: -1, count: corpus.distinct)
            var out: [(BleuStatistics, Double)] = []
            out.reserveCapacity(range.count)
            for i in range {
                let refs = starts[i]..<starts[i + 1]
                // BLEU: max count of each n-gram in any single reference, closest length.
                let testlen = corpus.lengths[i]
                var best = (distance: Int.max, length: Int.max)
                for s in refs {
                    for e in corpus.range(s) {
                        let g = Int(corpus.grams[e])
                        if seen[g] != Int32(i) {
                            seen[g] = Int32(i)
                            maxCount[g] = corpus.counts[e]
                        } else if corpus.counts[e] > maxCount[g] {
                            maxCount[g] = corpus.counts[e]
                        }
                    }
                    let candidate = (abs(corpus.lengths[s] - testlen), corpus.lengths[s])
                    if candidate < best { best = candidate }
                }
                var correct = [0, 0, 0, 0]
                for e in corpus.range(i) {
                    let g = Int(corpus.grams[e])
                    let clip = seen[g] == Int32(i) ? maxCount[g] : 0
                    correct[Int(corpus.orders[e])] += Int(min(clip, corpus.counts[e]))
                }
                let bleu = BleuStatistics(
                    testlen: testlen, reflen: best.length, guess: (1...4).map { max(0, testlen - $0 + 1) },
                    correct: correct)

                // CIDEr-D.
                let hyp = corpus.range(i)
                var hypValues = [Double](repeating: 0, count: hyp.count)
                var hypNorms = [0.0, 0.0, 0.0, 0.0]
                var hypLength = 0
                for (k, e) in hyp.enumerated() {
                    let g = Int(corpus.grams[e])
                    let value = Double(corpus.counts[e]) * idf[g]
                    hypValues[k] = value
                    hypNorms[Int(corpus.orders[e])] += value * value
                    if corpus.orders[e] == 1 { hypLength += Int(corpus.counts[e]) }
                    position[g] = Int32(k)
                }
                for k in 0..<4 { hypNorms[k] = hypNorms[k].squareRoot() }
                var refValueAtHyp = [Double](repeating: 0, count: hyp.count)
                var score = [0.0, 0.0, 0.0, 0.0]
                for s in refs {
                    for k in refValueAtHyp.indices { refValueAtHyp[k] = 0 }
                    var norms = [0.0, 0.0, 0.0, 0.0]
                    var length = 0
                    for e in corpus.range(s) {
                        let g = Int(corpus.grams[e])
                        let value = Double(corpus.counts[e]) * idf[g]
                        norms[Int(corpus.orders[e])] += value * value
                        if corpus.orders[e] == 1 { length += Int(corpus.counts[e]) }
                        let at = Int(position[g])
                        if at >= 0 && at < hyp.count && corpus.grams[hyp.lowerBound + at] == Int32(g) {
                            refValueAtHyp[at] = value
                        }
                    }
                    for k in 0..<4 { norms[k] = norms[k].squareRoot() }
                    var val = [0.0, 0.0, 0.0, 0.0]
                    for (k, e) in hyp.enumerated() {
                        let vr = refValueAtHyp[k]
                        val[Int(corpus.orders[e])] += min(hypValues[k], vr) * vr
                    }
                    let delta = Double(hypLength - length)
                    let penalty = pow(M_E, -(delta * delta) / (2 * CiderD.sigma * CiderD.sigma))
                    for k in 0..<4 {
                        if hypNorms[k] != 0 && norms[k] != 0 { val[k] /= hypNorms[k] * norms[k] }
                        val[k] *= penalty
                        score[k] += val[k]
                    }
                }
                var mean = 0.0
                for k in 0..<4 { mean += score[k] }
                mean /= 4
                mean /= Double(refs.count)
                mean *= 10.0
                out.append((bleu, mean))
            }
            return out
        }
        let cider = perImage.map(\.1)
        return (perImage.map(\.0), cider, NumericParity.numpyMean(cider))
    }
}

import Foundation

/// Runs `body` on contiguous chunks of `0..<count` across the cores and concatenates the results in order.
func parallelChunks<T: Sendable>(_ count: Int, _ body: @Sendable (Range<Int>) -> [T]) -> [T] {
    let workers = min(ProcessInfo.processInfo.activeProcessorCount, max(1, count / 256))
    if workers <= 1 { return body(0..<count) }
    let chunk = (count + workers - 1) / workers
    let parts = UnsafeMutableBufferPointer<[T]>.allocate(capacity: workers)
    parts.initialize(repeating: [])
    defer { parts.deinitialize(); parts.deallocate() }
    // Safe: each worker writes only its own slot, and concurrentPerform returns after all finish.
    nonisolated(unsafe) let slots = parts
    DispatchQueue.concurrentPerform(iterations: workers) { w in
        slots[w] = body((w * chunk)..<min(count, (w + 1) * chunk))
    }
    return Array(parts.joined())
}
