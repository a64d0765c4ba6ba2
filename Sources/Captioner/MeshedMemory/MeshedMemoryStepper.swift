import Foundation
import PythonFiles

/// The Meshed-Memory Transformer's encoder (once per batch) and one decoder position for every
/// hypothesis (per step), as upstream's stateful `MeshedDecoder` computes them. One per worker; it
/// owns its scratch buffers.
///
/// What upstream does and this reproduces (docs/decoder.md, "Meshed-Memory Transformer"):
/// - every image is 50 rows (`prepare` takes them already laid out so);
/// - the encoder's padding mask is `sum(row) == 0` of the rows after fc -> ReLU -> LayerNorm, not of
///   the raw detections, so zero rows are masked only if that sum is exactly 0 (in practice never);
///   masked rows are skipped in the softmaxes (upstream's -inf), memory slots never are;
/// - the memory slots (`sqrt(d_k) m_k`, `sqrt(m) m_v`) follow the rows in the encoder's
///   self-attention only;
/// - the decoder's self-attention keeps each hypothesis's earlier positions (upstream's
///   `running_keys`/`running_values`, reordered with the beam); a position whose input was
///   `<pad>` is masked for every later query, and its own outputs are zeroed (`mask_pad`);
/// - position t (from 0) reads row t + 1 of the positional table (`running_seq`).
final class MeshedMemoryStepper {
    let model: MeshedMemoryModel
    let maxLength: Int
    var vocabularySize: Int { model.tokenCount }

    // Per batch.
    private var imageCount = 0
    private let levels = ScratchBuffer<Float>(zero: 0)  // [3 x T x d] encoder outputs of levels 0...2
    private let crossKeys = ScratchBuffer<Float>(zero: 0)  // [N_dec x 3 x T x a]
    private let crossValues = ScratchBuffer<Float>(zero: 0)
    private var visibleRows: [[Int]] = []  // per image: its unmasked rows (0..<50)
    // Work buffers.
    private let x = ScratchBuffer<Float>(zero: 0)
    private let q = ScratchBuffer<Float>(zero: 0)
    private let k = ScratchBuffer<Float>(zero: 0)
    private let v = ScratchBuffer<Float>(zero: 0)
    private let mixed = ScratchBuffer<Float>(zero: 0)
    private let out = ScratchBuffer<Float>(zero: 0)
    private let hidden = ScratchBuffer<Float>(zero: 0)
    private let keysWithMemory = ScratchBuffer<Float>(zero: 0)  // [(50 + m) x a]
    private let valuesWithMemory = ScratchBuffer<Float>(zero: 0)
    private let offsets = ScratchBuffer<Int>(zero: 0)
    private let weights = ScratchBuffer<Float>(zero: 0)  // [h x max(50 + m, L)]
    private let selfOut = ScratchBuffer<Float>(zero: 0)  // [rows x d] s
    private let levelOut = ScratchBuffer<Float>(zero: 0)  // [rows x d] e_l
    private let gateInput = ScratchBuffer<Float>(zero: 0)  // [rows x 2d]
    private let gate = ScratchBuffer<Float>(zero: 0)  // [rows x d]
    private let accumulated = ScratchBuffer<Float>(zero: 0)  // [rows x d]
    private let zeros = ScratchBuffer<Float>(zero: 0)
    private let exponentials = ScratchBuffer<Float>(zero: 0)
    // Per step.
    private var rowCapacity = 0
    private var cacheKeys = ScratchBuffer<Float>(zero: 0)  // [N_dec x rows x L x a]
    private var cacheValues = ScratchBuffer<Float>(zero: 0)
    private var cacheMasked = ScratchBuffer<Bool>(zero: false)  // [rows x L]
    private var nextKeys = ScratchBuffer<Float>(zero: 0)
    private var nextValues = ScratchBuffer<Float>(zero: 0)
    private var nextMasked = ScratchBuffer<Bool>(zero: false)
    private let logits = ScratchBuffer<Float>(zero: 0)  // [rows x V]
    private let averaged = ScratchBuffer<Float>(zero: 0)  // [rows x 50]

    /// After `step`: `rows x V` log-probabilities.
    var logProbs: UnsafeMutablePointer<Float> { logits.pointer }
    /// After `step`: `rows x 50` weights, the last decoder layer's cross-attention averaged over the
    /// 3 encoder levels and the heads (a distribution over all 50 rows).
    var attention: UnsafePointer<Float> { UnsafePointer(averaged.pointer) }

    init(model: MeshedMemoryModel, maxLength: Int) {
        self.model = model
        self.maxLength = maxLength
    }

    private func norm(_ p: UnsafeMutablePointer<Float>, rows: Int, _ n: MeshedMemoryModel.Norm) {
        MeshedMemoryKernels.layerNorm(p, rows: rows, width: model.width, n, into: p)
    }

