/// nightcap's own batched beam search (`SearchConvention.nightcap`, the Show-Attend-and-Tell
/// family's), driving any family's `DecoderStepper`. One per worker thread: it owns the search's
/// scratch buffers, so it is not `Sendable`.
///
/// Every step runs all live hypotheses of all images of the batch through the stepper at once; the
/// selection then runs per image: the best `want` candidates over the image's rows and all words
/// (ties to the lower row, then the lower token id); a candidate ending on the end token is
/// finished and leaves the beam, which narrows (`want` drops by one). The search stops when no
/// hypothesis is live or after `maxLength` steps; the hypotheses still live then finish as they
/// are. The best finished hypothesis by the length penalty (`LengthPenaltyRule.score`) wins, the
/// earliest among equal scores. See docs/decoder.md.
final class NightcapBeamSearch: CaptionDecoding {
    let stepper: any DecoderStepper
    let settings: DecodeSettings
    let vocabulary: SearchVocabulary

    /// A hypothesis that stopped: at `step`, in `row` of that step's rows.
    private struct Finished {
        var step: Int
        var row: Int
        var score: Float
        var ended: Bool
    }

    /// The live hypotheses of the images, between two steps.
    private struct Beams {
        var want: [Int]  // [N] how many hypotheses an image still keeps
        var rowStart: [Int]  // [N] its first row
        var rowCount: [Int]  // [N] its rows
        var finished: [[Finished]]
        var rows = 0
    }

    private let scores = ScratchBuffer<Float>(zero: 0)  // [rows]
    private let nextScores = ScratchBuffer<Float>(zero: 0)
    private let rowImage = ScratchBuffer<Int>(zero: 0)  // [rows]
    private let nextRowImage = ScratchBuffer<Int>(zero: 0)
    private let wordTrace = ScratchBuffer<Int32>(zero: 0)  // [(L+1) x rows] input word of each row
    private let parentTrace = ScratchBuffer<Int32>(zero: 0)  // [(L+1) x rows] row of the previous step
    private let alphaTrace = ScratchBuffer<Float>(zero: 0)  // [L x rows x R]
    private let bestScores = ScratchBuffer<Float>(zero: 0)  // [K]
    private let bestCandidates = ScratchBuffer<Int>(zero: 0)  // [K] row-in-image * V + token

    init(stepper: any DecoderStepper, settings: DecodeSettings, vocabulary: SearchVocabulary) {
        self.stepper = stepper
        self.settings = settings
        self.vocabulary = vocabulary
    }

    /// Captions every image of `batch`. An image whose features are not finite, or whose region
    /// count is out of range, fails alone; the others are decoded as if it were not there.
    func decode(batch: FeatureBatch) -> [ImageCaptionOutcome] {
        batch.decodeUsableImages { features, usable in search(batch: batch, usable: usable, features: features) }
    }

    private func reserve(rows: Int, regions R: Int) {
        let (K, L) = (settings.beamSize, settings.maxLength)
        for buffer in [scores, nextScores] { buffer.reserve(rows) }
        for buffer in [rowImage, nextRowImage] { buffer.reserve(rows) }
        wordTrace.reserve((L + 1) * rows)
        parentTrace.reserve((L + 1) * rows)
        alphaTrace.reserve(L * rows * R)
        bestScores.reserve(K)
        bestCandidates.reserve(K)
    }

    /// The beam search over the usable images of the batch; returns their captions.
    private func search(batch: FeatureBatch, usable: [Bool], features: UnsafePointer<Float>) -> [(image: Int, caption: GeneratedCaption)] {
        let (N, R, L) = (batch.imageCount, batch.maxRegions, settings.maxLength)
        let capacity = N * settings.beamSize
        reserve(rows: capacity, regions: R)
        stepper.prepare(batch: batch, features: features, usable: usable, maxRows: capacity)
        var beams = seed(usable: usable)
        var stepsDone = 0
        for step in 0..<L {
            if beams.rows == 0 { break }
            stepper.step(
                rows: beams.rows, images: rowImage.pointer, parents: parentTrace.pointer + step * capacity,
                tokens: wordTrace.pointer + step * capacity)
            (alphaTrace.pointer + step * capacity * R).update(from: stepper.attention, count: beams.rows * R)
            select(step: step, beams: &beams, capacity: capacity)
            stepsDone = step + 1
        }
        // Hypotheses still live after the last step finish as they are, after the ended ones.
        var captions: [(image: Int, caption: GeneratedCaption)] = []
        for image in 0..<N where usable[image] {
            for row in beams.rowStart[image]..<(beams.rowStart[image] + beams.rowCount[image]) {
                beams.finished[image].append(Finished(step: stepsDone, row: row, score: scores[row], ended: false))
            }
            let best = best(of: beams.finished[image])
            captions.append((image, caption(of: best, regions: batch.regionCounts[image], capacity: capacity, maxRegions: R)))
        }
        return captions
    }

