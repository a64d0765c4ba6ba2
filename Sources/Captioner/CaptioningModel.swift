/// A loaded, checked captioning model of any family: what the pipeline needs from it. Families are
/// found and loaded through the registry (`ModelFamilies`, `ModelLoader`).
///
/// A family describes its weights (`describe`), validates itself against the features before any
/// work (`validate`), and makes per-worker decoders (`makeDecoder`). Loading a family is where its
/// tensors and options are checked, so a broken model fails before the first image.
public protocol CaptioningModel: AnyObject, Sendable {
    /// The file the model was loaded from.
    var path: String { get }
    /// The name of its family (`ModelFamily.name`) as `inspect` and `show` print it.
    var family: String { get }
    /// D: the region feature size the model expects.
    var featureDimension: Int { get }
    /// The word of a token id.
    func word(_ token: Int) -> String
    /// Checks that region features of dimension `featureDimension` (from `featuresFile`) fit the model.
    func validate(featureDimension: Int, featuresFile: String) throws
    /// Checks that the model can decode with `settings` (a Transformer's positional table must
    /// cover the max length); call before `makeDecoder`.
    func validate(settings: DecodeSettings) throws
    /// A decoder for one worker thread (it owns its scratch buffers; the model is shared): the
    /// search of its family's convention (`SearchConvention.decoder`) over the family's stepper.
    func makeDecoder(settings: DecodeSettings) -> any CaptionDecoding
    /// How many images the pipeline should hand `decode` at once with `settings` (its sub-batch),
    /// or nil for the pipeline's default (128).
    func imagesPerSubBatch(settings: DecodeSettings) -> Int?
    /// What `nightcap inspect` prints about the model.
    var summary: String { get }
    /// Whether the model takes a pooled feature per image (`FeatureBatch.pooled`; UpDown's `fc`).
    var takesPooledFeatures: Bool { get }
}

extension CaptioningModel {
    /// Families without limits on the settings accept any.
    public func validate(settings: DecodeSettings) throws {}
    /// The pipeline's default sub-batch.
    public func imagesPerSubBatch(settings: DecodeSettings) -> Int? { nil }

    /// Families without a pooled input: the SAT family's initial state is its own mean of the
    /// regions, the Transformer has none.
    public var takesPooledFeatures: Bool { false }
}

/// Captions batches of images; one per worker thread.
public protocol CaptionDecoding: AnyObject {
    /// Captions every image of `batch`. An image whose features are not finite, or whose region
    /// count is out of range, fails alone; the others are decoded as if it were not there.
    func decode(batch: FeatureBatch) -> [ImageCaptionOutcome]
}
