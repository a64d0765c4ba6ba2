// What the `shards` and `failed_images` tables say about a run's progress.

/// A committed shard.
public struct ShardRecord: Sendable, Hashable {
    public var shard: Int
    public var firstImage: Int
    public var numImages: Int
    public var seconds: Double
    public var finishedAt: String
    /// Where and on which kernels the shard was decoded; nil for shards committed before schema
    /// version 3.
    public var host: String?
    public var kernels: String?

    public init(
        shard: Int, firstImage: Int, numImages: Int, seconds: Double, finishedAt: String, host: String? = nil,
        kernels: String? = nil
    ) {
        self.shard = shard
        self.firstImage = firstImage
        self.numImages = numImages
        self.seconds = seconds
        self.finishedAt = finishedAt
        self.host = host
        self.kernels = kernels
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
