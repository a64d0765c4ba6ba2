/// How captions are searched for.
public struct DecodeSettings: Sendable, Equatable {
    /// The number of hypotheses kept per image (K); 1 is greedy decoding.
    public var beamSize: Int
    /// The maximum number of decoder steps (L), the end token included.
    public var maxLength: Int
    /// alpha in `score / length^alpha` when choosing among finished hypotheses; 0 compares raw scores.
    /// With `lengthPenaltyRule` `.wu` it is upstream's `wu_alpha`; `.average` ignores it.
    public var lengthPenalty: Double
    /// Which formula `lengthPenalty` goes into.
    public var lengthPenaltyRule: LengthPenaltyRule = .power
    /// self-critical.pytorch's `remove_bad_endings`: no end token right after a word of upstream's
    /// `bad_endings` list, and trailing words of its second list stripped from the text.
    public var removeBadEndings = false
    /// self-critical.pytorch's `suppress_UNK` (beam search only, as upstream): 1000 subtracted from
    /// the log-probability of `UNK` when it is the last word of the vocabulary.
    public var suppressUnknown = true

    /// Settings; `beamSize` and `maxLength` must be at least 1 (checked by the caller's
    /// configuration; a violation here is a programming error).
    public init(beamSize: Int = 3, maxLength: Int = 20, lengthPenalty: Double = 0) {
        precondition(beamSize >= 1, "beam size must be at least 1")
        precondition(maxLength >= 1, "max length must be at least 1")
        self.beamSize = beamSize
        self.maxLength = maxLength
        self.lengthPenalty = lengthPenalty
    }
}

/// How finished hypotheses of different lengths are compared.
public enum LengthPenaltyRule: String, Sendable, Equatable, Codable {
    /// nightcap's `score / length^alpha` (alpha 0: raw scores).
    case power
    /// self-critical.pytorch's `wu_alpha`: `score / ((5 + length)^alpha / 6^alpha)`.
    case wu
    /// self-critical.pytorch's `avg_alpha`: `score / length` (alpha ignored, as upstream).
    case average
}

/// The region features of a batch of images, padded to a common number of regions.
public struct FeatureBatch: Sendable {
    /// The caller's id of each image, used in failure reasons.
    public var imageIDs: [String]
    /// R: the regions stored per image (valid ones first, then padding).
    public var maxRegions: Int
    /// D: floats per region.
    public var dimension: Int
    /// `imageCount * maxRegions * dimension` floats, image-major, then region, then feature. A
    /// slice, so that a sub-batch of a shard shares the shard's array instead of copying it; its
    /// indices start at `features.startIndex`, which is 0 for a batch made from an array.
    public var features: ArraySlice<Float>
    /// The number of valid regions of each image (1...maxRegions).
    public var regionCounts: [Int]
    /// `imageCount * dimension` pooled features, when the features file gives them (a family that
    /// pools the regions, UpDown's `fc`, then takes these instead of the mean of the valid regions).
    public var pooled: [Float]?

    public var imageCount: Int { imageIDs.count }

    public init(imageIDs: [String], maxRegions: Int, dimension: Int, features: [Float], regionCounts: [Int], pooled: [Float]? = nil) {
        self.init(
            imageIDs: imageIDs, maxRegions: maxRegions, dimension: dimension, features: features[...],
            regionCounts: regionCounts, pooled: pooled)
    }

    public init(
        imageIDs: [String], maxRegions: Int, dimension: Int, features: ArraySlice<Float>, regionCounts: [Int], pooled: [Float]? = nil
    ) {
        precondition(regionCounts.count == imageIDs.count, "one region count per image")
        precondition(features.count == imageIDs.count * maxRegions * dimension, "features must hold imageCount x R x D floats")
        precondition(pooled.map { $0.count == imageIDs.count * dimension } ?? true, "pooled features must hold imageCount x D floats")
        self.pooled = pooled
        self.imageIDs = imageIDs
        self.maxRegions = maxRegions
        self.dimension = dimension
        self.features = features
        self.regionCounts = regionCounts
    }
}

/// The caption chosen for one image.
public struct GeneratedCaption: Sendable, Equatable {
    /// The caption's token ids, without the start and end tokens.
    public var tokens: [Int]
    /// The words of `tokens`.
    public var words: [String]
    /// The summed log-probability of the tokens, the end token's included when the caption ended.
    public var logProb: Float
    /// Whether the caption ended with the end token (false: cut at the maximum length).
    public var ended: Bool
    /// For each word, the attention weights over the image's valid regions at the step that produced it.
    public var attention: [[Float]]

    /// The caption's text when it is not simply the words joined by spaces (self-critical.pytorch's
    /// `decode_sequence`: trailing bad endings stripped, BPE `@@ ` joins undone).
    public var detokenized: String?

    public init(tokens: [Int], words: [String], logProb: Float, ended: Bool, attention: [[Float]], detokenized: String? = nil) {
        self.tokens = tokens
        self.words = words
        self.logProb = logProb
        self.ended = ended
        self.attention = attention
        self.detokenized = detokenized
    }

    /// The caption's text: the words joined by spaces unless the family detokenizes otherwise.
    public var text: String { detokenized ?? words.joined(separator: " ") }
}

/// Why an image could not be captioned. Other images of the batch are not affected.
public struct ImageDecodeFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var imageID: String
    public var reason: String

    public init(imageID: String, reason: String) {
        self.imageID = imageID
        self.reason = reason
    }

    public var description: String { "image \(imageID): \(reason)" }
}

/// What decoding did with one image of a batch.
public enum ImageCaptionOutcome: Sendable, Equatable {
    case captioned(GeneratedCaption)
    case failed(ImageDecodeFailure)

    /// The caption, or nil when the image failed.
    public var caption: GeneratedCaption? {
        if case .captioned(let caption) = self { return caption }
        return nil
    }
}
