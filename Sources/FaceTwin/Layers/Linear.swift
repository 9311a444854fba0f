/// Fully connected layer y = x·Wᵀ + b, with W in PyTorch's [out × in] layout. Every pass is a
/// single multi-threaded GEMM over the whole batch: this layer (80 000 → 500 in the seed) is
/// where nearly all of a training step's arithmetic is.
public final class Linear: Layer {
    public let inFeatures: Int, outFeatures: Int
    public let weight: Parameter
    public let bias: Parameter

    /// Cache for backward: the forward's input, [N, in].
    private var input: Tensor?
    private var output: Tensor?
    private var gradInput: Tensor?
    /// When set, the backward applies this optimizer's step to `weight` itself, block of
    /// columns by block of columns (see `backward`), and `weight.grad` is not written.
    public var fusedOptimizer: Adam?
    /// Per worker: one block of the weight gradient, [out × blockColumns].
    private var gradientBlocks: [Tensor] = []
    static let blockColumns = 256

    public init(_ inFeatures: Int, _ outFeatures: Int, rng: inout some RandomNumberGenerator, initialize: Bool = true) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        weight = Parameter(shape: [outFeatures, inFeatures])
        bias = Parameter(shape: [outFeatures])
        let bound = 1 / Float(inFeatures).squareRoot()
        if initialize {
            initializeUniform(weight.value, bound: bound, rng: &rng)
            initializeUniform(bias.value, bound: bound, rng: &rng)
        }
    }

    public var parameters: [(name: String, parameter: Parameter)] { [("weight", weight), ("bias", bias)] }

    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
        let n = input.shape[0]
        precondition(input.count == n * inFeatures, "Linear expects [N, \(inFeatures)], got \(input.shape)")
        let out = Tensor.reuse(output, shape: [n, outFeatures])
        output = out
        self.input = input
        let y = out.pointer, b = bias.value.pointer
        for i in 0..<n { (y + i * outFeatures).update(from: b, count: outFeatures) }
        BLAS.setThreads(Parallel.workers)
        if n == 1 {
            BLAS.gemv(m: outFeatures, n: inFeatures, a: weight.value.pointer, x: input.pointer, beta: 1, y: y)
        } else {
            BLAS.gemm(transB: true, m: n, n: outFeatures, k: inFeatures, a: input.pointer, b: weight.value.pointer, beta: 1, c: y)
        }
        return out
    }

    public func backward(_ gradOutput: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard let input else { preconditionFailure("Linear.backward before forward") }
        let n = input.shape[0]
        let dy = gradOutput.pointer
        BLAS.setThreads(Parallel.workers)
        if fusedOptimizer == nil {
            // dW += dYᵀ · X
            BLAS.gemm(transA: true, m: outFeatures, n: inFeatures, k: n, a: dy, b: input.pointer,
                      beta: weight.gradIsZero ? 0 : 1, c: weight.grad.pointer)
            weight.gradIsZero = false
        }
        // db += column sums of dY, in Double: for the siamese loss the two twins' contributions
        // to a bias often cancel exactly, and PyTorch then gets exactly 0, which Adam turns
        // into no step at all; a Float sum would leave rounding noise that Adam blows up to a
        // full learning-rate step.
        let db = bias.gradPointerForAccumulation()
        for j in 0..<outFeatures {
            var s = 0.0
            for i in 0..<n { s += Double(dy[i * outFeatures + j]) }
            db[j] += Float(s)
        }
        if let adam = fusedOptimizer, let update = adam.sliceUpdate(for: weight) {
            return backwardUpdatingWeight(dy: dy, n: n, update: update, needsInputGradient: needsInputGradient, inputShape: input.shape,
                                          x: input.pointer)
        }
        guard needsInputGradient else { return nil }
        // dX = dY · W, in the input's own shape (the CNN's [N, C, H, W] when it follows a flatten).
        let gin = Tensor.reuse(gradInput, shape: input.shape)
        gradInput = gin
        BLAS.gemm(m: n, n: inFeatures, k: outFeatures, a: dy, b: weight.value.pointer, c: gin.pointer)
        return gin
    }

    /// The backward with the optimizer's step fused in, for the 80 000 × 500 weight: the
    /// columns are split into blocks shared out between the cores, and for each block, one
    /// OpenBLAS thread per core computes the input gradient's columns from the old weights
    /// (dX[:, blk] = dY · W[:, blk]), then the weight gradient's block (dYᵀ · X[:, blk], into a
    /// small buffer that stays in cache), then Adam updates the block of W and its moments while
    /// W's block is still in cache. The gradient never goes to memory and W is read once for
    /// both: about a third of the memory traffic of GEMM, GEMM, Adam.
    private func backwardUpdatingWeight(dy: UnsafePointer<Float>, n: Int, update: AdamSliceUpdate, needsInputGradient: Bool,
                                        inputShape: [Int], x: UnsafePointer<Float>) -> Tensor? {
        let (out, inF, bc) = (outFeatures, inFeatures, Self.blockColumns)
        var gin: Tensor? = nil
        if needsInputGradient {
            gin = Tensor.reuse(gradInput, shape: inputShape)
            gradInput = gin
        }
        let blocks = (inF + bc - 1) / bc
        let workers = min(Parallel.workers, blocks)
        if gradientBlocks.count != workers { gradientBlocks = (0..<workers).map { _ in Tensor(shape: [out, bc]) } }
        // A gradient accumulated earlier in this step (not the seed's case) is added in.
        let earlier: UnsafePointer<Float>? = weight.gradIsZero ? nil : UnsafePointer(weight.grad.pointer)
        let w = weight.value.pointer, dx = gin?.pointer
        BLAS.setThreads(1)
        Parallel.chunks(blocks, workers: workers) { worker, range in
            let buf = self.gradientBlocks[worker].pointer
            for blk in range {
                let c0 = blk * bc, cb = min(bc, inF - c0)
                if let dx {
                    BLAS.gemm(m: n, n: cb, k: out, a: dy, lda: out, b: w + c0, ldb: inF, c: dx + c0, ldc: inF)
                }
                BLAS.gemm(transA: true, m: out, n: cb, k: n, a: dy, lda: out, b: x + c0, ldb: inF, c: buf, ldc: cb)
                for r in 0..<out {
                    let g = buf + r * cb
                    if let earlier { for j in 0..<cb { g[j] += earlier[r * inF + c0 + j] } }
                    update.apply(offset: r * inF + c0, count: cb, grad: g)
                }
            }
        }
        BLAS.setThreads(Parallel.workers)
        weight.gradIsZero = true
        return gin
    }
}
