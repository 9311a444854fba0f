/// Fully connected layer without bias, y = x·Wᵀ, W [out × in] (dlib's `fc_no_bias`, whose
/// parameters dlib keeps as in × out; the model file holds them transposed, as here).
package final class LinearNoBias: Layer {
    package let inFeatures: Int, outFeatures: Int
    package let weight: Parameter

    /// Cache for backward: the forward's input, [N, in].
    private var input: Tensor?
    private var output: Tensor?
    private var gradInput: Tensor?

    package init(_ inFeatures: Int, _ outFeatures: Int, rng: inout some RandomNumberGenerator, initialize: Bool = true) {
        precondition(inFeatures > 0 && outFeatures > 0)
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        weight = Parameter(shape: [outFeatures, inFeatures])
        if initialize { initializeUniform(weight.value, bound: 1 / Float(inFeatures).squareRoot(), rng: &rng) }
    }

    package var parameters: [(name: String, parameter: Parameter)] { [("weight", weight)] }

    package func forward(_ input: Tensor, mode: Mode) -> Tensor {
        let n = input.shape[0]
        precondition(input.count == n * inFeatures, "LinearNoBias expects [N, \(inFeatures)], got \(input.shape)")
        let out = Tensor.reuse(output, shape: [n, outFeatures])
        output = out
        self.input = input
        BLAS.setThreads(1)
        if n == 1 {
            BLAS.gemv(m: outFeatures, n: inFeatures, a: weight.value.pointer, x: input.pointer, y: out.pointer)
        } else {
            BLAS.gemm(
                transB: true, m: n, n: outFeatures, k: inFeatures, a: input.pointer, b: weight.value.pointer, c: out.pointer)
        }
        return out
    }

    package func backward(_ gradOutput: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard let input else { preconditionFailure("LinearNoBias.backward before forward") }
        let n = input.shape[0]
        BLAS.setThreads(1)
        // dW += dYᵀ · X
        BLAS.gemm(
            transA: true, m: outFeatures, n: inFeatures, k: n, a: gradOutput.pointer, b: input.pointer, beta: 1,
            c: weight.gradPointerForAccumulation())
        guard needsInputGradient else { return nil }
        let gin = Tensor.reuse(gradInput, shape: input.shape)
        gradInput = gin
        // dX = dY · W
        BLAS.gemm(m: n, n: inFeatures, k: outFeatures, a: gradOutput.pointer, b: weight.value.pointer, c: gin.pointer)
        return gin
    }
}
