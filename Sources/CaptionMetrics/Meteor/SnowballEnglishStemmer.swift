/// The Snowball English ("Porter2") stemmer, as published at snowballstem.org, in the revision
/// meteor-1.5.jar ships (the `gener`/`commun`/`arsen` region exceptions, the two exception lists,
/// the apostrophe suffixes; without the later `past`/`univers`/`later`/`emerg`/`organ` prefixes).
///
/// It works on UTF-16 code units like the Java stemmer the jar runs: letters outside a-z are
/// neither vowels nor anything else the rules name, so a word such as `café` is stemmed as if `é`
/// were a consonant. The input is expected in lower case (METEOR lower-cases before stemming).
public enum SnowballEnglishStemmer {
    public static func stem(_ word: String) -> String {
        var w = Array(word.utf16)
        stem(&w)
        return String(decoding: w, as: UTF16.self)
    }

    // Code units of the letters the rules name.
    private static let a: UInt16 = 97, e: UInt16 = 101, i: UInt16 = 105, o: UInt16 = 111, u: UInt16 = 117
    private static let y: UInt16 = 121, bigY: UInt16 = 89, s: UInt16 = 115, t: UInt16 = 116, l: UInt16 = 108
    private static let w: UInt16 = 119, x: UInt16 = 120, apostrophe: UInt16 = 39

    private static func isVowel(_ c: UInt16) -> Bool { c == a || c == e || c == i || c == o || c == u || c == y }
    /// Not a vowel, and not `w`, `x` or `Y` (the last letter of a short syllable).
    private static func isNonVowelWXY(_ c: UInt16) -> Bool { !isVowel(c) && c != w && c != x && c != bigY }
    private static func isValidLi(_ c: UInt16) -> Bool {
        switch c {
        case 99, 100, 101, 103, 104, 107, 109, 110, 114, 116: return true  // c d e g h k m n r t
        default: return false
        }
    }

    private static func units(_ text: String) -> [UInt16] { Array(text.utf16) }

    private static let exceptions1: [[UInt16]: [UInt16]] = {
        var table: [[UInt16]: [UInt16]] = [:]
        for (word, stem) in [
            ("skis", "ski"), ("skies", "sky"), ("dying", "die"), ("lying", "lie"), ("tying", "tie"),
            ("idly", "idl"), ("gently", "gentl"), ("ugly", "ugli"), ("early", "earli"), ("only", "onli"),
            ("singly", "singl"), ("sky", "sky"), ("news", "news"), ("howe", "howe"), ("atlas", "atlas"),
            ("cosmos", "cosmos"), ("bias", "bias"), ("andes", "andes"),
        ] { table[units(word)] = units(stem) }
        return table
    }()
    private static let exceptions2: Set<[UInt16]> = Set(
        ["inning", "outing", "canning", "herring", "earring", "proceed", "exceed", "succeed"].map(units))
    private static let regionPrefixes: [[UInt16]] = ["gener", "commun", "arsen"].map(units)

    /// A suffix list and each suffix's action; the longest suffix that ends the word is the one taken.
    private struct SuffixTable {
        let entries: [([UInt16], Int)]
        init(_ pairs: [(String, Int)]) {
            entries = pairs.map { (Array($0.0.utf16), $0.1) }.sorted { $0.0.count > $1.0.count }
        }
        /// The longest suffix of `word[..<end]` in the table, with its action.
        func longest(in word: [UInt16], end: Int) -> (length: Int, action: Int)? {
            for (suffix, action) in entries where suffix.count <= end {
                if word[(end - suffix.count)..<end].elementsEqual(suffix) { return (suffix.count, action) }
            }
            return nil
        }
    }

