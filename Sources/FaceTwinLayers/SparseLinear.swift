import CKernels

/// A linear layer's inference product over the features where its input differs from a fixed
/// background u: y = (b + W·u) + W·(x − u), the first term formed once (in Double), the second
/// over the nonzeros of x − u only, or densely for blocks of features where most of x − u is
/// nonzero (Sources/CKernels/sparse.c). For the reference network's 80 000 → 500
/// layer, u is the last BatchNorm's per-channel shift, the value it gives where the ReLU before
/// it gave 0, so x − u is zero at more than half of the features for trained models on faces.
///
/// It holds a packed copy of Wᵀ (as large as W: 164 MB for the reference network), taken when it is made: the
/// layer's weights must not change while it is used (see `SiameseNetwork.freezeForInference`).
/// Requires `WeightGEMM.isSupported`.
package final class SparseLinear {
    let inFeatures: Int, outFeatures: Int
    private let packed: Tensor
    private let background: Tensor
    /// b + W·u, per output.
    private let constant: [Float]

    // Per batch, reused: each worker's block of x − u with its masks, and the kernel's partial sums.
    private var scratch: Tensor?
    private var partial: Tensor?
    private var output: Tensor?
    /// The share of x's entries that differed from u in the last batch.
    package private(set) var lastDensity: Double?
    /// A block of 64 features is multiplied densely (a 6 × 16 register tile, two vectors of W per
    /// twelve multiply-adds, instead of one per multiply-add) when at least this share (%) of its
    /// entries differ from u. The dense tile's cost does not depend on the density and the sparse
    /// visits' grows with it; on facetwin-bench's activations the crossover lies between 75 and
    /// 90 %, and 85 % is the fastest. The output is the same to the bit at any setting.
    var densePercent: Int32 = 85

    /// The product of `weight` [out × in] and `bias` [out] (a linear layer's) around the
    /// background `u` [in].
    package init(weight: Tensor, bias: Tensor, background u: [Float]) {
        precondition(WeightGEMM.isSupported, "SparseLinear needs AVX2 and FMA")
        precondition(
            weight.shape.count == 2 && bias.count == weight.shape[0],
            "weight \(weight.shape) and bias \(bias.shape) of a linear layer")
        let (n, k) = (weight.shape[0], weight.shape[1])
        precondition(u.count == k, "background of \(u.count) features for a layer of \(k)")
        (inFeatures, outFeatures) = (k, n)
        let (n32, k32) = (Int32(n), Int32(k))
        let packed = Tensor(shape: [facetwin_sparse_packed_count(n32, k32)])
        let background = Tensor(shape: [k])
        u.withUnsafeBufferPointer { background.pointer.update(from: $0.baseAddress!, count: k) }
        (self.packed, self.background) = (packed, background)
        let w = UnsafePointer(weight.pointer), bias = bias.pointer
        let dst = packed.pointer
        Parallel.chunks(Int(facetwin_sparse_kblocks(k32))) { _, r in
            facetwin_sparse_pack(n32, k32, w, k, dst, Int32(r.lowerBound), Int32(r.upperBound))
        }
        var constant = [Float](repeating: 0, count: n)
        let ub = UnsafePointer(background.pointer)
        constant.withUnsafeMutableBufferPointer { out in
            let o = out.baseAddress!
            Parallel.chunks(n) { _, rows in
                facetwin_sparse_constant(k32, w, k, ub, bias, o, Int32(rows.lowerBound), Int32(rows.upperBound))
            }
        }
        self.constant = constant
    }

    /// y = b + W·x for the rows of x [m × inFeatures]. The returned tensor [m, outFeatures] is
    /// this object's, overwritten by the next call.
    package func forward(_ x: UnsafePointer<Float>, rows m: Int) -> Tensor {
        let (n, k) = (outFeatures, inFeatures)
        let (m32, n32, k32) = (Int32(m), Int32(n), Int32(k))
        let out = Tensor.reuse(output, shape: [m, n])
        output = out
        // Each worker's scratch, in floats, rounded up to whole cache lines.
        let stride = (facetwin_sparse_scratch_bytes(m32) + 63) / 64 * 16
        if scratch?.count != stride * Parallel.workers { scratch = Tensor(shape: [stride * Parallel.workers]) }
        let partialCount = facetwin_sparse_partial_count(m32, n32)
        if partial?.count != partialCount { partial = Tensor(shape: [partialCount]) }
        guard let scratch = scratch?.pointer, let partial = partial?.pointer else { return out }
        let y = out.pointer, u = UnsafePointer(background.pointer), w = UnsafePointer(packed.pointer)
        constant.withUnsafeBufferPointer { c in
            for i in 0..<m { (y + i * n).update(from: c.baseAddress!, count: n) }
        }
        var nonzeros = [Int](repeating: 0, count: Parallel.workers)
        nonzeros.withUnsafeMutableBufferPointer { counted in
            let c = counted.baseAddress!
            let densePercent = self.densePercent
            Parallel.chunks(Int(facetwin_sparse_nblocks(n32))) { worker, r in
                c[worker] = facetwin_sparse_compute(
                    m32, n32, k32, w, x, k, u, partial, y, n, Int32(r.lowerBound), Int32(r.upperBound),
                    scratch + worker * stride, densePercent)
            }
        }
        // Every worker looked at every row, so any of them has the count.
        lastDensity = Double(nonzeros.max() ?? 0) / Double(m * k)
        return out
    }
}
