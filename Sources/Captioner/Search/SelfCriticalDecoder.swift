/// Decodes with self-critical.pytorch's rules, as `tools/eval.py` runs them (docs/decoder.md):
/// beam size 1 is `AttModel._sample` (greedy), larger sizes `CaptionModel.beam_search`, option for
/// option. The step comes from a family's `DecoderStepper`, so any family of that codebase decodes
/// through here. End, start and pad token are all 0, as upstream.
final class SelfCriticalDecoder: CaptionDecoding {
    let stepper: any DecoderStepper
    let settings: DecodeSettings
    let vocabulary: SearchVocabulary

    private let images = ScratchBuffer<Int>(zero: 0)
    private let parents = ScratchBuffer<Int32>(zero: 0)
    private let tokens = ScratchBuffer<Int32>(zero: 0)
    private let zeros = ScratchBuffer<Float>(zero: 0)
    private let exponentials = ScratchBuffer<Float>(zero: 0)
    private let bestScores = ScratchBuffer<Float>(zero: 0)  // [B] the running top-B of an image
    private let bestIndex = ScratchBuffer<Int>(zero: 0)  // [B] beam * V + word

    init(stepper: any DecoderStepper, settings: DecodeSettings, vocabulary: SearchVocabulary) {
        self.stepper = stepper
        self.settings = settings
        self.vocabulary = vocabulary
    }

    func decode(batch: FeatureBatch) -> [ImageCaptionOutcome] {
        batch.decodeUsableImages { features, usable in
            let slots = (0..<batch.imageCount).filter { usable[$0] }
            let maxRows = slots.count * settings.beamSize
            images.reserve(maxRows)
            parents.reserve(maxRows)
            tokens.reserve(maxRows)
            stepper.prepare(batch: batch, features: features, usable: usable, maxRows: maxRows)
            let captions = settings.beamSize == 1 ? greedy(batch: batch, slots: slots) : beamSearch(batch: batch, slots: slots)
            return zip(slots, captions).map { (image: $0, caption: $1) }
        }
    }

    private func caption(tokens all: [Int], logProb: Float, attention: [[Float]]) -> GeneratedCaption {
        let length = all.firstIndex(of: 0) ?? all.count
        let kept = Array(all[..<length])
        let words = kept.map(vocabulary.word)
        let text = vocabulary.text?(kept) ?? words.joined(separator: " ")
        return GeneratedCaption(
            tokens: kept, words: words, logProb: logProb, ended: length < all.count, attention: Array(attention[..<length]),
            detokenized: text == words.joined(separator: " ") ? nil : text)
    }

    /// `AttModel._sample` with `sample_method` greedy: the arg-max word (the lowest id among equal
    /// maxima) until the end token or `max_length` words; `remove_bad_endings` forbids the end token
    /// after a bad ending; `suppress_UNK` does not apply (as upstream).
    private func greedy(batch: FeatureBatch, slots: [Int]) -> [GeneratedCaption] {
        let V = stepper.vocabularySize, K = batch.maxRegions, L = settings.maxLength
        var sequences = [[Int]](repeating: [], count: slots.count)
        var sums = [Float](repeating: 0, count: slots.count)
        var attention = [[[Float]]](repeating: [], count: slots.count)
        var rowSlot = Array(slots.indices)
        for (row, image) in slots.enumerated() {
            images[row] = image
            parents[row] = -1
            tokens[row] = 0
        }
        var rows = slots.count
        for t in 0..<L where rows > 0 {
            stepper.step(rows: rows, images: images.pointer, parents: parents.pointer, tokens: tokens.pointer)
            var next = 0
            var nextSlot: [Int] = []
            for row in 0..<rows {
                let slot = rowSlot[row]
                let lp = stepper.logProbs + row * V
                if settings.removeBadEndings && t > 0 && vocabulary.isBadEnding[sequences[slot][t - 1]] {
                    lp[0] = -.infinity
                }
                var best = 0
                for v in 1..<V where lp[v] > lp[best] { best = v }
                sequences[slot].append(best)
                sums[slot] += lp[best]
                let regions = batch.regionCounts[slots[slot]]
                attention[slot].append(Array(UnsafeBufferPointer(start: stepper.attention + row * K, count: regions)))
                if best != 0 {
                    images[next] = images[row]
                    parents[next] = Int32(row)
                    tokens[next] = Int32(best)
                    nextSlot.append(slot)
                    next += 1
                }
            }
            rows = next
            rowSlot = nextSlot
        }
        return slots.indices.map { caption(tokens: sequences[$0], logProb: sums[$0], attention: attention[$0]) }
    }

    /// A beam that left the search: at iteration `step`, new row `row`.
    private struct Done {
        var step: Int
        var row: Int
        var score: Double
        var sum: Float
    }

    /// A beam search's record, per iteration `t`: the row of the step call each new row extends,
    /// its word, and that call's attention; the beams' running sums and the recorded beams.
    private struct BeamTrace {
        var parents: [[Int32]]
        var words: [[Int32]]
        var attention: [[Float]]
        var sums: [Float]
        var newSums: [Float]
        var done: [[Done]]

        init(images N: Int, beams B: Int, steps L: Int) {
            parents = [[Int32]](repeating: [], count: L)
            words = [[Int32]](repeating: [], count: L)
            attention = [[Float]](repeating: [], count: L)
            sums = [Float](repeating: 0, count: N * B)
            newSums = [Float](repeating: 0, count: N * B)
            done = [[Done]](repeating: [], count: N)
        }
    }