    private static let step1aApostrophe = SuffixTable([("'", 1), ("'s'", 1), ("'s", 1)])
    private static let step1a = SuffixTable([("sses", 1), ("ied", 2), ("ies", 2), ("s", 3), ("us", 0), ("ss", 0)])
    private static let step1b = SuffixTable([("eed", 1), ("eedly", 1), ("ed", 2), ("edly", 2), ("ing", 2), ("ingly", 2)])
    private static let step1bEnding = SuffixTable([
        ("at", 1), ("bl", 1), ("iz", 1), ("bb", 2), ("dd", 2), ("ff", 2), ("gg", 2), ("mm", 2), ("nn", 2), ("pp", 2),
        ("rr", 2), ("tt", 2),
    ])
    private static let step2 = SuffixTable([
        ("tional", 1), ("enci", 2), ("anci", 3), ("abli", 4), ("entli", 5), ("izer", 6), ("ization", 6),
        ("ational", 7), ("ation", 7), ("ator", 7), ("alism", 8), ("aliti", 8), ("alli", 8), ("fulness", 9),
        ("ousli", 10), ("ousness", 10), ("iveness", 11), ("iviti", 11), ("biliti", 12), ("bli", 12), ("ogi", 13),
        ("fulli", 14), ("lessli", 15), ("li", 16),
    ])
    private static let step2Replacements: [Int: [UInt16]] = [
        1: units("tion"), 2: units("ence"), 3: units("ance"), 4: units("able"), 5: units("ent"), 6: units("ize"),
        7: units("ate"), 8: units("al"), 9: units("ful"), 10: units("ous"), 11: units("ive"), 12: units("ble"),
        13: units("og"), 14: units("ful"), 15: units("less"),
    ]
    private static let step3 = SuffixTable([
        ("tional", 1), ("ational", 2), ("alize", 3), ("icate", 4), ("iciti", 4), ("ical", 4), ("ful", 5), ("ness", 5),
        ("ative", 6),
    ])
    private static let step3Replacements: [Int: [UInt16]] = [1: units("tion"), 2: units("ate"), 3: units("al"), 4: units("ic")]
    private static let step4 = SuffixTable([
        ("al", 1), ("ance", 1), ("ence", 1), ("er", 1), ("ic", 1), ("able", 1), ("ible", 1), ("ant", 1), ("ement", 1),
        ("ment", 1), ("ent", 1), ("ism", 1), ("ate", 1), ("iti", 1), ("ous", 1), ("ive", 1), ("ize", 1), ("ion", 2),
    ])

    /// True when `word[..<end]` ends in a short syllable: non-vowel (not w, x, Y), vowel, non-vowel;
    /// or, as the whole word, vowel then non-vowel.
    private static func endsInShortSyllable(_ word: [UInt16], end: Int) -> Bool {
        if end >= 3, isNonVowelWXY(word[end - 1]), isVowel(word[end - 2]), !isVowel(word[end - 3]) { return true }
        return end == 2 && !isVowel(word[1]) && isVowel(word[0])
    }

    /// Any vowel in `word[..<end]`.
    private static func hasVowel(_ word: [UInt16], before end: Int) -> Bool {
        var k = 0
        while k < end {
            if isVowel(word[k]) { return true }
            k += 1
        }
        return false
    }

    static func stem(_ word: inout [UInt16]) {
        if let exception = exceptions1[word] {
            word = exception
            return
        }
        if word.count < 3 { return }
        // Prelude: an initial apostrophe goes; y at the start or after a vowel is a consonant (Y).
        if word.first == apostrophe { word.removeFirst() }
        var foundY = false
        if word.first == y {
            word[0] = bigY
            foundY = true
        }
        if word.count >= 2 {
            for k in 0..<(word.count - 1) where isVowel(word[k]) && word[k + 1] == y {
                word[k + 1] = bigY
                foundY = true
            }
        }
        let (p1, p2) = regions(word)
        stepsBackwards(&word, p1: p1, p2: p2)
        if foundY {
            for k in word.indices where word[k] == bigY { word[k] = y }
        }
    }

