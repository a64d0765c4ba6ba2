#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Decodes batches of images with a `TransformerCaptionModel`, incrementally: each hypothesis keeps
/// the keys and values of its prefix per decoder layer (reordered with the beams), and each image's
/// encoder output is projected to keys and values once per layer, so a step runs one token per
/// hypothesis through the decoder. Upstream re-decodes the whole prefix at every step
/// (`TransformerModel.core`); because its decoder is causal, the last position's output is the same.
///
/// One decoder per worker thread: it owns its scratch buffers, so it is not `Sendable`.
public final class TransformerDecoder {
    public let model: TransformerCaptionModel
    public let search: SelfCriticalSearch

    // Per batch: the encoder over all valid regions, packed image after image.
    private let regionRows = ScratchBuffer<Float>(zero: 0)  // [T x D] valid region features
    private let encoded = ScratchBuffer<Float>(zero: 0)  // [T x d]
    private let normed = ScratchBuffer<Float>(zero: 0)  // [max(T, rows) x d]
    private let projections = ScratchBuffer<Float>(zero: 0)  // [max(T, rows) x 3d]
    private let mixed = ScratchBuffer<Float>(zero: 0)  // [max(T, rows) x d] attention output before linears.3
    private let sublayerOut = ScratchBuffer<Float>(zero: 0)  // [max(T, rows) x d]
    private let inner = ScratchBuffer<Float>(zero: 0)  // [max(T, rows) x d_ff]
    private let memoryKeys = ScratchBuffer<Float>(zero: 0)  // [N_dec x T x d]
    private let memoryValues = ScratchBuffer<Float>(zero: 0)
    private let weights = ScratchBuffer<Float>(zero: 0)  // [max(R, L)] one head's attention
    // Per step.
    private let state = ScratchBuffer<Float>(zero: 0)  // [rows x d] the residual stream
    private let logits = ScratchBuffer<Float>(zero: 0)  // [rows x V1]
    private let exponentials = ScratchBuffer<Float>(zero: 0)  // [V1]
    private let zeroBias = ScratchBuffer<Float>(zero: 0)  // [V1]
    private var cacheKeys = ScratchBuffer<Float>(zero: 0)  // [N_dec x rows x L x d]
    private var cacheValues = ScratchBuffer<Float>(zero: 0)
    private var spareKeys = ScratchBuffer<Float>(zero: 0)
    private var spareValues = ScratchBuffer<Float>(zero: 0)

    /// Checks the settings against the model (the positional table must cover the max length).
    public init(model: TransformerCaptionModel, search: SelfCriticalSearch) throws {
        try model.validate(maxLength: search.maxLength)
        self.model = model
        self.search = search
    }

    /// Captions every image of `batch`. An image whose features are not finite, or whose region
    /// count is out of range, fails alone; the others are decoded as if it were not there.
    public func decode(batch: FeatureBatch) -> [ImageCaptionOutcome] {
        precondition(
            batch.dimension == model.featureDimension,
            "features of D=\(batch.dimension) for a model of D=\(model.featureDimension): check with validate(featureDimension:) first")
        var outcomes: [ImageCaptionOutcome?] = Array(repeating: nil, count: batch.imageCount)
        var usable: [Int] = []
        batch.features.withUnsafeBufferPointer { features in
            for image in 0..<batch.imageCount {
                if let reason = BatchDecoder.problem(of: image, in: batch, features: features.baseAddress!) {
                    outcomes[image] = .failed(ImageDecodeFailure(imageID: batch.imageIDs[image], reason: reason))
                } else {
                    usable.append(image)
                }
            }
            guard !usable.isEmpty else { return }
            let context = encode(batch: batch, images: usable, features: features.baseAddress!)
            let captions = search.beamSize == 1 ? greedy(context) : beamSearch(context)
            for (index, caption) in captions.enumerated() { outcomes[usable[index]] = .captioned(caption) }
        }
        return outcomes.map { $0! }
    }

    /// The encoded images of a batch: image `i` (of the usable ones) owns rows
    /// `offsets[i] ..< offsets[i] + counts[i]` of `memoryKeys`/`memoryValues`.
    private struct Encoded {
        var offsets: [Int]
        var counts: [Int]
        var maxRegions: Int
    }

    // MARK: - Building blocks

