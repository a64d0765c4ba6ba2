/// How a family's captions are searched for: whose decoding rules the results reproduce.
public enum SearchConvention: String, Sendable, Equatable {
    /// nightcap's own beam search (the Show-Attend-and-Tell family): a hypothesis that emits the
    /// end token leaves the beam and the beam narrows; the search stops when no hypothesis is live;
    /// the length penalty `score / length^alpha` chooses among the finished ones.
    case nightcap
    /// self-critical.pytorch's `tools/eval.py`: greedy `_sample` for beam size 1, otherwise
    /// `CaptionModel.beam_search` (finished beams stay in the beam at -1000 and the search always runs
    /// `max_length` steps; a second log-softmax from step 1; `suppress_UNK`, `remove_bad_endings`,
    /// length penalties `wu_A`/`avg_A`; see docs/decoder.md).
    case selfCritical = "self-critical"
    /// aimagelab/meshed-memory-transformer's `BeamSearch` as `test.py` runs it: plain summed
    /// log-probabilities, finished beams keep their slot and score, always `max_length` steps; the
    /// caption cut at `<eos>` with consecutive repeats collapsed (docs/decoder.md).
    case meshedMemory = "meshed-memory"
}

/// A loaded, checked captioning model of any family: what the pipeline needs from it.
///
/// A family describes its weights (`describe`), validates itself against the features before any
/// work (`validate`), and makes per-worker decoders (`makeDecoder`). Loading a family is where its
/// tensors and options are checked, so a broken model fails before the first image.
public protocol CaptioningModel: AnyObject, Sendable {
    /// The file the model was loaded from.
    var path: String { get }
    /// The family's name as `inspect` and `show` print it (`show-attend-tell`, `updown`).
    var family: String { get }
    /// D: the region feature size the model expects.
    var featureDimension: Int { get }
    /// Whose search rules `makeDecoder` follows.
    var searchConvention: SearchConvention { get }
    /// The word of a token id.
    func word(_ token: Int) -> String
    /// Checks that region features of dimension `featureDimension` (from `featuresFile`) fit the model.
    func validate(featureDimension: Int, featuresFile: String) throws
    /// Checks that the model can decode with `settings` (a Transformer's positional table must
    /// cover the max length); call before `makeDecoder`.
    func validate(settings: DecodeSettings) throws
    /// A decoder for one worker thread (it owns its scratch buffers; the model is shared).
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

/// One family's batched decoder step, as a search drives it. The search owns the hypotheses
/// (their words, scores and ancestry); the stepper owns everything the family keeps per image and
/// per hypothesis. The decoder state is opaque to the search: an LSTM family keeps `h` and `c` per
/// row, a Transformer its token prefix (or cached keys and values) per row; the search only says,
/// for every row of a step, which row of the previous step it continues (`parents`) and which
/// token it feeds (`tokens`), and the stepper reorders its own state accordingly.
protocol DecoderStepper: AnyObject {
    /// V: the number of token ids, the end token included.
    var vocabularySize: Int { get }
    /// Once per batch: the per-image state of every usable image (`usable[i]`), computed once and
    /// reused at every step (for UpDown: the embedded regions, their projections, the pooled
    /// feature's contribution to the attention LSTM).
    func prepare(batch: FeatureBatch, features: UnsafePointer<Float>, usable: [Bool], maxRows: Int)
    /// One step for `rows` hypotheses. Row `r` belongs to image `images[r]` and continues row
    /// `parents[r]` of the previous step (-1: the image's initial state); `tokens[r]` is its input
    /// token. Rows of one image are contiguous. Afterwards `logProbs` holds `rows x V`
    /// log-probabilities and `attention` `rows x maxRegions` weights (valid regions first).
    func step(rows: Int, images: UnsafePointer<Int>, parents: UnsafePointer<Int32>, tokens: UnsafePointer<Int32>)
    var logProbs: UnsafeMutablePointer<Float> { get }
    var attention: UnsafePointer<Float> { get }
}

extension FeatureBatch {
    /// Why an image cannot be decoded, or nil.
    static func problem(of image: Int, in batch: FeatureBatch, features: UnsafePointer<Float>) -> String? {
        let regions = batch.regionCounts[image]
        guard regions >= 1, regions <= batch.maxRegions else {
            return "has \(regions) valid regions; expected 1...\(batch.maxRegions)"
        }
        let D = batch.dimension
        let base = features + image * batch.maxRegions * D
        for index in 0..<(regions * D) where !base[index].isFinite {
            let value = base[index]
            let what = value.isNaN ? "NaN" : (value > 0 ? "+infinity" : "-infinity")
            return "region \(index / D) holds \(what) (feature \(index % D)); the features file is damaged or the extractor failed on this image"
        }
        if let pooled = batch.pooled, let bad = (image * D..<(image + 1) * D).first(where: { !pooled[$0].isFinite }) {
            let value = pooled[bad]
            let what = value.isNaN ? "NaN" : (value > 0 ? "+infinity" : "-infinity")
            return "its pooled features hold \(what) (feature \(bad - image * D)); the features file is damaged or the extractor failed on this image"
        }
        return nil
    }
}

extension CaptionModel: CaptioningModel {
    public var family: String { "show-attend-tell" }
    public var featureDimension: Int { sizes.feature }
    public var searchConvention: SearchConvention { .nightcap }
    public func makeDecoder(settings: DecodeSettings) -> any CaptionDecoding {
        BatchDecoder(model: self, settings: settings)
    }
    public var summary: String { describe.description }
}

extension BatchDecoder: CaptionDecoding {}
