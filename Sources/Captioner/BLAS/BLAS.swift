import CBLAS

/// Which of OpenBLAS's cores (its kernel sets, one per CPU type) nightcap's products run on.
///
/// OpenBLAS built for many CPUs (`DYNAMIC_ARCH`, as Debian ships it) picks its kernels when it loads,
/// from the CPU's model number. Version 0.3.21 (Debian 12) does not know recent Intel Xeons (Sapphire
/// Rapids and later) and falls back to its `Prescott` kernels, SSE3 code that runs the decoder's
/// products at a fifth of the speed of the `SkylakeX` kernels the same library carries. OpenBLAS 0.3.22
/// and later give a CPU they do not recognise the kernels of the widest vector instructions it
/// supports instead. nightcap does the same with the library it has: when OpenBLAS chose `Prescott`
/// by itself on a CPU with AVX or better, it makes the dispatcher choose again before the first
/// product. Results stay OpenBLAS's own for the kernels in use (the last bits of a product depend on
/// the kernels, as they depend on the machine; decoder.md). `OPENBLAS_CORETYPE`, when set, is the
/// user's choice and is left alone: `OPENBLAS_CORETYPE=Prescott` restores the library's own pick.
public enum OpenBLASCores {
    /// What OpenBLAS chose and what nightcap uses.
    public struct Selection: Sendable, Equatable {
        /// The core OpenBLAS chose when it loaded.
        public var chosenByLibrary: String
        /// The core whose kernels the products run on.
        public var inUse: String

        /// True when nightcap replaced the library's choice.
        public var replaced: Bool { chosenByLibrary != inUse }
    }

    /// The selection, made once, before the first product of the process. It also makes OpenBLAS
    /// run every call on the calling thread: nightcap runs one decoder per worker thread, and
    /// OpenBLAS's own threads would compete with them; at start-up, where the model's tables are
    /// multiplied while other threads read the first shards and hash the model, OpenBLAS's
    /// spin-and-yield hand-off between its threads kept the model's thread waiting twice as long as
    /// it ran on two vCPUs. (The products' results do not depend on it: OpenBLAS splits a product
    /// between threads by rows and columns, never along the sum.)
    public static let selection: Selection = {
        let chosen = String(cString: openblas_get_corename())
        let inUse = String(cString: nightcap_openblas_select())
        openblas_set_num_threads(1)
        return Selection(chosenByLibrary: chosen, inUse: inUse)
    }()

    /// Makes the selection if it was not made yet. Every entry into OpenBLAS (`BLAS`) calls it first.
    @inline(__always)
    public static func select() { _ = selection }

    /// The core to use instead of `chosenByLibrary`, or nil to keep it: only when the library fell
    /// back to `Prescott` by itself (no `OPENBLAS_CORETYPE`) and can choose again, on a CPU whose
    /// widest vector set (`nightcap_cpu_vector_tier`: 1 AVX, 2 AVX2, 3 AVX-512) has kernels. The
    /// policy is C (`nightcap_openblas_replacement` in CBLAS/shim.h), shared with the benchmarks'
    /// sgemm probes.
    static func replacement(chosenByLibrary: String, vectorTier: Int, userChoice: String?, canReselect: Bool) -> String? {
        nightcap_openblas_replacement(chosenByLibrary, Int32(vectorTier), userChoice == nil ? 0 : 1, canReselect ? 1 : 0)
            .map { String(cString: $0) }
    }
}


extension OpenBLASCores {
    /// What a decode in this process runs on, as stored with each shard (`shards.kernels`): the
    /// BLAS library and version with the core whose kernels run the products (and the library's
    /// own pick when nightcap replaced it), and which vector loops run (`Kernels.wide`: AVX2 or the
    /// portable Swift loops, equal bit for bit). For example `OpenBLAS 0.3.21 SkylakeX (library
    /// chose Prescott), vector loops avx2`.
    public static let description: String = {
        let selection = OpenBLASCores.selection
        // "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ...": the name and the version.
        let library = String(cString: openblas_get_config()).split(separator: " ").prefix(2).joined(separator: " ")
        let core = selection.replaced ? "\(selection.inUse) (library chose \(selection.chosenByLibrary))" : selection.inUse
        return "\(library) \(core), vector loops \(Kernels.wide ? "avx2" : "portable")"
    }()
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
        OpenBLASCores.select()
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
        OpenBLASCores.select()
        precondition(k > 0 && xStride >= k && yStride >= n && cStride >= n, "inconsistent matrix strides")
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
            1, x, Int32(xStride), y, Int32(yStride), accumulate ? 1 : 0, c, Int32(cStride))
    }
}
