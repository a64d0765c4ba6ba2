#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import PythonFiles

/// self-critical.pytorch's `TransformerModel` (captioning/models/TransformerModel.py) read from a
/// state dict and its infos, checked, and laid out for decoding: every Linear weight transposed to
/// `[in, out]` (OpenBLAS packs that layout faster, docs/decoder.md), each attention's query, key and
/// value weights side by side so one product computes all three. Immutable; one instance is shared
/// by all decoder workers.
///
/// The architecture (pre-norm sublayers, upstream's own LayerNorm, `att_embed` Linear + ReLU,
/// embeddings scaled by sqrt(d_model) plus the positional table saved in the checkpoint,
/// `generator.proj` as the logit layer) is described in docs/decoder.md.
public final class TransformerCaptionModel: CaptioningModel {
    /// One pre-norm LayerNorm: `a_2 * (x - mean) / (std + eps) + b_2`, unbiased std.
    struct Norm: Sendable {
        let gain: [Float]
        let bias: [Float]
    }

    /// A `MultiHeadedAttention`: its query, key and value Linear layers (`linears.0...2`) stacked
    /// side by side, and its output layer (`linears.3`). Weights are stored `[in, out]` (see the type's doc).
    struct Attention: Sendable {
        let input: [Float]  // [d x 3d]: query | key | value
        let inputBias: [Float]  // [3d]
        let output: [Float]  // [d x d]
        let outputBias: [Float]
    }

    struct FeedForward: Sendable {
        let inner: [Float]  // w_1 [d x d_ff]
        let innerBias: [Float]
        let outer: [Float]  // w_2 [d_ff x d]
        let outerBias: [Float]
    }

    struct EncoderLayer: Sendable {
        let selfAttention: Attention
        let feedForward: FeedForward
        let norms: [Norm]  // sublayer.0, sublayer.1
    }

    struct DecoderLayer: Sendable {
        let selfAttention: Attention
        let sourceAttention: Attention
        let feedForward: FeedForward
        let norms: [Norm]  // sublayer.0...2
    }

    /// The checkpoint the state dict came from.
    public let path: String
    /// Where the options and vocabulary came from.
    public let infosSource: String
    public let options: TransformerOptions
    /// The options' `unk_idx` (upstream lowers it by 1000 in beam search when UNK is not the last word).
    let unknownIndexOption: Int?
    /// The region feature size (`att_embed.0.weight` is `[d_model, D]`).
    public let featureDimension: Int
    /// The positions the saved positional-encoding table holds (5000 in upstream's checkpoints).
    public let positions: Int
    /// Word of each token id; index 0 (start/end/pad) is the empty string.
    public let vocabulary: [String]
    /// The number of values in the checked tensors.
    public let parameterCount: Int
    /// The number of tensors in the checkpoint.
    public let tensorCount: Int

    let regionEmbedding: [Float]  // [D x d]
    let regionEmbeddingBias: [Float]
    let encoderLayers: [EncoderLayer]
    let encoderNorm: Norm
    let decoderLayers: [DecoderLayer]
    let decoderNorm: Norm
    let wordEmbedding: [Float]  // [V1 x d]
    let positionalEncoding: [Float]  // [positions x d]
    let projection: [Float]  // [d x V1]
    let projectionBias: [Float]

    /// V + 1: the rows of the embedding and of the logit layer.
    public var tokenCount: Int { options.vocabularySize + 1 }

