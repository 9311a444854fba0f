import Foundation

/// The sigmoid head's training loss: the contrastive loss on its scores.
extension SigmoidHead {
    /// The contrastive loss on the scores of `pairs` of rows of `embeddings` [rows × dim]
    /// (label 1 = different), `mean((1 − y)·s² + y·max(0, margin − s)²)`, with its gradient
    /// with respect to every row written to `gradient` (rows in no pair get zeros).
    func contrastive(
        embeddings e: UnsafePointer<Float>, dim: Int, pairs: [IdentityBatchSampler.MinedPair], rows: Int, margin: Float,
        gradient: UnsafeMutablePointer<Float>
    ) -> Float {
        gradient.update(repeating: 0, count: rows * dim)
        guard !pairs.isEmpty else { return 0 }
        let distances = pairs.map { p -> Float in
            var sq: Float = 0
            for k in 0..<dim { let diff = e[p.first * dim + k] - e[p.second * dim + k] + ContrastiveLoss.eps; sq += diff * diff }
            return sq.squareRoot()
        }
        let s = trainingScores(distances)
        let b = Float(pairs.count)
        var total = 0.0
        var gradScores = [Float](repeating: 0, count: pairs.count)
        for (k, p) in pairs.enumerated() {
            let y = p.label, hinge = max(0, margin - s[k])
            total += Double((1 - y) * s[k] * s[k] + y * hinge * hinge)
            gradScores[k] = ((1 - y) * 2 * s[k] - y * 2 * hinge) / b
        }
        let gd = backward(gradScores)
        for (k, p) in pairs.enumerated() {
            let d = distances[k]
            let scale: Float = d > 0 ? gd[k] / d : 0
            for c in 0..<dim {
                let g = scale * (e[p.first * dim + c] - e[p.second * dim + c] + ContrastiveLoss.eps)
                gradient[p.first * dim + c] += g
                gradient[p.second * dim + c] -= g
            }
        }
        return Float(total / Double(pairs.count))
    }
}