    /// One row per usable image, at the start token, continuing the image's initial state.
    private func seed(usable: [Bool]) -> Beams {
        let N = usable.count
        var beams = Beams(
            want: [Int](repeating: 0, count: N), rowStart: [Int](repeating: 0, count: N), rowCount: [Int](repeating: 0, count: N),
            finished: [[Finished]](repeating: [], count: N))
        for image in 0..<N where usable[image] {
            let row = beams.rows
            beams.want[image] = settings.beamSize
            beams.rowStart[image] = row
            beams.rowCount[image] = 1
            scores[row] = 0
            rowImage[row] = image
            wordTrace[row] = Int32(vocabulary.start)
            parentTrace[row] = -1
            beams.finished[image].reserveCapacity(settings.beamSize)
            beams.rows += 1
        }
        return beams
    }

    /// Selection, image by image: keeps the best `want` candidates of the image's rows; those on
    /// the end token finish, the others become the next step's rows (their word and parent
    /// recorded at `step + 1`).
    private func select(step: Int, beams: inout Beams, capacity: Int) {
        let V = stepper.vocabularySize
        let logProbs = stepper.logProbs
        var nextRows = 0
        for image in beams.rowCount.indices where beams.rowCount[image] > 0 {
            let start = beams.rowStart[image]
            var filled = 0
            for j in 0..<beams.rowCount[image] {
                // Ties go to the earlier candidate (lower row, then lower token id).
                SearchKernels.offerTopK(
                    base: scores[start + j], logProbs + (start + j) * V, count: V, offset: j * V, k: beams.want[image],
                    filled: &filled, scores: bestScores.pointer, indices: bestCandidates.pointer)
            }
            let firstNext = nextRows
            for kept in 0..<filled {
                let source = start + bestCandidates[kept] / V
                let token = bestCandidates[kept] % V
                if token == vocabulary.end {
                    beams.finished[image].append(Finished(step: step, row: source, score: bestScores[kept], ended: true))
                    beams.want[image] -= 1
                    continue
                }
                let row = nextRows
                nextRows += 1
                nextScores[row] = bestScores[kept]
                nextRowImage[row] = image
                wordTrace[(step + 1) * capacity + row] = Int32(token)
                parentTrace[(step + 1) * capacity + row] = Int32(source)
            }
            beams.rowStart[image] = firstNext
            beams.rowCount[image] = nextRows - firstNext
            if beams.want[image] > beams.rowCount[image] { beams.want[image] = beams.rowCount[image] }  // only with V < K
        }
        scores.pointer.update(from: nextScores.pointer, count: nextRows)
        rowImage.pointer.update(from: nextRowImage.pointer, count: nextRows)
        beams.rows = nextRows
    }

    /// The finished hypothesis with the best length-penalised score, the earliest among equals.
    private func best(of finished: [Finished]) -> Finished {
        func normalised(_ f: Finished) -> Double {
            settings.lengthPenaltyRule.score(
                sum: Double(f.score), length: Double(f.ended ? f.step + 1 : f.step), alpha: settings.lengthPenalty)
        }
        var best = finished[0]
        var bestValue = normalised(best)
        for candidate in finished.dropFirst() {
            let value = normalised(candidate)
            if value > bestValue {
                best = candidate
                bestValue = value
            }
        }
        return best
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
            tokens: tokens, words: tokens.map(vocabulary.word), logProb: finished.score, ended: finished.ended,
            attention: attention)
    }
}

/// Not `Sendable`: one per worker thread; its scratch buffers are reused by every step without locks.
@available(*, unavailable)
extension NightcapBeamSearch: Sendable {}
