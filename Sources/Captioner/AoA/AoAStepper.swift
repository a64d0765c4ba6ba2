/// AoANet's batched step behind the family seam (one per worker; owns its scratch buffers). The
/// state of a row is upstream's `(h_att, c_att)` of the attention LSTM and the context `ctx` fed
/// back at the next step (with `decoder_type` LSTM also that cell's `c`); a step reads the state
/// of each row's parent. `prepare` runs the encoder (region embedding, refiner, pooled input, the
/// keys and values of the refined regions) once per image, over its valid regions only: upstream
/// masks padded regions with -inf (multi-head) or zeroes and renormalises their weights
/// (additive), so they take no part in any valid row's result.
final class AoAStepper: DecoderStepper {
    let model: AoAModel
    var vocabularySize: Int { model.tokenCount }

    // Per batch: the valid regions of the usable images, packed image after image.
    private var maxRegions = 0
    private var regionOffsets: [Int] = []  // per batch image: its first packed row (-1: not usable)
    private var regionCounts: [Int] = []
    private let regionRows = ScratchBuffer<Float>(zero: 0)  // [T x D]
    private let refined = ScratchBuffer<Float>(zero: 0)  // [T x R] the refiner's output (or the embedded regions)
    private let stream = ScratchBuffer<Float>(zero: 0)  // [T x R] the refiner's residual stream
    private let normed = ScratchBuffer<Float>(zero: 0)  // [max(T, rows) x R]
    private let projections = ScratchBuffer<Float>(zero: 0)  // [T x 3sR] query | key | value
    private let mixed = ScratchBuffer<Float>(zero: 0)  // [T x (sR + R)] attention | query (the AoA gate's input)
    private let gated = ScratchBuffer<Float>(zero: 0)  // [max(T, rows) x 4R]
    private let keys = ScratchBuffer<Float>(zero: 0)  // [T x 2sR] ctx2att: values | keys (or [T x A])
    private let pooled = ScratchBuffer<Float>(zero: 0)  // [N x D] fc (mean_feats 0)
    private let pooledEmbedded = ScratchBuffer<Float>(zero: 0)  // [N x R] v̄
    private let headWeights = ScratchBuffer<Float>(zero: 0)  // [h x K]
    // Per step.
    private var state = (hAtt: ScratchBuffer<Float>(zero: 0), cAtt: ScratchBuffer<Float>(zero: 0),
                         context: ScratchBuffer<Float>(zero: 0), cell: ScratchBuffer<Float>(zero: 0))
    private var next = (hAtt: ScratchBuffer<Float>(zero: 0), cAtt: ScratchBuffer<Float>(zero: 0),
                        context: ScratchBuffer<Float>(zero: 0), cell: ScratchBuffer<Float>(zero: 0))
    private let lstmInput = ScratchBuffer<Float>(zero: 0)  // [rows x (E + 2R)] x | v̄ + ctx | h_att
    private let previousCell = ScratchBuffer<Float>(zero: 0)  // [rows x R]
    private let queries = ScratchBuffer<Float>(zero: 0)  // [rows x sR] (or [rows x A])
    private let contextInput = ScratchBuffer<Float>(zero: 0)  // [rows x (sR + 2R)] att | h_att (| ctx)
    private let activated = ScratchBuffer<Float>(zero: 0)  // [A]
    private let scores = ScratchBuffer<Float>(zero: 0)  // [K]
    private let weights = ScratchBuffer<Float>(zero: 0)  // [rows x K] the stored attention
    private let logitInput = ScratchBuffer<Float>(zero: 0)  // [rows x R] ctx + h_att (out_res)
    private let logits = ScratchBuffer<Float>(zero: 0)  // [rows x V1]
    private let exponentials = ScratchBuffer<Float>(zero: 0)  // [V1]

    var logProbs: UnsafeMutablePointer<Float> { logits.pointer }
    var attention: UnsafePointer<Float> { UnsafePointer(weights.pointer) }

    init(model: AoAModel) {
        self.model = model
    }

    // MARK: - Building blocks

