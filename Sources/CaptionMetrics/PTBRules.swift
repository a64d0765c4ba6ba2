/// The character classes of the CoreNLP 3.4.1 lexer that `PTBScanner` tests.
extension Unicode.Scalar {
    @inline(__always) var isASCIILetter: Bool {
        (value | 0x20) >= 0x61 && (value | 0x20) <= 0x7A
    }
    @inline(__always) var isASCIIUpper: Bool { value >= 0x41 && value <= 0x5A }
    @inline(__always) var isASCIIDigit: Bool { value >= 0x30 && value <= 0x39 }

    /// Java's `Character.isLetter` plus combining marks (CoreNLP keeps `e` + U+0301 in one word).
    var isWordLetter: Bool {
        if value < 0x80 { return isASCIILetter }
        if value > 0xFFFF { return false }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
            .nonspacingMark, .spacingMark, .enclosingMark:
            return true
        default:
            return false
        }
    }

    var isWordDigit: Bool {
        if value < 0x80 { return isASCIIDigit }
        if value > 0xFFFF { return false }
        return properties.generalCategory == .decimalNumber
    }

    @inline(__always) var isAlnum: Bool { isWordLetter || isWordDigit }

    /// Separators: ASCII whitespace, NBSP and the Unicode spaces, and line breaks inside a caption.
    var isSpace: Bool {
        if value > 0x20 && value < 0x80 { return false }
        switch value {
        case 0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029,
            0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// Characters the lexer cannot tokenize: deleted, and they end the current token.
    var isUntokenizable: Bool {
        if value < 0x80 { return value < 0x20 || value == 0x7F }
        if value < 0xA0 { return true }
        if value > 0xFFFF { return true }  // JFlex 1.4 in CoreNLP 3.4.1 sees surrogate halves
        switch value {
        case 0x200B...0x200F, 0xFEFF, 0xD800...0xDFFF: return true
        default: break
        }
        switch properties.generalCategory {
        case .format, .control, .unassigned, .privateUse, .surrogate: return true
        default: return false
        }
    }

    @inline(__always) var isApostrophe: Bool { value == 0x27 || value == 0x2019 || value == 0x92 }
}

/// Word lists of the CoreNLP 3.4.1 lexer, as observed by running its jar on every candidate in lower, capitalised and upper case.
enum Abbreviations {
    /// Followed by a period, keep it in any case: `st.`, `Ave.`, `ETC.`.
    static let always: Set<String> = [
        "a.k.a", "adj", "adm", "adv", "al", "ala", "alex", "apr", "ariz", "assn", "assoc", "asst", "atty", "attys",
        "aug", "ave", "bancorp", "bhd", "bldg", "blvd", "brig", "bros", "calif", "capt", "cf", "cie", "cmdr", "co",
        "col", "colo", "comdr", "conn", "corp", "cos", "cpl", "ct", "dak", "dec", "dept", "det", "dr", "drs", "e.g",
        "elec", "ens", "esq", "est", "etc", "ext", "feb", "fla", "fri", "ft", "ga", "gen", "gov", "govs", "hon", "i.e",
        "inc", "ind", "insp", "intl", "invt", "jan", "jos", "jr", "jul", "jun", "kan", "kans", "ky", "lieut", "lt",
        "ltd", "maj", "mar", "md", "messrs", "mich", "minn", "mlle", "mme", "mo", "mon", "mont", "mr", "mrs", "ms",
        "msgr", "mt", "natl", "neb", "nev", "nov", "oct", "okla", "penn", "pfc", "ph", "plc", "pres", "prof",
        "profs", "pvt", "rd", "rep", "reps", "rev", "rt", "sen", "sens", "sep", "sept", "seq", "sfc", "sgt", "spc",
        "sq", "sr", "st", "ste", "supt", "supts", "sys", "tel", "tenn", "thu", "thurs", "treas", "tue", "tues",
        "univ", "va", "vs", "vt", "wed", "wis", "wisc", "wm", "wyo",
    ]
    /// Keep the period only when the word starts with a capital letter (`La.` but not `la.`).
    static let capitalized: Set<String> = ["ark", "del", "ill", "la", "mass", "miss", "ore", "pa", "tex", "wash"]
    /// Keep the period unless the word is all capitals.
    static let notAllCaps: Set<String> = ["mfg", "mtg", "pte", "pty"]
    /// Keep the period only before a number: `no. 2`, `fig. 3`.
    static let beforeNumber: Set<String> = ["art", "ca", "fig", "figs", "no", "nos", "op", "pp", "prop"]
    /// Words spelled with an apostrophe that stay one token.
    static let apostropheWords: Set<String> = [
        "nor'easter", "c'mon", "e'er", "s'mores", "ev'ry", "li'l", "nat'l",
    ]
    /// Capitalised words after which "X." ends a sentence (case sensitive, then whitespace, `?` or `!`).
    static let sentenceStarts: [String] = [
        "According", "Additionally", "About", "After", "Earlier", "However", "Here", "Her", "He", "If", "In", "It",
        "Last", "Many", "More", "Mr.", "Ms.", "Now", "Once", "One", "Other", "Our", "She", "Since", "So", "Some",
        "Such", "That", "Their", "Then", "There", "These", "They", "This", "The", "We", "What", "When", "While",
        "Yet", "You", "An", "As", "At", "But", "A",
    ]
    static func mayKeepPeriod(_ lowercased: String) -> Bool {
        always.contains(lowercased) || capitalized.contains(lowercased) || notAllCaps.contains(lowercased)
            || beforeNumber.contains(lowercased)
    }
    /// Words the lexer splits in two, with the length of the first part.
    static let assimilations: [String: Int] = [
        "cannot": 3, "gonna": 3, "gotta": 3, "lemme": 3, "wanna": 3, "gimme": 3,
    ]
    /// HTML entities the lexer decodes; nil means a quote, which is removed.
    static let entities: [(String, String?)] = [
        ("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">"), ("&quot;", nil), ("&apos;", nil),
    ]
}