    /// `x = LN(x + fc2(relu(fc1(x))))` for `rows` rows.
    private func feedForward(_ f: MeshedMemoryModel.FeedForward, _ p: UnsafeMutablePointer<Float>, rows: Int) {
        let d = model.width
        hidden.reserve(rows * model.feedForwardWidth)
        out.reserve(rows * d)
        MeshedMemoryKernels.linear(p, rows: rows, f.inner, into: hidden.pointer, relu: true)
        MeshedMemoryKernels.linear(hidden.pointer, rows: rows, f.outer, into: out.pointer)
        for i in 0..<(rows * d) { p[i] = p[i] + out.pointer[i] }
        norm(p, rows: rows, f.norm)
    }

    /// Encodes `count` images of 50 rows each (`features`: `count x 50 x D`).
    func prepare(features: UnsafePointer<Float>, count: Int, maxRows: Int) {
        let (d, a, h, m) = (model.width, model.attentionWidth, model.heads, model.memorySlots)
        let R = MeshedMemoryModel.rowsPerImage
        let T = count * R
        let widest = max(T, maxRows)
        imageCount = count
        for buffer in [x, q, k, v, mixed, out, selfOut, levelOut, gate, accumulated] { buffer.reserve(widest * max(d, a)) }
        gateInput.reserve(maxRows * 2 * d)
        levels.reserve(MeshedMemoryModel.levels * T * d)
        crossKeys.reserve(model.decoderLayers.count * MeshedMemoryModel.levels * T * a)
        crossValues.reserve(model.decoderLayers.count * MeshedMemoryModel.levels * T * a)
        keysWithMemory.reserve((R + m) * a)
        valuesWithMemory.reserve((R + m) * a)
        offsets.reserve(max(R + m, maxLength))
        weights.reserve(h * max(R + m, maxLength))
        zeros.reserve(model.tokenCount)
        exponentials.reserve(model.tokenCount)

        // fc -> ReLU -> (dropout) -> LayerNorm.
        MeshedMemoryKernels.linear(features, rows: T, model.inputProjection, into: x.pointer, relu: true)
        norm(x.pointer, rows: T, model.inputNorm)
        // upstream's mask: (torch.sum(input, -1) == 0) on these rows.
        visibleRows = (0..<count).map { image in
            (0..<R).filter { row in Kernels.sum(x.pointer + (image * R + row) * d, count: d) != 0 }
        }
        let dk = a / h
        let scale = Float(Double(dk).squareRoot())
        for (index, layer) in model.encoderLayers.enumerated() {
            let att = layer.attention
            MeshedMemoryKernels.linear(x.pointer, rows: T, att.query, into: q.pointer)
            MeshedMemoryKernels.linear(x.pointer, rows: T, att.key, into: k.pointer)
            MeshedMemoryKernels.linear(x.pointer, rows: T, att.value, into: v.pointer)
            layer.memoryKeys.withUnsafeBufferPointer { mk in
                layer.memoryValues.withUnsafeBufferPointer { mv in
                    (keysWithMemory.pointer + R * a).update(from: mk.baseAddress!, count: m * a)
                    (valuesWithMemory.pointer + R * a).update(from: mv.baseAddress!, count: m * a)
                }
            }
            for image in 0..<count {
                keysWithMemory.pointer.update(from: k.pointer + image * R * a, count: R * a)
                valuesWithMemory.pointer.update(from: v.pointer + image * R * a, count: R * a)
                let visible = visibleRows[image]
                for (j, row) in visible.enumerated() { offsets[j] = row * a }
                for slot in 0..<m { offsets[visible.count + slot] = (R + slot) * a }
                for row in 0..<R {
                    let r = image * R + row
                    TransformerKernels.attention(
                        query: q.pointer + r * a, keys: keysWithMemory.pointer, values: valuesWithMemory.pointer, stride: a,
                        offsets: offsets.pointer, count: visible.count + m, heads: h, width: dk, scale: scale, weights: weights.pointer,
                        into: mixed.pointer + r * a)
                }
            }
            MeshedMemoryKernels.linear(mixed.pointer, rows: T, att.output, into: out.pointer)
            for i in 0..<(T * d) { x.pointer[i] = x.pointer[i] + out.pointer[i] }
            norm(x.pointer, rows: T, att.norm)
            feedForward(layer.feedForward, x.pointer, rows: T)
            if index < MeshedMemoryModel.levels {
                (levels.pointer + index * T * d).update(from: x.pointer, count: T * d)
            }
        }
        for (index, layer) in model.decoderLayers.enumerated() {
            for level in 0..<MeshedMemoryModel.levels {
                let base = (index * MeshedMemoryModel.levels + level) * T * a
                MeshedMemoryKernels.linear(levels.pointer + level * T * d, rows: T, layer.encoderAttention.key, into: crossKeys.pointer + base)
                MeshedMemoryKernels.linear(levels.pointer + level * T * d, rows: T, layer.encoderAttention.value, into: crossValues.pointer + base)
            }
        }
        rowCapacity = maxRows
        let cacheSize = model.decoderLayers.count * maxRows * maxLength * a
        for buffer in [cacheKeys, cacheValues, nextKeys, nextValues] { buffer.reserve(cacheSize) }
        for buffer in [cacheMasked, nextMasked] { buffer.reserve(maxRows * maxLength) }
        logits.reserve(maxRows * model.tokenCount)
        averaged.reserve(maxRows * R)
    }