    /// `out[rows x n] = x · W^T + b` with PyTorch's `[out, in]` weight; with `relu`, then `max(out, 0)`.
    private func linear(
        _ x: UnsafePointer<Float>, rows: Int, inputs k: Int, xStride: Int? = nil, _ weight: [Float], _ bias: [Float], outputs n: Int,
        into out: UnsafeMutablePointer<Float>, outStride: Int? = nil, relu: Bool = false
    ) {
        guard rows > 0 else { return }
        weight.withUnsafeBufferPointer { w in
            BLAS.multiplyTransposed(
                rows: rows, outputs: n, inputs: k, x, xStride: xStride ?? k, w.baseAddress!, wStride: k, into: out, cStride: outStride ?? n)
        }
        bias.withUnsafeBufferPointer { b in
            TransformerKernels.addBias(out, rows: rows, outputs: n, stride: outStride ?? n, bias: b.baseAddress!, relu: relu)
        }
    }

    /// upstream's LayerNorm over rows of R.
    private func layerNorm(_ x: UnsafePointer<Float>, rows: Int, _ norm: AoAModel.Norm, into out: UnsafeMutablePointer<Float>) {
        guard rows > 0 else { return }
        norm.gain.withUnsafeBufferPointer { gain in
            norm.bias.withUnsafeBufferPointer { bias in
                TransformerKernels.layerNorm(x, rows: rows, width: model.options.rnnSize, gain: gain.baseAddress!, bias: bias.baseAddress!, into: out)
            }
        }
    }

    /// `nn.GLU` of rows of `2R` (stride `2R`) into rows of R (stride `outStride`): `a * sigmoid(b)`.
    private func glu(_ x: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>, outStride: Int, accumulate: Bool) {
        let R = model.options.rnnSize
        for row in 0..<rows {
            let a = x + row * 2 * R
            let o = out + row * outStride
            for j in 0..<R {
                let value = a[j] * Kernels.sigmoid(a[R + j])
                o[j] = accumulate ? o[j] + value : value
            }
        }
    }

    // MARK: - Per batch: the encoder

    func prepare(batch: FeatureBatch, features: UnsafePointer<Float>, usable: [Bool], maxRows: Int) {
        let o = model.options
        let (R, D) = (o.rnnSize, model.featureDimension)
        let N = batch.imageCount, K = batch.maxRegions
        maxRegions = K
        regionCounts = batch.regionCounts
        regionOffsets = []
        var total = 0
        for image in 0..<N {
            regionOffsets.append(usable[image] ? total : -1)
            if usable[image] { total += batch.regionCounts[image] }
        }
        reserveBuffers(images: N, regions: total, maxRows: maxRows)

        for image in 0..<N where usable[image] {
            (regionRows.pointer + regionOffsets[image] * D).update(from: features + image * K * D, count: batch.regionCounts[image] * D)
        }
        // V = ReLU(att_embed(regions)).
        let embeddedInto = o.refine ? stream.pointer : refined.pointer
        linear(regionRows.pointer, rows: total, inputs: D, model.regionEmbedding, model.regionEmbeddingBias, outputs: R, into: embeddedInto, relu: true)
        if o.refine { refine(batch: batch, usable: usable, regions: total) }
        poolImages(batch: batch, features: features, usable: usable)
        // p_att = ctx2att(refined regions).
        let keyWidth = o.multiHeadDecoder ? 2 * o.attentionWidth : o.attentionHiddenSize
        linear(refined.pointer, rows: total, inputs: R, model.contextToAttention, model.contextToAttentionBias, outputs: keyWidth, into: keys.pointer)
    }

    /// Sizes every scratch buffer for `images` images of `regions` valid regions in all and steps
    /// of at most `maxRows` rows.
    private func reserveBuffers(images N: Int, regions total: Int, maxRows: Int) {
        let o = model.options
        let (R, E, D, sR, K) = (o.rnnSize, o.encodingSize, model.featureDimension, o.attentionWidth, maxRegions)
        let widest = max(total, maxRows)
        let keyWidth = o.multiHeadDecoder ? 2 * sR : o.attentionHiddenSize
        regionRows.reserve(total * D)
        refined.reserve(total * R)
        stream.reserve(total * R)
        normed.reserve(widest * R)
        projections.reserve(total * 3 * sR)
        mixed.reserve(total * (sR + R))
        gated.reserve(widest * 4 * R)
        keys.reserve(total * keyWidth)
        pooled.reserve(N * D)
        pooledEmbedded.reserve(N * R)
        headWeights.reserve(o.heads * K)
        for buffer in [state.hAtt, state.cAtt, state.context, state.cell, next.hAtt, next.cAtt, next.context, next.cell, previousCell, logitInput] {
            buffer.reserve(maxRows * R)
        }
        lstmInput.reserve(maxRows * (E + 2 * R))
        queries.reserve(maxRows * max(sR, o.attentionHiddenSize))
        contextInput.reserve(maxRows * (sR + 2 * R))
        activated.reserve(o.attentionHiddenSize)
        scores.reserve(K)
        weights.reserve(maxRows * K)
        logits.reserve(maxRows * model.tokenCount)
        exponentials.reserve(model.tokenCount)
    }

