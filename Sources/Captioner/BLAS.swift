import CBLAS

/// How OpenBLAS uses threads. nightcap runs one `BatchDecoder` per worker thread, so each worker's
/// BLAS calls must stay on that worker's thread.
public enum BLASThreading {
    /// Makes OpenBLAS run every call on the calling thread. Call once at start-up, before any worker
    /// starts decoding.
    ///
    /// The corresponding C function is `openblas_set_num_threads`.
    public static func useSingleThread() {
        openblas_set_num_threads(1)
    }
}

/// The one funnel through which the module calls BLAS.
enum BLAS {
    /// `C[m x n] = X[m x k] · W^T + beta · C`, where `W` is `[n x k]` row-major: PyTorch's `[out, in]`
    /// weight layout. `beta` is 0 (overwrite) or 1 (accumulate).
    ///
    /// The corresponding C function is `cblas_sgemm`.
    static func multiplyTransposed(
        rows m: Int, outputs n: Int, inputs k: Int,
        _ x: UnsafePointer<Float>, xStride: Int,
        _ w: UnsafePointer<Float>, wStride: Int,
        into c: UnsafeMutablePointer<Float>, cStride: Int, accumulate: Bool = false
    ) {
        guard m > 0, n > 0 else { return }
        precondition(k > 0 && xStride >= k && wStride >= k && cStride >= n, "inconsistent matrix strides")
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k),
            1, x, Int32(xStride), w, Int32(wStride), accumulate ? 1 : 0, c, Int32(cStride))
    }

    /// `C[m x n] = X[m x k] · Y[k x n] + beta · C`, all row-major; `beta` is 0 or 1.
    ///
    /// The corresponding C function is `cblas_sgemm`.
    static func multiply(
        rows m: Int, outputs n: Int, inputs k: Int,
        _ x: UnsafePointer<Float>, xStride: Int,
        _ y: UnsafePointer<Float>, yStride: Int,
        into c: UnsafeMutablePointer<Float>, cStride: Int, accumulate: Bool = false
    ) {
        guard m > 0, n > 0 else { return }
        precondition(k > 0 && xStride >= k && yStride >= n && cStride >= n, "inconsistent matrix strides")
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
            1, x, Int32(xStride), y, Int32(yStride), accumulate ? 1 : 0, c, Int32(cStride))
    }
}
