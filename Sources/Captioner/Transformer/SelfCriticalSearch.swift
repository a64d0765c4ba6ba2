/// How self-critical.pytorch's `tools/eval.py` searches for captions (`AttModel._sample` for greedy,
/// `CaptionModel.beam_search` for beams), with its options.
public struct SelfCriticalSearch: Sendable, Equatable {
    /// `--length_penalty`: how finished beams are compared (`utils/misc.py` `penalty_builder`).
    public enum LengthPenalty: Sendable, Equatable, CustomStringConvertible {
        /// `''`: the summed log-probability.
        case none
        /// `wu_<alpha>`: `sum / ((5 + length)^alpha / 6^alpha)`.
        case wu(Double)
        /// `avg_<alpha>`: `sum / length` (upstream parses alpha and ignores it).
        case average(Double)

        /// Parses upstream's spelling (`''`, `wu_0.7`, `avg_1`); nil when it is none of them.
        public init?(upstream text: String) {
            if text.isEmpty {
                self = .none
                return
            }
            let parts = text.split(separator: "_", omittingEmptySubsequences: false)
            guard parts.count == 2, let alpha = Double(parts[1]) else { return nil }
            switch parts[0] {
            case "wu": self = .wu(alpha)
            case "avg": self = .average(alpha)
            default: return nil
            }
        }

        public var description: String {
            switch self {
            case .none: return ""
            case .wu(let alpha): return "wu_\(alpha)"
            case .average(let alpha): return "avg_\(alpha)"
            }
        }

        /// The score of a finished beam of `length` tokens (the end token counted) and summed log-probability `sum`.
        func score(length: Int, sum: Float) -> Double {
            let value = Double(sum)
            switch self {
            case .none: return value
            case .wu(let alpha): return value / (pow(5 + Double(length), alpha) / pow(6, alpha))
            case .average: return value / Double(length)
            }
        }
    }

    /// `--beam_size`; 1 is greedy decoding (`_sample`), more is `beam_search`.
    public var beamSize: Int
    /// `--max_length`: at most this many words; a caption cut there has no end token.
    public var maxLength: Int
    public var lengthPenalty: LengthPenalty
    /// `--remove_bad_endings`: the end token is forbidden after the words of `AttModel.bad_endings`,
    /// and the caption text loses trailing words of `misc.bad_endings` (eval_split sets
    /// `REMOVE_BAD_ENDINGS` for `decode_sequence`).
    public var removeBadEndings: Bool
    /// `--suppress_UNK` (eval's default 1): in beam search only, 1000 is subtracted from the last
    /// token's log-probability when that token is `UNK`.
    public var suppressUnknown: Bool

    public init(beamSize: Int = 1, maxLength: Int = 20, lengthPenalty: LengthPenalty = .none, removeBadEndings: Bool = false, suppressUnknown: Bool = true) {
        precondition(beamSize >= 1, "beam size must be at least 1")
        precondition(maxLength >= 1, "max length must be at least 1")
        self.beamSize = beamSize
        self.maxLength = maxLength
        self.lengthPenalty = lengthPenalty
        self.removeBadEndings = removeBadEndings
        self.suppressUnknown = suppressUnknown
    }

    /// `AttModel.bad_endings`: after these words the end token is forbidden while decoding.
    static let decodingBadEndings: Set<String> = [
        "a", "an", "the", "in", "for", "at", "of", "with", "before", "after", "on", "upon", "near", "to", "is", "are", "am",
    ]
    /// `misc.bad_endings`: `decode_sequence` strips these from the end of the text.
    static let textBadEndings: Set<String> = [
        "with", "in", "on", "of", "a", "at", "to", "for", "an", "this", "his", "her", "that", "the",
    ]

    /// How many of `words` `decode_sequence` keeps: trailing words of `misc.bad_endings` go, unless all are.
    static func keptWordCount(_ words: [String]) -> Int {
        var count = words.count
        while count > 0 && textBadEndings.contains(words[count - 1]) { count -= 1 }
        return count == 0 ? words.count : count
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
