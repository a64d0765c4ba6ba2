/// The Show-Attend-and-Tell family's batched step (one per worker thread: it owns its scratch
/// buffers, so it is not `Sendable`; the model it reads is shared). The decoder state of a row is
/// `(h, c)`; a step reads the state its parent row left, or the image's initial state.
///
/// A step runs all rows at once: one product of `h` with the stacked `text_proj | weight_hh |
/// f_beta` weights, the attention per row, one product of the attention contexts with the context
/// part of `weight_ih`, a row lookup in the word-to-gates table, the LSTM cell, one product with
/// `fc`, and a log-softmax per row. See docs/decoder.md.
final class ShowAttendTellStepper: DecoderStepper {
    let model: ShowAttendTellModel
    var vocabularySize: Int { model.sizes.vocabulary }

    private var maxRegions = 0
    private var regionCounts: [Int] = []
    /// The batch's features, valid from `prepare` until the search that called it returns (every
    /// `step` of a batch runs inside the search's `withUnsafeBufferPointer` of them).
    private var batchFeatures: UnsafePointer<Float>?
    private let projected = ScratchBuffer<Float>(zero: 0)  // [N*R x A] image_proj of every region
    private let means = ScratchBuffer<Float>(zero: 0)  // [N x D]
    private let initial = ScratchBuffer<Float>(zero: 0)  // [N x 2H] h0 | c0
    private let hidden = ScratchBuffer<Float>(zero: 0)  // [rows x H] state entering the step
    private let cell = ScratchBuffer<Float>(zero: 0)
    private let nextHidden = ScratchBuffer<Float>(zero: 0)  // [rows x H] state leaving the step
    private let nextCell = ScratchBuffer<Float>(zero: 0)
    private let fused = ScratchBuffer<Float>(zero: 0)  // [rows x F] h · [text_proj | weight_hh | f_beta]^T
    private let context = ScratchBuffer<Float>(zero: 0)  // [rows x D]
    private let alpha = ScratchBuffer<Float>(zero: 0)  // [rows x R] the step's attention
    private let logits = ScratchBuffer<Float>(zero: 0)  // [rows x V], then log-probabilities
    private let regionScores = ScratchBuffer<Float>(zero: 0)  // [R]
    private let activated = ScratchBuffer<Float>(zero: 0)  // [A]
    private let exponentials = ScratchBuffer<Float>(zero: 0)  // [V]

    var logProbs: UnsafeMutablePointer<Float> { logits.pointer }
    var attention: UnsafePointer<Float> { UnsafePointer(alpha.pointer) }

    init(model: ShowAttendTellModel) {
        self.model = model
    }

    private func reserve(images N: Int, regions R: Int, rows: Int) {
        let s = model.sizes
        projected.reserve(N * R * s.attention)
        means.reserve(N * s.feature)
        initial.reserve(N * 2 * s.hidden)
        for buffer in [hidden, cell, nextHidden, nextCell] { buffer.reserve(rows * s.hidden) }
        fused.reserve(rows * model.fusedWidth)
        context.reserve(rows * s.feature)
        alpha.reserve(rows * R)
        logits.reserve(rows * s.vocabulary)
        regionScores.reserve(R)
        activated.reserve(s.attention)
        exponentials.reserve(s.vocabulary)
    }

    /// Once per batch: `image_proj` of every region, and each usable image's initial state from
    /// its mean region.
    func prepare(batch: FeatureBatch, features: UnsafePointer<Float>, usable: [Bool], maxRows: Int) {
        precondition(
            batch.dimension == model.sizes.feature,
            "features of D=\(batch.dimension) for a model of D=\(model.sizes.feature): check with ShowAttendTellModel.validate first")
        let (N, R) = (batch.imageCount, batch.maxRegions)
        let (D, H, A) = (model.sizes.feature, model.sizes.hidden, model.sizes.attention)
        reserve(images: N, regions: R, rows: maxRows)
        maxRegions = R
        regionCounts = batch.regionCounts
        batchFeatures = features
        model.withWeights { w in
            BLAS.multiplyTransposed(
                rows: N * R, outputs: A, inputs: D, features, xStride: D, w.imageProjection, wStride: D,
                into: projected.pointer, cStride: A)
            for index in 0..<(N * R) {
                let row = projected.pointer + index * A
                for a in 0..<A { row[a] += w.imageProjectionBias[a] }
            }
            for image in 0..<N {
                let mean = means.pointer + image * D
                guard usable[image] else {
                    mean.update(repeating: 0, count: D)
                    continue
                }
                SearchKernels.meanOfRegions(features + image * R * D, regions: batch.regionCounts[image], dimension: D, into: mean)
            }
            BLAS.multiplyTransposed(
                rows: N, outputs: 2 * H, inputs: D, means.pointer, xStride: D, w.initialState, wStride: D,
                into: initial.pointer, cStride: 2 * H)
        }
    }

