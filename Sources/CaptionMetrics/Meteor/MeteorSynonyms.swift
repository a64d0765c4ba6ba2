import Foundation

/// The WordNet synonym data inside meteor-1.5.jar (`synonym/english.synsets` and
/// `english.exceptions`): which synsets a word belongs to, directly, through an irregular form's
/// base words, or through WordNet's regular morphology.
struct MeteorSynonyms: Sendable {
    /// word -> its synset ids (sorted, deduplicated).
    private let synsets: [String: [Int32]]
    /// irregular form -> base words, in file order.
    private let bases: [String: [String]]

    /// Parses the two files: each a sequence of line pairs (word, then its synset ids; base word,
    /// then its irregular forms). Throws a description of the first malformed line.
    init(synsetsFile: Data, exceptionsFile: Data) throws(MeteorDataProblem) {
        var synsets: [String: [Int32]] = [:]
        synsets.reserveCapacity(150_000)
        let synLines = byteLines(synsetsFile)
        guard synLines.count >= 2 else { throw .malformed("synonym/english.synsets", "it is empty") }
        var k = 0
        while k < synLines.count {
            guard k + 1 < synLines.count else {
                throw .malformed("synonym/english.synsets", "line \(k + 1) (\(text(synLines[k]))) has no synset line after it")
            }
            var ids: [Int32] = []
            for token in byteTokens(synLines[k + 1]) {
                guard let id = Int32(String(decoding: token, as: UTF8.self)) else {
                    throw .malformed("synonym/english.synsets", "line \(k + 2) has \"\(text(token))\", not a synset number")
                }
                ids.append(id)
            }
            ids.sort()
            synsets[text(synLines[k])] = ids
            k += 2
        }
        var bases: [String: [String]] = [:]
        let excLines = byteLines(exceptionsFile)
        guard excLines.count >= 2 else { throw .malformed("synonym/english.exceptions", "it is empty") }
        k = 0
        while k < excLines.count {
            guard k + 1 < excLines.count else {
                throw .malformed("synonym/english.exceptions", "line \(k + 1) (\(text(excLines[k]))) has no line of forms after it")
            }
            let base = text(excLines[k])
            for form in byteTokens(excLines[k + 1]) { bases[text(form), default: []].append(base) }
            k += 2
        }
        self.synsets = synsets
        self.bases = bases
    }

    /// The synsets of the word itself and of its base forms (irregular, else regular morphology).
    func synsetIDs(_ word: String) -> Set<Int32> {
        var set = Set(synsets[word] ?? [])
        if let forms = bases[word] {
            for base in forms { set.formUnion(synsets[base] ?? []) }
        } else {
            set.formUnion(synsets[morphologicalBase(word)] ?? [])
        }
        return set
    }

    private static let suffixes: [(String, String)] = [
        ("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"), ("men", "man"), ("ies", "y"),
        ("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"), ("ing", ""),
        ("er", ""), ("est", ""), ("er", "e"), ("est", "e"),
    ]

    /// WordNet 3's regular morphology as the jar applies it: the word itself when it ends in "ss"
    /// or has at most two letters; else the first suffix rewrite that gives a word with synsets
    /// (the jar's "ful" handling keeps that suffix on the result); else "".
    private func morphologicalBase(_ word: String) -> String {
        let end = word.hasSuffix("ful") ? "ful" : ""
        if word.hasSuffix("ss") || word.utf16.count <= 2 { return word }
        for (suffix, ending) in Self.suffixes where word.hasSuffix(suffix) {
            let candidate = String(word.utf16.dropLast(suffix.utf16.count))! + ending
            if synsets[candidate] != nil { return candidate + end }
        }
        return ""
    }
}

private func text(_ bytes: Data.SubSequence) -> String { String(decoding: bytes, as: UTF8.self) }

/// The lines of a file's bytes as `BufferedReader.readLine` splits them (at \n, \r or \r\n).
func byteLines(_ data: Data) -> [Data.SubSequence] {
    var lines: [Data.SubSequence] = []
    var start = data.startIndex
    var k = data.startIndex
    while k < data.endIndex {
        let byte = data[k]
        if byte == 10 || byte == 13 {
            lines.append(data[start..<k])
            if byte == 13 && k + 1 < data.endIndex && data[k + 1] == 10 { k += 1 }
            start = k + 1
        }
        k += 1
    }
    if start < data.endIndex { lines.append(data[start..<data.endIndex]) }
    return lines
}

/// `StringTokenizer`'s tokens of a line's bytes.
func byteTokens(_ line: Data.SubSequence) -> [Data.SubSequence] {
    line.split(whereSeparator: { $0 == 32 || $0 == 9 || $0 == 10 || $0 == 13 || $0 == 12 })
}

/// Lines as `BufferedReader.readLine` returns them (split at \n, \r or \r\n; no final empty line).
func javaLines(_ text: String) -> [String] {
    var lines: [String] = []
    var current = String.UnicodeScalarView()
    var scalars = text.unicodeScalars.makeIterator()
    var pendingCR = false
    while let c = scalars.next() {
        if pendingCR {
            pendingCR = false
            if c == "\n" { continue }
        }
        if c == "\n" || c == "\r" {
            lines.append(String(current))
            current = String.UnicodeScalarView()
            pendingCR = c == "\r"
        } else {
            current.append(c)
        }
    }
    if !current.isEmpty { lines.append(String(current)) }
    return lines
}
