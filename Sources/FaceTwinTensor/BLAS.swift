import COpenBLAS

/// Thin wrappers over OpenBLAS's `cblas_sgemm`, in row-major terms, and its thread count.
/// OpenBLAS is opened on first use with OPENBLAS_NUM_THREADS=1 (Sources/COpenBLAS/openblas.c
/// says why), except under an address-space limit (`ulimit -v`), where portable kernels take
/// its place; on a machine without it the portable kernels run too, slower, with the reason in
/// ``unavailableReason``.
package enum BLAS {
    nonisolated(unsafe) private static var currentThreads = -1

    /// Why OpenBLAS could not be loaded (the portable kernels run instead), or nil.
    package static let unavailableReason: String? = {
        var message = [UInt8](repeating: 0, count: 256)
        let status = message.withUnsafeMutableBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { facetwin_openblas_load($0.baseAddress, $0.count) }
        }
        guard status != 0 else { return nil }
        return String(decoding: message.prefix { $0 != 0 }, as: UTF8.self)
    }()

    /// Sets OpenBLAS's thread count for the GEMMs that follow. The engine keeps it at 1 and splits
    /// the work between cores itself (`Linear.split`); facetwin-bench raises it to time a large
    /// SGEMM. Called from the coordinating thread only, between phases.
    package static func setThreads(_ n: Int) {
        _ = unavailableReason
        if n != currentThreads {
            facetwin_openblas_set_threads(Int32(n))
            currentThreads = n
        }
    }

    /// y[m] = A[m×n] · x[n] + beta · y, A row-major: one probe through a linear layer, where a
    /// GEMV streams the weights once instead of packing them for a GEMM.
    @inline(__always)
    package static func gemv(
        m: Int, n: Int, a: UnsafePointer<Float>, x: UnsafePointer<Float>, beta: Float = 0,
        y: UnsafeMutablePointer<Float>
    ) {
        _ = unavailableReason
        facetwin_sgemv(Int32(m), Int32(n), 1, a, Int32(n), x, beta, y)
    }

    /// C[m×n] = op(A) · op(B) + beta · C, row-major with explicit leading dimensions (row
    /// strides), for blocks of larger matrices.
    @inline(__always)
    package static func gemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        _ = unavailableReason
        facetwin_sgemm(
            transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// The portable kernel that stands in for OpenBLAS under an address-space limit
    /// (Sources/COpenBLAS/openblas.c), with ``gemm(transA:transB:m:n:k:a:lda:b:ldb:beta:c:ldc:)``'s
    /// arguments and `alpha`.
    static func portableGEMM(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        facetwin_portable_sgemm(
            transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c,
            Int32(ldc))
    }

    /// C[m×n] = alpha · op(A) · op(B) + beta · C, all row-major and contiguous.
    /// op(A) is m×k (A is k×m when `transA`), op(B) is k×n (B is n×k when `transB`).
    @inline(__always)
    package static func gemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
        beta: Float = 0, c: UnsafeMutablePointer<Float>
    ) {
        _ = unavailableReason
        facetwin_sgemm(
            transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha,
            a, Int32(transA ? m : k), b, Int32(transB ? k : n), beta, c, Int32(n))
    }
}
