/// The reference's twin network: one CNN + MLP (`cnn1`, `fc1`) embeds both images of a pair with
/// shared weights. Parameter names are PyTorch's state-dict names (`cnn1.1.weight`,
/// `cnn1.3.running_var`, `fc1.0.weight`, …), so models move between FaceTwin and PyTorch.
public final class SiameseNetwork {
    public let config: NetworkConfig
    public let cnn1: Sequential
    public let fc1: Sequential
    /// The BatchNorm layers of `cnn1`, with their indices, for `num_batches_tracked`.
    public let batchNorms: [(index: Int, layer: BatchNorm2d)]

    /// Gradient of the loss with respect to the embeddings, [2B, dim], reused between steps.
    private var gradEmbeddings: Tensor?

    /// Whether the weights are promised not to change (`freezeForInference`), and what that
    /// allows: the first linear layer's product over the nonzeros of its input.
    public private(set) var isFrozen = false
    private var sparseFirstLayer: SparseLinear?
    /// Images embedded in batches of at least `sparseMinimumBatch` while frozen.
    private var frozenImages = 0

    /// Batches from this size up use the sparse product once it is built.
    public static let sparseMinimumBatch = 16
    /// The sparse product is built (a packed copy of the first linear layer's weights: 164 MB and
    /// a pass over them; with the first batch it takes about 0.2 s in the seed, facetwin-bench
    /// --compare-sparse) once this many images have been embedded while
    /// frozen, the current batch included: sustained embedding pays it back within a few batches,
    /// a model loaded to embed a handful of faces never pays it.
    nonisolated(unsafe) public static var sparseBuildThreshold = 256
    /// Whether a frozen network uses the sparse product (true); facetwin-bench and the tests turn
    /// it off to compare. Set it only between passes.
    nonisolated(unsafe) public static var sparseEvaluation = true

    /// The share of the first linear layer's inputs that the sparse product multiplied in its
    /// last batch (nil before it ran): the features where the CNN's output is not its background.
    public var sparseInputDensity: Double? { sparseFirstLayer?.lastDensity }
    /// Whether the sparse product has been built.
    public var hasSparseProduct: Bool { sparseFirstLayer != nil }

    /// A network with PyTorch's default initialization drawn from `seed`; with `seed` nil the
    /// weights are left at zero, for a network whose state is loaded next.
    public init(config: NetworkConfig = .reference, seed: UInt64? = 0) {
        self.config = config
        var rng = RandomSource(seed: seed ?? 0)
        let initialize = seed != nil
        var layers: [Layer] = []
        var norms: [(Int, BatchNorm2d)] = []
        var inChannels = 1
        for c in config.channels {
            let bn = BatchNorm2d(c)
            layers += [ReflectionPad2d(1), Conv2d(inChannels, c, kernel: 3, rng: &rng, initialize: initialize), ReLU()]
            norms.append((layers.count, bn))
            layers.append(bn)
            inChannels = c
        }
        cnn1 = Sequential(layers)
        batchNorms = norms
        var mlp: [Layer] = []
        var width = config.flatFeatures
        for h in config.hidden {
            mlp += [Linear(width, h, rng: &rng, initialize: initialize), ReLU()]
            width = h
        }
        mlp.append(Linear(width, config.embeddingSize, rng: &rng, initialize: initialize))
        fc1 = Sequential(mlp)
    }

    /// Learnable parameters in PyTorch's state-dict order.
    public var namedParameters: [(name: String, parameter: Parameter)] {
        cnn1.parameters.map { ("cnn1.\($0.name)", $0.parameter) } + fc1.parameters.map { ("fc1.\($0.name)", $0.parameter) }
    }

    /// Every floating-point tensor of the state dict (parameters and BatchNorm running
    /// statistics), in PyTorch's state-dict order; `num_batches_tracked` is in `batchNorms`.
    public var stateTensors: [(name: String, tensor: Tensor)] {
        var out: [(String, Tensor)] = []
        for (i, layer) in cnn1.layers.enumerated() {
            for p in layer.parameters { out.append(("cnn1.\(i).\(p.name)", p.parameter.value)) }
            for b in layer.buffers { out.append(("cnn1.\(i).\(b.name)", b.tensor)) }
        }
        for p in fc1.parameters { out.append(("fc1.\(p.name)", p.parameter.value)) }
        return out
    }

    /// `forward_once`: images [N, 1, H, W] → embeddings [N, dim]. The returned tensor belongs to
    /// the network and is overwritten by the next call.
    public func forwardOnce(_ images: Tensor, mode: Mode) -> Tensor {
        let n = images.shape[0]
        let features = cnn1.forward(images, mode: mode)
        if mode == .evaluation, let sparse = sparseProduct(batch: n) {
            var h = sparse.forward(features.pointer, rows: n)
            for layer in fc1.layers.dropFirst() { h = layer.forward(h, mode: mode) }
            return h
        }
        return fc1.forward(features.reshaped([n, config.flatFeatures]), mode: mode)
    }

