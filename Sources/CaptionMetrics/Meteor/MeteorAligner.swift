/// What the matchers compare about one word, computed once per distinct word (`MeteorWordCache`).
struct MeteorWordInfo: Sendable {
    /// `String.hashCode()` of the word: the jar's exact and stem stages compare these, not the words.
    var key: Int32
    var stemKey: Int32
    /// Synset ids of the word and its base forms, sorted and distinct.
    var synsets: [Int32]
    /// Paraphrase-table word id (-1: not in the table).
    var paraphraseID: Int32
    var isFunctionWord: Bool

    init(_ word: String, resources: MeteorResources) {
        key = javaHashCode(word)
        stemKey = javaHashCode(SnowballEnglishStemmer.stem(word))
        synsets = resources.synonyms.synsetIDs(word).sorted()
        paraphraseID = resources.paraphrases.wordID(word)
        isFunctionWord = resources.functionWords.contains(word)
    }

    /// Whether two sorted synset lists share an id.
    func sharesSynset(with other: MeteorWordInfo) -> Bool {
        let a = synsets, b = other.synsets
        if a.isEmpty || b.isEmpty { return false }
        var i = 0, j = 0
        while i < a.count && j < b.count {
            if a[i] == b[j] { return true }
            if a[i] < b[j] { i += 1 } else { j += 1 }
        }
        return false
    }
}

/// Word information by word, for one worker: captions repeat a small vocabulary, so each word is
/// stemmed and looked up once. Only ASCII words are cached, because Swift compares strings by
/// canonical equivalence and the jar by code units.
struct MeteorWordCache {
    let resources: MeteorResources
    private var table: [String: MeteorWordInfo] = [:]

    init(resources: MeteorResources) { self.resources = resources }

    mutating func info(_ word: String) -> MeteorWordInfo {
        guard word.utf8.allSatisfy({ $0 < 0x80 }) else { return MeteorWordInfo(word, resources: resources) }
        if let known = table[word] { return known }
        let info = MeteorWordInfo(word, resources: resources)
        table[word] = info
        return info
    }
}

/// One side of an alignment: a normalised caption's words and what the matchers compare.
struct MeteorSentence: Sendable {
    var words: [MeteorWordInfo]
    var keys: [Int32]

    init(words: [String], cache: inout MeteorWordCache) {
        self.words = words.map { cache.info($0) }
        keys = self.words.map(\.key)
    }

    var count: Int { words.count }
}

/// `String.hashCode()` of Java: over UTF-16 code units, h = 31 h + c, wrapping.
func javaHashCode(_ word: String) -> Int32 {
    var h: Int32 = 0
    for unit in word.utf16 { h = h &* 31 &+ Int32(unit) }
    return h
}

/// A match between `length` reference words at `start` and `matchLength` hypothesis words at
/// `matchStart`, found by stage `module` (0 exact, 1 stem, 2 synonym, 3 paraphrase).
struct MeteorMatch: Sendable, Equatable {
    var start: Int
    var length: Int
    var matchStart: Int
    var matchLength: Int
    var module: Int
}

/// The jar's aligner (`Aligner`, `Stage`, the four matchers and `PartialAlignment`), step for
/// step: the same candidate matches in the same order, the same beam (40) and the same ordering of
/// partial alignments, so that ties resolve as in the jar.
///
/// Line 1 is the hypothesis ("test"), line 2 the reference; matches are indexed by reference position.
enum MeteorAligner {
    static let beamSize = 40
    /// The weights the jar's scorer gives its aligner for ranking partial alignments (exact 1, the
    /// other stages 0.5); the score itself uses `MeteorParameters.moduleWeights`.
    static let rankingWeights: [Double] = [1.0, 0.5, 0.5, 0.5]

    struct Counts: Sendable {
        var contentMatches1 = [0, 0, 0, 0], contentMatches2 = [0, 0, 0, 0]
        var functionMatches1 = [0, 0, 0, 0], functionMatches2 = [0, 0, 0, 0]
        var functionWords1 = 0, functionWords2 = 0
        var matches1 = 0, matches2 = 0, chunks = 0
    }

