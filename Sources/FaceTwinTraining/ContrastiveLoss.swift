/// Contrastive loss of Hadsell, Chopra and LeCun (2006), as the reference writes it:
/// `mean((1 − y)·d² + y·max(0, margin − d)²)` with d = ‖o₁ − o₂ + 1e-6‖ (PyTorch's
/// `pairwise_distance`, whose eps keeps the gradient finite at d = 0) and y = 1 for a pair of
/// *different* people.
package struct ContrastiveLoss {
    package var margin: Float
    /// PyTorch's `pairwise_distance` eps, added to the difference before the norm.
    package static let eps: Float = 1e-6

    package init(margin: Float = 2) { self.margin = margin }

    /// The loss over `labels.count` pairs, and its gradient with respect to both embeddings.
    /// `first` and `second` are [B × dim] row-major; `gradFirst`/`gradSecond` are overwritten.
    package func evaluate(
        first: UnsafePointer<Float>, second: UnsafePointer<Float>, dim: Int, labels: [Float],
        gradFirst: UnsafeMutablePointer<Float>, gradSecond: UnsafeMutablePointer<Float>
    ) -> Float {
        let b = labels.count
        var total = 0.0
        for i in 0..<b {
            let a = first + i * dim, c = second + i * dim
            var sq: Float = 0
            for k in 0..<dim { let diff = a[k] - c[k] + Self.eps; sq += diff * diff }
            let d = sq.squareRoot()
            let y = labels[i]
            let hinge = max(0, margin - d)
            total += Double((1 - y) * sq + y * hinge * hinge)
            // dL/dd for this pair, over the batch mean; dd/do₁ = (o₁ − o₂ + eps)/d.
            let dLdd = ((1 - y) * 2 * d - y * 2 * hinge) / Float(b)
            let scale: Float = d > 0 ? dLdd / d : 0
            for k in 0..<dim {
                let g = scale * (a[k] - c[k] + Self.eps)
                gradFirst[i * dim + k] = g
                gradSecond[i * dim + k] = -g
            }
        }
        return Float(total / Double(b))
    }
}

extension ContrastiveLoss {
    /// The loss over `pairs` of rows of one embedding matrix `embeddings` [N × dim] (a batch of
    /// identities with its mined pairs), and its gradient with respect to every row, written to
    /// `gradient` [N × dim] (rows in several pairs add up; rows in none get zeros). The same
    /// per-pair terms as `evaluate(first:second:…)`, averaged over the pairs.
    func evaluate(
        embeddings: UnsafePointer<Float>, dim: Int, pairs: [IdentityBatchSampler.MinedPair],
        rows: Int, gradient: UnsafeMutablePointer<Float>
    ) -> Float {
        gradient.update(repeating: 0, count: rows * dim)
        guard !pairs.isEmpty else { return 0 }
        let b = Float(pairs.count)
        var total = 0.0
        for pair in pairs {
            let a = embeddings + pair.first * dim, c = embeddings + pair.second * dim
            var sq: Float = 0
            for k in 0..<dim { let diff = a[k] - c[k] + Self.eps; sq += diff * diff }
            let d = sq.squareRoot(), y = pair.label
            let hinge = max(0, margin - d)
            total += Double((1 - y) * sq + y * hinge * hinge)
            let dLdd = ((1 - y) * 2 * d - y * 2 * hinge) / b
            let scale: Float = d > 0 ? dLdd / d : 0
            let ga = gradient + pair.first * dim, gc = gradient + pair.second * dim
            for k in 0..<dim {
                let g = scale * (a[k] - c[k] + Self.eps)
                ga[k] += g
                gc[k] -= g
            }
        }
        return Float(total / Double(pairs.count))
    }
}
