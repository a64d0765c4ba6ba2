/// What a search needs to know about a model's vocabulary: the words of token ids, the start and
/// end tokens, and, for self-critical.pytorch's rules, how a caption's text is made and which
/// words upstream treats specially. Made once per decoder by the family (`nightcap(...)` or
/// `selfCritical(...)`).
struct SearchVocabulary {
    /// The word of a token id.
    var word: (Int) -> String
    /// The token every hypothesis starts from, and the one that ends it.
    var start: Int
    var end: Int
    /// The text of a caption's tokens (without the end token); nil: the words joined by spaces.
    var text: (([Int]) -> String)?
    /// Whether the last word is `UNK` (upstream's `vocab[str(V - 1)] == 'UNK'`).
    var lastWordIsUnknown = false
    /// The options' `unk_idx`, if any.
    var unknownIndex: Int?
    /// `isBadEnding[id]`: the word is in AttModel.py's `bad_endings`.
    var isBadEnding: [Bool] = []

    /// nightcap's own vocabulary (a model file's): every id has a word, special tokens included.
    static func nightcap(start: Int, end: Int, word: @escaping (Int) -> String) -> SearchVocabulary {
        SearchVocabulary(word: word, start: start, end: end, text: nil)
    }

    /// The vocabulary of any of self-critical.pytorch's families: `words[id]` for ids 1...V (id 0,
    /// the start, end and pad token, is the empty string), AttModel.py's `bad_endings`, the text
    /// of `decode_sequence` (with `remove_bad_endings` as set).
    static func selfCritical(words: [String], unknownIndex: Int?, removeBadEndings: Bool) -> SearchVocabulary {
        SearchVocabulary(
            word: { SelfCriticalText.word($0, in: words) }, start: 0, end: 0,
            text: { SelfCriticalText.decodeSequence($0, words: words, removeBadEndings: removeBadEndings) },
            lastWordIsUnknown: words.last == "UNK", unknownIndex: unknownIndex,
            isBadEnding: words.indices.map { $0 > 0 && SelfCriticalText.badEndings.contains(words[$0]) })
    }
}

/// self-critical.pytorch's text rules, shared by all of its families.
enum SelfCriticalText {
    /// AttModel.py's list (no end token after these words with remove_bad_endings).
    static let badEndings: Set<String> = [
        "a", "an", "the", "in", "for", "at", "of", "with", "before", "after", "on", "upon", "near", "to", "is", "are", "am",
    ]
    /// misc.py's list (trailing words stripped from the text with remove_bad_endings).
    static let trailingBadEndings: Set<String> = [
        "with", "in", "on", "of", "a", "at", "to", "for", "an", "this", "his", "her", "that", "the",
    ]

    /// The word of a token id of `words` (`<end>` for 0, `<id N>` outside the vocabulary).
    static func word(_ token: Int, in words: [String]) -> String {
        words.indices.contains(token) && token > 0 ? words[token] : (token == 0 ? "<end>" : "<id \(token)>")
    }

    /// upstream's `decode_sequence` of a caption's tokens (no end token): the words joined by
    /// spaces, trailing words of `trailingBadEndings` stripped with remove_bad_endings, and BPE
    /// joins removed (`txt.replace('@@ ', '')`).
    static func decodeSequence(_ tokens: [Int], words: [String], removeBadEndings: Bool) -> String {
        var kept = tokens.map { words[$0] }
        if removeBadEndings, let keep = kept.lastIndex(where: { !trailingBadEndings.contains($0) }) {
            kept.removeSubrange((keep + 1)...)
        }
        return kept.joined(separator: " ").split(separator: "@@ ", omittingEmptySubsequences: false).joined()
    }
}
