#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Decodes batches of images with batched beam search. One decoder per worker thread: it owns every
/// scratch buffer of the search, so it is not `Sendable`; the model it reads is shared.
///
/// Each step runs all live hypotheses of all images of the batch through the decoder at once:
/// one product of `h` with the stacked `text_proj | weight_hh | f_beta` weights, the attention per
/// row, one product of the attention contexts with the context part of `weight_ih`, a row lookup in
/// the word-to-gates table, the LSTM cell, one product with `fc`, and a log-softmax per row. The
/// search itself then runs per image. See docs/decoder.md.
public final class BatchDecoder {
    public let model: CaptionModel
    public let settings: DecodeSettings

    /// A hypothesis that stopped: at `step`, in `row` of that step's rows.
    private struct Finished {
        var step: Int
        var row: Int
        var score: Float
        var ended: Bool
    }

    private let projected = ScratchBuffer<Float>(zero: 0)  // [N*R x A] image_proj of every region
    private let means = ScratchBuffer<Float>(zero: 0)  // [N x D]
    private let initial = ScratchBuffer<Float>(zero: 0)  // [N x 2H] h0 | c0
    private let hidden = ScratchBuffer<Float>(zero: 0)  // [rows x H] state entering the step
    private let cell = ScratchBuffer<Float>(zero: 0)
    private let nextHidden = ScratchBuffer<Float>(zero: 0)  // [rows x H] state leaving the step
    private let nextCell = ScratchBuffer<Float>(zero: 0)
    private let fused = ScratchBuffer<Float>(zero: 0)  // [rows x F] h · [text_proj | weight_hh | f_beta]^T
    private let context = ScratchBuffer<Float>(zero: 0)  // [rows x D]
    private let logits = ScratchBuffer<Float>(zero: 0)  // [rows x V], then log-probabilities
    private let scores = ScratchBuffer<Float>(zero: 0)  // [rows]
    private let nextScores = ScratchBuffer<Float>(zero: 0)
    private let rowImage = ScratchBuffer<Int>(zero: 0)  // [rows]
    private let nextRowImage = ScratchBuffer<Int>(zero: 0)
    private let wordTrace = ScratchBuffer<Int32>(zero: 0)  // [(L+1) x rows] input word of each row
    private let parentTrace = ScratchBuffer<Int32>(zero: 0)  // [(L+1) x rows] row of the previous step
    private let alphaTrace = ScratchBuffer<Float>(zero: 0)  // [L x rows x R]
    private let regionScores = ScratchBuffer<Float>(zero: 0)  // [R]
    private let activated = ScratchBuffer<Float>(zero: 0)  // [A]
    private let exponentials = ScratchBuffer<Float>(zero: 0)  // [V]
    private let bestScores = ScratchBuffer<Float>(zero: 0)  // [K]
    private let bestCandidates = ScratchBuffer<Int>(zero: 0)  // [K] row-in-image * V + token

    public init(model: CaptionModel, settings: DecodeSettings) {
        self.model = model
        self.settings = settings
    }

    /// Captions every image of `batch`. An image whose features are not finite, or whose region
    /// count is out of range, fails alone; the others are decoded as if it were not there.
    public func decode(batch: FeatureBatch) -> [ImageCaptionOutcome] {
        precondition(
            batch.dimension == model.sizes.feature,
            "features of D=\(batch.dimension) for a model of D=\(model.sizes.feature): check with CaptionModel.validate first")
        var outcomes: [ImageCaptionOutcome?] = Array(repeating: nil, count: batch.imageCount)
        batch.features.withUnsafeBufferPointer { features in
            for image in 0..<batch.imageCount {
                if let reason = FeatureBatch.problem(of: image, in: batch, features: features.baseAddress!) {
                    outcomes[image] = .failed(ImageDecodeFailure(imageID: batch.imageIDs[image], reason: reason))
                }
            }
            let usable = outcomes.map { $0 == nil }
            guard usable.contains(true) else { return }
            let captions = model.withWeights { weights in
                search(batch: batch, usable: usable, features: features.baseAddress!, weights: weights)
            }
            for (image, caption) in captions { outcomes[image] = .captioned(caption) }
        }
        return outcomes.map { $0! }
    }

