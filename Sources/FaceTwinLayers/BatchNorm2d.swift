import CKernels

/// Batch normalization over N, H, W for each channel (PyTorch's `BatchNorm2d`, eps 1e-5,
/// momentum 0.1, affine, tracking running statistics).
///
/// `groups` splits the batch into equal consecutive parts normalized separately: the siamese
/// network runs both twins through the CNN as one batch of 2B images for speed, but PyTorch's
/// `forward_once(x1)`, `forward_once(x2)` normalizes each twin's B images with their own
/// statistics and updates the running statistics twice, first with x1's. Groups reproduce that
/// exactly.
package final class BatchNorm2d: Layer {
    package let channels: Int
    package let eps: Float
    package let momentum: Float
    package let weight: Parameter
    package let bias: Parameter
    package let runningMean: Tensor
    package let runningVar: Tensor
    /// Forward passes in training mode so far, as PyTorch's `num_batches_tracked` (one per group).
    package var numBatchesTracked: Int64 = 0
    /// How many equal parts of the batch are normalized separately in training mode.
    package var groups = 1

    /// What the last training forward keeps for the backward.
    private var batch = Batch()
    private var output: Tensor?
    private var gradInput: Tensor?

    package init(_ channels: Int, eps: Float = 1e-5, momentum: Float = 0.1) {
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

    package var parameters: [(name: String, parameter: Parameter)] { [("weight", weight), ("bias", bias)] }
    package var buffers: [(name: String, tensor: Tensor)] { [("running_mean", runningMean), ("running_var", runningVar)] }

    package func forward(_ input: Tensor, mode: Mode) -> Tensor {
        precondition(
            input.shape.count == 4 && input.shape[1] == channels, "BatchNorm2d expects [N, \(channels), H, W], got \(input.shape)"
        )
        let out = Tensor.reuse(output, shape: input.shape)
        output = out
        switch mode {
        case .evaluation:
            let n = input.shape[0], hw = input.shape[2] * input.shape[3], c = channels
            let x = input.pointer, y = out.pointer
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
            normalizeBatch(input, into: out, batch: &batch)
        }
        return out
    }

    /// Evaluation mode as a per-channel affine map y = x · scale + shift, from the running
    /// statistics: what a convolution before this layer can apply in its store.
    package func evaluationAffine() -> (scale: [Float], shift: [Float]) {
        let gamma = weight.value.pointer, beta = bias.value.pointer
        let rm = runningMean.pointer, rv = runningVar.pointer
        let scale = (0..<channels).map { gamma[$0] / (rv[$0] + eps).squareRoot() }
        let shift = (0..<channels).map { beta[$0] - rm[$0] * scale[$0] }
        return (scale, shift)
    }

    package func backward(_ gradOutput: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard let input = batch.input else { preconditionFailure("BatchNorm2d.backward without a training forward") }
        addParameterGradients(gradOutput, batch: &batch)
        guard needsInputGradient else { return nil }
        let gin = Tensor.reuse(gradInput, shape: input.shape)
        gradInput = gin
        let (x, dy, dx) = (input.pointer, gradOutput.pointer, gin.pointer)
        let hw = input.shape[2] * input.shape[3]
        forEachPlaneGradient(batch: batch) { plane, c in
            let xp = x + plane * hw, dyp = dy + plane * hw, dxp = dx + plane * hw
            // The constants as locals, which the stores below cannot alias: the loop vectorizes.
            let (mean, invStd, k, m, sumDy, sumDyXhat) = (c.mean, c.invStd, c.k, c.m, c.sumDy, c.sumDyXhat)
            for i in 0..<hw {
                let xhat = (xp[i] - mean) * invStd
                dxp[i] = k * (m * dyp[i] - sumDy - xhat * sumDyXhat)
            }
        }
        return gin
    }
}

extension BatchNorm2d {
    /// What a training forward keeps for the backward: its input, the groups it normalized, and
    /// per (group, channel) the batch mean, variance and 1/√(var + eps); then the backward's
    /// sums Σdy and Σdy·x̂.
    struct Batch {
        var input: Tensor?
        var groups = 1
        var mean: [Float] = []
        var variance: [Float] = []
        var invStd: [Float] = []
        var sumDy: [Float] = []
        var sumDyXhat: [Float] = []
    }

    /// The training forward: normalizes `input` into `out` with each (group, channel)'s batch
    /// statistics, kept in `batch` with the input, and updates the running statistics (group by
    /// group, in batch order, with the unbiased variance) and `numBatchesTracked`.
    func normalizeBatch(_ input: Tensor, into out: Tensor, batch: inout Batch) {
        let n = input.shape[0], hw = input.shape[2] * input.shape[3], c = channels
        let x = input.pointer, y = out.pointer
        let gamma = weight.value.pointer, beta = bias.value.pointer
        let g = groups
        precondition(n % g == 0, "batch of \(n) does not split into \(g) BatchNorm groups")
        let per = n / g, m = per * hw
        precondition(m > 1, "BatchNorm2d in training needs more than one value per channel")
        batch.input = input
        batch.groups = g
        // Per-(group, channel) scratch, allocated once per batch shape, not every step.
        if batch.mean.count != g * c {
            batch.mean = [Float](repeating: 0, count: g * c)
            batch.invStd = batch.mean
            batch.variance = batch.mean
            batch.sumDy = batch.mean
            batch.sumDyXhat = batch.mean
        }
        let eps = self.eps
        batch.mean.withUnsafeMutableBufferPointer { meanP in
            batch.invStd.withUnsafeMutableBufferPointer { invP in
                batch.variance.withUnsafeMutableBufferPointer { varP in
                    Parallel.chunks(g * c) { _, units in
                        for unit in units {
                            let (grp, ch) = (unit / c, unit % c)
                            var s = 0.0
                            for i in (grp * per)..<((grp + 1) * per) { s += sumDouble(x + (i * c + ch) * hw, hw) }
                            let mu = Float(s / Double(m))
                            var ss = 0.0
                            for i in (grp * per)..<((grp + 1) * per) {
                                ss += sumSquaredDeviation(x + (i * c + ch) * hw, hw, mean: mu)
                            }
                            let v = Float(ss / Double(m))
                            meanP[unit] = mu
                            varP[unit] = v
                            invP[unit] = 1 / (v + eps).squareRoot()
                        }
                    }
                }
            }
        }
        let meanC = batch.mean, invC = batch.invStd
        Parallel.chunks(n * c) { _, planes in
            for plane in planes {
                let (img, ch) = (plane / c, plane % c)
                let unit = (img / per) * c + ch
                let scale = gamma[ch] * invC[unit]
                let shift = beta[ch] - meanC[unit] * scale
                facetwin_affine(x + plane * hw, y + plane * hw, hw, scale, shift)
            }
        }
        let rm = runningMean.pointer, rv = runningVar.pointer
        let unbias = Float(m) / Float(m - 1)
        for grp in 0..<g {
            for ch in 0..<c {
                rm[ch] = (1 - momentum) * rm[ch] + momentum * batch.mean[grp * c + ch]
                rv[ch] = (1 - momentum) * rv[ch] + momentum * batch.variance[grp * c + ch] * unbias
            }
            numBatchesTracked += 1
        }
    }

    /// The first part of the backward of `normalizeBatch`: Σdy and Σdy·x̂ per (group, channel),
    /// kept in `batch` for the input gradient and added into the weight and bias gradients.
    func addParameterGradients(_ gradOutput: Tensor, batch: inout Batch) {
        guard let input = batch.input else { preconditionFailure("BatchNorm2d.backward without a training forward") }
        let n = input.shape[0], hw = input.shape[2] * input.shape[3], c = channels
        let g = batch.groups, per = n / g
        let x = input.pointer, dy = gradOutput.pointer
        let meanC = batch.mean, invC = batch.invStd
        batch.sumDy.withUnsafeMutableBufferPointer { sdy in
            batch.sumDyXhat.withUnsafeMutableBufferPointer { sdx in
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
            }
        }
        let gw = weight.gradPointerForAccumulation(), gb = bias.gradPointerForAccumulation()
        for grp in 0..<g {
            for ch in 0..<c {
                gw[ch] += batch.sumDyXhat[grp * c + ch]
                gb[ch] += batch.sumDy[grp * c + ch]
            }
        }
    }

    /// The constants of one plane's input gradient, dx = k · (m·dy − Σdy − x̂ · Σdy·x̂) with
    /// x̂ = (x − mean) · invStd and k = γ · invStd / m.
    struct PlaneGradient {
        let mean: Float, invStd: Float, k: Float, m: Float, sumDy: Float, sumDyXhat: Float
    }

    /// Calls `body` for every plane (image × channel) of the batch, in parallel, with its
    /// `PlaneGradient`, after `addParameterGradients` has formed the sums.
    @inline(__always)
    func forEachPlaneGradient(batch: Batch, _ body: (_ plane: Int, PlaneGradient) -> Void) {
        guard let input = batch.input else { preconditionFailure("BatchNorm2d.backward without a training forward") }
        let n = input.shape[0], c = channels, per = n / batch.groups, m = per * input.shape[2] * input.shape[3]
        let gamma = weight.value.pointer
        let (meanC, invC, sdyC, sdxC) = (batch.mean, batch.invStd, batch.sumDy, batch.sumDyXhat)
        Parallel.chunks(n * c) { _, planes in
            for plane in planes {
                let (img, ch) = (plane / c, plane % c)
                let unit = (img / per) * c + ch
                let inv = invC[unit]
                body(
                    plane,
                    PlaneGradient(
                        mean: meanC[unit], invStd: inv, k: gamma[ch] * inv / Float(m), m: Float(m),
                        sumDy: sdyC[unit], sumDyXhat: sdxC[unit]))
            }
        }
    }
}
