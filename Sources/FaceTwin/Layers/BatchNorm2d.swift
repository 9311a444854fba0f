/// Batch normalization over N, H, W for each channel (PyTorch's `BatchNorm2d`, eps 1e-5,
/// momentum 0.1, affine, tracking running statistics).
///
/// `groups` splits the batch into equal consecutive parts normalized separately: the siamese
/// network runs both twins through the CNN as one batch of 2B images for speed, but PyTorch's
/// `forward_once(x1)`, `forward_once(x2)` normalizes each twin's B images with their own
/// statistics and updates the running statistics twice, first with x1's. Groups reproduce that
/// exactly.
public final class BatchNorm2d: Layer {
    public let channels: Int
    public let eps: Float
    public let momentum: Float
    public let weight: Parameter
    public let bias: Parameter
    public let runningMean: Tensor
    public let runningVar: Tensor
    /// Forward passes in training mode so far, as PyTorch's `num_batches_tracked` (one per group).
    public var numBatchesTracked: Int64 = 0
    /// How many equal parts of the batch are normalized separately in training mode.
    public var groups = 1

    /// Cache for backward: the input, and each (group, channel)'s batch mean and 1/√(var+eps).
    private var input: Tensor?
    private var mean: [Float] = []
    private var invStd: [Float] = []
    private var variance: [Float] = []
    private var sumDy: [Float] = []
    private var sumDyXhat: [Float] = []
    private var output: Tensor?
    private var gradInput: Tensor?

    public init(_ channels: Int, eps: Float = 1e-5, momentum: Float = 0.1) {
        self.channels = channels
        self.eps = eps
        self.momentum = momentum
        weight = Parameter(shape: [channels])
        weight.value.fill(1)
        bias = Parameter(shape: [channels])
        runningMean = Tensor(shape: [channels])
        runningVar = Tensor(shape: [channels])
        runningVar.fill(1)
    }

    public var parameters: [(name: String, parameter: Parameter)] { [("weight", weight), ("bias", bias)] }
    public var buffers: [(name: String, tensor: Tensor)] { [("running_mean", runningMean), ("running_var", runningVar)] }

    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
        precondition(input.shape.count == 4 && input.shape[1] == channels, "BatchNorm2d expects [N, \(channels), H, W], got \(input.shape)")
        let n = input.shape[0], hw = input.shape[2] * input.shape[3], c = channels
        let out = Tensor.reuse(output, shape: input.shape)
        output = out
        let x = input.pointer, y = out.pointer
        let gamma = weight.value.pointer, beta = bias.value.pointer

