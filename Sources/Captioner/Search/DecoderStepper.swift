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
    /// feature's contribution to the attention LSTM). `maxRows` is the most rows a step will have.
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

    /// The outcome of every image: an image that cannot be decoded (`problem(of:in:features:)`)
    /// fails alone with the reason; `search` captions the others, given the features and which
    /// images are usable, and returns `(image, caption)` pairs. It is not called when no image is usable.
    func decodeUsableImages(
        _ search: (_ features: UnsafePointer<Float>, _ usable: [Bool]) -> [(image: Int, caption: GeneratedCaption)]
    ) -> [ImageCaptionOutcome] {
        var outcomes: [ImageCaptionOutcome?] = Array(repeating: nil, count: imageCount)
        features.withUnsafeBufferPointer { features in
            for image in 0..<imageCount {
                if let reason = Self.problem(of: image, in: self, features: features.baseAddress!) {
                    outcomes[image] = .failed(ImageDecodeFailure(imageID: imageIDs[image], reason: reason))
                }
            }
            let usable = outcomes.map { $0 == nil }
            guard usable.contains(true) else { return }
            for (image, caption) in search(features.baseAddress!, usable) { outcomes[image] = .captioned(caption) }
        }
        return outcomes.map { $0! }
    }
}
