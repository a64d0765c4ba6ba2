import ConcurrencyPrimitives
import Foundation

/// BLEU statistics and CIDEr-D for a whole set from one `NGramCorpus`; same arithmetic as
/// `BleuStatistics` and `CiderD`'s per-image path, in the same order.
enum BatchScorer {
    /// `hypotheses[i]` against `references[i]`: BLEU statistics per image, CIDEr-D per image and mean.
    static func score(hypotheses: [[Int32]], references: [[[Int32]]], parallelism: Int)
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
        let corpus = NGramCorpus(sentences: sentences, parallelism: parallelism)

        let idf = inverseDocumentFrequencies(corpus: corpus, refStart: refStart, count: count)
        let starts = refStart

        let perImage = ParallelWork.chunks(count, width: parallelism) { range -> [(BleuStatistics, Double)] in
            var maxCount = [Int32](repeating: 0, count: corpus.distinct)
            var seen = [Int32](repeating: -1, count: corpus.distinct)
            var position = [Int32](repeating: -1, count: corpus.distinct)
            var out: [(BleuStatistics, Double)] = []
            out.reserveCapacity(range.count)
            for i in range {
                let refs = starts[i]..<starts[i + 1]
                let bleu = bleuStatistics(image: i, refs: refs, corpus: corpus, seen: &seen, maxCount: &maxCount)
                let mean = ciderD(image: i, refs: refs, corpus: corpus, idf: idf, position: &position)
                out.append((bleu, mean))
            }
            return out
        }
        let cider = perImage.map(\.1)
        return (perImage.map(\.0), cider, NumericParity.numpyMean(cider))
    }

    /// The idf term per n-gram, from its document frequency over the references of each image.
    private static func inverseDocumentFrequencies(corpus: NGramCorpus, refStart: [Int], count: Int) -> [Double] {
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
        return df.map { refLength - log(max(1.0, Double($0))) }
    }

    /// Image `i`'s BLEU statistics against its references (`seen` and `maxCount` are scratch, stamped by image).
    private static func bleuStatistics(
        image i: Int, refs: Range<Int>, corpus: NGramCorpus, seen: inout [Int32], maxCount: inout [Int32]
    ) -> BleuStatistics {
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
        return BleuStatistics(
            testlen: testlen, reflen: best.length, guess: (1...4).map { max(0, testlen - $0 + 1) },
            correct: correct)
    }

    /// Image `i`'s CIDEr-D against its references (`position` is scratch).
    private static func ciderD(
        image i: Int, refs: Range<Int>, corpus: NGramCorpus, idf: [Double], position: inout [Int32]
    ) -> Double {
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
        return mean
    }
}