    /// `out = LN(x)` per row: `gain * (x - mean) / (std + 1e-6) + bias`, std unbiased (upstream's LayerNorm).
    private func layerNorm(_ x: UnsafePointer<Float>, rows: Int, _ norm: TransformerCaptionModel.Norm, into out: UnsafeMutablePointer<Float>) {
        let d = model.options.modelWidth
        norm.gain.withUnsafeBufferPointer { gain in
            norm.bias.withUnsafeBufferPointer { bias in
                for row in 0..<rows {
                    let v = x + row * d
                    let o = out + row * d
                    let mean = Kernels.sum(v, count: d) / Float(d)
                    var squares: Float = 0
                    for i in 0..<d {
                        let c = v[i] - mean
                        squares += c * c
                    }
                    let std = (squares / Float(d - 1)).squareRoot()
                    let denominator = std + 1e-6
                    for i in 0..<d { o[i] = gain[i] * (v[i] - mean) / denominator + bias[i] }
                }
            }
        }
    }

    /// `out[rows x n] = x · W^T + b` with PyTorch's `[n x k]` weight.
    private func linear(
        _ x: UnsafePointer<Float>, rows: Int, inputs k: Int, _ weight: [Float], _ bias: [Float], outputs n: Int,
        into out: UnsafeMutablePointer<Float>, outStride: Int
    ) {
        weight.withUnsafeBufferPointer { w in
            BLAS.multiplyTransposed(
                rows: rows, outputs: n, inputs: k, x, xStride: k, w.baseAddress!, wStride: k, into: out, cStride: outStride)
        }
        bias.withUnsafeBufferPointer { b in
            for row in 0..<rows {
                let o = out + row * outStride
                for j in 0..<n { o[j] += b[j] }
            }
        }
    }

    /// `softmax(scores)` in place over `count` values (max subtracted first, as torch does).
    private static func softmax(_ scores: UnsafeMutablePointer<Float>, count: Int) {
        var largest = -Float.infinity
        for i in 0..<count where scores[i] > largest { largest = scores[i] }
        var total: Float = 0
        for i in 0..<count {
            let e = Kernels.exp(scores[i] - largest)
            scores[i] = e
            total += e
        }
        for i in 0..<count { scores[i] /= total }
    }

    /// One head's attention of `query` over `count` keys/values (rows of stride `stride`, the head's
    /// slice at `query`'s offset): the weights go to `weights`, the weighted values to `out`.
    private static func attend(
        query: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, stride: Int, count: Int,
        width dk: Int, scale: Float, weights: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>
    ) {
        for j in 0..<count { weights[j] = Kernels.dot(query, keys + j * stride, count: dk) / scale }
        softmax(weights, count: count)
        for i in 0..<dk { out[i] = 0 }
        for j in 0..<count {
            let a = weights[j]
            let v = values + j * stride
            for i in 0..<dk { out[i] += a * v[i] }
        }
    }

    // MARK: - Encoder