        switch mode {
        case .evaluation:
            let (scale, shift) = evaluationAffine()
            Parallel.chunks(n * c) { _, planes in
                for plane in planes {
                    let ch = plane % c
                    let (a, b) = (scale[ch], shift[ch])
                    let xp = x + plane * hw, yp = y + plane * hw
                    for i in 0..<hw { yp[i] = xp[i] * a + b }
                }
            }
        case .training:
            let g = groups
            precondition(n % g == 0, "batch of \(n) does not split into \(g) BatchNorm groups")
            let per = n / g, m = per * hw
            precondition(m > 1, "BatchNorm2d in training needs more than one value per channel")
            self.input = input
            // Per-(group, channel) scratch, allocated once per batch shape, not every step.
            if mean.count != g * c {
                mean = [Float](repeating: 0, count: g * c)
                invStd = mean
                variance = mean
                sumDy = mean
                sumDyXhat = mean
            }
            mean.withUnsafeMutableBufferPointer { meanP in
                invStd.withUnsafeMutableBufferPointer { invP in
                    variance.withUnsafeMutableBufferPointer { varP in
                        Parallel.chunks(g * c) { _, units in
                            for unit in units {
                                let (grp, ch) = (unit / c, unit % c)
                                var s = 0.0
                                for i in (grp * per)..<((grp + 1) * per) { s += sumDouble(x + (i * c + ch) * hw, hw) }
                                let mu = Float(s / Double(m))
                                var ss = 0.0
                                for i in (grp * per)..<((grp + 1) * per) { ss += sumSquaredDeviation(x + (i * c + ch) * hw, hw, mean: mu) }
                                let v = Float(ss / Double(m))
                                meanP[unit] = mu
                                varP[unit] = v
                                invP[unit] = 1 / (v + self.eps).squareRoot()
                            }
                        }
                    }
                }
            }
            let meanC = mean, invC = invStd
            Parallel.chunks(n * c) { _, planes in
                for plane in planes {
                    let (img, ch) = (plane / c, plane % c)
                    let unit = (img / per) * c + ch
                    let scale = gamma[ch] * invC[unit]
                    let shift = beta[ch] - meanC[unit] * scale
                    let xp = x + plane * hw, yp = y + plane * hw
                    for i in 0..<hw { yp[i] = xp[i] * scale + shift }
                }
            }
            // Running statistics, group by group in batch order, with the unbiased variance.
            let rm = runningMean.pointer, rv = runningVar.pointer
            let unbias = Float(m) / Float(m - 1)
            for grp in 0..<g {
                for ch in 0..<c {
                    rm[ch] = (1 - momentum) * rm[ch] + momentum * mean[grp * c + ch]
                    rv[ch] = (1 - momentum) * rv[ch] + momentum * variance[grp * c + ch] * unbias
                }
                numBatchesTracked += 1
            }
        }
        return out
    }

    /// Evaluation mode as a per-channel affine map y = x · scale + shift, from the running
    /// statistics: what a convolution before this layer can apply in its store.
    func evaluationAffine() -> (scale: [Float], shift: [Float]) {
        let gamma = weight.value.pointer, beta = bias.value.pointer
        let rm = runningMean.pointer, rv = runningVar.pointer
        let scale = (0..<channels).map { gamma[$0] / (rv[$0] + eps).squareRoot() }
        let shift = (0..<channels).map { beta[$0] - rm[$0] * scale[$0] }
        return (scale, shift)
    }

    public func backward(_ gradOutput: Tensor, needsInputGradient: Bool) -> Tensor? {
        backward(gradOutput, needsInputGradient: needsInputGradient, maskNonPositiveInput: false)
    }

    /// With `maskNonPositiveInput`, the input gradient is zeroed where this layer's input was
    /// not positive: the backward of a ReLU before this layer (whose output is this layer's
    /// input), fused into this one's last pass by `Sequential`.
    func backward(_ gradOutput: Tensor, needsInputGradient: Bool, maskNonPositiveInput: Bool) -> Tensor? {
        guard let input else { preconditionFailure("BatchNorm2d.backward without a training forward") }
        let n = input.shape[0], hw = input.shape[2] * input.shape[3], c = channels
        let g = groups, per = n / g, m = per * hw
        let x = input.pointer, dy = gradOutput.pointer
        var gin: Tensor? = nil
        if needsInputGradient {
            gin = Tensor.reuse(gradInput, shape: input.shape)
            gradInput = gin
        }
        let gamma = weight.value.pointer
        let meanC = mean, invC = invStd
        sumDy.withUnsafeMutableBufferPointer { sdy in
            sumDyXhat.withUnsafeMutableBufferPointer { sdx in
                Parallel.chunks(g * c) { _, units in
                    for unit in units {
                        let (grp, ch) = (unit / c, unit % c)
                        var s = 0.0, sx = 0.0
                        for i in (grp * per)..<((grp + 1) * per) {
                            let off = (i * c + ch) * hw
                            s += sumDouble(dy + off, hw)
                            sx += dotDouble(dy + off, x + off, hw)
                        }
                        // Σ dy·x̂ = invstd · (Σ dy·x − mean · Σ dy)
                        sdy[unit] = Float(s)
                        sdx[unit] = Float((sx - Double(meanC[unit]) * s) * Double(invC[unit]))
                    }
                }
                if let gin {
                    let dx = gin.pointer
                    let sdyC = UnsafeBufferPointer(sdy), sdxC = UnsafeBufferPointer(sdx)
                    Parallel.chunks(n * c) { _, planes in
                        for plane in planes {
                            let (img, ch) = (plane / c, plane % c)
                            let unit = (img / per) * c + ch
                            let inv = invC[unit], mu = meanC[unit]
                            let k = gamma[ch] * inv / Float(m)
                            let a = sdyC[unit], b = sdxC[unit]
                            let xp = x + plane * hw, dyp = dy + plane * hw, dxp = dx + plane * hw
                            if maskNonPositiveInput {
                                for i in 0..<hw {
                                    let xhat = (xp[i] - mu) * inv
                                    dxp[i] = xp[i] > 0 ? k * (Float(m) * dyp[i] - a - xhat * b) : 0
                                }
                            } else {
                                for i in 0..<hw {
                                    let xhat = (xp[i] - mu) * inv
                                    dxp[i] = k * (Float(m) * dyp[i] - a - xhat * b)
                                }
                            }
                        }
                    }
                }
            }
        }
        let gw = weight.gradPointerForAccumulation(), gb = bias.gradPointerForAccumulation()
        for grp in 0..<g {
            for ch in 0..<c {
                gw[ch] += sumDyXhat[grp * c + ch]
                gb[ch] += sumDy[grp * c + ch]
            }
        }
        return gin
    }
}
