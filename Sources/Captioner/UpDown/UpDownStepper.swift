/// UpDown's batched step (one per worker; owns its scratch buffers). The decoder state of a row is
/// `(h_att, c_att, h_lang, c_lang)`; a step reads the state of each row's parent.
final class UpDownStepper: DecoderStepper {
    let model: UpDownModel
    var vocabularySize: Int { model.sizes.vocabulary }

    private var maxRegions = 0
    private var regionCounts: [Int] = []
    private let embedded = ScratchBuffer<Float>(zero: 0)  // [N*K x R] att_embed of every region
    private let keys = ScratchBuffer<Float>(zero: 0)  // [N*K x A] ctx2att of the embedded regions
    private let normalised = ScratchBuffer<Float>(zero: 0)  // [N*K x D] BatchNorm'd regions (use_bn >= 1)
    private let pooled = ScratchBuffer<Float>(zero: 0)  // [N x D] mean region
    private let pooledEmbedded = ScratchBuffer<Float>(zero: 0)  // [N x R] fc_embed
    private let pooledGates = ScratchBuffer<Float>(zero: 0)  // [N x 4R] fc part of att_lstm + both biases
    // State leaving the last step, by row, and the next step's.
    private var state = (hAtt: ScratchBuffer<Float>(zero: 0), cAtt: ScratchBuffer<Float>(zero: 0),
                         hLang: ScratchBuffer<Float>(zero: 0), cLang: ScratchBuffer<Float>(zero: 0))
    private var next = (hAtt: ScratchBuffer<Float>(zero: 0), cAtt: ScratchBuffer<Float>(zero: 0),
                        hLang: ScratchBuffer<Float>(zero: 0), cLang: ScratchBuffer<Float>(zero: 0))
    private let attentionInput = ScratchBuffer<Float>(zero: 0)  // [rows x 2R] h_lang | h_att
    /// The word-gate blocks this worker has seen ready (`WordGateTable.prepare`).
    private var knownWordBlocks: [Bool]
    private let languageInput = ScratchBuffer<Float>(zero: 0)  // [rows x 3R] context | h_att | h_lang
    private let previousCell = ScratchBuffer<Float>(zero: 0)  // [rows x R]
    private let gates = ScratchBuffer<Float>(zero: 0)  // [rows x 4R]
    private let queries = ScratchBuffer<Float>(zero: 0)  // [rows x A]
    private let contexts = ScratchBuffer<Float>(zero: 0)  // [rows x R]
    private let scores = ScratchBuffer<Float>(zero: 0)  // [K]
    private let activated = ScratchBuffer<Float>(zero: 0)  // [A]
    private let weights = ScratchBuffer<Float>(zero: 0)  // [rows x K] attention
    private let logits = ScratchBuffer<Float>(zero: 0)  // [rows x V]
    private let exponentials = ScratchBuffer<Float>(zero: 0)  // [V]

    var logProbs: UnsafeMutablePointer<Float> { logits.pointer }
    var attention: UnsafePointer<Float> { UnsafePointer(weights.pointer) }

    init(model: UpDownModel) {
        self.model = model
        knownWordBlocks = [Bool](
            repeating: false, count: (model.sizes.vocabulary + WordGateTable.blockSize - 1) / WordGateTable.blockSize)
    }

    func prepare(batch: FeatureBatch, features: UnsafePointer<Float>, usable: [Bool], maxRows: Int) {
        let (V, D, R, A) = (model.sizes.vocabulary, model.sizes.feature, model.sizes.hidden, model.sizes.attention)
        let N = batch.imageCount, K = batch.maxRegions
        maxRegions = K
        regionCounts = batch.regionCounts
        embedded.reserve(N * K * R)
        keys.reserve(N * K * A)
        pooled.reserve(N * D)
        pooledEmbedded.reserve(N * R)
        pooledGates.reserve(N * 4 * R)
        for buffer in [state.hAtt, state.cAtt, state.hLang, state.cLang, next.hAtt, next.cAtt, next.hLang, next.cLang, previousCell] {
            buffer.reserve(maxRows * R)
        }
        attentionInput.reserve(maxRows * 2 * R)
        languageInput.reserve(maxRows * 3 * R)
        gates.reserve(maxRows * 4 * R)
        queries.reserve(maxRows * A)
        contexts.reserve(maxRows * R)
        scores.reserve(K)
        activated.reserve(A)
        weights.reserve(maxRows * K)
        logits.reserve(maxRows * V)
        exponentials.reserve(V)

        preparePooled(batch: batch, features: features, usable: usable)
        prepareRegions(images: N, features: features)
    }

