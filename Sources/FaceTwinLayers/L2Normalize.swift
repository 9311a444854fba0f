/// Scales each row of [N, D] to length `scale`: y = s · x / ‖x‖ (PyTorch's
/// `s * F.normalize(x, dim=1)`, with its ε = 1e-12 under the norm). Embeddings on a sphere of
/// radius s make distances comparable across models and bounded (at most 2s), so a margin and
/// a threshold mean the same thing whatever the scale of the features before.
///
/// Backward: with u = x / ‖x‖, dx = s / ‖x‖ · (g − u (u · g)).
package final class L2Normalize: Layer {
    package let scale: Float
    private var output: Tensor?
    private var norms: [Float] = []
    private var gradInput: Tensor?

    package init(scale: Float = 1) { self.scale = scale }

    package func forward(_ input: Tensor, mode: Mode) -> Tensor {
        let n = input.shape[0], d = input.count / max(n, 1)
        let out = Tensor.reuse(output, shape: input.shape)
        output = out
        if norms.count != n { norms = [Float](repeating: 0, count: n) }
        let x = input.pointer, y = out.pointer
        for r in 0..<n {
            var sum: Float = 0
            for j in 0..<d { sum += x[r * d + j] * x[r * d + j] }
            let norm = max(sum.squareRoot(), 1e-12)
            norms[r] = norm
            for j in 0..<d { y[r * d + j] = scale * x[r * d + j] / norm }
        }
        return out
    }

    package func backward(_ gradOutput: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient, let out = output else { return nil }
        let n = out.shape[0], d = out.count / max(n, 1)
        let gin = Tensor.reuse(gradInput, shape: out.shape)
        gradInput = gin
        let y = out.pointer, g = gradOutput.pointer, dx = gin.pointer
        for r in 0..<n {
            // u = y / s; dx = s/‖x‖ (g − u (u·g)) = (s g − y (y·g) / s) / ‖x‖.
            var dot: Float = 0
            for j in 0..<d { dot += y[r * d + j] * g[r * d + j] }
            let inv = 1 / norms[r], k = dot / (scale * scale)
            for j in 0..<d { dx[r * d + j] = (scale * g[r * d + j] - scale * y[r * d + j] * k) * inv }
        }
        return gin
    }
}
