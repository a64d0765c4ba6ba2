/// The Meshed-Memory Transformer's element-wise pieces: torch's `nn.LayerNorm`, Linear layers in
/// PyTorch's `[out, in]` layout through BLAS, the sigmoid gate.
enum MeshedMemoryKernels {
    /// `out = gain * (x - mean) / sqrt(var + 1e-5) + bias` per row of `d` (torch's LayerNorm: biased
    /// variance, eps inside the square root). `out` may be `x`.
    static func layerNorm(_ x: UnsafePointer<Float>, rows: Int, width d: Int, _ norm: MeshedMemoryModel.Norm, into out: UnsafeMutablePointer<Float>) {
        norm.gain.withUnsafeBufferPointer { gain in
            norm.bias.withUnsafeBufferPointer { bias in
                for row in 0..<rows {
                    let v = x + row * d
                    let o = out + row * d
                    let mean = Kernels.sum(v, count: d) / Float(d)
                    var squares: Float = 0
                    for i in 0..<d {
                        let c = v[i] - mean
                        squares += c * c
                    }
                    let inverse = 1 / (squares / Float(d) + 1e-5).squareRoot()
                    for i in 0..<d { o[i] = (v[i] - mean) * inverse * gain[i] + bias[i] }
                }
            }
        }
    }

    /// `out[rows x n] = x[rows x k] · W^T + b` (x rows `xStride` floats apart, out rows `outStride`);
    /// with `relu`, then `max(out, 0)`.
    static func linear(
        _ x: UnsafePointer<Float>, rows: Int, xStride: Int? = nil, _ layer: MeshedMemoryModel.Linear, into out: UnsafeMutablePointer<Float>,
        outStride: Int? = nil, relu: Bool = false
    ) {
        guard rows > 0 else { return }
        let (k, n) = (layer.inputs, layer.outputs)
        layer.weight.withUnsafeBufferPointer { w in
            BLAS.multiplyTransposed(
                rows: rows, outputs: n, inputs: k, x, xStride: xStride ?? k, w.baseAddress!, wStride: k, into: out, cStride: outStride ?? n)
        }
        if let bias = layer.bias {
            bias.withUnsafeBufferPointer { b in
                TransformerKernels.addBias(out, rows: rows, outputs: n, stride: outStride ?? n, bias: b.baseAddress!, relu: relu)
            }
        } else if relu {
            for row in 0..<rows {
                let o = out + row * (outStride ?? n)
                for j in 0..<n where o[j] < 0 { o[j] = 0 }
            }
        }
    }
}
