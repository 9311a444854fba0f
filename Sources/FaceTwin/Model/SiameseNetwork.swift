/// The seed's twin network: one CNN + MLP (`cnn1`, `fc1`) embeds both images of a pair with
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

    /// A network with PyTorch's default initialization drawn from `seed`; with `seed` nil the
    /// weights are left at zero, for a network whose state is loaded next.
    public init(config: NetworkConfig = .seed, seed: UInt64? = 0) {
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
        return fc1.forward(features.reshaped([n, config.flatFeatures]), mode: mode)
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
