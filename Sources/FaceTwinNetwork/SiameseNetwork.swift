/// The reference's twin network: one CNN + MLP (`cnn1`, `fc1`) embeds both images of a pair with
/// shared weights. Parameter names are PyTorch's state-dict names (`cnn1.1.weight`,
/// `cnn1.3.running_var`, `fc1.0.weight`, …), so models move between FaceTwin and PyTorch.
public final class SiameseNetwork {
    public let config: NetworkConfig
    package let cnn1: ConvStack
    package let fc1: Sequential
    /// The linear layers of `fc1`, in order.
    private let linears: [Linear]
    /// The learned score head (`config.head == .sigmoid`), after the twin.
    public let head: SigmoidHead?
    /// The BatchNorm layers of `cnn1`, with their module indices, for `num_batches_tracked`.
    package let batchNorms: [(index: Int, layer: BatchNorm2d)]

    /// How this network computes; the layers that depend on it follow every change.
    public var options: EngineOptions {
        didSet { applyOptions() }
    }

    /// Whether the weights are promised not to change (`freezeForInference`), and what that
    /// allows: the first linear layer's product over the nonzeros of its input.
    public private(set) var isFrozen = false
    private var sparseFirstLayer: SparseLinear?
    /// Images embedded in batches of at least `sparseMinimumBatch` while frozen.
    private var frozenImages = 0

    /// Batches from this size up use the sparse product once it is built.
    public static let sparseMinimumBatch = 16

    /// The share of the first linear layer's inputs that the sparse product multiplied in its
    /// last batch (nil before it ran): the features where the CNN's output is not its background.
    public var sparseInputDensity: Double? { sparseFirstLayer?.lastDensity }
    /// Whether the sparse product has been built.
    public var hasSparseProduct: Bool { sparseFirstLayer != nil }

    /// A network with PyTorch's default initialization drawn from `seed`; with `seed` nil the
    /// weights are left at zero, for a network whose state is loaded next.
    public init(config: NetworkConfig = .reference, seed: UInt64? = 0, options: EngineOptions = EngineOptions()) {
        self.config = config
        self.options = options
        var rng = RandomSource(seed: seed ?? 0)
        let initialize = seed != nil
        var blocks: [ConvBlock] = []
        var inChannels = config.inputChannels
        for c in config.channels {
            blocks.append(ConvBlock(inChannels, c, kernel: 3, padding: 1, pool: config.pool, rng: &rng, initialize: initialize))
            inChannels = c
        }
        cnn1 = ConvStack(blocks)
        batchNorms = cnn1.modules.enumerated().compactMap { i, module in (module as? BatchNorm2d).map { (i, $0) } }
        var mlp: [Layer] = []
        var linears: [Linear] = []
        var width = config.flatFeatures
        for (i, h) in (config.hidden + [config.embeddingSize]).enumerated() {
            let linear = Linear(width, h, rng: &rng, initialize: initialize)
            linears.append(linear)
            mlp.append(linear)
            if i < config.hidden.count { mlp.append(ReLU()) }
            width = h
        }
        if let scale = config.embeddingScale { mlp.append(L2Normalize(scale: scale)) }
        fc1 = Sequential(mlp)
        self.linears = linears
        head =
            config.head == .sigmoid
            ? SigmoidHead(rng: &rng, initialize: initialize, monotone: config.monotoneHead) : nil
        applyOptions()
    }

    private func applyOptions() {
        cnn1.imageByImageEvaluation = options.imageByImageEvaluation
        for linear in linears { linear.useWeightGEMM = options.useWeightGEMM }
    }

    /// `forward_once`: images [N, C, H, W] → embeddings [N, dim]. The returned tensor belongs to
    /// the network and is overwritten by the next call.
    package func forwardOnce(_ images: Tensor, mode: Mode) -> Tensor {
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
    /// its input (`SparseLinear`; same results within rounding). `forwardPairs` and `loadState`
    /// thaw the network themselves; anything else that writes its tensors must call `thaw()`
    /// first. A no-op on CPUs without AVX2/FMA, with `options.sparseEvaluation` off, or for a
    /// network without convolution blocks.
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
        guard isFrozen, options.sparseEvaluation, options.useWeightGEMM, WeightGEMM.isSupported,
            n >= Self.sparseMinimumBatch, let first = linears.first
        else { return nil }
        frozenImages += n
        if let sparseFirstLayer { return sparseFirstLayer }
        guard frozenImages >= options.sparseBuildThreshold, let background = cnnBackground(),
            background.count == first.inFeatures
        else { return nil }
        sparseFirstLayer = SparseLinear(weight: first.weight.value, bias: first.bias.value, background: background)
        return sparseFirstLayer
    }

    /// The CNN's output where its last ReLU gave 0: the last block's BatchNorm shift, per
    /// channel, over each channel's plane. Nil for a network without blocks.
    private func cnnBackground() -> [Float]? {
        guard config.pool <= 1, let bn = cnn1.blocks.last?.norm, config.flatFeatures % bn.channels == 0 else { return nil }
        let plane = config.flatFeatures / bn.channels
        let (_, shift) = bn.evaluationAffine()
        var u = [Float](repeating: 0, count: config.flatFeatures)
        for c in 0..<bn.channels { for i in 0..<plane { u[c * plane + i] = shift[c] } }
        return u
    }