    static func align(test: MeteorSentence, reference: MeteorSentence, paraphrases: ParaphraseTable) -> Counts {
        let n1 = test.count, n2 = reference.count
        var candidates = [[MeteorMatch]](repeating: [], count: n2)
        var coverage1 = [Int](repeating: 0, count: n1), coverage2 = [Int](repeating: 0, count: n2)
        func add(_ m: MeteorMatch) {
            candidates[m.start].append(m)
            for k in 0..<m.matchLength { coverage1[m.matchStart + k] += 1 }
            for k in 0..<m.length { coverage2[m.start + k] += 1 }
        }
        // Identical word keys: the exact stage only.
        let onlyExact = n1 == n2 && test.keys == reference.keys
        for j in 0..<n2 {
            for i in 0..<n1 where test.keys[i] == reference.keys[j] {
                add(MeteorMatch(start: j, length: 1, matchStart: i, matchLength: 1, module: 0))
            }
        }
        if !onlyExact {
            for j in 0..<n2 {
                for i in 0..<n1 where test.words[i].stemKey == reference.words[j].stemKey && test.keys[i] != reference.keys[j] {
                    add(MeteorMatch(start: j, length: 1, matchStart: i, matchLength: 1, module: 1))
                }
            }
            for j in 0..<n2 {
                for i in 0..<n1 where test.keys[i] != reference.keys[j] && test.words[i].sharesSynset(with: reference.words[j]) {
                    add(MeteorMatch(start: j, length: 1, matchStart: i, matchLength: 1, module: 2))
                }
            }
            paraphraseMatches(test: test.words.map(\.paraphraseID), reference: reference.words.map(\.paraphraseID), table: paraphrases, add: add)
        }

        // Matches that are the only candidate at their position and overlap no other are fixed.
        var start = PartialAlignment(n1: n1, n2: n2)
        for j in 0..<n2 where candidates[j].count == 1 {
            let m = candidates[j][0]
            let alone = (0..<m.length).allSatisfy { coverage2[j + $0] == 1 }
                && (0..<m.matchLength).allSatisfy { coverage1[m.matchStart + $0] == 1 }
            if alone {
                start.matches[j] = m
                start.setUsed(m)
            }
        }
        let best = resolve(candidates: candidates, start: start)

        var counts = Counts()
        counts.functionWords1 = test.words.count(where: \.isFunctionWord)
        counts.functionWords2 = reference.words.count(where: \.isFunctionWord)
        for case let m? in best.matches {
            for k in 0..<m.matchLength {
                if test.words[m.matchStart + k].isFunctionWord { counts.functionMatches1[m.module] += 1 } else { counts.contentMatches1[m.module] += 1 }
            }
            for k in 0..<m.length {
                if reference.words[m.start + k].isFunctionWord { counts.functionMatches2[m.module] += 1 } else { counts.contentMatches2[m.module] += 1 }
            }
        }
        // Matched words and chunks, walking the reference.
        var idx = 0, lastMatchEnd = -1
        while idx < best.matches.count {
            if let m = best.matches[idx] {
                counts.matches1 += m.matchLength
                counts.matches2 += m.length
                if lastMatchEnd != -1 && m.matchStart != lastMatchEnd { counts.chunks += 1 }
                idx = m.start + m.length
                lastMatchEnd = m.matchStart + m.matchLength
            } else {
                if lastMatchEnd != -1 {
                    counts.chunks += 1
                    lastMatchEnd = -1
                }
                idx += 1
            }
        }
        if lastMatchEnd != -1 { counts.chunks += 1 }
        return counts
    }

    /// The paraphrase stage: phrases of the reference whose paraphrase occurs in the hypothesis,
    /// then phrases of the hypothesis whose paraphrase occurs in the reference.
    private static func paraphraseMatches(test: [Int32], reference: [Int32], table: ParaphraseTable, add: (MeteorMatch) -> Void) {
        func occurs(_ words: UnsafeBufferPointer<UInt32>, in line: [Int32], at i: Int) -> Bool {
            for k in 0..<words.count {
                if i + k == line.count || line[i + k] < 0 || UInt32(line[i + k]) != words[k] { return false }
            }
            return true
        }
        for j in 0..<reference.count {
            table.forEachPhrase(in: reference, at: j) { length, words in
                for i in 0..<test.count where occurs(words, in: test, at: i) {
                    add(MeteorMatch(start: j, length: length, matchStart: i, matchLength: words.count, module: 3))
                }
            }
        }
        for i in 0..<test.count {
            table.forEachPhrase(in: test, at: i) { length, words in
                for j in 0..<reference.count where occurs(words, in: reference, at: j) {
                    add(MeteorMatch(start: j, length: words.count, matchStart: i, matchLength: length, module: 3))
                }
            }
        }
    }

