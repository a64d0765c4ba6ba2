import Foundation
import PythonFiles

/// aimagelab/meshed-memory-transformer's `BeamSearch` (models/beam_search/beam_search.py) as
/// `test.py` runs it, `model.beam_search(images, max_len, <eos>, beam, out_size=1)`; beam size 1 is
/// greedy (upstream's `CaptioningModel.test` gives the same words, the goldens check it):
/// - the search starts from one `<bos>` hypothesis per image;
/// - a hypothesis's score is the plain sum of its log-probabilities (no length normalisation);
/// - each step keeps the best `beam` of all (hypothesis, word) candidates; ties go to the lower
///   hypothesis, then the lower word id (upstream's `torch.sort` is not documented as stable);
/// - a hypothesis whose last word is `<eos>` keeps its slot and its score: its only candidate is
///   word 0 at its old score (every other word scores -999), and it competes with the live ones;
/// - it always runs `max_length` steps, then the best score wins (the lower slot among equals).
///
/// The stored caption is what `test.py` scores: the words cut at the first `<eos>` (all
/// `max_length` words without one), then consecutive repeated words collapsed into one
/// (`itertools.groupby`). `GeneratedCaption.words`, `tokens` and `attention` keep every word before
/// `<eos>`; `text` is the collapsed caption. `logProb` is the hypothesis's score.
///
/// Attention: per word, the weights over the image's own rows (its first `min(regions, 50)`
/// detections; detections beyond the 50th are never read and get 0). The rest of each word's unit
/// of weight went to the zero rows upstream pads images with: the padding share is 1 minus the sum.
final class MeshedMemoryBeamSearch: CaptionDecoding {
    let model: MeshedMemoryModel
    let settings: DecodeSettings
    let stepper: MeshedMemoryStepper
    /// Images encoded together: the encoder's buffers grow with 50 rows per image.
    static let imagesPerPass = 32

    init(model: MeshedMemoryModel, settings: DecodeSettings) {
        self.model = model
        self.settings = settings
        stepper = MeshedMemoryStepper(model: model, maxLength: settings.maxLength)
    }

    func decode(batch: FeatureBatch) -> [ImageCaptionOutcome] {
        var outcomes: [ImageCaptionOutcome?] = Array(repeating: nil, count: batch.imageCount)
        batch.features.withUnsafeBufferPointer { features in
            for image in 0..<batch.imageCount {
                if let reason = FeatureBatch.problem(of: image, in: batch, features: features.baseAddress!) {
                    outcomes[image] = .failed(ImageDecodeFailure(imageID: batch.imageIDs[image], reason: reason))
                }
            }
            let usable = (0..<batch.imageCount).filter { outcomes[$0] == nil }
            var first = 0
            while first < usable.count {
                let pass = Array(usable[first..<min(first + Self.imagesPerPass, usable.count)])
                let captions = decode(images: pass, batch: batch, features: features.baseAddress!)
                for (slot, image) in pass.enumerated() { outcomes[image] = .captioned(captions[slot]) }
                first += pass.count
            }
        }
        return outcomes.map { $0! }
    }

    /// `ImageDetectionsField.preprocess(max_detections=50)`: the first 50 rows, zero rows after.
    static func detections(of image: Int, in batch: FeatureBatch, features: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let (D, R) = (batch.dimension, MeshedMemoryModel.rowsPerImage)
        let kept = min(batch.regionCounts[image], R)
        out.update(from: features + image * batch.maxRegions * D, count: kept * D)
        (out + kept * D).update(repeating: 0, count: (R - kept) * D)
    }