    /// The training forward of a batch of pairs: `images` [2B, C, H, W] holds the pairs' first
    /// images, then their second images; returns their embeddings [2B, dim] (first B rows: first
    /// twins), which belong to the network. Both twins go through the network as one batch (one
    /// big GEMM instead of two), with BatchNorm normalizing each half on its own, which is
    /// exactly PyTorch's two `forward_once` calls. Thaws a frozen network: training changes it.
    public func forwardPairs(_ images: Tensor) -> Tensor {
        precondition(images.shape[0] % 2 == 0, "\(images.shape[0]) images do not make pairs")
        if isFrozen { thaw() }
        for (_, bn) in batchNorms { bn.groups = 2 }
        defer { for (_, bn) in batchNorms { bn.groups = 1 } }
        return forwardOnce(images, mode: .training)
    }

    /// The training forward of one batch of images [N, C, H, W], BatchNorm over the whole
    /// batch (a batch of identities, whose pairs are mined afterwards). Thaws a frozen network.
    public func forwardBatch(_ images: Tensor) -> Tensor {
        if isFrozen { thaw() }
        return forwardOnce(images, mode: .training)
    }

    /// The backward of the last `forwardPairs` or `forwardBatch`, from the loss's gradient with respect to its
    /// embeddings [2B, dim]: adds into every parameter's gradient (a parameter with a fused Adam
    /// update gets its update instead, see `Adam.zeroGradients`).
    public func backwardPairs(_ gradEmbeddings: Tensor) {
        let gFeatures = fc1.backward(gradEmbeddings, needsInputGradient: true)!
        _ = cnn1.backward(
            gFeatures.reshaped([gradEmbeddings.shape[0], config.channels.last ?? 1, config.featureHeight, config.featureWidth]),
            needsInputGradient: false)
    }

    /// Embeddings of `count` preprocessed images (flat [count × C × H × W] values), evaluated in
    /// batches. Returns [count × dim] row-major.
    public func embed(pixels: UnsafeBufferPointer<Float>, count: Int, batchSize: Int = 64) -> [Float] {
        let hw = config.imageSize, dim = config.embeddingSize
        precondition(pixels.count >= count * hw)
        var result = [Float](repeating: 0, count: count * dim)
        var start = 0
        var batch: Tensor? = nil
        while start < count {
            let n = min(batchSize, count - start)
            let input = Tensor.reuse(batch, shape: [n, config.inputChannels, config.inputHeight, config.inputWidth])
            batch = input
            input.pointer.update(from: pixels.baseAddress! + start * hw, count: n * hw)
            let emb = forwardOnce(input, mode: .evaluation)
            result.withUnsafeMutableBufferPointer {
                $0.baseAddress!.advanced(by: start * dim).update(from: emb.pointer, count: n * dim)
            }
            if config.mirrorAverage {
                // The mean of the image's embedding and its mirror image's: a face and its mirror
                // are the same person, and averaging cancels what the network learnt of one side.
                let (h, w) = (config.inputHeight, config.inputWidth)
                for i in 0..<(n * config.inputChannels) {
                    let src = pixels.baseAddress! + start * hw + i * h * w, dst = input.pointer + i * h * w
                    for y in 0..<h { for x in 0..<w { dst[y * w + x] = src[y * w + (w - 1 - x)] } }
                }
                let mirrored = forwardOnce(input, mode: .evaluation)
                result.withUnsafeMutableBufferPointer { r in
                    for j in 0..<(n * dim) { r[start * dim + j] = (r[start * dim + j] + mirrored.pointer[j]) / 2 }
                }
            }
            start += n
        }
        return result
    }

    public func embed(pixels: [Float], count: Int, batchSize: Int = 64) -> [Float] {
        pixels.withUnsafeBufferPointer { embed(pixels: $0, count: count, batchSize: batchSize) }
    }

    /// The scores of pair `distances`: the distances themselves, or through the sigmoid head.
    public func scores(distances: [Float]) -> [Float] {
        head?.scores(distances) ?? distances
    }

    /// Copies the twin's state (`cnn1`, `fc1`: weights, running statistics, counters) from
    /// `other`, a network of the same twin configuration; the head is left as it is.
    public func copyTwin(from other: SiameseNetwork) {
        thaw()
        let source = Dictionary(uniqueKeysWithValues: other.stateTensors.map { ($0.name, $0.tensor) })
        for (name, tensor) in stateTensors where !name.hasPrefix("head.") {
            guard let s = source[name] else { preconditionFailure("the backbone has no \(name)") }
            tensor.copy(from: s)
        }
        for ((_, bn), (_, theirs)) in zip(batchNorms, other.batchNorms) { bn.numBatchesTracked = theirs.numBatchesTracked }
    }

    /// Every layer that counts `num_batches_tracked`: the CNN's BatchNorms, then the head's.
    package var batchStatisticLayers: [any BatchStatisticsTracking] {
        batchNorms.map(\.layer) + (head.map { [$0.norm] } ?? [])
    }
}
