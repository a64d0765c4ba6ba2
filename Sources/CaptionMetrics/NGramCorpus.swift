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

    /// Interns n-grams order by order without hashing: a unigram's id is its word id; the n-grams of
    /// order k are grouped by the id of their first k - 1 words (a counting sort), and inside a group
    /// the last word picks the id through a per-word stamp. Every step walks arrays, which keeps the
    /// 2 million n-grams of val2014 in cache far better than a hash table.
    init(sentences: [[Int32]]) {
        var vocabularySize = 0
        var total = 0
        for words in sentences {
            total += words.count
            for w in words where Int(w) >= vocabularySize { vocabularySize = Int(w) + 1 }
        }
        // Flat words and each sentence's offset into them.
        var flat = [Int32]()
        flat.reserveCapacity(total)
        var offsets = [Int]()
        offsets.reserveCapacity(sentences.count + 1)
        for words in sentences {
            offsets.append(flat.count)
            flat.append(contentsOf: words)
        }
        offsets.append(flat.count)

        // ids[k - 1][p]: id of the k-gram starting at flat position p (when it fits in its sentence).
        var ids: [[Int32]] = [flat]
        var nextID = Int32(vocabularySize)
        var stamp = [Int32](repeating: -1, count: vocabularySize)
        var stampID = [Int32](repeating: 0, count: vocabularySize)
        for k in 2...4 {
            let prefixes = ids[k - 2]
            var bucketStart = [Int32](repeating: 0, count: Int(nextID) + 1)
            var occurrences = 0
            for s in 0..<sentences.count where offsets[s + 1] - offsets[s] >= k {
                for p in offsets[s]...(offsets[s + 1] - k) {
                    bucketStart[Int(prefixes[p]) + 1] += 1
                    occurrences += 1
                }
            }
            for g in 1..<bucketStart.count { bucketStart[g] += bucketStart[g - 1] }
            var grouped = [Int32](repeating: 0, count: occurrences)
            var fill = bucketStart
            for s in 0..<sentences.count where offsets[s + 1] - offsets[s] >= k {
                for p in offsets[s]...(offsets[s + 1] - k) {
                    let g = Int(prefixes[p])
                    grouped[Int(fill[g])] = Int32(p)
                    fill[g] += 1
                }
            }
            var current = [Int32](repeating: -1, count: flat.count)
            var index = 0
            for g in 0..<(bucketStart.count - 1) {
                let end = Int(bucketStart[g + 1])
                while index < end {
                    let p = Int(grouped[index])
                    let w = Int(flat[p + k - 1])
                    if stamp[w] != Int32(g) {
                        stamp[w] = Int32(g)
                        stampID[w] = nextID
                        nextID += 1
                    }
                    current[p] = stampID[w]
                    index += 1
                }
            }
            ids.append(current)
        }
        distinct = Int(nextID)

        // Per-sentence counts in Python's insertion order, chunks of sentences in parallel.
        struct Chunk: Sendable {
            var grams: [Int32] = []
            var counts: [Int32] = []
            var orders: [UInt8] = []
            var ends: [Int] = []
        }
        let gramIDs = ids, starts0 = offsets, distinctCount = distinct
        let chunks = parallelChunks(sentences.count) { range -> [Chunk] in
            var chunk = Chunk()
            var seenIn = [Int32](repeating: -1, count: distinctCount)
            var localIndex = [Int32](repeating: 0, count: distinctCount)
            let words = starts0[range.upperBound] - starts0[range.lowerBound]
            chunk.grams.reserveCapacity(words * 4)
            chunk.counts.reserveCapacity(words * 4)
            chunk.orders.reserveCapacity(words * 4)
            chunk.ends.reserveCapacity(range.count)
            for s in range {
                let length = starts0[s + 1] - starts0[s]
                for k in 1...4 where length >= k {
                    let order = gramIDs[k - 1]
                    for p in starts0[s]...(starts0[s + 1] - k) {
                        let g = Int(order[p])
                        if seenIn[g] == Int32(s) {
                            chunk.counts[Int(localIndex[g])] += 1
                        } else {
                            seenIn[g] = Int32(s)
                            localIndex[g] = Int32(chunk.grams.count)
                            chunk.grams.append(Int32(g))
                            chunk.counts.append(1)
                            chunk.orders.append(UInt8(k - 1))
                        }
                    }
                }
                chunk.ends.append(chunk.grams.count)
            }
            return [chunk]
        }
        grams.reserveCapacity(total * 4)
        counts.reserveCapacity(total * 4)
        orders.reserveCapacity(total * 4)
        starts.reserveCapacity(sentences.count + 1)
        for chunk in chunks {
            let base = grams.count
            grams += chunk.grams
            counts += chunk.counts
            orders += chunk.orders
            starts += chunk.ends.map { $0 + base }
        }
        lengths = (0..<sentences.count).map { offsets[$0 + 1] - offsets[$0] }
    }

    @inline(__always) func range(_ sentence: Int) -> Range<Int> { starts[sentence]..<starts[sentence + 1] }
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