    /// R1 and R2 start positions.
    private static func regions(_ word: [UInt16]) -> (Int, Int) {
        let n = word.count
        /// The position after the first non-vowel that follows a vowel, from `start`; n when none.
        func pastVowelThenNonVowel(from start: Int) -> Int? {
            var k = start
            while k < n && !isVowel(word[k]) { k += 1 }
            if k == n { return nil }
            while k < n && isVowel(word[k]) { k += 1 }
            if k == n { return nil }
            return k + 1
        }
        var p1 = n, p2 = n
        var r1: Int? = nil
        for prefix in regionPrefixes where word.count >= prefix.count && word[0..<prefix.count].elementsEqual(prefix) {
            r1 = prefix.count
            break
        }
        if r1 == nil { r1 = pastVowelThenNonVowel(from: 0) }
        if let r1 {
            p1 = r1
            if let r2 = pastVowelThenNonVowel(from: r1) { p2 = r2 }
        }
        return (p1, p2)
    }

    private static func replaceSuffix(_ word: inout [UInt16], length: Int, with replacement: [UInt16]) {
        word.removeLast(length)
        word.append(contentsOf: replacement)
    }

    private static func stepsBackwards(_ word: inout [UInt16], p1: Int, p2: Int) {
        // Step 1a.
        if let (length, _) = step1aApostrophe.longest(in: word, end: word.count) { word.removeLast(length) }
        if let (length, action) = step1a.longest(in: word, end: word.count) {
            let start = word.count - length
            switch action {
            case 1: replaceSuffix(&word, length: length, with: [s, s])
            case 2: replaceSuffix(&word, length: length, with: start >= 2 ? [i] : [i, e])
            case 3: if start >= 1 && hasVowel(word, before: start - 1) { word.removeLast() }
            default: break
            }
        }
        if exceptions2.contains(word) { return }
        // Step 1b.
        if let (length, action) = step1b.longest(in: word, end: word.count) {
            let start = word.count - length
            if action == 1 {
                if start >= p1 { replaceSuffix(&word, length: length, with: [e, e]) }
            } else if hasVowel(word, before: start) {
                word.removeLast(length)
                if let (_, ending) = step1bEnding.longest(in: word, end: word.count) {
                    if ending == 1 { word.append(e) } else { word.removeLast() }
                } else if p1 == word.count && endsInShortSyllable(word, end: word.count) {
                    word.append(e)
                }
            }
        }
        // Step 1c.
        if let last = word.last, last == y || last == bigY, word.count > 2, !isVowel(word[word.count - 2]) {
            word[word.count - 1] = i
        }
        // Step 2.
        if let (length, action) = step2.longest(in: word, end: word.count), word.count - length >= p1 {
            let start = word.count - length
            switch action {
            case 13: if start >= 1 && word[start - 1] == l { replaceSuffix(&word, length: length, with: step2Replacements[13]!) }
            case 16: if start >= 1 && isValidLi(word[start - 1]) { word.removeLast(length) }
            default: replaceSuffix(&word, length: length, with: step2Replacements[action]!)
            }
        }
        // Step 3.
        if let (length, action) = step3.longest(in: word, end: word.count), word.count - length >= p1 {
            switch action {
            case 5: word.removeLast(length)
            case 6: if word.count - length >= p2 { word.removeLast(length) }
            default: replaceSuffix(&word, length: length, with: step3Replacements[action]!)
            }
        }
        // Step 4.
        if let (length, action) = step4.longest(in: word, end: word.count), word.count - length >= p2 {
            let start = word.count - length
            if action == 1 {
                word.removeLast(length)
            } else if start >= 1 && (word[start - 1] == s || word[start - 1] == t) {
                word.removeLast(length)
            }
        }
        // Step 5.
        if let last = word.last {
            let start = word.count - 1
            if last == e {
                if start >= p2 || (start >= p1 && !endsInShortSyllable(word, end: start)) { word.removeLast() }
            } else if last == l {
                if start >= p2 && start >= 1 && word[start - 1] == l { word.removeLast() }
            }
        }
    }
}
