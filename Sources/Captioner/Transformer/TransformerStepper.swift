/// The Transformer's batched step behind the family seam (one per worker; owns its scratch
/// buffers), decoding incrementally: the keys and values of each hypothesis's prefix are kept per
/// decoder layer, each position in the slot of the row that computed it and found through the
/// hypothesis's ancestry when the search reorders hypotheses (nothing is copied), and each
/// image's encoder output is projected to keys and values once per decoder layer in `prepare`. A step
/// therefore runs one token per hypothesis through the decoder. Upstream re-decodes the whole prefix
/// at every step (`TransformerModel.core`); its decoder is causal, so the last position's output is
/// the same (the goldens check it).
final class TransformerStepper: DecoderStepper {
    let model: TransformerCaptionModel
    /// The positions a hypothesis can reach: the search's max length.
    let maxLength: Int
    var vocabularySize: Int { model.tokenCount }

    // Per batch: the encoder over all valid regions, packed image after image.
    private var maxRegions = 0
    private var regionOffsets: [Int] = []  // per batch image: its first packed row (-1: not usable)
    private var regionCounts: [Int] = []
    private var packedRegions = 0
    private let regionRows = ScratchBuffer<Float>(zero: 0)  // [T x D] valid region features
    private let encoded = ScratchBuffer<Float>(zero: 0)  // [T x d]
    private let normed = ScratchBuffer<Float>(zero: 0)  // [max(T, rows) x d]
    private let projections = ScratchBuffer<Float>(zero: 0)  // [max(T, rows) x 3d]
    private let mixed = ScratchBuffer<Float>(zero: 0)  // [max(T, rows) x d] attention output before linears.3
    private let sublayerOut = ScratchBuffer<Float>(zero: 0)  // [max(T, rows) x d]
    private let inner = ScratchBuffer<Float>(zero: 0)  // [max(T, rows) x d_ff]
    private let memory = ScratchBuffer<Float>(zero: 0)  // [N_dec x T x 2d]: keys | values of the encoder output
    private let weights = ScratchBuffer<Float>(zero: 0)  // [h x max(R, L)] one row's attention, head after head
    // Per step.
    private var position = 0  // of the rows of the last step
    private var rowCapacity = 0
    private let stream = ScratchBuffer<Float>(zero: 0)  // [rows x d] the residual stream
    private let logits = ScratchBuffer<Float>(zero: 0)  // [rows x V1]
    private let exponentials = ScratchBuffer<Float>(zero: 0)  // [V1]
    private let averaged = ScratchBuffer<Float>(zero: 0)  // [rows x R] last layer's cross-attention, head mean
    // Keys and values of every hypothesis-position: slot (row r, position t) holds what the row r
    // of step t wrote. A hypothesis's prefix is spread over the rows of its ancestors; `ancestry`
    // says where: [rows x L], the row whose slot holds each of its positions.
    private let cacheKeys = ScratchBuffer<Float>(zero: 0)  // [N_dec x rows x L x d]
    private let cacheValues = ScratchBuffer<Float>(zero: 0)
    private var ancestry = ScratchBuffer<Int32>(zero: 0)
    private var nextAncestry = ScratchBuffer<Int32>(zero: 0)
    private let offsets = ScratchBuffer<Int>(zero: 0)  // [rows x L] each row's prefix slots, in floats from a layer's cache

    var logProbs: UnsafeMutablePointer<Float> { logits.pointer }
    var attention: UnsafePointer<Float> { UnsafePointer(averaged.pointer) }

    init(model: TransformerCaptionModel, maxLength: Int) {
        precondition(maxLength <= model.positions, "max length \(maxLength) beyond the positional table: check with validate(settings:) first")
        self.model = model
        self.maxLength = maxLength
    }

    // MARK: - Building blocks

    /// `out = LN(x)` per row: `gain * (x - mean) / (std + 1e-6) + bias`, std unbiased (upstream's LayerNorm).
    private func layerNorm(_ x: UnsafePointer<Float>, rows: Int, _ norm: TransformerCaptionModel.Norm, into out: UnsafeMutablePointer<Float>) {
        norm.gain.withUnsafeBufferPointer { gain in
            norm.bias.withUnsafeBufferPointer { bias in
                TransformerKernels.layerNorm(
                    x, rows: rows, width: model.options.modelWidth, gain: gain.baseAddress!, bias: bias.baseAddress!, into: out)
            }
        }
    }