    /// `att_embed`, the encoder and each decoder layer's key and value projections of its output,
    /// once per image.
    private func encode(batch: FeatureBatch, images: [Int], features: UnsafePointer<Float>) -> Encoded {
        let o = model.options
        let (d, D, h) = (o.modelWidth, model.featureDimension, o.heads)
        let dk = d / h
        var offsets: [Int] = []
        var counts: [Int] = []
        var total = 0
        for image in images {
            offsets.append(total)
            counts.append(batch.regionCounts[image])
            total += batch.regionCounts[image]
        }
        let maxRegions = counts.max() ?? 1
        let widest = max(total, images.count * search.beamSize)
        regionRows.reserve(total * D)
        encoded.reserve(total * d)
        normed.reserve(widest * d)
        projections.reserve(widest * 3 * d)
        mixed.reserve(widest * d)
        sublayerOut.reserve(widest * d)
        inner.reserve(widest * o.feedForwardWidth)
        memoryKeys.reserve(o.decoderLayers * total * d)
        memoryValues.reserve(o.decoderLayers * total * d)
        weights.reserve(max(maxRegions, search.maxLength))
        for (index, image) in images.enumerated() {
            (regionRows.pointer + offsets[index] * D).update(from: features + image * batch.maxRegions * D, count: counts[index] * D)
        }
        linear(regionRows.pointer, rows: total, inputs: D, model.regionEmbedding, model.regionEmbeddingBias, outputs: d, into: encoded.pointer, outStride: d)
        for i in 0..<(total * d) where encoded[i] < 0 { encoded[i] = 0 }

        let scale = Float(Double(dk).squareRoot())
        for layer in model.encoderLayers {
            layerNorm(encoded.pointer, rows: total, layer.norms[0], into: normed.pointer)
            let a = layer.selfAttention
            for part in 0..<3 {
                linear(normed.pointer, rows: total, inputs: d, a.weights[part], a.biases[part], outputs: d, into: projections.pointer + part * d, outStride: 3 * d)
            }
            for (index, count) in counts.enumerated() {
                let first = offsets[index]
                for row in first..<(first + count) {
                    for head in 0..<h {
                        let column = head * dk
                        Self.attend(
                            query: projections.pointer + row * 3 * d + column,
                            keys: projections.pointer + first * 3 * d + d + column,
                            values: projections.pointer + first * 3 * d + 2 * d + column, stride: 3 * d, count: count,
                            width: dk, scale: scale, weights: weights.pointer, into: mixed.pointer + row * d + column)
                    }
                }
            }
            addSublayer(mixed.pointer, rows: total, inputs: d, a.weights[3], a.biases[3], to: encoded.pointer)
            feedForward(layer.feedForward, norm: layer.norms[1], rows: total, stream: encoded.pointer)
        }
        layerNorm(encoded.pointer, rows: total, model.encoderNorm, into: normed.pointer)
        for (index, layer) in model.decoderLayers.enumerated() {
            let a = layer.sourceAttention
            linear(normed.pointer, rows: total, inputs: d, a.weights[1], a.biases[1], outputs: d, into: memoryKeys.pointer + index * total * d, outStride: d)
            linear(normed.pointer, rows: total, inputs: d, a.weights[2], a.biases[2], outputs: d, into: memoryValues.pointer + index * total * d, outStride: d)
        }
        return Encoded(offsets: offsets, counts: counts, maxRegions: maxRegions)
    }

    /// `stream += x · W^T + b` (the sublayer's output computed first, then added, as upstream does).
    private func addSublayer(_ x: UnsafePointer<Float>, rows: Int, inputs k: Int, _ weight: [Float], _ bias: [Float], to stream: UnsafeMutablePointer<Float>) {
        let d = model.options.modelWidth
        linear(x, rows: rows, inputs: k, weight, bias, outputs: d, into: sublayerOut.pointer, outStride: d)
        for i in 0..<(rows * d) { stream[i] += sublayerOut[i] }
    }

    /// The pre-norm feed-forward sublayer: `stream += w_2(relu(w_1(LN(stream))))`.
    private func feedForward(_ ff: TransformerCaptionModel.FeedForward, norm: TransformerCaptionModel.Norm, rows: Int, stream: UnsafeMutablePointer<Float>) {
        let (d, f) = (model.options.modelWidth, model.options.feedForwardWidth)
        layerNorm(stream, rows: rows, norm, into: normed.pointer)
        linear(normed.pointer, rows: rows, inputs: d, ff.inner, ff.innerBias, outputs: f, into: inner.pointer, outStride: f)
        for i in 0..<(rows * f) where inner[i] < 0 { inner[i] = 0 }
        addSublayer(inner.pointer, rows: rows, inputs: f, ff.outer, ff.outerBias, to: stream)
    }

    // MARK: - Decoder step

    private func reserveSteps(rows: Int) {
        let o = model.options
        let size = o.decoderLayers * rows * search.maxLength * o.modelWidth
        for buffer in [cacheKeys, cacheValues, spareKeys, spareValues] { buffer.reserve(size) }
        state.reserve(rows * o.modelWidth)
        logits.reserve(rows * model.tokenCount)
        exponentials.reserve(model.tokenCount)
        zeroBias.reserve(model.tokenCount)
        for v in 0..<model.tokenCount { zeroBias[v] = 0 }
    }

    /// Keeps the prefix caches (positions `0..<length`) of rows `parents[i]` as rows `i`.
    private func reorderCaches(parents: [Int], length: Int) {
        let o = model.options
        let (d, L) = (o.modelWidth, search.maxLength)
        let capacity = cacheKeys.capacity / max(1, o.decoderLayers * L * d)
        for layer in 0..<o.decoderLayers {
            for (row, parent) in parents.enumerated() {
                let to = ((layer * capacity + row) * L) * d
                let from = ((layer * capacity + parent) * L) * d
                (spareKeys.pointer + to).update(from: cacheKeys.pointer + from, count: length * d)
                (spareValues.pointer + to).update(from: cacheValues.pointer + from, count: length * d)
            }
        }
        swap(&cacheKeys, &spareKeys)
        swap(&cacheValues, &spareValues)
    }