    private func reserve(images N: Int, regions R: Int) {
        let s = model.sizes
        let (K, L) = (settings.beamSize, settings.maxLength)
        let rows = N * K
        projected.reserve(N * R * s.attention)
        means.reserve(N * s.feature)
        initial.reserve(N * 2 * s.hidden)
        for buffer in [hidden, cell, nextHidden, nextCell] { buffer.reserve(rows * s.hidden) }
        fused.reserve(rows * model.fusedWidth)
        context.reserve(rows * s.feature)
        logits.reserve(rows * s.vocabulary)
        scores.reserve(rows)
        nextScores.reserve(rows)
        rowImage.reserve(rows)
        nextRowImage.reserve(rows)
        wordTrace.reserve((L + 1) * rows)
        parentTrace.reserve((L + 1) * rows)
        alphaTrace.reserve(L * rows * R)
        regionScores.reserve(R)
        activated.reserve(s.attention)
        exponentials.reserve(s.vocabulary)
        bestScores.reserve(K)
        bestCandidates.reserve(K)
    }

    /// The beam search over the usable images of the batch; returns their captions.
    private func search(
        batch: FeatureBatch, usable: [Bool], features: UnsafePointer<Float>, weights w: WeightPointers
    ) -> [(Int, GeneratedCaption)] {
        let N = batch.imageCount
        let R = batch.maxRegions
        let (V, D, H, A) = (model.sizes.vocabulary, model.sizes.feature, model.sizes.hidden, model.sizes.attention)
        let F = model.fusedWidth
        let (K, L) = (settings.beamSize, settings.maxLength)
        let capacity = N * K
        reserve(images: N, regions: R)
        let endToken = model.specialTokens.end

        // Once per image: image_proj of every region, and the initial state from the mean region.
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

        var want = [Int](repeating: 0, count: N)
        var rowStart = [Int](repeating: 0, count: N)
        var rowCount = [Int](repeating: 0, count: N)
        var finished = [[Finished]](repeating: [], count: N)
        var rows = 0
        for image in 0..<N where usable[image] {
            let state = initial.pointer + image * 2 * H
            for j in 0..<H {
                hidden[rows * H + j] = state[j] + w.initialStateBias[j]
                cell[rows * H + j] = state[H + j] + w.initialStateBias[H + j]
            }
            want[image] = K
            rowStart[image] = rows
            rowCount[image] = 1
            scores[rows] = 0
            rowImage[rows] = image
            wordTrace[rows] = Int32(model.specialTokens.start)
            parentTrace[rows] = -1
            finished[image].reserveCapacity(K)
            rows += 1
        }

        var stepsDone = 0
        for step in 0..<L {
            if rows == 0 { break }
            runStep(
                step: step, rows: rows, batch: batch, features: features, weights: w,
                capacity: capacity, sizes: (V, D, H, A, F, R))

            // Selection, image by image: keep the best `want` candidates of the image's rows.
            var nextRows = 0
            for image in 0..<N where rowCount[image] > 0 {
                let k = want[image]
                let start = rowStart[image]
                var filled = 0
                for j in 0..<rowCount[image] {
                    let base = scores[start + j]
                    // Ties go to the earlier candidate (lower row, then lower token id).
                    SearchKernels.offerTopK(
                        base: base, logits.pointer + (start + j) * V, count: V, offset: j * V, k: k, filled: &filled,
                        scores: bestScores.pointer, indices: bestCandidates.pointer)
                }
                let firstNext = nextRows
                for kept in 0..<filled {
                    let source = start + bestCandidates[kept] / V
                    let token = bestCandidates[kept] % V
                    if token == endToken {
                        finished[image].append(Finished(step: step, row: source, score: bestScores[kept], ended: true))
                        want[image] -= 1
                        continue
                    }
                    let row = nextRows
                    nextRows += 1
                    nextScores[row] = bestScores[kept]
                    nextRowImage[row] = image
                    wordTrace[(step + 1) * capacity + row] = Int32(token)
                    parentTrace[(step + 1) * capacity + row] = Int32(source)
                    (hidden.pointer + row * H).update(from: nextHidden.pointer + source * H, count: H)
                    (cell.pointer + row * H).update(from: nextCell.pointer + source * H, count: H)
                }
                rowStart[image] = firstNext
                rowCount[image] = nextRows - firstNext
                if want[image] > rowCount[image] { want[image] = rowCount[image] }  // only with V < K
            }
            scores.pointer.update(from: nextScores.pointer, count: nextRows)
            rowImage.pointer.update(from: nextRowImage.pointer, count: nextRows)
            rows = nextRows
            stepsDone = step + 1
        }

        // Hypotheses still live after the last step finish as they are, after the ended ones.
        var captions: [(Int, GeneratedCaption)] = []
        for image in 0..<N where usable[image] {
            for row in rowStart[image]..<(rowStart[image] + rowCount[image]) {
                finished[image].append(Finished(step: stepsDone, row: row, score: scores[row], ended: false))
            }
            let alpha = settings.lengthPenalty
            let rule = settings.lengthPenaltyRule
            func normalised(_ f: Finished) -> Double {
                let length = Double(f.ended ? f.step + 1 : f.step)
                switch rule {
                case .power: return alpha == 0 ? Double(f.score) : Double(f.score) / pow(length, alpha)
                case .wu: return Double(f.score) / (pow(5 + length, alpha) / pow(6, alpha))
                case .average: return Double(f.score) / length
                }
            }
            var best = finished[image][0]
            var bestValue = normalised(best)
            for candidate in finished[image].dropFirst() {
                let value = normalised(candidate)
                if value > bestValue {
                    best = candidate
                    bestValue = value
                }
            }
            captions.append((image, caption(of: best, regions: batch.regionCounts[image], capacity: capacity, maxRegions: R)))
        }
        return captions
    }

