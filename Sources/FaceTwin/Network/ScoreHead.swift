import Foundation

/// What turns the twin's two embeddings into a pair's score.
public enum HeadKind: String, Codable, CaseIterable, Sendable {
    /// The Euclidean distance itself (the ORL recipe: a threshold on distance).
    case distance
    /// The distance through BatchNorm1d(1), Dense(1) and a sigmoid: a score in (0, 1), small
    /// for a similar pair, whose complement is read as the match probability (`SigmoidHead`).
    case sigmoid
}

/// The learned score head of the Keras siamese recipe: s = σ(w · BN(d) + b) for the pair
/// distance d = ‖e₁ − e₂ + 1e-6‖ (PyTorch's `pairwise_distance`). Trained with the contrastive
/// loss on s (margin 1): small for similar pairs, near 1 for different ones; decision at 0.5.
/// Its state-dict names are `head.0.*` (BatchNorm1d) and `head.1.*` (Linear(1, 1)), as
/// `nn.Sequential(nn.BatchNorm1d(1), nn.Linear(1, 1))` names them.
public final class SigmoidHead {
    public let norm: BatchNorm1d
    public let dense: Linear
    /// The last training forward's scores, kept for the backward.
    public private(set) var lastScores: [Float] = []

    public init(rng: inout some RandomNumberGenerator, initialize: Bool = true) {
        norm = BatchNorm1d(1)
        dense = Linear(1, 1, rng: &rng, initialize: initialize)
    }

    /// As PyTorch's `nn.Sequential` lists them: state-dict indices 0 and 1.
    public var modules: [Layer] { [norm, dense] }
    public var parameters: [(name: String, parameter: Parameter)] { sequentialParameters(modules) }

    /// The scores of `distances` with the running statistics (evaluation).
    public func scores(_ distances: [Float]) -> [Float] {
        guard !distances.isEmpty else { return [] }
        let d = Tensor(shape: [distances.count, 1], values: distances)
        let z = dense.forward(norm.forward(d, mode: .evaluation), mode: .evaluation)
        return (0..<distances.count).map { Self.sigmoid(z.pointer[$0]) }
    }

    /// The training forward over a batch of distances (BatchNorm over the batch).
    public func trainingScores(_ distances: [Float]) -> [Float] {
        let d = Tensor(shape: [distances.count, 1], values: distances)
        let z = dense.forward(norm.forward(d, mode: .training), mode: .training)
        lastScores = (0..<distances.count).map { Self.sigmoid(z.pointer[$0]) }
        return lastScores
    }

    /// The backward of the last `trainingScores`: from the gradient with respect to each score,
    /// adds the head's parameter gradients and returns the gradient with respect to each distance.
    public func backward(_ gradScores: [Float]) -> [Float] {
        let n = gradScores.count
        precondition(n == lastScores.count, "SigmoidHead.backward of \(n) scores after a forward of \(lastScores.count)")
        let s = lastScores
        let gz = Tensor(shape: [n, 1], values: (0..<n).map { gradScores[$0] * s[$0] * (1 - s[$0]) })
        let gNorm = dense.backward(gz, needsInputGradient: true)!
        let gd = norm.backward(gNorm, needsInputGradient: true)!
        return gd.toArray()
    }

    static func sigmoid(_ z: Float) -> Float { 1 / (1 + exp(-z)) }

    /// The score at or below which a pair is similar, unless calibrated otherwise.
    public static let decision: Float = 0.5
    public static let decisionMethod = "0.5, the sigmoid head's decision"

    /// The contrastive loss on the scores of `pairs` of rows of `embeddings` [rows × dim]
    /// (label 1 = different), `mean((1 − y)·s² + y·max(0, margin − s)²)`, with its gradient
    /// with respect to every row written to `gradient` (rows in no pair get zeros).
    public func contrastive(
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