    struct PartialAlignment {
        var matches: [MeteorMatch?]
        var used1: [Bool]
        var used2: [Bool]
        /// Weighted matched words on each side, kept as integers as the jar's `int` fields do
        /// (Java's `+=` of a double into an int truncates).
        var matches1 = 0, matches2 = 0
        var chunks = 0
        var idx = 0
        var lastMatchEnd = -1
        var distance = 0

        init(n1: Int, n2: Int) {
            matches = [MeteorMatch?](repeating: nil, count: n2)
            used1 = [Bool](repeating: false, count: n1)
            used2 = [Bool](repeating: false, count: n2)
        }

        func isUsed(_ m: MeteorMatch) -> Bool {
            for k in 0..<m.length where used2[m.start + k] { return true }
            for k in 0..<m.matchLength where used1[m.matchStart + k] { return true }
            return false
        }

        mutating func setUsed(_ m: MeteorMatch) {
            for k in 0..<m.length { used2[m.start + k] = true }
            for k in 0..<m.matchLength { used1[m.matchStart + k] = true }
        }

        /// Counts `m` as the next match of this alignment (not the distance: see `resolve`).
        mutating func take(_ m: MeteorMatch) {
            let weight = MeteorAligner.rankingWeights[m.module]
            matches1 = Int(Double(matches1) + Double(m.matchLength) * weight)
            matches2 = Int(Double(matches2) + Double(m.length) * weight)
            if lastMatchEnd != -1 && m.matchStart != lastMatchEnd { chunks += 1 }
            idx = m.start + m.length
            lastMatchEnd = m.matchStart + m.matchLength
        }
    }

    /// The jar's order of partial alignments: more weighted matches, then fewer chunks, then less
    /// distance; a stable sort, so earlier-added alignments win exact ties.
    private static func sortStable(_ paths: inout [PartialAlignment]) {
        let order = paths.indices.sorted { a, b in
            let x = paths[a], y = paths[b]
            let mx = x.matches1 + x.matches2, my = y.matches1 + y.matches2
            if mx != my { return mx > my }
            if x.chunks != y.chunks { return x.chunks < y.chunks }
            if x.distance != y.distance { return x.distance < y.distance }
            return a < b
        }
        paths = order.map { paths[$0] }
    }

    private static func resolve(candidates: [[MeteorMatch]], start: PartialAlignment) -> PartialAlignment {
        var paths: [PartialAlignment] = []
        var nextPaths = [start]
        let n2 = candidates.count
        for current in 0...n2 {
            paths = nextPaths
            nextPaths = []
            sortStable(&paths)
            for rank in 0..<min(beamSize, paths.count) {
                var path = paths[rank]
                if current == n2 {
                    if path.lastMatchEnd != -1 { path.chunks += 1 }
                    nextPaths.append(path)
                    continue
                }
                if path.used2[current] {
                    if current < path.idx {
                        nextPaths.append(path)
                    } else if let m = path.matches[path.idx] {
                        path.take(m)
                        path.distance += abs(m.start - m.matchStart)
                        nextPaths.append(path)
                    }
                    continue
                }
                for m in candidates[current] where !path.isUsed(m) {
                    var extended = path
                    extended.setUsed(m)
                    extended.matches[current] = m
                    extended.take(m)
                    // The jar adds this distance to the alignment that skips the match, not to the
                    // one that takes it (`path.distance`, not `newPath.distance`); kept for parity.
                    path.distance += abs(m.start - m.matchStart)
                    nextPaths.append(extended)
                }
                if path.lastMatchEnd != -1 {
                    path.chunks += 1
                    path.lastMatchEnd = -1
                }
                path.idx += 1
                nextPaths.append(path)
            }
            if nextPaths.isEmpty { nextPaths.append(paths[0]) }
        }
        sortStable(&nextPaths)
        return nextPaths[0]
    }
}
