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
        // dW += dYᵀ · X
        BLAS.gemm(transA: true, m: outFeatures, n: inFeatures, k: n, a: dy, b: input.pointer,
                  beta: weight.gradIsZero ? 0 : 1, c: weight.grad.pointer)
        weight.gradIsZero = false
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
        guard needsInputGradient else { return nil }
        // dX = dY · W, in the input's own shape (the CNN's [N, C, H, W] when it follows a flatten).
        let gin = Tensor.reuse(gradInput, shape: input.shape)
        gradInput = gin
        BLAS.gemm(m: n, n: inFeatures, k: outFeatures, a: dy, b: weight.value.pointer, c: gin.pointer)
        return gin
    }
}