    /// One decoder step at `position` for `rows` hypotheses: `tokens[r]` enters row r, whose image is
    /// `images[r]` (an index into the encoded images). Fills `logits` with log-probabilities and
    /// `attention` (rows x maxRegions) with the last layer's cross-attention averaged over heads.
    private func step(position p: Int, tokens: [Int], images: [Int], encoded e: Encoded, attention: UnsafeMutablePointer<Float>) {
        let o = model.options
        let (d, h, L, V1) = (o.modelWidth, o.heads, search.maxLength, model.tokenCount)
        let dk = d / h
        let rows = tokens.count
        let R = e.maxRegions
        let capacity = cacheKeys.capacity / max(1, o.decoderLayers * L * d)
        let total = e.offsets.last! + e.counts.last!
        let scale = Float(Double(dk).squareRoot())
        let embeddingScale = Float(Double(d).squareRoot())
        model.wordEmbedding.withUnsafeBufferPointer { lut in
            model.positionalEncoding.withUnsafeBufferPointer { pe in
                for row in 0..<rows {
                    let x = state.pointer + row * d
                    let w = lut.baseAddress! + tokens[row] * d
                    let position = pe.baseAddress! + p * d
                    for i in 0..<d { x[i] = w[i] * embeddingScale + position[i] }
                }
            }
        }
        attention.update(repeating: 0, count: rows * R)
        for (index, layer) in model.decoderLayers.enumerated() {
            // Masked self-attention over the prefix: this token's key and value join the cache.
            layerNorm(state.pointer, rows: rows, layer.norms[0], into: normed.pointer)
            let a = layer.selfAttention
            for part in 0..<3 {
                linear(normed.pointer, rows: rows, inputs: d, a.weights[part], a.biases[part], outputs: d, into: projections.pointer + part * d, outStride: 3 * d)
            }
            for row in 0..<rows {
                let base = ((index * capacity + row) * L) * d
                (cacheKeys.pointer + base + p * d).update(from: projections.pointer + row * 3 * d + d, count: d)
                (cacheValues.pointer + base + p * d).update(from: projections.pointer + row * 3 * d + 2 * d, count: d)
                for head in 0..<h {
                    let column = head * dk
                    Self.attend(
                        query: projections.pointer + row * 3 * d + column, keys: cacheKeys.pointer + base + column,
                        values: cacheValues.pointer + base + column, stride: d, count: p + 1, width: dk, scale: scale,
                        weights: weights.pointer, into: mixed.pointer + row * d + column)
                }
            }
            addSublayer(mixed.pointer, rows: rows, inputs: d, a.weights[3], a.biases[3], to: state.pointer)

            // Attention over the image's regions, with keys and values computed once per image.
            layerNorm(state.pointer, rows: rows, layer.norms[1], into: normed.pointer)
            let s = layer.sourceAttention
            linear(normed.pointer, rows: rows, inputs: d, s.weights[0], s.biases[0], outputs: d, into: projections.pointer, outStride: d)
            let last = index == model.decoderLayers.count - 1
            for row in 0..<rows {
                let image = images[row]
                let first = e.offsets[image]
                let count = e.counts[image]
                let keys = memoryKeys.pointer + (index * total + first) * d
                let values = memoryValues.pointer + (index * total + first) * d
                for head in 0..<h {
                    let column = head * dk
                    Self.attend(
                        query: projections.pointer + row * d + column, keys: keys + column, values: values + column, stride: d,
                        count: count, width: dk, scale: scale, weights: weights.pointer, into: mixed.pointer + row * d + column)
                    if last {
                        let target = attention + row * R
                        for j in 0..<count { target[j] += weights[j] }
                    }
                }
                if last {
                    let target = attention + row * R
                    for j in 0..<count { target[j] /= Float(h) }
                }
            }
            addSublayer(mixed.pointer, rows: rows, inputs: d, s.weights[3], s.biases[3], to: state.pointer)
            feedForward(layer.feedForward, norm: layer.norms[2], rows: rows, stream: state.pointer)
        }
        layerNorm(state.pointer, rows: rows, model.decoderNorm, into: normed.pointer)
        model.projection.withUnsafeBufferPointer { w in
            BLAS.multiplyTransposed(
                rows: rows, outputs: V1, inputs: d, normed.pointer, xStride: d, w.baseAddress!, wStride: d, into: logits.pointer, cStride: V1)
        }
        model.projectionBias.withUnsafeBufferPointer { bias in
            for row in 0..<rows {
                Kernels.logSoftmax(logits.pointer + row * V1, bias: bias.baseAddress!, scratch: exponentials.pointer, count: V1)
            }
        }
    }

