/// The state of a run, as stored in `runs.status`.
public enum RunStatus: String, Sendable, Hashable, CaseIterable {
    case running, interrupted, failed, completed
}

/// What the pipeline knows about a run when it starts it.
public struct NewRun: Sendable, Hashable {
    public var name: String
    /// Hash of everything that determines the results; a resumed run has the same one.
    public var fingerprint: String
    /// The resolved configuration, as JSON text.
    public var configJSON: String
    public var imageCount: Int
    public var shardSize: Int
    public var shardCount: Int
    public var featuresPath: String?
    public var modelPath: String?
    public var referencesPath: String?
    /// SHA-256 of the references (bytes, format, split); nil for a run without references.
    public var referencesDigest: String?
    public var nightcapVersion: String?
    public var ownerPID: Int32
    public var ownerHost: String

    public init(
        name: String, fingerprint: String, configJSON: String, imageCount: Int, shardSize: Int,
        shardCount: Int, featuresPath: String? = nil, modelPath: String? = nil, referencesPath: String? = nil,
        referencesDigest: String? = nil, nightcapVersion: String? = nil, ownerPID: Int32, ownerHost: String
    ) {
        self.name = name
        self.fingerprint = fingerprint
        self.configJSON = configJSON
        self.imageCount = imageCount
        self.shardSize = shardSize
        self.shardCount = shardCount
        self.featuresPath = featuresPath
        self.modelPath = modelPath
        self.referencesPath = referencesPath
        self.referencesDigest = referencesDigest
        self.nightcapVersion = nightcapVersion
        self.ownerPID = ownerPID
        self.ownerHost = ownerHost
    }
}

/// A row of `runs`.
public struct RunRecord: Sendable, Hashable {
    public var runID: Int64
    public var name: String
    public var status: RunStatus
    public var statusMessage: String?
    public var fingerprint: String
    public var configJSON: String
    public var imageCount: Int
    public var shardSize: Int
    public var shardCount: Int
    public var featuresPath: String?
    public var modelPath: String?
    public var referencesPath: String?
    /// SHA-256 of the references the metrics were computed against; nil when not scored, or for
    /// runs of schema version 1.
    public var referencesDigest: String?
    public var nightcapVersion: String?
    public var ownerPID: Int32?
    public var ownerHost: String?
    public var heartbeatAt: String?
    /// ISO-8601 UTC, e.g. `2026-11-24T22:39:40.123Z`.
    public var createdAt: String
    public var finishedAt: String?
    public var finalizeSeconds: Double?

    /// Whether the run has references (from its start, or scored later): a run without them has
    /// captions, attention and regions but no metrics.
    public var isScored: Bool { referencesPath != nil || referencesDigest != nil }
}

/// One line of `nightcap runs`.
public struct RunSummary: Sendable, Hashable {
    public var runID: Int64
    public var name: String
    public var status: RunStatus
    public var createdAt: String
    public var finishedAt: String?
    public var imageCount: Int
    public var imagesDone: Int
    public var imagesFailed: Int
    public var shardsDone: Int
    public var shardCount: Int
    public var bleu4: Double?
    public var cider: Double?
    /// False for a run captioned without references and not scored since.
    public var isScored: Bool
}

/// The result of trying to become a run's owner.
public enum ClaimOutcome: Sendable, Hashable {
    /// This process now owns the run, whose status is `running`.
    case claimed
    /// Another live process owns the run (or a process on another host, whose liveness cannot be
    /// checked); nothing changed.
    case ownedBy(pid: Int32, host: String)
}

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

/// A per-image score, with pycocoevalcap's metric name (`Bleu_1` ... `Bleu_4`, `ROUGE_L`, `CIDEr`).
public struct ImageMetricRecord: Sendable, Hashable {
    public var imageID: String
    public var metric: String
    public var value: Double

    public init(imageID: String, metric: String, value: Double) {
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
    public var captions: [CaptionRecord]
    public var attention: [AttentionRecord]
    public var imageMetrics: [ImageMetricRecord]
    public var bleuStats: [BleuStatsRecord]
    public var regions: [RegionRecord]
    public var failures: [FailureRecord]

    public init(
        runID: Int64, shard: Int, firstImage: Int, numImages: Int, seconds: Double,
        captions: [CaptionRecord] = [], attention: [AttentionRecord] = [], imageMetrics: [ImageMetricRecord] = [],
        bleuStats: [BleuStatsRecord] = [], regions: [RegionRecord] = [], failures: [FailureRecord] = []
    ) {
        self.runID = runID
        self.shard = shard
        self.firstImage = firstImage
        self.numImages = numImages
        self.seconds = seconds
        self.captions = captions
        self.attention = attention
        self.imageMetrics = imageMetrics
        self.bleuStats = bleuStats
        self.regions = regions
        self.failures = failures
    }
}

/// A committed shard.
public struct ShardRecord: Sendable, Hashable {
    public var shard: Int
    public var firstImage: Int
    public var numImages: Int
    public var seconds: Double
    public var finishedAt: String

    public init(shard: Int, firstImage: Int, numImages: Int, seconds: Double, finishedAt: String) {
        self.shard = shard
        self.firstImage = firstImage
        self.numImages = numImages
        self.seconds = seconds
        self.finishedAt = finishedAt
    }
}

/// How far a run got.
public struct ShardProgress: Sendable, Hashable {
    public var shardsDone: Int
    public var shardCount: Int
    public var imagesDone: Int
    public var imageCount: Int
    public var imagesFailed: Int
    /// Sum of the committed shards' `seconds`.
    public var secondsSpent: Double

    public init(
        shardsDone: Int, shardCount: Int, imagesDone: Int, imageCount: Int, imagesFailed: Int, secondsSpent: Double
    ) {
        self.shardsDone = shardsDone
        self.shardCount = shardCount
        self.imagesDone = imagesDone
        self.imageCount = imageCount
        self.imagesFailed = imagesFailed
        self.secondsSpent = secondsSpent
    }
}

/// A failed image with its shard.
public struct FailedImage: Sendable, Hashable {
    public var imageID: String
    public var shard: Int
    public var reason: String

    public init(imageID: String, shard: Int, reason: String) {
        self.imageID = imageID
        self.shard = shard
        self.reason = reason
    }
}

/// A caption with its per-image scores, for `compare` and `export`.
public struct CaptionWithMetrics: Sendable, Hashable {
    public var imageID: String
    public var imageIndex: Int
    public var caption: String
    public var numWords: Int
    public var logProb: Double
    /// Per-image scores by pycocoevalcap name; missing names were not computed.
    public var metrics: [String: Double]

    public init(
        imageID: String, imageIndex: Int, caption: String, numWords: Int, logProb: Double, metrics: [String: Double]
    ) {
        self.imageID = imageID
        self.imageIndex = imageIndex
        self.caption = caption
        self.numWords = numWords
        self.logProb = logProb
        self.metrics = metrics
    }
}
