import Foundation

/// What a ``FaceModel`` needs of its network to embed faces and score pairs: FaceTwin's own
/// twin (``SiameseNetwork``, trained by ``Trainer``) or dlib's pretrained ResNet (``DlibResNet``,
/// fine-tuned by ``ResNetFineTuner``).
package protocol EmbeddingNetwork: AnyObject {
    /// How images are prepared for the network (size, colour, scaling) and its embedding size.
    var config: NetworkConfig { get }
    /// Embeddings of `count` prepared images (flat [count × C × H × W] values) → [count × dim].
    func embed(pixels: UnsafeBufferPointer<Float>, count: Int) -> [Float]
    func embed(pixels: [Float], count: Int) -> [Float]
    /// The learned score head, if the network has one.
    var head: SigmoidHead? { get }
    /// The scores of pair distances: the distances, or through the head.
    func scores(distances: [Float]) -> [Float]
    /// Every floating-point tensor of the network's state under its model-file name, in the
    /// file's order: what the fingerprint hashes and `save` writes.
    var stateTensors: [(name: String, tensor: Tensor)] { get }
    /// The description of the network the fingerprint hashes before its tensors.
    var fingerprintDescription: [UInt8] { get }
    /// Ends any promise that the weights stay as they are (before they are written in place).
    func thaw()
}

extension SiameseNetwork: EmbeddingNetwork {
    public func embed(pixels: UnsafeBufferPointer<Float>, count: Int) -> [Float] {
        embed(pixels: pixels, count: count, batchSize: NetworkLimits.inferenceBatch)
    }

    public func embed(pixels: [Float], count: Int) -> [Float] {
        pixels.withUnsafeBufferPointer { embed(pixels: $0, count: count, batchSize: NetworkLimits.inferenceBatch) }
    }

    /// The configuration as JSON with sorted keys.
    public var fingerprintDescription: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding a struct of integers, arrays and a Bool cannot fail.
        return Array((try? encoder.encode(config)) ?? Data("\(config)".utf8))
    }
}

extension DlibResNet: EmbeddingNetwork {
    /// The input as FaceTwin prepares it: RGB chips of the architecture's side in [0, 1], as
    /// given (no inversion, standardisation or inset); the embedding's size. It describes no
    /// CNN or fully connected layers of the twin's kind (`channels` and `hidden` are empty).
    public var config: NetworkConfig {
        var c = NetworkConfig(
            inputHeight: architecture.input.size, inputWidth: architecture.input.size, channels: [], hidden: [],
            embeddingSize: architecture.embedding, inputChannels: 3)
        if head != nil { c.head = .sigmoid }
        return c
    }

    public func embed(pixels: UnsafeBufferPointer<Float>, count: Int) -> [Float] {
        embed(pixels: pixels, count: count, batchSize: DlibResNet.inferenceBatch)
    }

    public func embed(pixels: [Float], count: Int) -> [Float] {
        pixels.withUnsafeBufferPointer { embed(pixels: $0, count: count, batchSize: DlibResNet.inferenceBatch) }
    }

    public func scores(distances: [Float]) -> [Float] { head?.scores(distances) ?? distances }

    /// The backbone's parameters, then the head's parameters and running statistics.
    package var stateTensors: [(name: String, tensor: Tensor)] {
        var out = namedParameters.map { ($0.name, $0.parameter.value) }
        if let head {
            out += [
                ("head.0.weight", head.norm.weight.value), ("head.0.bias", head.norm.bias.value),
                ("head.0.running_mean", head.norm.runningMean), ("head.0.running_var", head.norm.runningVar),
                ("head.1.weight", head.dense.weight.value), ("head.1.bias", head.dense.bias.value)
            ]
        }
        return out
    }

    /// The architecture as compact JSON with sorted keys.
    public var fingerprintDescription: [UInt8] { Array(architecture.json.utf8) }

    public func thaw() {}
}
