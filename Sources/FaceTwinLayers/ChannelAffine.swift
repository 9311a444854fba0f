/// dlib's `affine` layer in its convolutional mode: y[n, c, i] = weight[c] · x[n, c, i] +
/// bias[c], one scale and shift per channel (what a trained batch normalisation becomes in
/// dlib's inference networks). Parameters `weight` (dlib's gamma) and `bias` (beta).
package final class ChannelAffine: Layer {
    package let channels: Int
    package let weight: Parameter
    package let bias: Parameter

    /// Cache for backward: the forward's input.
    private var input: Tensor?
    private var output: Tensor?
    private var gradInput: Tensor?

    /// Scale 1 and shift 0: the identity, until weights are loaded or trained.
    package init(_ channels: Int) {
        precondition(channels > 0)
        self.channels = channels
        weight = Parameter(shape: [channels])
        bias = Parameter(shape: [channels])
        weight.value.fill(1)
    }

    package var parameters: [(name: String, parameter: Parameter)] { [("weight", weight), ("bias", bias)] }

    package func forward(_ input: Tensor, mode: Mode) -> Tensor {
        precondition(
            input.shape.count >= 2 && input.shape[1] == channels, "ChannelAffine expects [N, \(channels), …], got \(input.shape)")
        let out = Tensor.reuse(output, shape: input.shape)
        output = out
        self.input = input
        let planes = input.shape[0] * channels, plane = input.count / max(planes, 1)
        let (x, y, scale, shift) = (input.pointer, out.pointer, weight.value.pointer, bias.value.pointer)
        Parallel.chunks(planes, workers: input.count >= 1 << 15 ? Parallel.workers : 1) { _, range in
            for p in range {
                let c = p % self.channels
                let (a, b) = (scale[c], shift[c])
                let src = x + p * plane, dst = y + p * plane
                for i in 0..<plane { dst[i] = a * src[i] + b }
            }
        }
        return out
    }

    package func backward(_ gradOutput: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard let input else { preconditionFailure("ChannelAffine.backward before forward") }
        let n = input.shape[0], plane = input.count / max(n * channels, 1)
        let (x, g) = (input.pointer, gradOutput.pointer)
        let dw = weight.gradPointerForAccumulation(), db = bias.gradPointerForAccumulation()
        for c in 0..<channels {
            var sw = 0.0, sb = 0.0
            for i in 0..<n {
                let at = (i * channels + c) * plane
                sw += dotDouble(g + at, x + at, plane)
                sb += sumDouble(g + at, plane)
            }
            dw[c] += Float(sw)
            db[c] += Float(sb)
        }
        guard needsInputGradient else { return nil }
        let gin = Tensor.reuse(gradInput, shape: input.shape)
        gradInput = gin
        let (d, scale) = (gin.pointer, weight.value.pointer)
        for p in 0..<(n * channels) {
            let a = scale[p % channels]
            for i in 0..<plane { d[p * plane + i] = a * g[p * plane + i] }
        }
        return gin
    }
}
