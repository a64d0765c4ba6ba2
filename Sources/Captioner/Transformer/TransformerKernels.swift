import CKernels

/// The element-wise loops of a Transformer step: upstream's LayerNorm, multi-head scaled dot-product
/// attention of one row, a Linear layer's bias (and ReLU).
///
/// Each has a portable Swift loop and, on x86-64 with AVX2, a C version in
/// `Sources/CKernels/include/transformer_kernels.h` that performs the same operations in the same
/// order (8 lanes per instruction, no fused multiply-add), so the two give the same bits and the
/// choice (`Kernels.wide`, `NIGHTCAP_KERNELS=portable`) never changes a result;
/// `TransformerKernelTests` checks it. The sums that are reductions (the LayerNorm mean and variance,
/// each head's dot products) run in 8 lanes summed in order, then the tail, as `Kernels.sum`/`dot`.
enum TransformerKernels {
    /// `out = gain * (x - mean) / (std + 1e-6) + bias` per row of `d` (upstream's LayerNorm: std
    /// unbiased, eps added to the std).
    static func layerNorm(
        _ x: UnsafePointer<Float>, rows: Int, width d: Int, gain: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        into out: UnsafeMutablePointer<Float>, wide: Bool = Kernels.wide
    ) {
        #if arch(x86_64)
        if wide {
            nightcap_layer_norm_avx2(x, rows, d, gain, bias, out)
            return
        }
        #endif
        for row in 0..<rows {
            let v = x + row * d
            let o = out + row * d
            let mean = Kernels.sum(v, count: d) / Float(d)
            let m = Float8(repeating: mean)
            var lanes = Float8()
            var i = 0
            while i + 8 <= d {
                let c = Kernels.load(v, i) - m
                lanes += c * c
                i += 8
            }
            var squares = lanes.sum()
            while i < d {
                let c = v[i] - mean
                squares += c * c
                i += 1
            }
            let denominator = (squares / Float(d - 1)).squareRoot() + 1e-6
            for i in 0..<d { o[i] = gain[i] * (v[i] - mean) / denominator + bias[i] }
        }
    }

    /// Scaled dot-product attention of one query row over `count` keys and values for each of
    /// `heads` heads of `width` columns (head `h` reads columns `h * width ..< (h + 1) * width` of the
    /// query and of the key and value rows): the weights go to `weights[h * count + j]`, the weighted
    /// values to `out[h * width ..< (h + 1) * width]`. Row `j` of the keys and of the values starts
    /// `offsets[j]` floats from `keys` and `values` when `offsets` is given, else `j * stride`.
    /// The softmax subtracts the maximum first, as torch does.
    static func attention(
        query: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, stride: Int,
        offsets: UnsafePointer<Int>? = nil, count: Int, heads: Int, width dk: Int, scale: Float,
        weights: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>, wide: Bool = Kernels.wide
    ) {
        #if arch(x86_64)
        if wide {
            nightcap_multihead_attention_avx2(query, keys, values, stride, offsets, count, heads, dk, scale, weights, out)
            return
        }
        #endif
        func row(_ j: Int) -> Int { offsets.map { $0[j] } ?? j * stride }
        for head in 0..<heads {
            let column = head * dk
            let q = query + column
            let w = weights + head * count
            var largest = -Float.infinity
            for j in 0..<count {
                let s = Kernels.dot(q, keys + row(j) + column, count: dk) / scale
                w[j] = s
                largest = s > largest ? s : largest
            }
            for j in 0..<count { w[j] = Kernels.exp(w[j] - largest) }
            var total: Float = 0
            for j in 0..<count { total += w[j] }
            for j in 0..<count { w[j] = w[j] / total }
            let o = out + column
            for i in 0..<dk { o[i] = 0 }
            for j in 0..<count {
                let a = w[j]
                let v = values + row(j) + column
                for i in 0..<dk { o[i] += a * v[i] }
            }
        }
    }

    /// `out[r][j] += bias[j]` for `rows` rows of `n` values, `stride` floats apart; with `relu`,
    /// then `out = out < 0 ? 0 : out`.
    static func addBias(
        _ out: UnsafeMutablePointer<Float>, rows: Int, outputs n: Int, stride: Int, bias: UnsafePointer<Float>, relu: Bool,
        wide: Bool = Kernels.wide
    ) {
        #if arch(x86_64)
        if wide {
            nightcap_add_bias_avx2(out, rows, n, stride, bias, relu ? 1 : 0)
            return
        }
        #endif
        for row in 0..<rows {
            let o = out + row * stride
            if relu {
                for j in 0..<n {
                    let x = o[j] + bias[j]
                    o[j] = x < 0 ? 0 : x
                }
            } else {
                for j in 0..<n { o[j] += bias[j] }
            }
        }
    }
}