    /// Builds the model from a state dict and its infos. Every tensor the model reads is checked
    /// against the options (presence, shape, finite values) before anything else is done; each
    /// problem is one `ModelFileError` naming the checkpoint, the tensor and the fix.
    public init(stateDict: StateDict, infos: TrainingInfos, path source: String) throws {
        let options = try TransformerOptions(infos: infos)
        let (d, V1) = (options.modelWidth, options.vocabularySize + 1)
        let tensors = stateDict.tensors
        let reader = TensorReader(tensors: tensors, options: options, infos: infos.source, path: source)

        guard let embed = tensors["att_embed.0.weight"] else {
            throw ModelFileError(
                .missingTensor, file: source, object: "att_embed.0.weight",
                message: "has no tensor `att_embed.0.weight` (the region embedding); it is not a self-critical.pytorch Transformer checkpoint, or was trained with use_bn")
        }
        guard embed.shape.count == 2, embed.shape[0] == d, embed.shape[1] >= 1 else {
            throw ModelFileError(
                .wrongShape, file: source, object: "att_embed.0.weight",
                message: "tensor `att_embed.0.weight` has shape \(embed.shape), expected [d_model=\(d), D] from \(options.description) in \(infos.source); the checkpoint and the infos file do not belong together")
        }
        let D = embed.shape[1]
        regionEmbedding = Self.transposed(try reader.tensor("att_embed.0.weight", [d, D], "[d_model, D]"), rows: d, columns: D)
        regionEmbeddingBias = try reader.tensor("att_embed.0.bias", [d], "[d_model]")
        (encoderLayers, decoderLayers) = try reader.layers()
        encoderNorm = try reader.norm("model.encoder.norm")
        decoderNorm = try reader.norm("model.decoder.norm")
        wordEmbedding = try reader.tensor("model.tgt_embed.0.lut.weight", [V1, d], "the word embedding, [vocab_size + 1, d_model]")
        // The table's length is the checkpoint's; only its rank and width follow from the options.
        let tableShape = tensors["model.tgt_embed.1.pe"]?.shape ?? [1, 5000, d]
        guard tableShape.count == 3, tableShape[0] == 1, tableShape[2] == d, tableShape[1] >= 1 else {
            throw ModelFileError(
                .wrongShape, file: source, object: "model.tgt_embed.1.pe",
                message: "tensor `model.tgt_embed.1.pe` has shape \(tableShape), expected [1, positions, d_model=\(d)]; the checkpoint and the infos file do not belong together")
        }
        positions = tableShape[1]
        positionalEncoding = try reader.tensor("model.tgt_embed.1.pe", tableShape, "the positional encoding table")
        projection = Self.transposed(
            try reader.tensor("model.generator.proj.weight", [V1, d], "the logit layer, [vocab_size + 1, d_model]"), rows: V1, columns: d)
        projectionBias = try reader.tensor("model.generator.proj.bias", [V1], "[vocab_size + 1]")

        var words = [String](repeating: "", count: V1)
        for index in 1..<V1 {
            guard let word = infos.vocabulary[index] else {
                throw ModelFileError(
                    .vocabularyMismatch, file: infos.source, object: "vocab['\(index)']",
                    message: "the vocabulary has no word \(index), but vocab_size is \(V1 - 1); the infos file is damaged")
            }
            words[index] = word
        }
        vocabulary = words
        if case .int(let unk)? = infos.options["unk_idx"], unk >= 0, unk < V1 { unknownIndexOption = unk } else { unknownIndexOption = nil }
        featureDimension = D
        self.options = options
        path = source
        infosSource = infos.source
        tensorCount = tensors.count
        parameterCount = tensors.values.reduce(0) { $0 + $1.values.count }
    }