    /// Follows a finished hypothesis back to the first step.
    private func caption(of finished: Finished, regions: Int, capacity: Int, maxRegions R: Int) -> GeneratedCaption {
        let length = finished.step
        var tokens = [Int](repeating: 0, count: length)
        var attention = [[Float]](repeating: [], count: length)
        var row = finished.row
        var step = length
        while step > 0 {
            tokens[step - 1] = Int(wordTrace[step * capacity + row])
            let parent = Int(parentTrace[step * capacity + row])
            let alpha = alphaTrace.pointer + ((step - 1) * capacity + parent) * R
            attention[step - 1] = Array(UnsafeBufferPointer(start: alpha, count: regions))
            row = parent
            step -= 1
        }
        return GeneratedCaption(
            tokens: tokens, words: tokens.map { model.word($0) }, logProb: finished.score, ended: finished.ended,
            attention: attention)
    }

    /// One decoder step for `rows` live hypotheses: fills `nextHidden`, `nextCell`, the step's
    /// attention in `alphaTrace`, and log-probabilities in `logits`.
    private func runStep(
        step: Int, rows: Int, batch: FeatureBatch, features: UnsafePointer<Float>, weights w: WeightPointers,
        capacity: Int, sizes: (V: Int, D: Int, H: Int, A: Int, F: Int, R: Int)
    ) {
        let (V, D, H, A, F, R) = sizes
        let activation = model.activation
        let wide = Kernels.wide

        // h · [text_proj | weight_hh | f_beta]^T for all rows.
        BLAS.multiply(
            rows: rows, outputs: F, inputs: H, hidden.pointer, xStride: H, w.hiddenProjection, yStride: F,
            into: fused.pointer, cStride: F)

        // Attention weights, per row.
        for row in 0..<rows {
            let image = rowImage[row]
            let regions = batch.regionCounts[image]
            let text = fused.pointer + row * F
            for a in 0..<A { text[a] += w.textProjectionBias[a] }
            Kernels.attentionScores(
                activation, projected: projected.pointer + image * R * A, text: text, weight: w.scoreWeight,
                bias: model.scoreBias, attention: A, regions: regions, activated: activated.pointer,
                into: regionScores.pointer, wide: wide)
            Kernels.softmax(regionScores.pointer, into: alphaTrace.pointer + (step * capacity + row) * R, count: regions)
        }

        // Contexts z = alpha · regions, one product per image (its rows are contiguous), then the gate.
        var row = 0
        while row < rows {
            let image = rowImage[row]
            var end = row + 1
            while end < rows && rowImage[end] == image { end += 1 }
            Kernels.weightedSum(
                rows: end - row, alphaTrace.pointer + (step * capacity + row) * R, alphaStride: R,
                features + image * R * D, count: batch.regionCounts[image], dimension: D,
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
        let words = wordTrace.pointer + step * capacity
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

/// Not `Sendable`: One per worker thread: its scratch buffers are reused by every step without locks.
@available(*, unavailable)
extension BatchDecoder: Sendable {}
