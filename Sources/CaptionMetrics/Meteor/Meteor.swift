import ConcurrencyPrimitives

/// METEOR as pycocoevalcap computes it with meteor-1.5.jar (`-l en -norm`), without Java.
///
/// The input is what pycocoevalcap's wrapper receives: each image's PTB-tokenized hypothesis and
/// references. The wrapper's own handling is reproduced: it removes `|||` from the hypothesis,
/// joins everything into one `SCORE ||| ref ||| … ||| hyp` line, and the jar splits that line at
/// `|||` again (so a `|||` inside a reference makes more references, as with the jar).
public struct Meteor: Sendable {
    public let resources: MeteorResources

    public init(resources: MeteorResources) { self.resources = resources }

    /// One image's statistics: those of the reference with the highest score (the first on a tie).
    public func statistics(hypothesis: String, references: [String]) -> MeteorStatistics {
        var cache = MeteorWordCache(resources: resources)
        return statistics(hypothesis: hypothesis, references: references, cache: &cache)
    }

    func statistics(hypothesis: String, references: [String], cache: inout MeteorWordCache) -> MeteorStatistics {
        let (test, refs) = Self.jarInput(hypothesis: hypothesis, references: references)
        let testSentence = MeteorSentence(words: resources.normalizer.words(test), cache: &cache)
        var best = MeteorStatistics.zero
        var bestScore = -1.0
        for reference in refs {
            let referenceSentence = MeteorSentence(words: resources.normalizer.words(reference), cache: &cache)
            let counts = MeteorAligner.align(test: testSentence, reference: referenceSentence, paraphrases: resources.paraphrases)
            let stats = MeteorStatistics(test: testSentence, reference: referenceSentence, counts: counts)
            let score = stats.score
            if score > bestScore {
                best = stats
                bestScore = score
            }
        }
        return best
    }

    /// Every image's statistics, over at most `parallelism` threads; results in input order and
    /// independent of the thread count.
    public func statistics(hypotheses: [String], references: [[String]], parallelism: Int) -> [MeteorStatistics] {
        precondition(hypotheses.count == references.count, "one list of references per hypothesis")
        return ParallelWork.chunks(hypotheses.count, width: parallelism, minimumChunk: 16) { range in
            var cache = MeteorWordCache(resources: resources)
            return range.map { statistics(hypothesis: hypotheses[$0], references: references[$0], cache: &cache) }
        }
    }

    /// The hypothesis and references as the jar sees them after pycocoevalcap's wrapper: `|||`
    /// removed from the hypothesis and double spaces made single (one pass, as Python's
    /// `str.replace`), the `SCORE` line split at every `|||` (Java's `String.split`, which drops
    /// trailing empty parts), each part trimmed. Line breaks, which would end the wrapper's line
    /// early and desynchronise it from the jar, are read as spaces.
    static func jarInput(hypothesis: String, references: [String]) -> (String, [String]) {
        func oneLine(_ text: String) -> String {
            text.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" })
                ? String(text.map { $0 == "\n" || $0 == "\r" || $0 == "\r\n" ? " " : $0 }) : text
        }
        let hyp = oneLine(hypothesis).replacingOccurrences(of: "|||", with: "").replacingOccurrences(of: "  ", with: " ")
        let line = "SCORE ||| " + references.map(oneLine).joined(separator: " ||| ") + " ||| " + hyp
        var parts = line.components(separatedBy: "|||")
        while let last = parts.last, last.isEmpty { parts.removeLast() }
        guard parts.count >= 3 else { return (parts.count == 2 ? javaTrim(parts[1]) : "", []) }
        return (javaTrim(parts[parts.count - 1]), parts[1..<(parts.count - 1)].map(javaTrim))
    }
}

extension MeteorStatistics {
    init(test: MeteorSentence, reference: MeteorSentence, counts: MeteorAligner.Counts) {
        testLength = test.count
        referenceLength = reference.count
        testFunctionWords = counts.functionWords1
        referenceFunctionWords = counts.functionWords2
        testContentMatches = counts.contentMatches1
        referenceContentMatches = counts.contentMatches2
        testFunctionMatches = counts.functionMatches1
        referenceFunctionMatches = counts.functionMatches2
        chunks = counts.chunks
        testWordMatches = counts.matches1
        referenceWordMatches = counts.matches2
    }
}
