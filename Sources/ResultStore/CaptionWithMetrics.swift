import CaptionMetrics

/// A caption with its per-image scores, for `compare` and `export`.
public struct CaptionWithMetrics: Sendable, Hashable {
    public var imageID: String
    public var imageIndex: Int
    public var caption: String
    public var numWords: Int
    public var logProb: Double
    /// Per-image scores; missing metrics were not computed.
    public var metrics: [Metric: Double]

    public init(
        imageID: String, imageIndex: Int, caption: String, numWords: Int, logProb: Double, metrics: [Metric: Double]
    ) {
        self.imageID = imageID
        self.imageIndex = imageIndex
        self.caption = caption
        self.numWords = numWords
        self.logProb = logProb
        self.metrics = metrics
    }
}
