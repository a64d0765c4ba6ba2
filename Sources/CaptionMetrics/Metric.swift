/// A metric of pycocoevalcap, in pycocoevalcap's order. The raw value is pycocoevalcap's name for
/// it, which is also what the results database stores in its `metric` columns.
public enum Metric: String, CaseIterable, Sendable, Hashable, Codable, CustomStringConvertible {
    case bleu1 = "Bleu_1"
    case bleu2 = "Bleu_2"
    case bleu3 = "Bleu_3"
    case bleu4 = "Bleu_4"
    case rougeL = "ROUGE_L"
    case cider = "CIDEr"

    /// BLEU-1 ... BLEU-4, in order.
    public static let bleu: [Metric] = [.bleu1, .bleu2, .bleu3, .bleu4]

    /// BLEU-`order` for `order` in 1...4.
    public static func bleu(order: Int) -> Metric {
        precondition((1...4).contains(order), "BLEU orders are 1...4")
        return bleu[order - 1]
    }

    /// The valid names, comma-separated, for messages about a name that is not one of them.
    public static var validNames: String { allCases.map(\.rawValue).joined(separator: ", ") }

    public var description: String { rawValue }

    /// The scores that `scores` holds, in pycocoevalcap's order.
    public static func ordered(_ scores: [Metric: Double]) -> [(metric: Metric, value: Double)] {
        allCases.compactMap { metric in scores[metric].map { (metric: metric, value: $0) } }
    }

    /// Whether an image's score depends on the other images scored with it: CIDEr-D weighs n-grams
    /// by document frequencies over the whole scored set. Such per-image scores are computed when a
    /// run is finalized, over all its images, not with each shard.
    public var perImageScoreDependsOnCorpus: Bool {
        switch self {
        case .bleu1, .bleu2, .bleu3, .bleu4, .rougeL: false
        case .cider: true
        }
    }
}
