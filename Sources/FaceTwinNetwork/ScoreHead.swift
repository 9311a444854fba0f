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
///
/// The score rises with the distance by construction (`monotone`): the BatchNorm's scale and
/// the Dense weight that multiply the distance are the softplus of the stored parameters,
/// γ = softplus(`head.0.weight`) and w = softplus(`head.1.weight`), so w·γ > 0 whatever the
/// optimiser does and whatever sign the initialisation drew (`MonotoneHead` in
/// `scripts/facetwin_torch.py`). The raw parameter of γ starts at softplus⁻¹(1), so the head
/// starts as PyTorch's BatchNorm1d does. Model files record the parameterisation
/// (``NetworkConfig/monotoneHead``); a file without it holds the plain PyTorch head (the
/// parameters used as they are), loaded only when its w·γ is positive.
public final class SigmoidHead {
    package let norm: BatchNorm1d
    package let dense: Linear
    /// Whether γ and w are the softplus of the stored parameters (else the parameters as stored).
    public let monotone: Bool
    /// The last training forward's scores, kept for the backward.
    public private(set) var lastScores: [Float] = []
    /// What the last training forward keeps for the backward: the normalised distances and
    /// BatchNorm's output, and the batch's 1/√(var + eps).
    private var normalized: [Float] = []
    private var normOutput: [Float] = []
    private var invStd: Float = 0

    /// softplus⁻¹(1): the raw BatchNorm weight of a monotone head whose γ is 1.
    public static let unitGammaParameter: Float = Float(log(M_E - 1))

    public init(rng: inout some RandomNumberGenerator, initialize: Bool = true, monotone: Bool = true) {
        norm = BatchNorm1d(1)
        dense = Linear(1, 1, rng: &rng, initialize: initialize)
        self.monotone = monotone
        if monotone { norm.weight.value.pointer[0] = Self.unitGammaParameter }
    }

    /// As PyTorch's `nn.Sequential` lists them: state-dict indices 0 and 1.
    package var modules: [Layer] { [norm, dense] }
    package var parameters: [(name: String, parameter: Parameter)] { sequentialParameters(modules) }

    /// PyTorch's `F.softplus` (β 1, threshold 20).
    static func softplus(_ x: Float) -> Float { x > 20 ? x : log1p(exp(x)) }

    /// The BatchNorm scale γ and the Dense weight w that multiply the distance, and the
    /// derivatives of each with respect to its stored parameter.
    private var effective: (gamma: Float, dGamma: Float, weight: Float, dWeight: Float) {
        let g = norm.weight.value.pointer[0], w = dense.weight.value.pointer[0]
        guard monotone else { return (g, 1, w, 1) }
        return (Self.softplus(g), Self.sigmoid(g), Self.softplus(w), Self.sigmoid(w))
    }

    /// d score / d distance has the sign of this product (the running variance is checked
    /// non-negative on load): positive when the score rises with the distance.
    public var slope: Float { effective.gamma * effective.weight }

    /// The scores of `distances` with the running statistics (evaluation).
    public func scores(_ distances: [Float]) -> [Float] {
        let p = effective
        let scale = p.gamma / (norm.runningVar.pointer[0] + norm.eps).squareRoot()
        let shift = norm.bias.value.pointer[0] - norm.runningMean.pointer[0] * scale
        let b = dense.bias.value.pointer[0]
        return distances.map { Self.sigmoid(p.weight * ($0 * scale + shift) + b) }
    }

    /// The training forward over a batch of distances (BatchNorm over the batch, its running
    /// statistics updated as PyTorch's are).
    public func trainingScores(_ distances: [Float]) -> [Float] {
        let n = distances.count
        precondition(n > 1, "the sigmoid head's BatchNorm needs more than one distance in training")
        let p = effective
        var sum = 0.0
        for d in distances { sum += Double(d) }
        let m = sum / Double(n)
        var squares = 0.0
        for d in distances { squares += (Double(d) - m) * (Double(d) - m) }
        invStd = Float(1 / (squares / Double(n) + Double(norm.eps)).squareRoot())
        let beta = norm.bias.value.pointer[0], b = dense.bias.value.pointer[0]
        normalized = distances.map { ($0 - Float(m)) * invStd }
        normOutput = normalized.map { $0 * p.gamma + beta }
        lastScores = normOutput.map { Self.sigmoid(p.weight * $0 + b) }
        let momentum = norm.momentum
        norm.runningMean.pointer[0] = (1 - momentum) * norm.runningMean.pointer[0] + momentum * Float(m)
        norm.runningVar.pointer[0] =
            (1 - momentum) * norm.runningVar.pointer[0] + momentum * Float(squares / Double(n - 1))
        norm.numBatchesTracked += 1
        return lastScores
    }

    /// The backward of the last `trainingScores`: from the gradient with respect to each score,
    /// adds the head's parameter gradients and returns the gradient with respect to each distance.
    public func backward(_ gradScores: [Float]) -> [Float] {
        let n = gradScores.count
        precondition(n == lastScores.count, "SigmoidHead.backward of \(n) scores after a forward of \(lastScores.count)")
        let p = effective
        let s = lastScores
        let gz = (0..<n).map { gradScores[$0] * s[$0] * (1 - s[$0]) }
        var sumGz = 0.0, sumGzY = 0.0
        for i in 0..<n {
            sumGz += Double(gz[i])
            sumGzY += Double(gz[i]) * Double(normOutput[i])
        }
        dense.bias.gradPointerForAccumulation()[0] += Float(sumGz)
        dense.weight.gradPointerForAccumulation()[0] += Float(sumGzY) * p.dWeight
        // Through BatchNorm: dy = gz·w; dγ = Σ dy·x̂; dβ = Σ dy; dx = γ/(N σ)·(N dy − Σdy − x̂ Σdy·x̂).
        let dy = gz.map { $0 * p.weight }
        var sumDy = 0.0, sumDyXhat = 0.0
        for i in 0..<n {
            sumDy += Double(dy[i])
            sumDyXhat += Double(dy[i]) * Double(normalized[i])
        }
        norm.bias.gradPointerForAccumulation()[0] += Float(sumDy)
        norm.weight.gradPointerForAccumulation()[0] += Float(sumDyXhat) * p.dGamma
        let k = p.gamma * invStd / Float(n)
        return (0..<n).map { k * (Float(n) * dy[$0] - Float(sumDy) - normalized[$0] * Float(sumDyXhat)) }
    }

    static func sigmoid(_ z: Float) -> Float { 1 / (1 + exp(-z)) }

    /// The score at or below which a pair is similar, unless calibrated otherwise.
    public static let decision: Float = 0.5
    public static let decisionMethod = "0.5, the sigmoid head's decision"
}
