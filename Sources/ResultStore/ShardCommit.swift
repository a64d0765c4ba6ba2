import CaptionMetrics

// What one shard produced, committed as one transaction: the rows of `captions`, `attention`,
// `image_metrics`, `bleu_stats`, `regions` and `failed_images`.

/// A caption of one image.
public struct CaptionRecord: Sendable, Hashable {
    public var imageID: String
    /// Position of the image in the features file (0-based); captions are listed in this order.
    public var imageIndex: Int
    public var caption: String
    public var numWords: Int
    public var logProb: Double

    public init(imageID: String, imageIndex: Int, caption: String, numWords: Int, logProb: Double) {
        self.imageID = imageID
        self.imageIndex = imageIndex
        self.caption = caption
        self.numWords = numWords
        self.logProb = logProb
    }
}

/// The attention of one word of a caption over the image's valid regions.
public struct AttentionRecord: Sendable, Hashable {
    public var imageID: String
    /// 0-based position of the word in the caption.
    public var position: Int
    public var word: String
    /// One weight per valid region, in region order; stored losslessly.
    public var weights: [Float]
    /// The region with the largest weight (first of ties); computed from `weights` when nil.
    public var topRegion: Int?
    /// Its weight; taken from `weights` when nil.
    public var topWeight: Float?

    public init(
        imageID: String, position: Int, word: String, weights: [Float], topRegion: Int? = nil, topWeight: Float? = nil
    ) {
        self.imageID = imageID
        self.position = position
        self.word = word
        self.weights = weights
        self.topRegion = topRegion
        self.topWeight = topWeight
    }
}

/// A per-image score (stored under pycocoevalcap's metric name: `Bleu_1` ... `Bleu_4`, `ROUGE_L`,
/// `CIDEr`).
public struct ImageMetricRecord: Sendable, Hashable {
    public var imageID: String
    public var metric: Metric
    public var value: Double

    public init(imageID: String, metric: Metric, value: Double) {
        self.imageID = imageID
        self.metric = metric
        self.value = value
    }
}

/// Per-image BLEU statistics as pycocoevalcap's `BleuScorer` keeps them (`closest` reference length).
public struct BleuStatsRecord: Sendable, Hashable {
    public var imageID: String
    public var testlen: Int
    public var reflen: Int
    /// n-gram counts of the candidate for n = 1...4.
    public var guess: [Int]
    /// Clipped n-gram matches for n = 1...4.
    public var correct: [Int]

    public init(imageID: String, testlen: Int, reflen: Int, guess: [Int], correct: [Int]) {
        precondition(guess.count == 4 && correct.count == 4, "BLEU statistics have 4 guess and 4 correct counts")
        self.imageID = imageID
        self.testlen = testlen
        self.reflen = reflen
        self.guess = guess
        self.correct = correct
    }
}

/// A detected region of an image; any of its fields may be missing from the features file.
public struct RegionRecord: Sendable, Hashable {
    public var imageID: String
    /// 0-based, as `AttentionRecord.topRegion`.
    public var region: Int
    public var x1: Double?
    public var y1: Double?
    public var x2: Double?
    public var y2: Double?
    public var label: String?

    public init(
        imageID: String, region: Int, x1: Double? = nil, y1: Double? = nil, x2: Double? = nil, y2: Double? = nil,
        label: String? = nil
    ) {
        self.imageID = imageID
        self.region = region
        self.x1 = x1
        self.y1 = y1
        self.x2 = x2
        self.y2 = y2
        self.label = label
    }
}

/// An image that could not be captioned.
public struct FailureRecord: Sendable, Hashable {
    public var imageID: String
    public var reason: String

    public init(imageID: String, reason: String) {
        self.imageID = imageID
        self.reason = reason
    }
}

/// Everything one shard produced; committed in one transaction by `ResultDatabase.commitShard(_:)`.
public struct ShardCommit: Sendable {
    public var runID: Int64
    public var shard: Int
    public var firstImage: Int
    public var numImages: Int
    public var seconds: Double
    /// The host that decoded the shard and the kernels it ran on (`shards.host`, `shards.kernels`).
    public var host: String?
    public var kernels: String?
    public var captions: [CaptionRecord]
    public var attention: [AttentionRecord]
    public var imageMetrics: [ImageMetricRecord]
    public var bleuStats: [BleuStatsRecord]
    public var regions: [RegionRecord]
    public var failures: [FailureRecord]

    public init(
        runID: Int64, shard: Int, firstImage: Int, numImages: Int, seconds: Double, host: String? = nil, kernels: String? = nil,
        captions: [CaptionRecord] = [], attention: [AttentionRecord] = [], imageMetrics: [ImageMetricRecord] = [],
        bleuStats: [BleuStatsRecord] = [], regions: [RegionRecord] = [], failures: [FailureRecord] = []
    ) {
        self.runID = runID
        self.shard = shard
        self.firstImage = firstImage
        self.numImages = numImages
        self.seconds = seconds
        self.host = host
        self.kernels = kernels
        self.captions = captions
        self.attention = attention
        self.imageMetrics = imageMetrics
        self.bleuStats = bleuStats
        self.regions = regions
        self.failures = failures
    }
}