    /// The six refiner layers over the embedded regions in `stream` (`regions` rows, image after
    /// image), then the final LayerNorm into `refined`.
    private func refine(batch: FeatureBatch, usable: [Bool], regions total: Int) {
        let o = model.options
        let (R, sR, N) = (o.rnnSize, o.attentionWidth, batch.imageCount)
        let (h, dk) = (o.heads, o.headWidth)
        let scale = Float(Double(dk).squareRoot())
        let mixedWidth = o.refineAoA ? sR + R : sR
        for layer in model.refinerLayers {
            layerNorm(stream.pointer, rows: total, layer.norm, into: normed.pointer)
            linear(normed.pointer, rows: total, inputs: R, layer.input, layer.inputBias, outputs: 3 * sR, into: projections.pointer)
            for image in 0..<N where usable[image] {
                let first = regionOffsets[image], count = batch.regionCounts[image]
                for row in first..<(first + count) {
                    TransformerKernels.attention(
                        query: projections.pointer + row * 3 * sR, keys: projections.pointer + first * 3 * sR + sR,
                        values: projections.pointer + first * 3 * sR + 2 * sR, stride: 3 * sR, count: count, heads: h, width: dk,
                        scale: scale, weights: headWeights.pointer, into: mixed.pointer + row * mixedWidth)
                }
            }
            if o.refineAoA {
                // aoa_layer(cat([attention, query])) with the query the normed input, then GLU.
                for row in 0..<total { (mixed.pointer + row * mixedWidth + sR).update(from: normed.pointer + row * R, count: R) }
                linear(mixed.pointer, rows: total, inputs: sR + R, layer.output, layer.outputBias, outputs: 2 * R, into: gated.pointer)
                glu(gated.pointer, rows: total, into: stream.pointer, outStride: R, accumulate: true)
            } else {
                linear(mixed.pointer, rows: total, inputs: sR, layer.output, layer.outputBias, outputs: R, into: gated.pointer)
                for i in 0..<(total * R) { stream.pointer[i] += gated.pointer[i] }
            }
        }
        layerNorm(stream.pointer, rows: total, model.refinerNorm!, into: refined.pointer)
    }

    /// v̄ of every image into `pooledEmbedded` (zero for unusable images).
    private func poolImages(batch: FeatureBatch, features: UnsafePointer<Float>, usable: [Bool]) {
        let o = model.options
        let (R, D, N, K) = (o.rnnSize, model.featureDimension, batch.imageCount, batch.maxRegions)
        // v̄: the mean of the refined regions (a sequential sum divided by the count), or
        // ReLU(fc_embed(fc)) with fc the features file's pooled vector or the mean of the raw regions.
        for image in 0..<N {
            let target = pooledEmbedded.pointer + image * R
            target.update(repeating: 0, count: R)
            guard usable[image], o.meanFeatures else { continue }
            let first = regionOffsets[image], count = batch.regionCounts[image]
            for row in first..<(first + count) {
                let x = refined.pointer + row * R
                for j in 0..<R { target[j] += x[j] }
            }
            for j in 0..<R { target[j] /= Float(count) }
        }
        if !o.meanFeatures {
            for image in 0..<N {
                let fc = pooled.pointer + image * D
                if !usable[image] {
                    fc.update(repeating: 0, count: D)
                } else if let given = batch.pooled {
                    given.withUnsafeBufferPointer { fc.update(from: $0.baseAddress! + image * D, count: D) }
                } else {
                    SearchKernels.meanOfRegions(features + image * K * D, regions: batch.regionCounts[image], dimension: D, into: fc)
                }
            }
            linear(pooled.pointer, rows: N, inputs: D, model.fcEmbedding, model.fcEmbeddingBias, outputs: R, into: pooledEmbedded.pointer, relu: true)
        }
    }

    // MARK: - Per step: the decoder