    /// fc of every image and its contribution to the attention LSTM's gates.
    private func preparePooled(batch: FeatureBatch, features: UnsafePointer<Float>, usable: [Bool]) {
        let (E, D, R) = (model.sizes.embedding, model.sizes.feature, model.sizes.hidden)
        let N = batch.imageCount, K = batch.maxRegions
        // fc: the features file's pooled vector when it has one (upstream's input_fc_dir), else
        // the mean of the valid raw regions, a sequential float32 sum divided by their count
        // (numpy's att_feat.mean(0), upstream's dataloader fallback without input_fc_dir).
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
        // v̄ = ReLU(fc_embed(fc)); its contribution to the attention LSTM's gates, with both biases.
        model.fcEmbed.withUnsafeBufferPointer { w in
            BLAS.multiplyTransposed(
                rows: N, outputs: R, inputs: D, pooled.pointer, xStride: D, w.baseAddress!, wStride: D,
                into: pooledEmbedded.pointer, cStride: R)
        }
        for image in 0..<N {
            let row = pooledEmbedded.pointer + image * R
            for j in 0..<R {
                let u = row[j] + model.fcEmbedBias[j]
                row[j] = u > 0 ? u : 0
            }
        }
        model.attentionLSTMInput.withUnsafeBufferPointer { w in
            BLAS.multiplyTransposed(
                rows: N, outputs: 4 * R, inputs: R, pooledEmbedded.pointer, xStride: R, w.baseAddress! + R, wStride: 2 * R + E,
                into: pooledGates.pointer, cStride: 4 * R)
        }
        for image in 0..<N {
            let row = pooledGates.pointer + image * 4 * R
            for j in 0..<(4 * R) { row[j] += model.attentionLSTMBias[j] }
        }
    }

    /// The embedded regions of every stored region of the batch and their attention keys.
    private func prepareRegions(images N: Int, features: UnsafePointer<Float>) {
        let (D, R, A) = (model.sizes.feature, model.sizes.hidden, model.sizes.attention)
        let K = maxRegions
        // V = att_embed(regions) (BatchNorm first with use_bn), then P = ctx2att(V), for every stored region.
        var input = features
        if model.batchNorm >= 1 {
            normalised.reserve(N * K * D)
            for index in 0..<(N * K) {
                let x = features + index * D, y = normalised.pointer + index * D
                for d in 0..<D { y[d] = x[d] * model.inputNormScale[d] + model.inputNormShift[d] }
            }
            input = UnsafePointer(normalised.pointer)
        }
        model.attEmbed.withUnsafeBufferPointer { w in
            BLAS.multiplyTransposed(
                rows: N * K, outputs: R, inputs: D, input, xStride: D, w.baseAddress!, wStride: D,
                into: embedded.pointer, cStride: R)
        }
        for index in 0..<(N * K) {
            let row = embedded.pointer + index * R
            for j in 0..<R {
                let u = row[j] + model.attEmbedBias[j]
                row[j] = u > 0 ? u : 0
            }
            if model.batchNorm == 2 {
                for j in 0..<R { row[j] = row[j] * model.embeddedNormScale[j] + model.embeddedNormShift[j] }
            }
        }
        model.contextToAttention.withUnsafeBufferPointer { w in
            BLAS.multiplyTransposed(
                rows: N * K, outputs: A, inputs: R, embedded.pointer, xStride: R, w.baseAddress!, wStride: R,
                into: keys.pointer, cStride: A)
        }
        for index in 0..<(N * K) {
            let row = keys.pointer + index * A
            for a in 0..<A { row[a] += model.contextToAttentionBias[a] }
        }
    }

    func step(rows: Int, images: UnsafePointer<Int>, parents: UnsafePointer<Int32>, tokens: UnsafePointer<Int32>) {
        let (V, R) = (model.sizes.vocabulary, model.sizes.hidden)
        attentionLSTM(rows: rows, images: images, parents: parents, tokens: tokens)
        attend(rows: rows, images: images)
        languageLSTM(rows: rows, images: images, parents: parents)
        // log_softmax(logit(h_lang)).
        model.output.withUnsafeBufferPointer { w in
            BLAS.multiplyTransposed(
                rows: rows, outputs: V, inputs: R, next.hLang.pointer, xStride: R, w.baseAddress!, wStride: R,
                into: logits.pointer, cStride: V)
        }
        model.outputBias.withUnsafeBufferPointer { bias in
            for row in 0..<rows {
                Kernels.logSoftmax(logits.pointer + row * V, bias: bias.baseAddress!, scratch: exponentials.pointer, count: V, wide: Kernels.wide)
            }
        }
        swap(&state, &next)
    }

