import CKernels

/// FaceTwin's own AVX2/FMA kernels for a linear layer with W in PyTorch's [out × in] layout
/// (Sources/CKernels/gemm.c says how and why they beat OpenBLAS on the reference network's 80 000 × 500
/// layer): the forward product X · Wᵀ, and in training the weight gradient folded into Adam.
/// Scratch buffers are the caller's, reused between calls.
package enum WeightGEMM {
    /// Whether the kernels run here: the CPU has AVX2 and FMA and `FACETWIN_CPU=baseline` does
    /// not force the portable path (Sources/CKernels/cpu.c); without them the layer uses OpenBLAS.
    package static var isSupported: Bool { facetwin_gemm_available() != 0 }

    /// Scratch space for one layer: the packed rows of X and the per-tile sums (forward), the
    /// packed dY (weight gradient folded into Adam).
    package struct Workspace {
        var packed: Tensor?
        var sums: Tensor?
        var packedGradient: Tensor?
        package init() {}
    }

    /// c[i][j] += Σ_p x[i][p] · w[j][p], rows of x and c with strides `k` and `ldc`, split over
    /// the cores when there is enough work. Requires `isSupported`.
    package static func addProduct(
        m: Int, n: Int, k: Int, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
        c: UnsafeMutablePointer<Float>, ldc: Int, workspace: inout Workspace
    ) {
        precondition(isSupported, "WeightGEMM needs AVX2 and FMA")
        guard m > 0, n > 0 else { return }
        let (m32, n32, k32) = (Int32(m), Int32(n), Int32(k))
        let packedCount = facetwin_gemm_nt_packed_count(m32, k32)
        let sumsCount = facetwin_gemm_nt_scratch_count(m32, n32)
        if workspace.packed?.count != packedCount { workspace.packed = Tensor(shape: [packedCount]) }
        if workspace.sums?.count != sumsCount { workspace.sums = Tensor(shape: [sumsCount]) }
        guard let packed = workspace.packed?.pointer, let sums = workspace.sums?.pointer else { return }
        let blocks = Int(facetwin_gemm_nt_blocks(k32)), tiles = Int(facetwin_gemm_nt_tiles(n32))
        let workers = m * n * k >= 1 << 22 ? Parallel.workers : 1
        Parallel.chunks(blocks, workers: workers) { _, r in
            facetwin_gemm_nt_pack(m32, k32, x, k, packed, Int32(r.lowerBound), Int32(r.upperBound))
        }
        Parallel.chunks(tiles, workers: workers) { _, r in
            facetwin_gemm_nt_compute(m32, n32, k32, packed, w, k, sums, c, ldc, Int32(r.lowerBound), Int32(r.upperBound))
        }
    }

    /// Adam's update of W[n×k] with the gradient G = dYᵀ · X (dY [m×n], X [m×k], contiguous),
    /// formed 6 × 16 entries at a time in registers and applied at once, never written out:
    /// the arithmetic of `Adam.update` on `update`'s moments and constants. Requires `isSupported`.
    static func adamUpdate(
        m: Int, n: Int, k: Int, dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
        w: UnsafeMutablePointer<Float>, update: FusedAdamUpdate, workspace: inout Workspace
    ) {
        precondition(isSupported, "WeightGEMM needs AVX2 and FMA")
        guard m > 0, n > 0, k > 0 else { return }
        let (m32, n32, k32) = (Int32(m), Int32(n), Int32(k))
        let count = facetwin_adam_tn_packed_count(m32, n32)
        if workspace.packedGradient?.count != count { workspace.packedGradient = Tensor(shape: [count]) }
        guard let packed = workspace.packedGradient?.pointer else { return }
        facetwin_adam_tn_pack(m32, n32, dy, packed)
        var step = facetwin_adam_step(
            beta1: update.beta1, beta2: update.beta2, eps: update.eps,
            step_size: update.stepSize, inverse_correction2: update.inverseCorrection2)
        let strips = Int(facetwin_adam_tn_strips(k32))
        let workers = m * n * k >= 1 << 22 ? Parallel.workers : 1
        let (m1, m2) = (update.firstMoment, update.secondMoment)
        withUnsafePointer(to: &step) { s in
            Parallel.chunks(strips, workers: workers) { _, r in
                facetwin_adam_tn(m32, n32, k32, packed, x, w, m1, m2, s, Int32(r.lowerBound), Int32(r.upperBound))
            }
        }
    }
}