    /// `CaptionModel.beam_search` with one group (docs/decoder.md): seeded by the top words of one
    /// step from the start state; each later step ranks `sum + logp` over all beams and words
    /// (ties: lower beam, then lower word id); a beam that emits the end token, or reaches
    /// `max_length`, is recorded with its length penalty and its sum lowered by 1000, but keeps
    /// being expanded; always `max_length` steps; the best recorded beam wins (the earliest among
    /// equal scores).
    private func beamSearch(batch: FeatureBatch, slots: [Int]) -> [GeneratedCaption] {
        let V = stepper.vocabularySize, K = batch.maxRegions, L = settings.maxLength, B = settings.beamSize
        let N = slots.count
        zeros.reserve(V)
        exponentials.reserve(V)
        bestScores.reserve(B)
        bestIndex.reserve(B)
        var trace = BeamTrace(images: N, beams: B, steps: L)
        for (row, image) in slots.enumerated() {
            images[row] = image
            parents[row] = -1
            tokens[row] = 0
        }
        var rows = N
        var beamsPerImage = 1
        stepper.step(rows: rows, images: images.pointer, parents: parents.pointer, tokens: tokens.pointer)
        for t in 0..<L {
            trace.attention[t] = Array(UnsafeBufferPointer(start: stepper.attention, count: rows * K))
            adjustLogProbs(rows: rows, previousWords: t > 0 ? trace.words[t - 1] : nil)
            select(t: t, images: N, beamsPerImage: beamsPerImage, trace: &trace)
            swap(&trace.sums, &trace.newSums)
            if t == L - 1 { break }
            rows = N * B
            beamsPerImage = B
            for row in 0..<rows {
                images[row] = slots[row / B]
                parents[row] = trace.parents[t][row]
                tokens[row] = trace.words[t][row]
            }
            stepper.step(rows: rows, images: images.pointer, parents: parents.pointer, tokens: tokens.pointer)
            // upstream's second log_softmax (beam_search, after get_logprobs_state).
            for row in 0..<rows {
                Kernels.logSoftmax(stepper.logProbs + row * V, bias: zeros.pointer, scratch: exponentials.pointer, count: V)
            }
        }
        return (0..<N).map { slot in bestCaption(of: trace, slot: slot, regions: batch.regionCounts[slots[slot]], maxRegions: K) }
    }

    /// upstream's in-place edits of a step's log-probabilities, in its order: no end token after a
    /// bad ending (`remove_bad_endings`, from the second iteration), then `suppress_UNK` (or the
    /// options' `unk_idx`) lowered by 1000.
    private func adjustLogProbs(rows: Int, previousWords: [Int32]?) {
        let V = stepper.vocabularySize
        for row in 0..<rows {
            let lp = stepper.logProbs + row * V
            if settings.removeBadEndings, let previousWords, vocabulary.isBadEnding[Int(previousWords[row])] {
                lp[0] = -.infinity
            }
            if settings.suppressUnknown && vocabulary.lastWordIsUnknown {
                lp[V - 1] -= 1000
            } else if let unknown = vocabulary.unknownIndex {
                lp[unknown] -= 1000
            }
        }
    }

    /// Iteration `t`'s selection: per image, the top B of `sum + logp` over its beams and all words;
    /// a beam on the end token (or at the last iteration) is recorded and its sum lowered by 1000.
    private func select(t: Int, images N: Int, beamsPerImage: Int, trace: inout BeamTrace) {
        let V = stepper.vocabularySize, L = settings.maxLength, B = settings.beamSize
        var parentRow = [Int32](repeating: 0, count: N * B)
        var word = [Int32](repeating: 0, count: N * B)
        for slot in 0..<N {
            var filled = 0
            for beam in 0..<beamsPerImage {
                let row = slot * beamsPerImage + beam
                let base = t == 0 ? 0 : trace.sums[row]
                SearchKernels.offerTopK(
                    base: base, stepper.logProbs + row * V, count: V, offset: beam * V, k: B, filled: &filled,
                    scores: bestScores.pointer, indices: bestIndex.pointer)
            }
            for kept in 0..<B {
                let new = slot * B + kept
                let index = kept < filled ? bestIndex[kept] : 0
                parentRow[new] = Int32(slot * beamsPerImage + index / V)
                word[new] = Int32(index % V)
                trace.newSums[new] = kept < filled ? bestScores[kept] : -.infinity
                if word[new] == 0 || t == L - 1 {
                    let score = settings.lengthPenaltyRule.score(
                        sum: Double(trace.newSums[new]), length: Double(t + 1), alpha: settings.lengthPenalty)
                    trace.done[slot].append(Done(step: t, row: new, score: score, sum: trace.newSums[new]))
                    trace.newSums[new] -= 1000
                }
            }
        }
        trace.parents[t] = parentRow
        trace.words[t] = word
    }

    /// The best recorded beam of an image (the earliest among equal scores), followed back to the start.
    private func bestCaption(of trace: BeamTrace, slot: Int, regions: Int, maxRegions K: Int) -> GeneratedCaption {
        var best = trace.done[slot][0]
        for entry in trace.done[slot].dropFirst() where entry.score > best.score { best = entry }
        var sequence = [Int](repeating: 0, count: best.step + 1)
        var attention = [[Float]](repeating: [], count: best.step + 1)
        var row = best.row
        var t = best.step
        while t >= 0 {
            sequence[t] = Int(trace.words[t][row])
            let parent = Int(trace.parents[t][row])
            attention[t] = Array(trace.attention[t][(parent * K)..<(parent * K + regions)])
            row = parent
            t -= 1
        }
        return caption(tokens: sequence, logProb: best.sum, attention: attention)
    }
}
