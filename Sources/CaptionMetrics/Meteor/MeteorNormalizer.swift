import Foundation

/// METEOR's `-norm` text normalisation for English with punctuation kept, then lower case: the
/// words the jar aligns.
///
/// The rules are the jar's (a Moses-style tokenizer with quote and dash normalisation and its
/// English non-breaking prefixes, `nonbreaking/english.prefixes` inside the jar), written here as
/// ICU regular expressions with Java's meanings spelled out: `\s` is ASCII white space and
/// "digit" is 0-9, as in `java.util.regex` without UNICODE_CHARACTER_CLASS.
///
/// A line made only of a-z, 0-9 and spaces (almost every PTB-tokenized caption) comes out of those
/// rules as its space-separated words, so that case skips the regular expressions.
struct MeteorNormalizer: Sendable {
    enum PrefixKind: Sendable { case any, numericOnly }
    let prefixes: [String: PrefixKind]

    /// Parses a prefix file: one prefix per line, `#` comments, `#NUMERIC_ONLY#` after the prefix.
    init(prefixFile text: String) {
        var prefixes: [String: PrefixKind] = [:]
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            let tokens = javaTokens(String(line))
            guard let first = tokens.first, !first.hasPrefix("#") else { continue }
            prefixes[first] = tokens.count > 1 && tokens[1] == "#NUMERIC_ONLY#" ? .numericOnly : .any
        }
        self.prefixes = prefixes
    }

    /// The normalised, lower-cased words of `line`.
    func words(_ line: String) -> [String] {
        if line.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 32 }) {
            return line.split(separator: " ").map(String.init)
        }
        return javaTokens(javaLowercased(normalize(line)))
    }

    // MARK: The rules

    private static let alpha = "A-Za-z\u{160}\u{17D}\u{161}\u{17E}\u{178}\u{C0}-\u{D6}\u{D8}-\u{F6}\u{F8}-\u{17E}"
        + "\u{400}-\u{4FF}\u{500}-\u{527}\u{A640}-\u{A66E}\u{A67E}-\u{A697}\u{1D00}-\u{1D7F}"
    private static let alnum = "0-9" + alpha
    private static let javaSpace = " \\t\\n\\x{0B}\\f\\r"

    private struct Rule: @unchecked Sendable {
        // NSRegularExpression is immutable and documented thread-safe; it is not marked Sendable on Linux.
        let pattern: NSRegularExpression
        let template: String
        init(_ pattern: String, _ template: String) {
            self.pattern = try! NSRegularExpression(pattern: pattern)
            self.template = template
        }
        func apply(_ text: String) -> String {
            pattern.stringByReplacingMatches(
                in: text, range: NSRange(location: 0, length: (text as NSString).length), withTemplate: template)
        }
    }

    private static let sepOther = Rule("([^" + alnum + javaSpace + "\\.'`,\\-\u{2018}\u{2019}])", " $1 ")
    private static let multiDot = Rule("\\.([\\.]+)", " DOTMULTI$1")
    private static let multiDot2 = Rule("DOTMULTI\\.([^\\.])", "DOTDOTMULTI $1")
    private static let commas = [
        Rule("([^0-9])[,]([^0-9])", "$1 , $2"), Rule("([0-9])[,]([^0-9])", "$1 , $2"), Rule("([^0-9])[,]([0-9])", "$1 , $2"),
    ]
    private static let quoteNorm = Rule("([`\u{2018}\u{2019}])", "'")
    private static let quoteNorm2 = Rule("([\u{201C}\u{201D}]|'')", " \" ")
    private static let removeDash = Rule("([" + alnum + "\\.])[\\-]([" + alnum + "])", "$1 $2")
    private static let contractions = [
        Rule("([^" + alpha + "])[']([^" + alpha + "])", "$1 ' $2"),
        Rule("([^" + alpha + "0-9])[']([" + alpha + "])", "$1 ' $2"),
        Rule("([" + alpha + "])[']([^" + alpha + "])", "$1 ' $2"),
        Rule("([" + alpha + "])[']([" + alpha + "])", "$1 '$2"),
        Rule("([0-9])[']([s])", "$1 '$2"),
    ]
    private static let white = Rule(
        "[ \u{2000}\u{2001}\u{2002}\u{2003}\u{2004}\u{2005}\u{2006}\u{2007}\u{2008}\u{2009}\u{200A}\u{202F}\u{205F}\u{3000}\u{A0}]+", " ")
    private static let alphaLetter = try! NSRegularExpression(pattern: "[" + alpha + "]")

    /// The jar's `Normalizer.normalizeLine(line, english, keepPunctuation: true)`.
    func normalize(_ line: String) -> String {
        var text = " " + line + " "
        text = Self.sepOther.apply(text)
        text = Self.multiDot.apply(text)
        while text.contains("DOTMULTI.") {
            text = Self.multiDot2.apply(text)
            text = text.replacingOccurrences(of: "DOTMULTI.", with: "DOTDOTMULTI")
        }
        for rule in Self.commas { text = rule.apply(text) }
        text = Self.quoteNorm.apply(text)
        text = Self.quoteNorm2.apply(text)
        text = text.replacingOccurrences(of: "\u{2013}", with: "-")
        text = text.replacingOccurrences(of: "--", with: "-")
        text = Self.removeDash.apply(text)
        for rule in Self.contractions { text = rule.apply(text) }

        let words = javaTokens(text)
        var out = ""
        for (k, word) in words.enumerated() {
            if word.utf16.count > 1 && word.hasSuffix(".") {
                let pre = String(word.utf16.dropLast())!
                let kind = prefixes[pre]
                let next = k + 1 < words.count ? words[k + 1] : nil
                if pre.contains("."), Self.alphaLetter.firstMatch(in: pre, range: NSRange(location: 0, length: (pre as NSString).length)) != nil {
                    out += word.replacingOccurrences(of: ".", with: "")
                } else if kind == .any || (next.map { startsWithLowercaseASCII($0) } ?? false) {
                    out += word
                } else if kind == .numericOnly, let next, startsWithDigit(next) {
                    out += word
                } else {
                    out += pre + " ."
                }
            } else {
                out += word
            }
            out += " "
        }
        text = out
        while text.contains("DOTDOTMULTI") { text = text.replacingOccurrences(of: "DOTDOTMULTI", with: "DOTMULTI.") }
        text = text.replacingOccurrences(of: "DOTMULTI", with: ".")
        return javaTrim(Self.white.apply(text))
    }
}