    func step(rows: Int, images: UnsafePointer<Int>, parents: UnsafePointer<Int32>, tokens: UnsafePointer<Int32>) {
        let o = model.options
        let contextWidth = o.attentionWidth + (o.decoderType == .lstm ? 2 * o.rnnSize : o.rnnSize)
        attentionLSTM(rows: rows, images: images, parents: parents, tokens: tokens)
        attend(rows: rows, images: images, contextWidth: contextWidth)
        contextLayer(rows: rows, parents: parents, contextWidth: contextWidth)
        logit(rows: rows)
        swap(&state, &next)
    }

    /// `h_att, c_att` of every row into `next`: the attention LSTM over
    /// `[ReLU(E[w]) | v̄ + ctx | h_att]` of its parent.
    private func attentionLSTM(rows: Int, images: UnsafePointer<Int>, parents: UnsafePointer<Int32>, tokens: UnsafePointer<Int32>) {
        let o = model.options
        let (R, E) = (o.rnnSize, o.encodingSize)
        let lstmWidth = E + 2 * R
        // The attention LSTM's input [ReLU(E[w]) | v̄ + ctx | h_att] and previous cell, by parent.
        model.embedding.withUnsafeBufferPointer { table in
            for row in 0..<rows {
                let input = lstmInput.pointer + row * lstmWidth
                let word = table.baseAddress! + Int(tokens[row]) * E
                for j in 0..<E { input[j] = word[j] > 0 ? word[j] : 0 }
                let mean = pooledEmbedded.pointer + images[row] * R
                let parent = Int(parents[row])
                if parent < 0 {
                    (input + E).update(from: mean, count: R)
                    (input + E + R).update(repeating: 0, count: R)
                    (previousCell.pointer + row * R).update(repeating: 0, count: R)
                } else {
                    let context = state.context.pointer + parent * R
                    for j in 0..<R { input[E + j] = mean[j] + context[j] }
                    (input + E + R).update(from: state.hAtt.pointer + parent * R, count: R)
                    (previousCell.pointer + row * R).update(from: state.cAtt.pointer + parent * R, count: R)
                }
            }
        }
        model.attentionLSTM.withUnsafeBufferPointer { w in
            BLAS.multiplyTransposed(
                rows: rows, outputs: 4 * R, inputs: lstmWidth, lstmInput.pointer, xStride: lstmWidth, w.baseAddress!, wStride: lstmWidth,
                into: gated.pointer, cStride: 4 * R)
        }
        model.attentionLSTMBias.withUnsafeBufferPointer { bias in
            for row in 0..<rows {
                Kernels.lstmCell(
                    gates: gated.pointer + row * 4 * R, wordGates: bias.baseAddress!, c: previousCell.pointer + row * R,
                    newC: next.cAtt.pointer + row * R, newH: next.hAtt.pointer + row * R, hidden: R)
            }
        }
    }

    /// The attention of every row (stored in `weights`) and `[att | h_att]` in the first columns of
    /// the context layer's input (rows of `contextWidth`).
    private func attend(rows: Int, images: UnsafePointer<Int>, contextWidth: Int) {
        let o = model.options
        let (R, sR, K) = (o.rnnSize, o.attentionWidth, maxRegions)
        // The attention over the image's refined regions, queried by the new h_att, into the
        // first sR columns of the context layer's input.
        weights.pointer.update(repeating: 0, count: rows * K)
        if o.multiHeadDecoder {
            let (h, dk) = (o.heads, o.headWidth)
            let scale = Float(Double(dk).squareRoot())
            layerNorm(next.hAtt.pointer, rows: rows, model.queryNorm!, into: normed.pointer)
            linear(normed.pointer, rows: rows, inputs: R, model.query, model.queryBias, outputs: sR, into: queries.pointer)
            for row in 0..<rows {
                let first = regionOffsets[images[row]], count = regionCounts[images[row]]
                // upstream calls `attention(h_att, p[..., :sR], p[..., sR:])` with the signature
                // `forward(query, value, key)`: the first half of ctx2att's output is the values.
                let block = keys.pointer + first * 2 * sR
                TransformerKernels.attention(
                    query: queries.pointer + row * sR, keys: block + sR, values: block, stride: 2 * sR, count: count, heads: h, width: dk,
                    scale: scale, weights: headWeights.pointer, into: contextInput.pointer + row * contextWidth)
                // The head mean, heads summed in order from 0.
                let target = weights.pointer + row * K
                for head in 0..<h {
                    let w = headWeights.pointer + head * count
                    for j in 0..<count { target[j] += w[j] }
                }
                for j in 0..<count { target[j] /= Float(h) }
            }
        } else {
            let A = o.attentionHiddenSize
            linear(next.hAtt.pointer, rows: rows, inputs: R, model.query, model.queryBias, outputs: A, into: queries.pointer)
            model.scoreWeight.withUnsafeBufferPointer { scoreWeight in
                for row in 0..<rows {
                    let first = regionOffsets[images[row]], count = regionCounts[images[row]]
                    Kernels.attentionScores(
                        .tanh, projected: keys.pointer + first * A, text: queries.pointer + row * A, weight: scoreWeight.baseAddress!,
                        bias: model.scoreBias, attention: A, regions: count, activated: activated.pointer, into: scores.pointer)
                    Kernels.softmax(scores.pointer, into: weights.pointer + row * K, count: count)
                    Kernels.weightedSum(
                        rows: 1, weights.pointer + row * K, alphaStride: K, refined.pointer + first * R, count: count, dimension: R,
                        into: contextInput.pointer + row * contextWidth)
                }
            }
        }
        for row in 0..<rows {
            let input = contextInput.pointer + row * contextWidth
            (input + sR).update(from: next.hAtt.pointer + row * R, count: R)
        }
    }

