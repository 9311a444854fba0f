/// How a network computes, without changing what: every choice gives the same results (to the
/// bit, or within rounding for the sparse product). The defaults are the fastest; tests and
/// facetwin-bench change them on one network to compare paths. Set a network's options between
/// passes, not during one.
public struct EngineOptions: Equatable, Sendable {
    /// Evaluation takes each image through all the CNN's blocks in turn (`ConvStack`), rather
    /// than the whole batch block by block.
    public var imageByImageEvaluation: Bool
    /// Linear layers use FaceTwin's own kernels (`WeightGEMM`) where the CPU runs them, rather
    /// than OpenBLAS. The sparse product needs them too.
    public var useWeightGEMM: Bool
    /// A frozen network's first linear layer multiplies only where its input differs from the
    /// CNN's background (`SparseLinear`).
    public var sparseEvaluation: Bool
    /// The sparse product is built (a packed copy of the first linear layer's weights: 164 MB and
    /// a pass over them, about 0.2 s for the reference network with its first batch, see
    /// facetwin-bench --compare-sparse) once this many images have been embedded while frozen,
    /// the current batch included: sustained embedding pays it back within a few batches, a
    /// model loaded to embed a handful of faces never pays it.
    public var sparseBuildThreshold: Int

    public init(
        imageByImageEvaluation: Bool = true, useWeightGEMM: Bool = true, sparseEvaluation: Bool = true,
        sparseBuildThreshold: Int = 256
    ) {
        self.imageByImageEvaluation = imageByImageEvaluation
        self.useWeightGEMM = useWeightGEMM
        self.sparseEvaluation = sparseEvaluation
        self.sparseBuildThreshold = sparseBuildThreshold
    }
}