    /// Position `position` (from 0) for `rows` hypotheses: row `r` belongs to image `images[r]`,
    /// continues row `parents[r]` of the previous step (ignored at position 0) and feeds `tokens[r]`.
    func step(rows: Int, position t: Int, images: [Int], parents: [Int], tokens: [Int]) {
        let (h, L, V) = (model.heads, maxLength, model.tokenCount)
        let R = MeshedMemoryModel.rowsPerImage
        let d = model.width
        precondition(rows <= rowCapacity && t < L, "a step beyond what prepare(maxRows:) and the max length allow")
        if t > 0 { continueParents(rows: rows, position: t, parents: parents) }
        let keep = embed(rows: rows, position: t, tokens: tokens)
        averaged.pointer.update(repeating: 0, count: rows * R)
        for (index, layer) in model.decoderLayers.enumerated() {
            selfAttention(layer, index: index, rows: rows, position: t, keep: keep)
            meshedAttention(layer, index: index, rows: rows, images: images, keep: keep)
            feedForward(layer.feedForward, x.pointer, rows: rows)
            for row in 0..<rows where keep[row] == 0 { (x.pointer + row * d).update(repeating: 0, count: d) }
        }
        let count = Float(MeshedMemoryModel.levels * h)
        for i in 0..<(rows * R) { averaged.pointer[i] /= count }
        MeshedMemoryKernels.linear(x.pointer, rows: rows, model.logits, into: logits.pointer)
        for row in 0..<rows {
            Kernels.logSoftmax(logits.pointer + row * V, bias: zeros.pointer, scratch: exponentials.pointer, count: V)
        }
    }

    /// Each row's earlier positions are its parent's (upstream's apply_to_states gather).
    private func continueParents(rows: Int, position t: Int, parents: [Int]) {
        let (a, L) = (model.attentionWidth, maxLength)
        let layerStride = rowCapacity * L * a
        for layer in 0..<model.decoderLayers.count {
            for row in 0..<rows {
                let from = layer * layerStride + parents[row] * L * a
                let to = layer * layerStride + row * L * a
                (nextKeys.pointer + to).update(from: cacheKeys.pointer + from, count: t * a)
                (nextValues.pointer + to).update(from: cacheValues.pointer + from, count: t * a)
            }
        }
        for row in 0..<rows { (nextMasked.pointer + row * L).update(from: cacheMasked.pointer + parents[row] * L, count: t) }
        swap(&cacheKeys, &nextKeys)
        swap(&cacheValues, &nextValues)
        swap(&cacheMasked, &nextMasked)
    }

    /// The word embedding plus position t + 1 of the table into `x`; returns mask_pad per row (0
    /// for a `<pad>` word), and records the row's padding at position t.
    private func embed(rows: Int, position t: Int, tokens: [Int]) -> [Float] {
        let (d, L) = (model.width, maxLength)
        var keep = [Float](repeating: 1, count: rows)  // mask_pad
        model.wordEmbedding.withUnsafeBufferPointer { lut in
            model.positionalEncoding.withUnsafeBufferPointer { pe in
                for row in 0..<rows {
                    let o = x.pointer + row * d
                    let w = lut.baseAddress! + tokens[row] * d
                    let p = pe.baseAddress! + (t + 1) * d
                    for i in 0..<d { o[i] = w[i] + p[i] }
                    if tokens[row] == model.vocabulary.padding { keep[row] = 0 }
                    cacheMasked[row * L + t] = tokens[row] == model.vocabulary.padding
                }
            }
        }
        return keep
    }