    /// `[columns x rows]` from `[rows x columns]`, in tiles of 32 x 32, so that the writes of a tile
    /// stay in a few cache lines.
    static func transposed(_ m: [Float], rows: Int, columns: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: m.count) { r, initialized in
            m.withUnsafeBufferPointer { m in
                for i0 in stride(from: 0, to: rows, by: 32) {
                    for j0 in stride(from: 0, to: columns, by: 32) {
                        for i in i0..<min(i0 + 32, rows) {
                            for j in j0..<min(j0 + 32, columns) { r[j * rows + i] = m[i * columns + j] }
                        }
                    }
                }
            }
            initialized = m.count
        }
    }

    /// Reads the checked tensors of a state dict in decoding layout; each problem is a
    /// `ModelFileError` naming the checkpoint (`path`), the tensor and the fix.
    private struct TensorReader {
        let tensors: [String: CheckpointTensor]
        let options: TransformerOptions
        /// Where the options came from.
        let infos: String
        let path: String

        /// The values of tensor `name`, checked for presence, `shape` and finite values.
        func tensor(_ name: String, _ shape: [Int], _ meaning: String) throws -> [Float] {
            guard let found = tensors[name] else {
                var hint = "the checkpoint and \(infos) do not belong together, or the checkpoint is incomplete"
                if name.contains(".layers.") {
                    hint = "\(infos) says \(options.description); " + hint
                }
                throw ModelFileError(
                    .missingTensor, file: path, object: name,
                    message: "has no tensor `\(name)` (\(meaning)); \(hint): use the infos_<id>.pkl of the run that saved this checkpoint")
            }
            guard found.shape == shape else {
                throw ModelFileError(
                    .wrongShape, file: path, object: name,
                    message: "tensor `\(name)` has shape \(found.shape), expected \(shape) (\(meaning)) from \(options.description) in \(infos); "
                        + "the checkpoint and the infos file do not belong together")
            }
            if let index = found.values.firstIndex(where: { !$0.isFinite }) {
                throw ModelFileError(
                    .nonFiniteWeight, file: path, object: name,
                    message: "tensor `\(name)` holds \(found.values[index]) at flat index \(index); the checkpoint is damaged (training diverged or the file is corrupt)")
            }
            return found.values
        }

        func attention(_ prefix: String) throws -> Attention {
            let d = options.modelWidth
            var weights: [[Float]] = []
            var biases: [[Float]] = []
            for (index, role) in ["query", "key", "value", "output"].enumerated() {
                weights.append(try tensor("\(prefix).linears.\(index).weight", [d, d], "the \(role) projection, [d_model, d_model]"))
                biases.append(try tensor("\(prefix).linears.\(index).bias", [d], "the \(role) projection's bias"))
            }
            // [in, out] with the three input projections side by side: row i is q_i | k_i | v_i.
            var input = [Float](repeating: 0, count: d * 3 * d)
            for part in 0..<3 {
                let t = transposed(weights[part], rows: d, columns: d)
                for i in 0..<d { input[(i * 3 * d + part * d)..<(i * 3 * d + part * d + d)] = t[(i * d)..<(i * d + d)] }
            }
            return Attention(
                input: input, inputBias: biases[0] + biases[1] + biases[2], output: transposed(weights[3], rows: d, columns: d),
                outputBias: biases[3])
        }

        func feedForward(_ prefix: String) throws -> FeedForward {
            let (d, ff) = (options.modelWidth, options.feedForwardWidth)
            return FeedForward(
                inner: transposed(try tensor("\(prefix).w_1.weight", [ff, d], "[d_ff, d_model]"), rows: ff, columns: d),
                innerBias: try tensor("\(prefix).w_1.bias", [ff], "[d_ff]"),
                outer: transposed(try tensor("\(prefix).w_2.weight", [d, ff], "[d_model, d_ff]"), rows: d, columns: ff),
                outerBias: try tensor("\(prefix).w_2.bias", [d], "[d_model]"))
        }

        func norm(_ prefix: String) throws -> Norm {
            let d = options.modelWidth
            return Norm(
                gain: try tensor("\(prefix).a_2", [d], "LayerNorm gain, [d_model]"),
                bias: try tensor("\(prefix).b_2", [d], "LayerNorm bias, [d_model]"))
        }

        /// The encoder's and decoder's layers; a layer beyond N_enc / N_dec in the checkpoint means
        /// the infos describe a smaller model than the checkpoint.
        func layers() throws -> ([EncoderLayer], [DecoderLayer]) {
            var encoder: [EncoderLayer] = []
            for layer in 0..<options.encoderLayers {
                let prefix = "model.encoder.layers.\(layer)"
                encoder.append(
                    EncoderLayer(
                        selfAttention: try attention("\(prefix).self_attn"), feedForward: try feedForward("\(prefix).feed_forward"),
                        norms: [try norm("\(prefix).sublayer.0.norm"), try norm("\(prefix).sublayer.1.norm")]))
            }
            var decoder: [DecoderLayer] = []
            for layer in 0..<options.decoderLayers {
                let prefix = "model.decoder.layers.\(layer)"
                decoder.append(
                    DecoderLayer(
                        selfAttention: try attention("\(prefix).self_attn"), sourceAttention: try attention("\(prefix).src_attn"),
                        feedForward: try feedForward("\(prefix).feed_forward"),
                        norms: [try norm("\(prefix).sublayer.0.norm"), try norm("\(prefix).sublayer.1.norm"), try norm("\(prefix).sublayer.2.norm")]))
            }
            for (part, count) in [("encoder", options.encoderLayers), ("decoder", options.decoderLayers)] {
                let extra = "model.\(part).layers.\(count)."
                if let name = tensors.keys.sorted().first(where: { $0.hasPrefix(extra) }) {
                    throw ModelFileError(
                        .wrongShape, file: path, object: name,
                        message: "has tensor `\(name)`, \(part == "encoder" ? "an" : "a") \(part) layer beyond the \(count) that \(infos) declares (\(options.description)); the checkpoint and the infos file do not belong together")
                }
            }
            return (encoder, decoder)
        }

        private func transposed(_ m: [Float], rows: Int, columns: Int) -> [Float] {
            TransformerCaptionModel.transposed(m, rows: rows, columns: columns)
        }
    }

    /// Checks that region features of dimension `featureDimension` (from `featuresFile`) fit the model.
    public func validate(featureDimension: Int, featuresFile: String) throws {
        guard featureDimension == self.featureDimension else {
            throw ModelFileError(
                .featureDimensionMismatch, file: path, object: "att_embed.0.weight",
                message: "expects region features of D=\(self.featureDimension) (att_embed.0.weight is [d_model=\(options.modelWidth), D=\(self.featureDimension)]), "
                    + "but the features file \(featuresFile) holds D=\(featureDimension); use features from the extractor the model was trained with")
        }
    }

    /// Checks that the saved positional table covers `settings.maxLength` decoder positions (the
    /// start token at position 0 and up to `maxLength - 1` words feed the decoder).
    public func validate(settings: DecodeSettings) throws {
        guard settings.maxLength <= positions else {
            throw ModelFileError(
                .wrongShape, file: path, object: "model.tgt_embed.1.pe",
                message: "the positional encoding table `model.tgt_embed.1.pe` holds \(positions) positions, fewer than the max length \(settings.maxLength); "
                    + "decode with a max length of at most \(positions)"
                    + (positions < 5000 ? ", or use the untruncated checkpoint (upstream saves 5000 positions)" : ""))
        }
    }

    public var family: String { TransformerFamily().name }

    /// The word of a token id (`<end>` for 0, `<id N>` outside the vocabulary).
    public func word(_ token: Int) -> String { SelfCriticalText.word(token, in: vocabulary) }

    /// The decoder of `settings` (check them first with `validate(settings:)`).
    public func makeDecoder(settings: DecodeSettings) -> any CaptionDecoding {
        TransformerBatchDecoder(
            decoder: TransformerFamily().searchConvention.decoder(
                stepper: TransformerStepper(model: self, maxLength: settings.maxLength), settings: settings,
                vocabulary: .selfCritical(words: vocabulary, unknownIndex: unknownIndexOption, removeBadEndings: settings.removeBadEndings)),
            imagesPerPass: settings.beamSize == 1
                ? TransformerBatchDecoder.greedyImagesPerPass : max(1, TransformerBatchDecoder.hypothesesPerPass / settings.beamSize))
    }

    /// 256 images for a greedy search, one product row each: every step streams all decoder and
    /// logit weights (103 MB at the zoo's size) through sgemm's packing, so twice the rows per
    /// product halve that traffic per image (14-25% less CPU than 128 in the measurement,
    /// docs/performance.md). Beam searches keep the pipeline's 128 (decoded in passes of about 128
    /// hypotheses).
    public func imagesPerSubBatch(settings: DecodeSettings) -> Int? {
        settings.beamSize == 1 ? TransformerBatchDecoder.greedyImagesPerPass : nil
    }

    /// What `nightcap inspect` prints about the model.
    public var summary: String {
        let o = options
        return [
            "model            \(path)",
            "family           transformer (self-critical.pytorch caption_model transformer)",
            "infos            \(infosSource)",
            "encoder          \(o.encoderLayers) layers",
            "decoder          \(o.decoderLayers) layers",
            "heads            \(o.heads) (d_k = \(o.modelWidth / o.heads))",
            "sizes            d_model=\(o.modelWidth) d_ff=\(o.feedForwardWidth) D=\(featureDimension) positions=\(positions)",
            "parameters       \(parameterCount) in \(tensorCount) tensors",
            "vocabulary       \(o.vocabularySize) words + end token 0\(vocabulary.last == "UNK" ? ", UNK = \(o.vocabularySize)" : "")",
            "attention stored last decoder layer's cross-attention over the regions, averaged over the \(o.heads) heads",
        ].joined(separator: "\n")
    }
}