    // MARK: - Search

    private var badEndingTokens: [Bool] {
        model.vocabulary.map { SelfCriticalSearch.decodingBadEndings.contains($0) }
    }

    /// A caption from its tokens (without the end token), the attention row of each, and the
    /// summed log-probability; `decode_sequence`'s bad-ending stripping applied when asked.
    private func caption(tokens: [Int], attention: [[Float]], logProb: Float, ended: Bool) -> GeneratedCaption {
        var words = tokens.map { model.word($0) }
        var kept = tokens.count
        if search.removeBadEndings { kept = SelfCriticalSearch.keptWordCount(words) }
        words = Array(words[..<kept])
        return GeneratedCaption(
            tokens: Array(tokens[..<kept]), words: words, logProb: logProb, ended: ended, attention: Array(attention[..<kept]))
    }

    /// `AttModel._sample` with `sample_method` greedy: the most likely word at each step (the first
    /// on a tie, as `torch.max`), the end token forbidden after a bad ending when asked, at most
    /// `maxLength` words. (Greedy does not suppress UNK, as upstream.)
    private func greedy(_ e: Encoded) -> [GeneratedCaption] {
        let images = e.offsets.count
        let (L, V1, R) = (search.maxLength, model.tokenCount, e.maxRegions)
        reserveSteps(rows: images)
        let bad = badEndingTokens
        var live = Array(0..<images)
        var tokens = [Int](repeating: 0, count: images)  // the start token
        var words = [[Int]](repeating: [], count: images)
        var attention = [[[Float]]](repeating: [], count: images)
        var sums = [Float](repeating: 0, count: images)
        var ended = [Bool](repeating: false, count: images)
        let attentionRows = ScratchBuffer<Float>(zero: 0)
        attentionRows.reserve(images * R)
        for t in 0..<L {
            step(position: t, tokens: tokens, images: live, encoded: e, attention: attentionRows.pointer)
            var keep: [Int] = []
            var nextTokens: [Int] = []
            for (row, image) in live.enumerated() {
                let logp = logits.pointer + row * V1
                if search.removeBadEndings && t > 0 && bad[tokens[row]] { logp[0] = -.infinity }
                var best = 0
                for v in 1..<V1 where logp[v] > logp[best] { best = v }
                sums[image] += logp[best]
                if best == 0 {
                    ended[image] = true
                    continue
                }
                words[image].append(best)
                attention[image].append(Array(UnsafeBufferPointer(start: attentionRows.pointer + row * R, count: e.counts[image])))
                keep.append(row)
                nextTokens.append(best)
            }
            if keep.isEmpty || t == L - 1 { break }
            reorderCaches(parents: keep, length: t + 1)
            live = keep.map { live[$0] }
            tokens = nextTokens
        }
        return (0..<images).map { caption(tokens: words[$0], attention: attention[$0], logProb: sums[$0], ended: ended[$0]) }
    }

    /// A beam that `beam_search` copied to `done_beams`: found at iteration `t` as beam `beam`.
    private struct Done {
        var score: Double
        var sum: Float
        var iteration: Int
        var beam: Int
    }

