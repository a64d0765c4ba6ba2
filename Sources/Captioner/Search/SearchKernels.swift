/// The per-row loops both searches share (`NightcapBeamSearch`'s and `SelfCriticalDecoder`'s): the running
/// top-k of a beam step and the mean of an image's valid regions. One definition each, so the two
/// families cannot drift apart; inlined into their hot loops.
enum SearchKernels {
    /// Offers the candidates `base + logProbs[v]` (`v` in `0..<count`, index `offset + v`) to the
    /// running best `k` held in `scores`/`indices`, best first, `filled` of them valid.
    ///
    /// A candidate enters a full list only when it is strictly better than the k-th, so ties go to the
    /// earlier candidate (lower row, then lower token id); NaN never enters. Once the list is full,
    /// eight candidates are compared with the k-th at once and only a group holding a better one is
    /// walked one by one: the same comparisons on the same sums, so the same list as the plain loop.
    @inline(__always)
    static func offerTopK(
        base: Float, _ logProbs: UnsafePointer<Float>, count: Int, offset: Int, k: Int, filled: inout Int,
        scores: UnsafeMutablePointer<Float>, indices: UnsafeMutablePointer<Int>
    ) {
        var v = 0
        while v < count {
            if filled == k && v + 8 <= count {
                let group = Kernels.load(logProbs, v) + Float8(repeating: base)
                if !any(group .> Float8(repeating: scores[k - 1])) {
                    v += 8
                    continue
                }
                let end = v + 8
                while v < end {
                    insert(base + logProbs[v], index: offset + v, k: k, filled: &filled, scores: scores, indices: indices)
                    v += 1
                }
                continue
            }
            insert(base + logProbs[v], index: offset + v, k: k, filled: &filled, scores: scores, indices: indices)
            v += 1
        }
    }

    /// One candidate into the running top `k` (see `offerTopK`).
    @inline(__always)
    static func insert(
        _ candidate: Float, index: Int, k: Int, filled: inout Int, scores: UnsafeMutablePointer<Float>,
        indices: UnsafeMutablePointer<Int>
    ) {
        if filled == k {
            if !(candidate > scores[k - 1]) { return }
        } else if candidate.isNaN {
            return
        }
        var position = filled < k ? filled : k - 1
        if filled < k { filled += 1 }
        while position > 0 && scores[position - 1] < candidate {
            scores[position] = scores[position - 1]
            indices[position] = indices[position - 1]
            position -= 1
        }
        scores[position] = candidate
        indices[position] = index
    }

    /// `mean[d]` = the mean of the first `regions` rows of `D` floats at `features`: a sequential
    /// float32 sum over the regions, then one division by the count (the pooled `fc` both families
    /// derive from the regions; self-critical.pytorch's dataloader fallback without `input_fc_dir`).
    @inline(__always)
    static func meanOfRegions(_ features: UnsafePointer<Float>, regions: Int, dimension D: Int, into mean: UnsafeMutablePointer<Float>) {
        mean.update(repeating: 0, count: D)
        for region in 0..<regions {
            let v = features + region * D
            for d in 0..<D { mean[d] += v[d] }
        }
        let count = Float(regions)
        for d in 0..<D { mean[d] /= count }
    }
}