    func step(rows: Int, images: UnsafePointer<Int>, parents: UnsafePointer<Int32>, tokens: UnsafePointer<Int32>) {
        model.withWeights { w in
            loadStates(rows: rows, images: images, parents: parents, weights: w)
            runStep(rows: rows, images: images, tokens: tokens, weights: w)
        }
    }

    /// `hidden` and `cell` of every row: its parent's state after the last step, or (parent -1)
    /// its image's initial state `init_h(mean) | init_c(mean)` with the biases.
    private func loadStates(rows: Int, images: UnsafePointer<Int>, parents: UnsafePointer<Int32>, weights w: WeightPointers) {
        let H = model.sizes.hidden
        for row in 0..<rows {
            let parent = Int(parents[row])
            if parent >= 0 {
                (hidden.pointer + row * H).update(from: nextHidden.pointer + parent * H, count: H)
                (cell.pointer + row * H).update(from: nextCell.pointer + parent * H, count: H)
                continue
            }
            let state = initial.pointer + images[row] * 2 * H
            for j in 0..<H {
                hidden[row * H + j] = state[j] + w.initialStateBias[j]
                cell[row * H + j] = state[H + j] + w.initialStateBias[H + j]
            }
        }
    }

/// One decoder step for `rows` hypotheses whose state is in `hidden` and `cell`: fills
    /// `nextHidden`, `nextCell`, the step's attention in `weights`, and log-probabilities in `logits`.
    private func runStep(
        rows: Int, images rowImage: UnsafePointer<Int>, tokens words: UnsafePointer<Int32>, weights w: WeightPointers
    ) {
        let (V, D, H, A) = (model.sizes.vocabulary, model.sizes.feature, model.sizes.hidden, model.sizes.attention)
        let (F, R) = (model.fusedWidth, maxRegions)
        let features = batchFeatures!
        let activation = model.activation
        let wide = Kernels.wide

        // h · [text_proj | weight_hh | f_beta]^T for all rows.
        BLAS.multiply(
            rows: rows, outputs: F, inputs: H, hidden.pointer, xStride: H, w.hiddenProjection, yStride: F,
            into: fused.pointer, cStride: F)

        // Attention weights, per row.
        for row in 0..<rows {
            let image = rowImage[row]
            let regions = regionCounts[image]
            let text = fused.pointer + row * F
            for a in 0..<A { text[a] += w.textProjectionBias[a] }
            Kernels.attentionScores(
                activation, projected: projected.pointer + image * R * A, text: text, weight: w.scoreWeight,
                bias: model.scoreBias, attention: A, regions: regions, activated: activated.pointer,
                into: regionScores.pointer, wide: wide)
            Kernels.softmax(regionScores.pointer, into: alpha.pointer + row * R, count: regions)
        }

        // Contexts z = alpha · regions, one product per image (its rows are contiguous), then the gate.
        var row = 0
        while row < rows {
            let image = rowImage[row]
            var end = row + 1
            while end < rows && rowImage[end] == image { end += 1 }
            Kernels.weightedSum(
                rows: end - row, alpha.pointer + row * R, alphaStride: R,
                features + image * R * D, count: regionCounts[image], dimension: D,
                into: context.pointer + row * D, wide: wide)
            row = end
        }
        if let gateBias = w.gateBias {
            for row in 0..<rows {
                Kernels.applyGate(context.pointer + row * D, gate: fused.pointer + row * F + A + 4 * H, bias: gateBias, count: D, wide: wide)
            }
        }

        // gates += z · weight_ih[:, E...]^T, written into the gate columns of `fused`.
        BLAS.multiply(
            rows: rows, outputs: 4 * H, inputs: D, context.pointer, xStride: D, w.contextToGates, yStride: 4 * H,
            into: fused.pointer + A, cStride: F, accumulate: true)

        // LSTM cell (gate order i, f, g, o), with the word's gates looked up.
        for row in 0..<rows {
            let gates = fused.pointer + row * F + A
            let wordGates = w.wordToGates + Int(words[row]) * 4 * H
            let c = cell.pointer + row * H
            let newC = nextCell.pointer + row * H
            let newH = nextHidden.pointer + row * H
            Kernels.lstmCell(gates: gates, wordGates: wordGates, c: c, newC: newC, newH: newH, hidden: H, wide: wide)
        }

        // log_softmax(fc(h)).
        BLAS.multiply(
            rows: rows, outputs: V, inputs: H, nextHidden.pointer, xStride: H, w.output, yStride: V,
            into: logits.pointer, cStride: V)
        for row in 0..<rows {
            Kernels.logSoftmax(logits.pointer + row * V, bias: w.outputBias, scratch: exponentials.pointer, count: V, wide: wide)
        }
    }
}

/// Not `Sendable`: one per worker thread; its scratch buffers are reused by every step without locks.
@available(*, unavailable)
extension ShowAttendTellStepper: Sendable {}