    /// `CaptionModel.beam_search` with `group_size` 1, per image: the first step from the start
    /// token seeds `beamSize` beams from one row; then every iteration edits the log-probabilities
    /// (bad endings -> -inf, UNK - 1000), keeps the best `beamSize` of all beams' candidates (ties:
    /// lower beam, then lower token), copies beams that emit the end token or reach the max length to
    /// the finished list with their length-penalised score and lowers their sum by 1000, and steps the
    /// beams (whose log-probabilities pass through log_softmax twice, as upstream's do). The caption
    /// is the finished beam with the highest score, the first on a tie (Python's stable sort).
    private func beamSearch(_ e: Encoded) -> [GeneratedCaption] {
        let images = e.offsets.count
        let (B, L, V1, R) = (search.beamSize, search.maxLength, model.tokenCount, e.maxRegions)
        reserveSteps(rows: images * B)
        let bad = badEndingTokens
        let suppressIndex = search.suppressUnknown && model.vocabulary[V1 - 1] == "UNK" ? V1 - 1 : nil
        // Traces: the rows of position t are `rowsAt[t]`; beam v of iteration t (row v of position
        // t + 1) came from row `parents[t][v]` of position t with word `chosen[t][v]`.
        let attentionTrace = ScratchBuffer<Float>(zero: 0)
        attentionTrace.reserve(L * images * B * R)
        var parents: [[Int]] = []
        var chosen: [[Int]] = []
        var rowImages = Array(0..<images)  // rows of position 0: one per image
        var tokens = [Int](repeating: 0, count: images)
        var sums = [Float](repeating: 0, count: images)
        var done = [[Done]](repeating: [], count: images)
        let rowStride = images * B * R

        step(position: 0, tokens: tokens, images: rowImages, encoded: e, attention: attentionTrace.pointer)
        for t in 0..<L {
            let rowsPerImage = t == 0 ? 1 : B
            var nextParents: [Int] = []
            var nextWords: [Int] = []
            var nextSums: [Float] = []
            var nextImages: [Int] = []
            var candidates: [(score: Float, flat: Int)] = []
            candidates.reserveCapacity(rowsPerImage * V1)
            for image in 0..<images {
                let firstRow = image * rowsPerImage
                candidates.removeAll(keepingCapacity: true)
                for j in 0..<rowsPerImage {
                    let row = firstRow + j
                    let logp = logits.pointer + row * V1
                    if search.removeBadEndings && t > 0 && bad[tokens[row]] { logp[0] = -.infinity }
                    if let unknown = suppressIndex { logp[unknown] -= 1000 }
                    for v in 0..<V1 { candidates.append((sums[row] + logp[v], j * V1 + v)) }
                }
                // torch.sort(descending) with ties in index order; NaN never occurs (log-softmax of finite logits).
                let kept = candidates.sorted { $0.score > $1.score || ($0.score == $1.score && $0.flat < $1.flat) }.prefix(B)
                for candidate in kept {
                    let word = candidate.flat % V1
                    var sum = candidate.score
                    if word == 0 || t == L - 1 {
                        done[image].append(Done(score: search.lengthPenalty.score(length: t + 1, sum: sum), sum: sum, iteration: t, beam: nextParents.count))
                        sum -= 1000
                    }
                    nextParents.append(firstRow + candidate.flat / V1)
                    nextWords.append(word)
                    nextSums.append(sum)
                    nextImages.append(image)
                }
            }
            parents.append(nextParents)
            chosen.append(nextWords)
            if t == L - 1 { break }
            reorderCaches(parents: nextParents, length: t + 1)
            tokens = nextWords
            sums = nextSums
            rowImages = nextImages
            step(position: t + 1, tokens: tokens, images: rowImages, encoded: e, attention: attentionTrace.pointer + (t + 1) * rowStride)
            for row in 0..<tokens.count {
                // get_logprobs_state's log_softmax, then beam_search's second one.
                Kernels.logSoftmax(logits.pointer + row * V1, bias: zeroBias.pointer, scratch: exponentials.pointer, count: V1)
            }
        }

        return (0..<images).map { image in
            var best = done[image][0]
            for candidate in done[image].dropFirst() where candidate.score > best.score { best = candidate }
            // Follow the beam back: word t of the caption came from row parents[t][beam] of position t.
            var words: [Int] = []
            var rows: [[Float]] = []
            var beam = best.beam
            var t = best.iteration
            while t >= 0 {
                let parent = parents[t][beam]
                words.append(chosen[t][beam])
                rows.append(Array(UnsafeBufferPointer(start: attentionTrace.pointer + t * rowStride + parent * R, count: e.counts[image])))
                beam = parent
                t -= 1
            }
            words.reverse()
            rows.reverse()
            let ended = words.contains(0)
            if let end = words.firstIndex(of: 0) {
                words = Array(words[..<end])
                rows = Array(rows[..<end])
            }
            return caption(tokens: words, attention: rows, logProb: best.sum, ended: ended)
        }
    }
}