/// Decodes a batch in passes of at most `imagesPerPass` images, in order, the passes as equal as
/// possible (`passes(imageCount:imagesPerPass:)`). The key/value caches of a
/// pass grow with its hypotheses (N_dec x max length x d_model x 2 floats per hypothesis; reorders
/// move no cache, `TransformerStepper`), so a beam search's pass is bounded to about
/// `hypothesesPerPass` of them (63 MB per worker at the zoo's size: 6 layers, d_model 512, 20 words),
/// products of 128 rows keeping sgemm near its best rate; a greedy search's to `greedyImagesPerPass`
/// images (126 MB). The passes are a function of the batch alone, so results stay
/// reproducible (docs/decoder.md, "Determinism and batch size").
final class TransformerBatchDecoder: CaptionDecoding {
    static let hypothesesPerPass = 128
    /// A greedy search's pass: one hypothesis per image.
    static let greedyImagesPerPass = 256
    let decoder: any CaptionDecoding
    let imagesPerPass: Int

    init(decoder: any CaptionDecoding, imagesPerPass: Int) {
        self.decoder = decoder
        self.imagesPerPass = imagesPerPass
    }

    /// The images of each pass for a batch of `imageCount`: as few passes as `imagesPerPass` allows,
    /// of equal size give or take one (128 images at beam 5: 22, 22, 21, 21, 21, 21, not five of 25 and
    /// one of 3 whose products would have 15 rows).
    static func passes(imageCount: Int, imagesPerPass: Int) -> [Range<Int>] {
        guard imageCount > 0 else { return [] }
        let count = (imageCount + imagesPerPass - 1) / imagesPerPass
        let (size, larger) = imageCount.quotientAndRemainder(dividingBy: count)
        var first = 0
        return (0..<count).map { index in
            let end = first + size + (index < larger ? 1 : 0)
            defer { first = end }
            return first..<end
        }
    }

    func decode(batch: FeatureBatch) -> [ImageCaptionOutcome] {
        guard batch.imageCount > imagesPerPass else { return decoder.decode(batch: batch) }
        var outcomes: [ImageCaptionOutcome] = []
        outcomes.reserveCapacity(batch.imageCount)
        let stride = batch.maxRegions * batch.dimension
        let base = batch.features.startIndex
        for range in Self.passes(imageCount: batch.imageCount, imagesPerPass: imagesPerPass) {
            let (first, end) = (range.lowerBound, range.upperBound)
            let pass = FeatureBatch(
                imageIDs: Array(batch.imageIDs[first..<end]), maxRegions: batch.maxRegions, dimension: batch.dimension,
                features: batch.features[(base + first * stride)..<(base + end * stride)],
                regionCounts: Array(batch.regionCounts[first..<end]))
            outcomes += decoder.decode(batch: pass)
        }
        return outcomes
    }
}
