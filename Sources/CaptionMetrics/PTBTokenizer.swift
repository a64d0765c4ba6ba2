import ConcurrencyPrimitives

/// A native reimplementation of the tokenization pycocoevalcap applies to every caption.
///
/// pycocoevalcap runs Stanford CoreNLP 3.4.1's `PTBTokenizer` with `-preserveLines -lowerCase`,
/// one caption per line (a `\n` inside a caption becomes a space), then drops the punctuation
/// tokens `'' ' `` ` -LRB- -RRB- -LCB- -RCB- . ? ! , : - -- ... ;`. Because `-lowerCase` also
/// lowercases the bracket tokens, `-lrb-`, `-rrb-`, `-lsb-`, `-rsb-`, `-lcb-` and `-rcb-` are *not*
/// dropped: they survive into the scored text exactly as they do in pycocoevalcap.
///
/// The scanner follows the lexer's longest-match rules for what occurs in captions: contractions
/// and possessives split as PTB splits them (`it 's`, `do n't`, `ca n't`, `they 're`, `gon na`,
/// `can not`), hyphenated and slashed words kept (`t-shirt`, `his/her`), numbers with `.`, `:`
/// and `,` kept (`4:38`, `14.99`), abbreviations and acronyms keep their period (`st.`, `u.s.`,
/// `t.v.`, single letters like `a.`), a period followed by `,` `;` or `:` stays on the word
/// (`truck.,` gives `truck.`), `$ £ €` and `#` are separate tokens (`£` becomes `#` and `€`
/// becomes `$`, as the lexer normalises currency), and characters the lexer cannot tokenize
/// (control characters, characters outside the Basic Multilingual Plane such as emoji) are deleted
/// and separate the words around them. `docs/metrics.md` lists the known differences.
public enum PTBTokenizer {
    /// Tokenizes one caption as pycocoevalcap would, returning the tokens that survive punctuation removal.
    ///
    /// `followedBy` is the next non-blank line of the text the lexer sees (pycocoevalcap feeds all
    /// captions of one batch as one file). It matters in one case only: a single letter with a
    /// period ("S.") before whitespace and a capitalised word from the lexer's sentence-start list
    /// ("The", "A", "It", ...) is taken as the end of a sentence, so the period is split off and
    /// removed. Leave it `nil` for a caption at the end of the input.
    public static func tokenize(_ caption: String, followedBy next: String? = nil) -> [String] {
        if let tokens = plainTokens(caption) { return tokens }
        var scanner = PTBScanner(caption, following: next)
        return scanner.run()
    }

    /// Tokenizes captions as pycocoevalcap does when it writes them one per line and runs the lexer once.
    ///
    /// Each caption sees the next non-blank caption as its following context.
    /// At most `parallelism` threads tokenize at once.
    public static func tokenize(lines: [String], parallelism: Int = ParallelWork.defaultWidth) -> [[String]] {
        var nextLine = [Int](repeating: -1, count: lines.count)
        var next = -1
        for index in lines.indices.reversed() {
            nextLine[index] = next
            if lines[index].unicodeScalars.contains(where: { !$0.isSpace }) { next = index }
        }
        let following = nextLine
        return ParallelWork.map(lines.count, width: parallelism) { index in
            tokenize(lines[index], followedBy: following[index] >= 0 ? lines[following[index]] : nil)
        }
    }

    /// Tokenizes one caption and joins the tokens with single spaces, like pycocoevalcap's output strings.
    public static func tokenizeJoined(_ caption: String) -> String {
        tokenize(caption).joined(separator: " ")
    }

    /// The punctuation tokens pycocoevalcap removes after tokenization.
    public static let removedPunctuation: Set<String> = [
        "''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-",
        ".", "?", "!", ",", ":", "-", "--", "...", ";",
    ]
}