    private func decode(images: [Int], batch: FeatureBatch, features: UnsafePointer<Float>) -> [GeneratedCaption] {
        let (D, R) = (batch.dimension, MeshedMemoryModel.rowsPerImage)
        let N = images.count
        let (B, L, V) = (settings.beamSize, settings.maxLength, model.tokenCount)
        var input = [Float](repeating: 0, count: N * R * D)
        input.withUnsafeMutableBufferPointer { p in
            for (slot, image) in images.enumerated() {
                Self.detections(of: image, in: batch, features: features, into: p.baseAddress! + slot * R * D)
            }
        }
        input.withUnsafeBufferPointer { stepper.prepare(features: $0.baseAddress!, count: N, maxRows: N * B) }

        let eos = model.vocabulary.end
        var trace = Trace(steps: L)
        var scores = [Float](repeating: 0, count: N)  // seq_logprob per row
        var live = [Bool](repeating: true, count: N)  // seq_mask per row
        var rowImages = Array(0..<N)
        var parents = [Int](repeating: 0, count: N)
        var tokens = [Int](repeating: model.vocabulary.start, count: N)
        var beams = 1
        var candidates: [(score: Float, index: Int)] = []
        candidates.reserveCapacity(B * V)
        for t in 0..<L {
            let rows = N * beams
            stepper.step(rows: rows, position: t, images: rowImages, parents: parents, tokens: tokens)
            trace.attention[t] = Array(UnsafeBufferPointer(start: stepper.attention, count: rows * R))
            if t > 0 {
                for row in 0..<rows where tokens[row] == eos { live[row] = false }
            }
            var nextScores = [Float](repeating: 0, count: N * B)
            var nextLive = [Bool](repeating: true, count: N * B)
            var nextParents = [Int](repeating: 0, count: N * B)
            var nextTokens = [Int](repeating: 0, count: N * B)
            for slot in 0..<N {
                candidates.removeAll(keepingCapacity: true)
                for beam in 0..<beams {
                    let row = slot * beams + beam
                    let lp = stepper.logProbs + row * V
                    if live[row] {
                        for w in 0..<V { candidates.append((scores[row] + lp[w], beam * V + w)) }
                    } else {
                        candidates.append((scores[row], beam * V))
                        for w in 1..<V { candidates.append((-999, beam * V + w)) }
                    }
                }
                let best = Self.top(B, of: candidates)
                for (kept, candidate) in best.enumerated() {
                    let new = slot * B + kept
                    let parent = slot * beams + candidate.index / V
                    nextScores[new] = candidate.score
                    nextLive[new] = live[parent]
                    nextParents[new] = parent
                    nextTokens[new] = candidate.index % V
                }
            }
            trace.parents[t] = nextParents
            trace.words[t] = nextTokens
            scores = nextScores
            live = nextLive
            parents = nextParents
            tokens = nextTokens
            beams = B
            rowImages = (0..<(N * B)).map { $0 / B }
        }
        return (0..<N).map { caption(slot: $0, regions: batch.regionCounts[images[$0]], trace: trace, scores: scores) }
    }

    /// What the search recorded per step t: each new row's parent row (a row of step t's call),
    /// its word, and step t's attention (`rowsPerImage` weights per row of the call).
    private struct Trace {
        var parents: [[Int]]
        var words: [[Int]]
        var attention: [[Float]]

        init(steps: Int) {
            parents = [[Int]](repeating: [], count: steps)
            words = [[Int]](repeating: [], count: steps)
            attention = [[Float]](repeating: [], count: steps)
        }
    }

    /// Image `slot`'s caption: its best row after the last step, traced back through the steps.
    private func caption(slot: Int, regions: Int, trace: Trace, scores: [Float]) -> GeneratedCaption {
        let (B, L, R) = (settings.beamSize, settings.maxLength, MeshedMemoryModel.rowsPerImage)
        let eos = model.vocabulary.end
        var chosen = slot * B
        for beam in 1..<B where scores[slot * B + beam] > scores[chosen] { chosen = slot * B + beam }
        var sequence = [Int](repeating: 0, count: L)
        var attention = [[Float]](repeating: [], count: L)
        let seen = min(regions, R)
        var row = chosen
        for t in stride(from: L - 1, through: 0, by: -1) {
            sequence[t] = trace.words[t][row]
            let parent = t == 0 ? slot : trace.parents[t][row]
            var weights = Array(trace.attention[t][(parent * R)..<(parent * R + seen)])
            if regions > seen { weights += [Float](repeating: 0, count: regions - seen) }
            attention[t] = weights
            row = parent
        }
        let length = sequence.firstIndex(of: eos) ?? L
        let kept = Array(sequence[..<length])
        let words = kept.map(model.word)
        var collapsed: [String] = []
        for word in words where collapsed.last != word { collapsed.append(word) }
        let text = collapsed.joined(separator: " ").trimmingCharacters(in: .whitespaces)
        return GeneratedCaption(
            tokens: kept, words: words, logProb: scores[chosen], ended: length < L, attention: Array(attention[..<length]),
            detokenized: text == words.joined(separator: " ") ? nil : text)
    }

    /// The best `k` candidates by score (descending), ties by the lower flat index.
    static func top(_ k: Int, of candidates: [(score: Float, index: Int)]) -> [(score: Float, index: Int)] {
        var best: [(score: Float, index: Int)] = []
        best.reserveCapacity(k + 1)
        for c in candidates {
            if best.count == k, let last = best.last, !(c.score > last.score) { continue }
            var at = best.count
            while at > 0 && c.score > best[at - 1].score { at -= 1 }
            best.insert(c, at: at)
            if best.count > k { best.removeLast() }
        }
        return best
    }
}