    /// `ctx` of every row into `next.context` (and, for an LSTM decoder, its cell into `next.cell`).
    private func contextLayer(rows: Int, parents: UnsafePointer<Int32>, contextWidth: Int) {
        let (R, sR) = (model.options.rnnSize, model.options.attentionWidth)
        // att2ctx: AoA (Linear to 2R, GLU) or an LSTM cell over [att | h_att] with state (ctx, cell).
        if model.options.decoderType == .lstm {
            for row in 0..<rows {
                let input = contextInput.pointer + row * contextWidth
                let parent = Int(parents[row])
                if parent < 0 {
                    (input + sR + R).update(repeating: 0, count: R)
                    (previousCell.pointer + row * R).update(repeating: 0, count: R)
                } else {
                    (input + sR + R).update(from: state.context.pointer + parent * R, count: R)
                    (previousCell.pointer + row * R).update(from: state.cell.pointer + parent * R, count: R)
                }
            }
            model.contextLayer.withUnsafeBufferPointer { w in
                BLAS.multiplyTransposed(
                    rows: rows, outputs: 4 * R, inputs: contextWidth, contextInput.pointer, xStride: contextWidth, w.baseAddress!,
                    wStride: contextWidth, into: gated.pointer, cStride: 4 * R)
            }
            model.contextLayerBias.withUnsafeBufferPointer { bias in
                for row in 0..<rows {
                    Kernels.lstmCell(
                        gates: gated.pointer + row * 4 * R, wordGates: bias.baseAddress!, c: previousCell.pointer + row * R,
                        newC: next.cell.pointer + row * R, newH: next.context.pointer + row * R, hidden: R)
                }
            }
        } else {
            linear(contextInput.pointer, rows: rows, inputs: contextWidth, model.contextLayer, model.contextLayerBias, outputs: 2 * R, into: gated.pointer)
            glu(gated.pointer, rows: rows, into: next.context.pointer, outStride: R, accumulate: false)
        }
    }

    /// The log-probabilities of every row into `logits`.
    private func logit(rows: Int) {
        let (R, V1) = (model.options.rnnSize, model.tokenCount)
        // log_softmax(logit(ctx)), with out_res logit(ctx + h_att) (the state keeps ctx).
        var logitRows = UnsafePointer(next.context.pointer)
        if model.options.outputResidual {
            for i in 0..<(rows * R) { logitInput.pointer[i] = next.context.pointer[i] + next.hAtt.pointer[i] }
            logitRows = UnsafePointer(logitInput.pointer)
        }
        model.output.withUnsafeBufferPointer { w in
            BLAS.multiplyTransposed(
                rows: rows, outputs: V1, inputs: R, logitRows, xStride: R, w.baseAddress!, wStride: R, into: logits.pointer, cStride: V1)
        }
        model.outputBias.withUnsafeBufferPointer { bias in
            for row in 0..<rows {
                Kernels.logSoftmax(logits.pointer + row * V1, bias: bias.baseAddress!, scratch: exponentials.pointer, count: V1)
            }
        }
    }
}
