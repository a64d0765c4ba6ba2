import ConcurrencyPrimitives

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
    /// Counting runs over at most `parallelism` threads; the result does not depend on it.
    init(sentences: [[Int32]], parallelism: Int) {
        let (flat, offsets, vocabularySize) = Self.flatten(sentences)
        let (ids, distinctCount) = Self.internNGrams(flat: flat, offsets: offsets, vocabularySize: vocabularySize)
        distinct = distinctCount
        let chunks = Self.countChunks(ids: ids, offsets: offsets, distinct: distinctCount, parallelism: parallelism)
        let total = flat.count
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

    /// All words in one array, each sentence's offset into it (plus the end), and the vocabulary
    /// size (the largest word id + 1).
    private static func flatten(_ sentences: [[Int32]]) -> (flat: [Int32], offsets: [Int], vocabularySize: Int) {
        var vocabularySize = 0
        var total = 0
        for words in sentences {
            total += words.count
            for w in words where Int(w) >= vocabularySize { vocabularySize = Int(w) + 1 }
        }
        var flat = [Int32]()
        flat.reserveCapacity(total)
        var offsets = [Int]()
        offsets.reserveCapacity(sentences.count + 1)
        for words in sentences {
            offsets.append(flat.count)
            flat.append(contentsOf: words)
        }
        offsets.append(flat.count)
        return (flat, offsets, vocabularySize)
    }

    /// `ids[k - 1][p]`: the id of the k-gram starting at flat position `p` (when it fits in its
    /// sentence), and the number of distinct n-grams. Unigram ids are the word ids.
    private static func internNGrams(flat: [Int32], offsets: [Int], vocabularySize: Int) -> (ids: [[Int32]], distinct: Int) {
        var ids: [[Int32]] = [flat]
        var nextID = Int32(vocabularySize)
        var stamp = [Int32](repeating: -1, count: vocabularySize)
        var stampID = [Int32](repeating: 0, count: vocabularySize)
        let sentenceCount = offsets.count - 1
        for k in 2...4 {
            let prefixes = ids[k - 2]
            // Counting sort of the k-gram positions by the id of their first k - 1 words.
            var bucketStart = [Int32](repeating: 0, count: Int(nextID) + 1)
            var occurrences = 0
            for s in 0..<sentenceCount where offsets[s + 1] - offsets[s] >= k {
                for p in offsets[s]...(offsets[s + 1] - k) {
                    bucketStart[Int(prefixes[p]) + 1] += 1
                    occurrences += 1
                }
            }
            for g in 1..<bucketStart.count { bucketStart[g] += bucketStart[g - 1] }
            var grouped = [Int32](repeating: 0, count: occurrences)
            var fill = bucketStart
            for s in 0..<sentenceCount where offsets[s + 1] - offsets[s] >= k {
                for p in offsets[s]...(offsets[s + 1] - k) {
                    let g = Int(prefixes[p])
                    grouped[Int(fill[g])] = Int32(p)
                    fill[g] += 1
                }
            }
            // Inside a group, the last word picks the id through a per-word stamp.
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
        return (ids, Int(nextID))
    }

    /// One chunk of sentences' entries, counted by one thread.
    private struct Chunk: Sendable {
        var grams: [Int32] = []
        var counts: [Int32] = []
        var orders: [UInt8] = []
        var ends: [Int] = []
    }

    /// Per-sentence counts in Python's insertion order, chunks of sentences in parallel.
    private static func countChunks(ids gramIDs: [[Int32]], offsets starts0: [Int], distinct distinctCount: Int, parallelism: Int) -> [Chunk] {
        let sentenceCount = starts0.count - 1
        return ParallelWork.chunks(sentenceCount, width: parallelism) { range -> [Chunk] in
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
    }

    @inline(__always) func range(_ sentence: Int) -> Range<Int> { starts[sentence]..<starts[sentence + 1] }
}