    /// `out[rows x n] = x · W + b` with an `[in, out]` weight whose rows hold `weightStride` floats
    /// (`n` of them used, from `weight`'s first column); with `relu`, then `max(out, 0)`.
    private func linear(
        _ x: UnsafePointer<Float>, rows: Int, inputs k: Int, _ weight: UnsafePointer<Float>, weightStride: Int,
        _ bias: UnsafePointer<Float>, outputs n: Int, into out: UnsafeMutablePointer<Float>, outStride: Int, relu: Bool = false
    ) {
        BLAS.multiply(rows: rows, outputs: n, inputs: k, x, xStride: k, weight, yStride: weightStride, into: out, cStride: outStride)
        TransformerKernels.addBias(out, rows: rows, outputs: n, stride: outStride, bias: bias, relu: relu)
    }

    private func linear(
        _ x: UnsafePointer<Float>, rows: Int, inputs k: Int, _ weight: [Float], _ bias: [Float], outputs n: Int,
        into out: UnsafeMutablePointer<Float>, outStride: Int, relu: Bool = false
    ) {
        weight.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { b in
                linear(
                    x, rows: rows, inputs: k, w.baseAddress!, weightStride: n, b.baseAddress!, outputs: n, into: out, outStride: outStride,
                    relu: relu)
            }
        }
    }

    /// `stream += x · W^T + b` (the sublayer's output computed first, then added, as upstream does).
    private func addSublayer(_ x: UnsafePointer<Float>, rows: Int, inputs k: Int, _ weight: [Float], _ bias: [Float], to stream: UnsafeMutablePointer<Float>) {
        let d = model.options.modelWidth
        linear(x, rows: rows, inputs: k, weight, bias, outputs: d, into: sublayerOut.pointer, outStride: d)
        let out = sublayerOut.pointer
        for i in 0..<(rows * d) { stream[i] += out[i] }
    }

    /// The pre-norm feed-forward sublayer: `stream += w_2(relu(w_1(LN(stream))))`.
    private func feedForward(_ ff: TransformerCaptionModel.FeedForward, norm: TransformerCaptionModel.Norm, rows: Int, stream: UnsafeMutablePointer<Float>) {
        let (d, f) = (model.options.modelWidth, model.options.feedForwardWidth)
        layerNorm(stream, rows: rows, norm, into: normed.pointer)
        linear(normed.pointer, rows: rows, inputs: d, ff.inner, ff.innerBias, outputs: f, into: inner.pointer, outStride: f, relu: true)
        addSublayer(inner.pointer, rows: rows, inputs: f, ff.outer, ff.outerBias, to: stream)
    }

    // MARK: - Per batch: the encoder

    /// `att_embed` (Linear + ReLU) of the valid regions, the encoder, and each decoder layer's key
    /// and value projections of the encoder output, once per image. Padded regions are never read:
    /// upstream masks them with -inf before its softmax, so they get weight exactly 0 there too.
    func prepare(batch: FeatureBatch, features: UnsafePointer<Float>, usable: [Bool], maxRows: Int) {
        let o = model.options
        let (d, D, h, L) = (o.modelWidth, model.featureDimension, o.heads, maxLength)
        let dk = d / h
        maxRegions = batch.maxRegions
        regionOffsets = []
        regionCounts = batch.regionCounts
        var total = 0
        for image in 0..<batch.imageCount {
            regionOffsets.append(usable[image] ? total : -1)
            if usable[image] { total += batch.regionCounts[image] }
        }
        packedRegions = total
        let widest = max(total, maxRows)
        regionRows.reserve(total * D)
        encoded.reserve(total * d)
        normed.reserve(widest * d)
        projections.reserve(widest * 3 * d)
        mixed.reserve(widest * d)
        sublayerOut.reserve(widest * d)
        inner.reserve(widest * o.feedForwardWidth)
        memory.reserve(o.decoderLayers * total * 2 * d)
        weights.reserve(h * max(batch.maxRegions, L))
        rowCapacity = maxRows
        for buffer in [cacheKeys, cacheValues] { buffer.reserve(o.decoderLayers * maxRows * L * d) }
        for buffer in [ancestry, nextAncestry] { buffer.reserve(maxRows * L) }
        offsets.reserve(maxRows * L)
        stream.reserve(maxRows * d)
        logits.reserve(maxRows * model.tokenCount)
        exponentials.reserve(model.tokenCount)
        averaged.reserve(maxRows * batch.maxRegions)
        position = 0

        for image in 0..<batch.imageCount where usable[image] {
            (regionRows.pointer + regionOffsets[image] * D).update(
                from: features + image * batch.maxRegions * D, count: batch.regionCounts[image] * D)
        }
        linear(
            regionRows.pointer, rows: total, inputs: D, model.regionEmbedding, model.regionEmbeddingBias, outputs: d, into: encoded.pointer,
            outStride: d, relu: true)

        let scale = Float(Double(dk).squareRoot())
        for layer in model.encoderLayers {
            layerNorm(encoded.pointer, rows: total, layer.norms[0], into: normed.pointer)
            let a = layer.selfAttention
            linear(normed.pointer, rows: total, inputs: d, a.input, a.inputBias, outputs: 3 * d, into: projections.pointer, outStride: 3 * d)
            for image in 0..<batch.imageCount where usable[image] {
                let first = regionOffsets[image]
                let count = batch.regionCounts[image]
                for row in first..<(first + count) {
                    TransformerKernels.attention(
                        query: projections.pointer + row * 3 * d, keys: projections.pointer + first * 3 * d + d,
                        values: projections.pointer + first * 3 * d + 2 * d, stride: 3 * d, count: count, heads: h, width: dk, scale: scale,
                        weights: weights.pointer, into: mixed.pointer + row * d)
                }
            }
            addSublayer(mixed.pointer, rows: total, inputs: d, a.output, a.outputBias, to: encoded.pointer)
            feedForward(layer.feedForward, norm: layer.norms[1], rows: total, stream: encoded.pointer)
        }
        layerNorm(encoded.pointer, rows: total, model.encoderNorm, into: normed.pointer)
        for (index, layer) in model.decoderLayers.enumerated() {
            // The key and value columns of the cross-attention's stacked input weights.
            let a = layer.sourceAttention
            a.input.withUnsafeBufferPointer { w in
                a.inputBias.withUnsafeBufferPointer { b in
                    linear(
                        normed.pointer, rows: total, inputs: d, w.baseAddress! + d, weightStride: 3 * d, b.baseAddress! + d, outputs: 2 * d,
                        into: memory.pointer + index * total * 2 * d, outStride: 2 * d)
                }
            }
        }
    }

    // MARK: - Per step

    /// Row `r` of the step continues row `parents[r]`: its prefix's slots are its parent's, and its
    /// own position `length` will be in its own row. Nothing of the caches moves: a slot is written
    /// once (row r at step t) and read by every descendant of that hypothesis.
    private func inherit(rows: Int, parents: UnsafePointer<Int32>, length: Int) {
        let L = maxLength
        for row in 0..<rows {
            let to = nextAncestry.pointer + row * L
            to.update(from: ancestry.pointer + Int(parents[row]) * L, count: length)
            to[length] = Int32(row)
        }
        swap(&ancestry, &nextAncestry)
    }

    /// One decoder position for `rows` hypotheses: all rows of a step are at the same position
    /// (0 for rows starting from the initial state, parent's + 1 otherwise), since both of
    /// upstream's searches advance every hypothesis together.
    func step(rows: Int, images: UnsafePointer<Int>, parents: UnsafePointer<Int32>, tokens: UnsafePointer<Int32>) {
        let (d, V1) = (model.options.modelWidth, model.tokenCount)
        advance(rows: rows, parents: parents)
        embed(rows: rows, tokens: tokens)
        averaged.pointer.update(repeating: 0, count: rows * maxRegions)
        for (index, layer) in model.decoderLayers.enumerated() {
            selfAttention(layer, index: index, rows: rows)
            sourceAttention(layer, index: index, rows: rows, images: images)
            feedForward(layer.feedForward, norm: layer.norms[2], rows: rows, stream: stream.pointer)
        }
        layerNorm(stream.pointer, rows: rows, model.decoderNorm, into: normed.pointer)
        model.projection.withUnsafeBufferPointer { w in
            BLAS.multiply(rows: rows, outputs: V1, inputs: d, normed.pointer, xStride: d, w.baseAddress!, yStride: V1, into: logits.pointer, cStride: V1)
        }
        model.projectionBias.withUnsafeBufferPointer { bias in
            for row in 0..<rows {
                Kernels.logSoftmax(logits.pointer + row * V1, bias: bias.baseAddress!, scratch: exponentials.pointer, count: V1)
            }
        }
    }

    /// The position of this step, each row's ancestry (its own row at position 0, its parent's
    /// otherwise) and from it the cache slot of each earlier position of each row.
    private func advance(rows: Int, parents: UnsafePointer<Int32>) {
        let (d, L) = (model.options.modelWidth, maxLength)
        precondition(rows <= rowCapacity, "more rows than prepare(maxRows:) allowed")
        precondition(parents[0] < 0 || position + 1 < L, "a hypothesis beyond the max length the stepper was made for")
        if parents[0] < 0 {
            position = 0
            for row in 0..<rows { ancestry[row * L] = Int32(row) }
        } else {
            position += 1
            inherit(rows: rows, parents: parents, length: position)
        }
        for row in 0..<rows {
            let slots = offsets.pointer + row * L
            let rowsOf = ancestry.pointer + row * L
            for t in 0...position { slots[t] = (Int(rowsOf[t]) * L + t) * d }
        }
    }

    /// The stream of each row: its token's embedding scaled by sqrt(d_model) plus the position's encoding.
    private func embed(rows: Int, tokens: UnsafePointer<Int32>) {
        let d = model.options.modelWidth
        let p = position
        let embeddingScale = Float(Double(d).squareRoot())
        model.wordEmbedding.withUnsafeBufferPointer { lut in
            model.positionalEncoding.withUnsafeBufferPointer { pe in
                for row in 0..<rows {
                    let x = stream.pointer + row * d
                    let w = lut.baseAddress! + Int(tokens[row]) * d
                    let at = pe.baseAddress! + p * d
                    for i in 0..<d { x[i] = w[i] * embeddingScale + at[i] }
                }
            }
        }
    }

    /// Masked self-attention over the prefix: this token's key and value join the cache.
    private func selfAttention(_ layer: TransformerCaptionModel.DecoderLayer, index: Int, rows: Int) {
        let o = model.options
        let (d, h, L, p) = (o.modelWidth, o.heads, maxLength, position)
        let dk = d / h
        let scale = Float(Double(dk).squareRoot())
        layerNorm(stream.pointer, rows: rows, layer.norms[0], into: normed.pointer)
        let a = layer.selfAttention
        linear(normed.pointer, rows: rows, inputs: d, a.input, a.inputBias, outputs: 3 * d, into: projections.pointer, outStride: 3 * d)
        let layerBase = index * rowCapacity * L * d
        for row in 0..<rows {
            let slot = layerBase + (row * L + p) * d
            (cacheKeys.pointer + slot).update(from: projections.pointer + row * 3 * d + d, count: d)
            (cacheValues.pointer + slot).update(from: projections.pointer + row * 3 * d + 2 * d, count: d)
        }
        for row in 0..<rows {
            TransformerKernels.attention(
                query: projections.pointer + row * 3 * d, keys: cacheKeys.pointer + layerBase, values: cacheValues.pointer + layerBase,
                stride: d, offsets: offsets.pointer + row * L, count: p + 1, heads: h, width: dk, scale: scale, weights: weights.pointer,
                into: mixed.pointer + row * d)
        }
        addSublayer(mixed.pointer, rows: rows, inputs: d, a.output, a.outputBias, to: stream.pointer)
    }

    /// Attention over the image's regions, with keys and values computed once per image; the last
    /// layer's weights, averaged over the heads, are the step's attention.
    private func sourceAttention(_ layer: TransformerCaptionModel.DecoderLayer, index: Int, rows: Int, images: UnsafePointer<Int>) {
        let o = model.options
        let (d, h, R) = (o.modelWidth, o.heads, maxRegions)
        let dk = d / h
        let scale = Float(Double(dk).squareRoot())
        layerNorm(stream.pointer, rows: rows, layer.norms[1], into: normed.pointer)
        let s = layer.sourceAttention
        s.input.withUnsafeBufferPointer { w in
            s.inputBias.withUnsafeBufferPointer { b in
                linear(normed.pointer, rows: rows, inputs: d, w.baseAddress!, weightStride: 3 * d, b.baseAddress!, outputs: d, into: projections.pointer, outStride: d)
            }
        }
        let last = index == model.decoderLayers.count - 1
        for row in 0..<rows {
            let first = regionOffsets[images[row]]
            let count = regionCounts[images[row]]
            let keys = memory.pointer + (index * packedRegions + first) * 2 * d
            let values = keys + d
            let target = averaged.pointer + row * R
            TransformerKernels.attention(
                query: projections.pointer + row * d, keys: keys, values: values, stride: 2 * d, count: count, heads: h, width: dk,
                scale: scale, weights: weights.pointer, into: mixed.pointer + row * d)
            if last {
                // The head mean, heads summed in order from 0.
                for head in 0..<h {
                    let w = weights.pointer + head * count
                    for j in 0..<count { target[j] += w[j] }
                }
                for j in 0..<count { target[j] /= Float(h) }
            }
        }
        addSublayer(mixed.pointer, rows: rows, inputs: d, s.output, s.outputBias, to: stream.pointer)
    }
}