private func startsWithLowercaseASCII(_ word: String) -> Bool {
    guard let first = word.utf16.first else { return false }
    return first >= 97 && first <= 122
}

private func startsWithDigit(_ word: String) -> Bool {
    guard let first = word.utf16.first else { return false }
    return first >= 48 && first <= 57
}

/// `java.util.StringTokenizer` with its default delimiters (space, tab, newline, carriage return, form feed).
func javaTokens(_ text: String) -> [String] {
    text.unicodeScalars.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\u{0C}" })
        .map { String(String.UnicodeScalarView($0)) }
}

/// `String.trim()`: removes code points up to U+0020 at both ends.
func javaTrim(_ text: String) -> String {
    let scalars = text.unicodeScalars
    guard let start = scalars.firstIndex(where: { $0.value > 0x20 }) else { return "" }
    let end = scalars.lastIndex(where: { $0.value > 0x20 })!
    return String(scalars[start...end])
}

/// `String.toLowerCase()` (root locale rules): each code point's full lower-case mapping, with
/// capital sigma as final sigma at the end of a word, as Java does.
func javaLowercased(_ text: String) -> String {
    if text.utf8.allSatisfy({ $0 < 0x80 }) { return text.lowercased() }
    let scalars = Array(text.unicodeScalars)
    var out = String.UnicodeScalarView()
    for (k, scalar) in scalars.enumerated() {
        if scalar == "\u{3A3}" {
            let before = k > 0 && scalars[k - 1].properties.isCased
            let after = k + 1 < scalars.count && scalars[k + 1].properties.isCased
            out.append(before && !after ? "\u{3C2}" : "\u{3C3}")
            continue
        }
        out.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
    }
    return String(out)
}
