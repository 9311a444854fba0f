/// Batch normalization of [N, C] features over the batch, for each feature (PyTorch's
/// `BatchNorm1d`, eps 1e-5, momentum 0.1, affine, tracking running statistics). The sigmoid
/// score head normalizes the pair distance with one.
package final class BatchNorm1d: Layer, BatchStatisticsTracking {
    package let features: Int
    package let eps: Float
    package let momentum: Float
    package let weight: Parameter
    package let bias: Parameter
    package let runningMean: Tensor
    package let runningVar: Tensor
    package var numBatchesTracked: Int64 = 0

    /// What the last training forward keeps for the backward: its input and each feature's
    /// batch mean and 1/√(var + eps).
    private var input: Tensor?
    private var mean: [Float] = []
    private var invStd: [Float] = []
    private var output: Tensor?
    private var gradInput: Tensor?

    package init(_ features: Int, eps: Float = 1e-5, momentum: Float = 0.1) {
        self.features = features
        self.eps = eps
        self.momentum = momentum
        weight = Parameter(shape: [features])
        weight.value.fill(1)
        bias = Parameter(shape: [features])
        runningMean = Tensor(shape: [features])
        runningVar = Tensor(shape: [features])
        runningVar.fill(1)
    }

    package var parameters: [(name: String, parameter: Parameter)] { [("weight", weight), ("bias", bias)] }
    package var buffers: [(name: String, tensor: Tensor)] { [("running_mean", runningMean), ("running_var", runningVar)] }

    package func forward(_ input: Tensor, mode: Mode) -> Tensor {
        precondition(
            input.shape.count == 2 && input.shape[1] == features, "BatchNorm1d expects [N, \(features)], got \(input.shape)")
        let n = input.shape[0], c = features
        let out = Tensor.reuse(output, shape: input.shape)
        output = out
        let (x, y) = (input.pointer, out.pointer)
        let gamma = weight.value.pointer, beta = bias.value.pointer
        switch mode {
        case .evaluation:
            for j in 0..<c {
                let scale = gamma[j] / (runningVar.pointer[j] + eps).squareRoot()
                let shift = beta[j] - runningMean.pointer[j] * scale
                for i in 0..<n { y[i * c + j] = x[i * c + j] * scale + shift }
            }
        case .training:
            precondition(n > 1, "BatchNorm1d needs more than one value per feature in training")
            self.input = input
            mean = [Float](repeating: 0, count: c)
            invStd = [Float](repeating: 0, count: c)
            for j in 0..<c {
                var sum = 0.0
                for i in 0..<n { sum += Double(x[i * c + j]) }
                let m = sum / Double(n)
                var squares = 0.0
                for i in 0..<n { let d = Double(x[i * c + j]) - m; squares += d * d }
                let variance = squares / Double(n)
                let inv = Float(1 / (variance + Double(eps)).squareRoot())
                mean[j] = Float(m)
                invStd[j] = inv
                for i in 0..<n { y[i * c + j] = (x[i * c + j] - Float(m)) * inv * gamma[j] + beta[j] }
                let unbiased = squares / Double(n - 1)
                runningMean.pointer[j] = (1 - momentum) * runningMean.pointer[j] + momentum * Float(m)
                runningVar.pointer[j] = (1 - momentum) * runningVar.pointer[j] + momentum * Float(unbiased)
            }
            numBatchesTracked += 1
        }
        return out
    }

    package func backward(_ gradOutput: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard let input else { preconditionFailure("BatchNorm1d.backward without a training forward") }
        let n = input.shape[0], c = features
        let (x, dy) = (input.pointer, gradOutput.pointer)
        let gWeight = weight.gradPointerForAccumulation(), gBias = bias.gradPointerForAccumulation()
        let gin = needsInputGradient ? Tensor.reuse(gradInput, shape: input.shape) : nil
        if let gin { gradInput = gin }
        for j in 0..<c {
            var sumDy = 0.0, sumDyXhat = 0.0
            for i in 0..<n {
                let xhat = Double((x[i * c + j] - mean[j]) * invStd[j])
                sumDy += Double(dy[i * c + j])
                sumDyXhat += Double(dy[i * c + j]) * xhat
            }
            gWeight[j] += Float(sumDyXhat)
            gBias[j] += Float(sumDy)
            guard let dx = gin?.pointer else { continue }
            // dx = γ/(N σ) · (N dy − Σdy − x̂ Σdy·x̂)
            let k = weight.value.pointer[j] * invStd[j] / Float(n)
            for i in 0..<n {
                let xhat = (x[i * c + j] - mean[j]) * invStd[j]
                dx[i * c + j] = k * (Float(n) * dy[i * c + j] - Float(sumDy) - xhat * Float(sumDyXhat))
            }
        }
        return gin
    }
}

/// A layer with PyTorch's `num_batches_tracked` counter (saved as an int64 scalar).
package protocol BatchStatisticsTracking: AnyObject {
    var numBatchesTracked: Int64 { get set }
}

extension BatchNorm2d: BatchStatisticsTracking {}