    /// The attention LSTM on `[h_lang | h_att]` of each row's parent: the word's gates looked up,
    /// plus one product for the states, plus the image's fc part in the cell.
    private func attentionLSTM(rows: Int, images: UnsafePointer<Int>, parents: UnsafePointer<Int32>, tokens: UnsafePointer<Int32>) {
        let R = model.sizes.hidden
        let wide = Kernels.wide
        let inWidth = 2 * R
        // Inputs by parent: [h_lang | h_att] and the attention LSTM's previous cell.
        for row in 0..<rows {
            let input = attentionInput.pointer + row * inWidth
            let parent = Int(parents[row])
            if parent < 0 {
                input.update(repeating: 0, count: 2 * R)
                (previousCell.pointer + row * R).update(repeating: 0, count: R)
            } else {
                input.update(from: state.hLang.pointer + parent * R, count: R)
                (input + R).update(from: state.hAtt.pointer + parent * R, count: R)
                (previousCell.pointer + row * R).update(from: state.cAtt.pointer + parent * R, count: R)
            }
        }
        // The attention LSTM: the word's gates looked up, plus one product for the states, plus
        // the image's fc part in the cell.
        model.wordGates.prepare(tokens: tokens, count: rows, known: &knownWordBlocks)
        for row in 0..<rows {
            (gates.pointer + row * 4 * R).update(from: model.wordGates.gates(of: Int(tokens[row])), count: 4 * R)
        }
        model.attentionLSTMState.withUnsafeBufferPointer { w in
            BLAS.multiplyTransposed(
                rows: rows, outputs: 4 * R, inputs: inWidth, attentionInput.pointer, xStride: inWidth, w.baseAddress!,
                wStride: inWidth, into: gates.pointer, cStride: 4 * R, accumulate: true)
        }
        for row in 0..<rows {
            Kernels.lstmCell(
                gates: gates.pointer + row * 4 * R, wordGates: pooledGates.pointer + images[row] * 4 * R,
                c: previousCell.pointer + row * R, newC: next.cAtt.pointer + row * R, newH: next.hAtt.pointer + row * R,
                hidden: R, wide: wide)
        }
    }

    /// Attention queried by the new h_att over the image's embedded regions: `weights`.
    private func attend(rows: Int, images: UnsafePointer<Int>) {
        let (R, A) = (model.sizes.hidden, model.sizes.attention)
        let K = maxRegions
        let wide = Kernels.wide
        model.queryProjection.withUnsafeBufferPointer { w in
            BLAS.multiplyTransposed(
                rows: rows, outputs: A, inputs: R, next.hAtt.pointer, xStride: R, w.baseAddress!, wStride: R,
                into: queries.pointer, cStride: A)
        }
        model.scoreWeight.withUnsafeBufferPointer { scoreWeight in
            for row in 0..<rows {
                let image = images[row]
                let regions = regionCounts[image]
                let query = queries.pointer + row * A
                for a in 0..<A { query[a] += model.queryBias[a] }
                Kernels.attentionScores(
                    .tanh, projected: keys.pointer + image * K * A, text: query, weight: scoreWeight.baseAddress!,
                    bias: model.scoreBias, attention: A, regions: regions, activated: activated.pointer,
                    into: scores.pointer, wide: wide)
                Kernels.softmax(scores.pointer, into: weights.pointer + row * K, count: regions)
            }
        }
    }

    /// The language LSTM on `[context | h_att | h_lang]`, the contexts computed per image block of rows.
    private func languageLSTM(rows: Int, images: UnsafePointer<Int>, parents: UnsafePointer<Int32>) {
        let R = model.sizes.hidden
        let K = maxRegions
        let wide = Kernels.wide
        let lWidth = 3 * R
        var first = 0
        while first < rows {
            let image = images[first]
            var last = first + 1
            while last < rows && images[last] == image { last += 1 }
            Kernels.weightedSum(
                rows: last - first, weights.pointer + first * K, alphaStride: K, embedded.pointer + image * K * R,
                count: regionCounts[image], dimension: R, into: contexts.pointer + first * R, wide: wide)
            first = last
        }
        for row in 0..<rows {
            let input = languageInput.pointer + row * lWidth
            input.update(from: contexts.pointer + row * R, count: R)
            (input + R).update(from: next.hAtt.pointer + row * R, count: R)
            let parent = Int(parents[row])
            if parent < 0 {
                (input + 2 * R).update(repeating: 0, count: R)
                (previousCell.pointer + row * R).update(repeating: 0, count: R)
            } else {
                (input + 2 * R).update(from: state.hLang.pointer + parent * R, count: R)
                (previousCell.pointer + row * R).update(from: state.cLang.pointer + parent * R, count: R)
            }
        }
        model.languageLSTM.withUnsafeBufferPointer { w in
            BLAS.multiplyTransposed(
                rows: rows, outputs: 4 * R, inputs: lWidth, languageInput.pointer, xStride: lWidth, w.baseAddress!,
                wStride: lWidth, into: gates.pointer, cStride: 4 * R)
        }
        model.languageLSTMBias.withUnsafeBufferPointer { bias in
            for row in 0..<rows {
                Kernels.lstmCell(
                    gates: gates.pointer + row * 4 * R, wordGates: bias.baseAddress!, c: previousCell.pointer + row * R,
                    newC: next.cLang.pointer + row * R, newH: next.hLang.pointer + row * R, hidden: R, wide: wide)
            }
        }
    }
}
