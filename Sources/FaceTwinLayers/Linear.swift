/// Fully connected layer y = x·Wᵀ + b, with W in PyTorch's [out × in] layout. Every pass is a
/// GEMM over the whole batch, split between the cores: this layer (80 000 → 500 in the reference network) is
/// where nearly all of a training step's arithmetic is.
package final class Linear: Layer {
    package let inFeatures: Int, outFeatures: Int
    package let weight: Parameter
    package let bias: Parameter

    /// Cache for backward: the forward's input, [N, in].
    private var input: Tensor?
    private var output: Tensor?
    private var gradInput: Tensor?
    private var workspace = WeightGEMM.Workspace()

    /// Whether batches go through FaceTwin's own kernels (`WeightGEMM`) where this CPU runs them,
    /// rather than OpenBLAS: the forward product, and in training the weight gradient folded
    /// into Adam. Set by the network from its `EngineOptions`, between passes.
    package var useWeightGEMM = true
    private var weightGEMM: Bool { useWeightGEMM && WeightGEMM.isSupported }

    package init(_ inFeatures: Int, _ outFeatures: Int, rng: inout some RandomNumberGenerator, initialize: Bool = true) {
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

    package var parameters: [(name: String, parameter: Parameter)] { [("weight", weight), ("bias", bias)] }

    package func forward(_ input: Tensor, mode: Mode) -> Tensor {
        let n = input.shape[0]
        precondition(input.count == n * inFeatures, "Linear expects [N, \(inFeatures)], got \(input.shape)")
        let out = Tensor.reuse(output, shape: [n, outFeatures])
        output = out
        self.input = input
        let y = out.pointer, b = bias.value.pointer
        for i in 0..<n { (y + i * outFeatures).update(from: b, count: outFeatures) }
        let (inF, outF, w, x) = (inFeatures, outFeatures, weight.value.pointer, input.pointer)
        if n > 1 && weightGEMM {
            WeightGEMM.addProduct(m: n, n: outF, k: inF, x: x, w: w, c: y, ldc: outF, workspace: &workspace)
            return out
        }
        // Each core takes a share of the output features (rows of W), one OpenBLAS thread each.
        Self.split(outF, work: n * inF * outF) { rows in
            let r0 = rows.lowerBound
            if n == 1 {
                BLAS.gemv(m: rows.count, n: inF, a: w + r0 * inF, x: x, beta: 1, y: y + r0)
            } else {
                BLAS.gemm(
                    transB: true, m: n, n: rows.count, k: inF, a: x, lda: inF, b: w + r0 * inF, ldb: inF, beta: 1, c: y + r0,
                    ldc: outF)
            }
        }
        return out
    }

    /// Runs `body` on disjoint slices of 0..<count (multiples of 16 but the last), one per
    /// core, when the layer's multiply-adds make that worth it; else on all of it here.
    ///
    /// All of FaceTwin's parallelism is its own (Dispatch workers) and OpenBLAS runs one thread
    /// per call, so no OpenBLAS pool thread is left spinning beside the convolutions' workers.
    /// Against OpenBLAS's own two threads, the step time measured the same within this
    /// machine's noise (facetwin-bench --breakdown, alternated runs).
    static func split(_ count: Int, work: Int, _ body: (Range<Int>) -> Void) {
        BLAS.setThreads(1)
        let units = (count + 15) / 16
        guard work >= 1 << 22, units >= 2, Parallel.workers > 1 else {
            body(0..<count)
            return
        }
        Parallel.chunks(units) { _, r in body((r.lowerBound * 16)..<min(count, r.upperBound * 16)) }
    }

    package func backward(_ gradOutput: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard let input else { preconditionFailure("Linear.backward before forward") }
        let n = input.shape[0]
        let dy = gradOutput.pointer
        let (inF, outF) = (inFeatures, outFeatures)
        let (x, w) = (input.pointer, weight.value.pointer)
        // This step's Adam update of W folded into forming its gradient (Adam.zeroGradients with
        // fuseIntoBackward), which then never goes to memory. dX is formed first, from W as it
        // was in the forward pass.
        if let update = weight.fusedUpdate, weightGEMM, n > 0 {
            let gin = needsInputGradient ? inputGradient(dy, shape: input.shape) : nil
            WeightGEMM.adamUpdate(m: n, n: outF, k: inF, dy: dy, x: x, w: w, update: update, workspace: &workspace)
            weight.fusedUpdate = nil
            weight.updatedInBackward = true
            addBiasGradient(dy, n: n)
            return gin
        }
        // dW += dYᵀ · X, each core a share of W's columns
        let gw = weight.grad.pointer
        let beta: Float = weight.gradIsZero ? 0 : 1
        Self.split(inF, work: n * inF * outF) { cols in
            let c0 = cols.lowerBound
            BLAS.gemm(
                transA: true, m: outF, n: cols.count, k: n, a: dy, lda: outF, b: x + c0, ldb: inF, beta: beta, c: gw + c0,
                ldc: inF)
        }
        weight.gradIsZero = false
        addBiasGradient(dy, n: n)
        guard needsInputGradient else { return nil }
        return inputGradient(dy, shape: input.shape)
    }

    /// db += column sums of dY, in Double: for the siamese loss the two twins' contributions
    /// to a bias often cancel exactly, and PyTorch then gets exactly 0, which Adam turns into no
    /// step at all; a Float sum would leave rounding noise that Adam blows up to a full
    /// learning-rate step.
    private func addBiasGradient(_ dy: UnsafeMutablePointer<Float>, n: Int) {
        let db = bias.gradPointerForAccumulation()
        for j in 0..<outFeatures {
            var s = 0.0
            for i in 0..<n { s += Double(dy[i * outFeatures + j]) }
            db[j] += Float(s)
        }
    }

    /// dX = dY · W, in the input's own shape (the CNN's [N, C, H, W] when it follows a flatten).
    private func inputGradient(_ dy: UnsafeMutablePointer<Float>, shape: [Int]) -> Tensor {
        let n = shape[0]
        let (inF, outF) = (inFeatures, outFeatures)
        let gin = Tensor.reuse(gradInput, shape: shape)
        gradInput = gin
        let (w, dx) = (weight.value.pointer, gin.pointer)
        Self.split(inF, work: n * inF * outF) { cols in
            let c0 = cols.lowerBound
            BLAS.gemm(m: n, n: cols.count, k: outF, a: dy, lda: outF, b: w + c0, ldb: inF, c: dx + c0, ldc: inF)
        }
        return gin
    }
}