    /// The decoder layer's masked self-attention over the hypothesis's positions 0...t, into `selfOut`.
    private func selfAttention(_ layer: MeshedMemoryModel.DecoderLayer, index: Int, rows: Int, position t: Int, keep: [Float]) {
        let (d, a, h, L) = (model.width, model.attentionWidth, model.heads, maxLength)
        let dk = a / h
        let scale = Float(Double(dk).squareRoot())
        let layerStride = rowCapacity * L * a
        let s = layer.selfAttention
        MeshedMemoryKernels.linear(x.pointer, rows: rows, s.query, into: q.pointer)
        MeshedMemoryKernels.linear(x.pointer, rows: rows, s.key, into: k.pointer)
        MeshedMemoryKernels.linear(x.pointer, rows: rows, s.value, into: v.pointer)
        let layerBase = index * layerStride
        for row in 0..<rows {
            (cacheKeys.pointer + layerBase + (row * L + t) * a).update(from: k.pointer + row * a, count: a)
            (cacheValues.pointer + layerBase + (row * L + t) * a).update(from: v.pointer + row * a, count: a)
        }
        for row in 0..<rows {
            var count = 0
            for p in 0...t where !cacheMasked[row * L + p] {
                offsets[count] = (row * L + p) * a
                count += 1
            }
            TransformerKernels.attention(
                query: q.pointer + row * a, keys: cacheKeys.pointer + layerBase, values: cacheValues.pointer + layerBase, stride: a,
                offsets: offsets.pointer, count: count, heads: h, width: dk, scale: scale, weights: weights.pointer, into: mixed.pointer + row * a)
        }
        MeshedMemoryKernels.linear(mixed.pointer, rows: rows, s.output, into: out.pointer)
        for row in 0..<rows {
            let (o, xi, r) = (selfOut.pointer + row * d, x.pointer + row * d, out.pointer + row * d)
            for i in 0..<d { o[i] = xi[i] + r[i] }
        }
        norm(selfOut.pointer, rows: rows, s.norm)
        for row in 0..<rows where keep[row] == 0 { (selfOut.pointer + row * d).update(repeating: 0, count: d) }
    }

    /// The meshed cross-attention: one shared attention applied to each encoder level, gated and
    /// summed over the levels, divided by sqrt(3), into `x`; the last layer's weights are summed
    /// into `averaged`.
    private func meshedAttention(_ layer: MeshedMemoryModel.DecoderLayer, index: Int, rows: Int, images: [Int], keep: [Float]) {
        let (d, a, h) = (model.width, model.attentionWidth, model.heads)
        let R = MeshedMemoryModel.rowsPerImage
        let T = imageCount * R
        let dk = a / h
        let scale = Float(Double(dk).squareRoot())
        let lastLayer = model.decoderLayers.count - 1
        let e = layer.encoderAttention
        MeshedMemoryKernels.linear(selfOut.pointer, rows: rows, e.query, into: q.pointer)
        accumulated.pointer.update(repeating: 0, count: rows * d)
        for level in 0..<MeshedMemoryModel.levels {
            let base = (index * MeshedMemoryModel.levels + level) * T * a
            for row in 0..<rows {
                let image = images[row]
                let visible = visibleRows[image]
                for (j, r) in visible.enumerated() { offsets[j] = r * a }
                TransformerKernels.attention(
                    query: q.pointer + row * a, keys: crossKeys.pointer + base + image * R * a, values: crossValues.pointer + base + image * R * a,
                    stride: a, offsets: offsets.pointer, count: visible.count, heads: h, width: dk, scale: scale, weights: weights.pointer,
                    into: mixed.pointer + row * a)
                if index == lastLayer {
                    let target = averaged.pointer + row * R
                    for head in 0..<h {
                        let w = weights.pointer + head * visible.count
                        for (j, r) in visible.enumerated() { target[r] += w[j] }
                    }
                }
            }
            MeshedMemoryKernels.linear(mixed.pointer, rows: rows, e.output, into: out.pointer)
            for row in 0..<rows {
                let (o, si, r) = (levelOut.pointer + row * d, selfOut.pointer + row * d, out.pointer + row * d)
                for i in 0..<d { o[i] = si[i] + r[i] }
            }
            norm(levelOut.pointer, rows: rows, e.norm)
            for row in 0..<rows {
                let g = gateInput.pointer + row * 2 * d
                let o = levelOut.pointer + row * d
                if keep[row] == 0 { o.update(repeating: 0, count: d) }
                g.update(from: selfOut.pointer + row * d, count: d)
                (g + d).update(from: o, count: d)
            }
            MeshedMemoryKernels.linear(gateInput.pointer, rows: rows, layer.gates[level], into: gate.pointer)
            for i in 0..<(rows * d) {
                accumulated.pointer[i] = accumulated.pointer[i] + levelOut.pointer[i] * (1 / (1 + expf(-gate.pointer[i])))
            }
        }
        let root3 = Float(Double(3).squareRoot())
        for row in 0..<rows {
            let (o, acc) = (x.pointer + row * d, accumulated.pointer + row * d)
            for i in 0..<d { o[i] = acc[i] / root3 * keep[row] }
        }
    }
}
