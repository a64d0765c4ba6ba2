
/// The longest-match lexer for what `PTBTokenizer.plainTokens` does not handle: the rules of
/// CoreNLP 3.4.1's `PTBTokenizer` that occur in captions.
struct PTBScanner {
    let s: [Unicode.Scalar]
    var tokens: [String] = []

    /// The start of the next non-blank line, for the sentence-start lookahead (empty at end of input).
    let following: String?

    init(_ caption: String, following next: String?) {
        s = Array(caption.unicodeScalars)
        following = next
        tokens.reserveCapacity(s.count / 4 + 1)
    }

    @inline(__always) func at(_ i: Int) -> Unicode.Scalar? { i < s.count ? s[i] : nil }

    @inline(__always) func letterAt(_ i: Int) -> Bool { i < s.count && s[i].isWordLetter }
    @inline(__always) func alnumAt(_ i: Int) -> Bool { i < s.count && s[i].isAlnum }
    @inline(__always) func digitAt(_ i: Int) -> Bool { i < s.count && s[i].isWordDigit }
    @inline(__always) func apostropheAt(_ i: Int) -> Bool { i < s.count && s[i].isApostrophe }

    /// Lowercases like Java's `String.toLowerCase`, with an ASCII fast path.
    func text(_ from: Int, _ to: Int) -> String {
        var ascii = true
        for k in from..<to where s[k].value >= 0x80 {
            ascii = false
            break
        }
        if ascii {
            return String(unsafeUninitializedCapacity: to - from) { buffer in
                for k in from..<to {
                    var b = UInt8(truncatingIfNeeded: s[k].value)
                    if b >= 0x41 && b <= 0x5A { b |= 0x20 }
                    buffer[k - from] = b
                }
                return to - from
            }
        }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: s[from..<to])
        return String(view).lowercased()
    }

    mutating func emit(_ token: String) {
        tokens.append(token)
    }

    mutating func run() -> [String] {
        var i = 0
        while i < s.count {
            let c = s[i]
            if c.isSpace || c.isUntokenizable {
                i += 1
                continue
            }
            i = scanToken(at: i)
        }
        return tokens
    }

    // MARK: Pattern lengths (0 = no match)

    func alnumRun(_ i: Int) -> Int {
        var j = i
        while alnumAt(j) { j += 1 }
        return j - i
    }

    func letterRun(_ i: Int) -> Int {
        var j = i
        while letterAt(j) { j += 1 }
        return j - i
    }

    /// THING: `([dDoOlL]')?alnum+ ([-_/]([dDoOlL]')?alnum+)*`.
    func thingLength(_ i: Int) -> Int {
        func part(_ k: Int) -> Int {
            if let c = at(k), "dDoOlL".unicodeScalars.contains(c), apostropheAt(k + 1), alnumAt(k + 2) {
                return 2 + alnumRun(k + 2)
            }
            return alnumRun(k)
        }
        var j = i
        let first = part(j)
        if first == 0 { return 0 }
        j += first
        while let c = at(j), c == "-" || c == "_" || c == "/" {
            let next = part(j + 1)
            if next == 0 { break }
            j += 1 + next
        }
        return j - i
    }

    /// FRAC: `digit{1,4}[ -\u00A0]digit{1,4}/digit{1,4}`.
    func fractionLength(_ i: Int) -> Int? {
        func digits(_ k: Int) -> Int {
            var j = k
            while j < s.count, s[j].isASCIIDigit { j += 1 }
            return j - k
        }
        let a = digits(i)
        guard a >= 1, a <= 4, let sep = at(i + a), sep == " " || sep == "\u{A0}" || sep == "-" else { return nil }
        let b = digits(i + a + 1)
        guard b >= 1, b <= 4, at(i + a + 1 + b) == "/" else { return nil }
        let c = digits(i + a + 2 + b)
        guard c >= 1, c <= 4, !alnumAt(i + a + 2 + b + c) else { return nil }
        return a + b + c + 2
    }

    /// THINGA: `[A-Z]+([+&][A-Z]+)+` (case sensitive: `AT&T`, `R+D`, not `at&t`).
    func upperJoinedLength(_ i: Int) -> Int {
        func upperRun(_ k: Int) -> Int {
            var j = k
            while let c = at(j), c.isASCIIUpper { j += 1 }
            return j - k
        }
        var j = i
        let first = upperRun(j)
        if first == 0 { return 0 }
        j += first
        var parts = 0
        while let c = at(j), c == "+" || c == "&" {
            let next = upperRun(j + 1)
            if next == 0 { break }
            j += 1 + next
            parts += 1
        }
        return parts > 0 ? j - i : 0
    }

    /// WORD: `letter alnum* ([.!?] letter alnum*)*` (`kites.are`, `t.v`, `a!b`).
    func dottedWordLength(_ i: Int) -> Int {
        guard letterAt(i) else { return 0 }
        var j = i + alnumRun(i)
        while let c = at(j), c == "." || c == "!" || c == "?", letterAt(j + 1) {
            j += 1 + alnumRun(j + 1)
        }
        return j - i
    }

    /// NUMBER: `[-+]?(digit+ | digit*([.:,]digit+)+)`.
    func numberLength(_ i: Int) -> Int {
        var j = i
        if let c = at(j), c == "-" || c == "+" { j += 1 }
        let start = j
        while digitAt(j) { j += 1 }
        while let c = at(j), c == "." || c == ":" || c == ",", digitAt(j + 1) {
            j += 1
            while digitAt(j) { j += 1 }
        }
        return j == start ? 0 : j - i
    }

    /// An acronym or known abbreviation with its period: `u.s.`, `a.`, `st.`, `penn.`, `no.` before a number.
    func abbreviationLength(_ i: Int) -> Int {
        guard let c0 = at(i), c0.isASCIILetter else { return 0 }
        // ACRO: [A-Za-z](\.[A-Za-z])+ then '.', and a single letter then '.' ("a.", "u.s.", "t.v.").
        var j = i + 1
        while at(j) == ".", let c = at(j + 1), c.isASCIILetter { j += 2 }
        if at(j) == "." { return j - i + 1 }
        // Listed abbreviations: letters (and an internal period for Ph.D, Ed.D) then '.'.
        var k = i
        while let c = at(k), c.isASCIILetter { k += 1 }
        if at(k) == ".", let c = at(k + 1), c.isASCIILetter, (c == "d" || c == "D"), at(k + 2) == "." {
            let word = text(i, k + 2)
            if word == "ph.d" || word == "ed.d" { return k + 3 - i }
        }
        guard at(k) == ".", k - i >= 2 else { return 0 }
        let word = text(i, k)
        if Abbreviations.always.contains(word) { return k + 1 - i }
        if Abbreviations.capitalized.contains(word), c0.isASCIIUpper { return k + 1 - i }
        if Abbreviations.notAllCaps.contains(word) {
            var allCaps = true
            for m in i..<k where !s[m].isASCIIUpper { allCaps = false }
            if !allCaps { return k + 1 - i }
        }
        if Abbreviations.beforeNumber.contains(word) {
            var m = k + 1
            if let c = at(m), c == " " || c == "\t" || c == "\u{A0}" { m += 1 }
            if digitAt(m) { return k + 1 - i }
        }
        return 0
    }

    // MARK: Token scanner

    /// Scans one token (or one skipped punctuation run) starting at a non-space, returns the next index.
    mutating func scanToken(at i: Int) -> Int {
        let c = s[i]

        if c.isAlnum || ((c == "-" || c == "+" || c == "." || c == "," || c == ":") && digitAt(i + 1)) {
            return scanWord(at: i)
        }
        if c.isApostrophe {
            return scanApostrophe(at: i)
        }
        return scanSymbol(at: i)
    }

    /// The longest token found so far at one position: its length in the text, the length of the
    /// token emitted (shorter when the match is a lookahead), and the token's text when it differs.
    struct LongestMatch {
        var best = 0
        var bestToken = 0
        var bestText: String? = nil

        mutating func consider(_ length: Int, token: Int? = nil, text: String? = nil) {
            if length > best {
                best = length
                bestToken = token ?? length
                bestText = text
            }
        }
    }

    mutating func scanWord(at i: Int) -> Int {
        // Contraction splits are decided first: they win whenever the word plus the clitic is longest.
        let letters = letterRun(i)
        let alnum = alnumRun(i)
        var match = LongestMatch()

        // FRAC: "25 1/2" is one token whose space becomes a no-break space, as in CoreNLP.
        if let fraction = fractionLength(i) {
            var view = String.UnicodeScalarView()
            for k in i..<(i + fraction) { view.append(s[k] == " " ? "\u{A0}" : s[k]) }
            emit(String(view))
            return i + fraction
        }

        match.consider(thingLength(i))
        match.consider(dottedWordLength(i))
        match.consider(numberLength(i))
        match.consider(upperJoinedLength(i))
        let abbreviation = abbreviationLength(i)
        match.consider(abbreviation)
        if abbreviation == 2, match.best == 2, startsSentence(after: i + 2) {
            // "S. The": the lexer reads the period as a sentence end and returns the letter alone.
            match.best = 1
            match.bestToken = 1
        }

        // n't after a split ("do" + "n't").
        if alnum == 1, let n = at(i), n == "n" || n == "N", apostropheAt(i + 1), let t = at(i + 2), t == "t" || t == "T",
            !letterAt(i + 3)
        {
            emit("n't")
            return i + 3
        }

        if alnum > 0 && apostropheAt(i + alnum) {
            considerApostropheForms(at: i, letters: letters, alnum: alnum, into: &match)
        }

        // Assimilations split like PTB: cannot, gonna, gotta, lemme, wanna, gimme.
        if letters == alnum, letters >= 5, letters <= 6, match.best == letters {
            let lower = text(i, i + letters)
            if let cut = Abbreviations.assimilations[lower] {
                emit(String(lower.prefix(cut)))
                emit(String(lower.dropFirst(cut)))
                return i + letters
            }
        }

        // US$ and friends.
        if match.best == letters, letters <= 3, at(i + letters) == "$" {
            var upper = true
            for k in i..<(i + letters) where !s[k].isASCIIUpper { upper = false }
            if upper { match = LongestMatch(best: letters + 1, bestToken: letters + 1, bestText: nil) }
        }

        // {WORD}\./{INSENTP}: a period followed by , ; : stays on the word.
        if match.bestToken == match.best, at(i + match.best) == ".", let p = at(i + match.best + 1), p == "," || p == ";" || p == ":" {
            match.best += 1
            match.bestToken = match.best
        }

        // E-mail addresses and URLs.
        if let url = urlOrEmailLength(i), url > match.bestToken {
            match.bestToken = url
            match.bestText = nil
        }

        emit(match.bestText ?? text(i, i + match.bestToken))
        return i + match.bestToken
    }

    /// The forms of a word `alnum` letters or digits long (`letters` of them letters) followed by an
    /// apostrophe at `i + alnum`: clitics, n't, apostrophe words.
    func considerApostropheForms(at i: Int, letters: Int, alnum: Int, into match: inout LongestMatch) {
        let a = i + alnum
        // {WORD}/{REDAUX}: word followed by 's 'm 'd 're 've 'll.
        if let r = reducedAuxiliaryLength(at: a) { match.consider(alnum + r, token: alnum) }
        // {SWORD}/{SREDAUX}: word ending in n followed by 't ("do" + "n't").
        if alnum >= 2, let n = at(a - 1), n == "n" || n == "N", let t = at(a + 1), t == "t" || t == "T",
            letters >= alnum
        {
            match.consider(alnum + 2, token: alnum - 1)
        }
        // APOWORD: vowel ' vowel-or-capital letters ("ma'am", "graffiti'ed", "ho'ohu").
        if letters == alnum, letters >= 2, let v = at(a - 1), "aeiouyAEIOUY".unicodeScalars.contains(v),
            let w = at(a + 1), "aeiou".unicodeScalars.contains(w) || w.isASCIIUpper
        {
            match.consider(alnum + 1 + letterRun(a + 1))
        }
        // Fixed apostrophe words.
        let lower = text(i, a)
        if ["dunkin", "somethin", "ol"].contains(lower) { match.consider(alnum + 1) }
        if letters == alnum, letterAt(a + 1) {
            let rest = letterRun(a + 1)
            let whole = lower + "'" + text(a + 1, a + 1 + rest)
            if Abbreviations.apostropheWords.contains(whole) { match.consider(alnum + 1 + rest) }
            // j'adore, y'all: the letter and apostrophe form a token.
            if alnum == 1, lower == "j" || lower == "y" { match.consider(2, text: lower + "'") }
        }
    }

    /// Whether whitespace then a capitalised sentence-start word follows `j`, looking into the next line.
    func startsSentence(after j: Int) -> Bool {
        var k = j
        while let c = at(k), c.isSpace { k += 1 }
        let rest: ArraySlice<Unicode.Scalar>
        if k < s.count {
            guard k > j else { return false }
            rest = s[k...]
        } else {
            // The line break counts as whitespace; the lexer reads on into the next non-blank line.
            guard let following else { return false }
            let scalars = Array(following.unicodeScalars)
            var f = 0
            while f < scalars.count, scalars[f].isSpace { f += 1 }
            rest = scalars[f...]
        }
        for word in Abbreviations.sentenceStarts {
            let w = word.unicodeScalars
            guard rest.starts(with: w) else { continue }
            let afterIndex = rest.startIndex + w.count
            guard afterIndex < rest.endIndex else { return true }  // line break or end of input
            let after = rest[afterIndex]
            if after.isSpace || after == "?" || after == "!" { return true }
        }
        return false
    }

    /// Length of 's 'm 'd 're 've 'll starting at an apostrophe (case-insensitive), nil if none.
    func reducedAuxiliaryLength(at a: Int) -> Int? {
        guard let x = at(a + 1) else { return nil }
        let lx = Unicode.Scalar(x.value | 0x20)!
        if x.isASCIILetter, lx == "s" || lx == "m" || lx == "d" { return 2 }
        if let y = at(a + 2), x.isASCIILetter, y.isASCIILetter {
            let ly = Unicode.Scalar(y.value | 0x20)!
            if (lx == "r" && ly == "e") || (lx == "v" && ly == "e") || (lx == "l" && ly == "l") { return 3 }
        }
        return nil
    }

    func urlOrEmailLength(_ i: Int) -> Int? {
        var j = i
        var hasAt = false
        while let c = at(j), !c.isSpace, !c.isUntokenizable {
            if c == "@" { hasAt = true }
            j += 1
        }
        guard j - i >= 5, hasAt || ((s[i] == "h" || s[i] == "H") && at(i + 4) == ":" || at(i + 5) == ":") else {
            return nil
        }
        let word = text(i, j)
        let isURL = word.hasPrefix("http://") || word.hasPrefix("https://")
        var isEmail = false
        if !isURL, let atSign = word.firstIndex(of: "@") {
            let user = word[..<atSign]
            let host = word[word.index(after: atSign)...]
            isEmail = !user.isEmpty && host.contains(".") && host.first?.isLetter == true
        }
        guard isURL || isEmail else { return nil }
        // Trailing sentence punctuation is not part of the address.
        while j > i, let c = at(j - 1), ".,;:!?)]}'\"".unicodeScalars.contains(c) { j -= 1 }
        return j - i
    }

    mutating func scanApostrophe(at i: Int) -> Int {
        // 's 're n't etc. as a token when not followed by a letter.
        if let r = reducedAuxiliaryLength(at: i), !letterAt(i + r) {
            emit("'" + text(i + 1, i + r))
            return i + r
        }
        // '90s 'til 'em 'cause 'n'
        if digitAt(i + 1), let d = at(i + 1), d.value >= 0x32, at(i + 2) == "0", let x = at(i + 3), x == "s" || x == "S",
            !alnumAt(i + 4)
        {
            emit("'" + text(i + 1, i + 4))
            return i + 4
        }
        if letterAt(i + 1) {
            let run = letterRun(i + 1)
            let lower = text(i + 1, i + 1 + run)
            if ["til", "till", "em", "cause"].contains(lower) {
                emit("'" + lower)
                return i + 1 + run
            }
            if lower == "n", apostropheAt(i + 2) {
                emit("'n'")
                return i + 3
            }
            if lower == "n" {
                emit("'n")
                return i + 2
            }
            if lower == "twas" {  // 'twas -> 't was
                emit("'t")
                return i + 2
            }
        }
        // A quote: removed. Runs like '' are one quote token, also removed.
        var j = i + 1
        while apostropheAt(j) { j += 1 }
        return j
    }

    mutating func scanSymbol(at i: Int) -> Int {
        let c = s[i]
        switch c {
        case ".":
            var j = i
            while at(j) == "." { j += 1 }
            return j
        case "?", "!":
            var j = i
            while let d = at(j), d == "?" || d == "!" { j += 1 }
            if j - i >= 2 { emit(text(i, j)) }
            return j
        case ",", ";", ":", "\"", "`", "\u{201C}", "\u{201D}", "\u{2018}", "\u{AB}", "\u{BB}", "\u{2026}",
            "\u{2013}", "\u{2014}", "\u{2015}":
            return i + 1
        case "-":
            var j = i
            while at(j) == "-" { j += 1 }
            return j
        case "(": emit("-lrb-"); return i + 1
        case ")": emit("-rrb-"); return i + 1
        case "[": emit("-lsb-"); return i + 1
        case "]": emit("-rsb-"); return i + 1
        case "{": emit("-lcb-"); return i + 1
        case "}": emit("-rcb-"); return i + 1
        case "\u{20AC}": emit("$"); return i + 1
        case "\u{A3}": emit("#"); return i + 1
        case "\u{BD}": emit("1/2"); return i + 1
        case "\u{BC}": emit("1/4"); return i + 1
        case "\u{BE}": emit("3/4"); return i + 1
        case "<":
            // An SGML tag such as <b> or </b> is one token.
            var j = i + 1
            if at(j) == "/" { j += 1 }
            if letterAt(j) {
                while let d = at(j), d.isAlnum { j += 1 }
                if at(j) == ">" {
                    emit(text(i, j + 1))
                    return j + 1
                }
            }
            emit("<")
            return i + 1
        case "&":
            for (entity, replacement) in Abbreviations.entities {
                if matches(entity, at: i) {
                    if let replacement { emit(replacement) }
                    return i + entity.unicodeScalars.count
                }
            }
            emit("&")
            return i + 1
        default:
            emit(text(i, i + 1))
            return i + 1
        }
    }

    func matches(_ literal: String, at i: Int) -> Bool {
        var j = i
        for u in literal.unicodeScalars {
            guard let c = at(j), c == u || (c.isASCIILetter && Unicode.Scalar(c.value | 0x20) == u) else { return false }
            j += 1
        }
        return true
    }
}