    /// Promises that the weights and BatchNorm statistics will not change until `thaw()`, so
    /// that sustained evaluation can use the first linear layer's product over the nonzeros of
    /// its input (`SparseLinear`; same results within rounding). `trainStep` and `loadState`
    /// thaw the network themselves; anything else that writes its tensors must call `thaw()`
    /// first. A no-op on CPUs without AVX2/FMA, or when the network does not end its CNN with
    /// ReLU → BatchNorm2d and start its MLP with a Linear layer.
    public func freezeForInference() {
        isFrozen = true
    }

    /// Ends `freezeForInference`: drops the sparse product and its packed weights.
    public func thaw() {
        isFrozen = false
        sparseFirstLayer = nil
        frozenImages = 0
    }

    /// The sparse product for an evaluation batch of `n` images, built when the frozen network
    /// has embedded enough images; nil when the dense path is to be used.
    private func sparseProduct(batch n: Int) -> SparseLinear? {
        guard isFrozen, Self.sparseEvaluation, WeightGEMM.isEnabled, n >= Self.sparseMinimumBatch else { return nil }
        frozenImages += n
        if let sparseFirstLayer { return sparseFirstLayer }
        guard frozenImages >= Self.sparseBuildThreshold, let first = fc1.layers.first as? Linear,
              let background = cnnBackground(), background.count == first.inFeatures else { return nil }
        sparseFirstLayer = SparseLinear(first, background: background)
        return sparseFirstLayer
    }

    /// The CNN's output where its last ReLU gave 0: the last BatchNorm2d's shift, per channel,
    /// over each channel's plane. Nil unless the CNN ends with ReLU → BatchNorm2d.
    private func cnnBackground() -> [Float]? {
        let layers = cnn1.layers
        guard layers.count >= 2, layers[layers.count - 2] is ReLU, let bn = layers.last as? BatchNorm2d else { return nil }
        let channels = bn.channels
        guard channels > 0, config.flatFeatures % channels == 0 else { return nil }
        let plane = config.flatFeatures / channels
        let (_, shift) = bn.evaluationAffine()
        var u = [Float](repeating: 0, count: config.flatFeatures)
        for c in 0..<channels { for i in 0..<plane { u[c * plane + i] = shift[c] } }
        return u
    }

    /// Forward and backward of one batch of pairs, adding into the parameters' gradients.
    ///
    /// `images` holds 2B images [2B, 1, H, W]: the pairs' first images, then their second
    /// images. Both twins go through the network as one batch (one big GEMM instead of two),
    /// with BatchNorm normalizing each half on its own, which is exactly PyTorch's two
    /// `forward_once` calls. Returns the loss and the embeddings (first B rows: first twins).
    @discardableResult
    public func trainStep(images: Tensor, labels: [Float], loss: ContrastiveLoss) -> (loss: Float, embeddings: Tensor) {
        let b = labels.count, dim = config.embeddingSize
        precondition(images.shape[0] == 2 * b, "\(images.shape[0]) images for \(b) pairs")
        if isFrozen { thaw() }
        for (_, bn) in batchNorms { bn.groups = 2 }
        defer { for (_, bn) in batchNorms { bn.groups = 1 } }
        let emb = forwardOnce(images, mode: .training)
        let grad = Tensor.reuse(gradEmbeddings, shape: [2 * b, dim])
        gradEmbeddings = grad
        let value = loss.evaluate(first: emb.pointer, second: emb.pointer + b * dim, dim: dim, labels: labels,
                                  gradFirst: grad.pointer, gradSecond: grad.pointer + b * dim)
        let gFeatures = fc1.backward(grad, needsInputGradient: true)!
        _ = cnn1.backward(gFeatures.reshaped([2 * b, config.channels.last ?? 1, config.inputHeight, config.inputWidth]),
                      needsInputGradient: false)
        return (value, emb)
    }

    /// Embeddings of `count` preprocessed images (flat [count × H × W] values), evaluated in
    /// batches. Returns [count × dim] row-major.
    public func embed(pixels: UnsafeBufferPointer<Float>, count: Int, batchSize: Int = 64) -> [Float] {
        let hw = config.inputHeight * config.inputWidth, dim = config.embeddingSize
        precondition(pixels.count >= count * hw)
        var result = [Float](repeating: 0, count: count * dim)
        var start = 0
        var batch: Tensor? = nil
        while start < count {
            let n = min(batchSize, count - start)
            let input = Tensor.reuse(batch, shape: [n, 1, config.inputHeight, config.inputWidth])
            batch = input
            input.pointer.update(from: pixels.baseAddress! + start * hw, count: n * hw)
            let emb = forwardOnce(input, mode: .evaluation)
            result.withUnsafeMutableBufferPointer { $0.baseAddress!.advanced(by: start * dim).update(from: emb.pointer, count: n * dim) }
            start += n
        }
        return result
    }

    public func embed(pixels: [Float], count: Int, batchSize: Int = 64) -> [Float] {
        pixels.withUnsafeBufferPointer { embed(pixels: $0, count: count, batchSize: batchSize) }
    }
}
