import Foundation

/// The bounds on a network configuration and on the numbers that size a training run: one
/// definition for the model loader (a file's metadata or tensor shapes) and for the options
/// of `train` and `crossval`, so the tool never saves a model it would refuse to load, and a
/// hostile number is refused with a message instead of wrapping or exhausting memory.
public struct NetworkLimits: Sendable {
    /// Input image sides (a 3×3 convolution over a reflection pad needs at least 2).
    public var side: ClosedRange<Int> = 2...2048
    /// Convolution blocks, and output channels of each.
    public var blocks: ClosedRange<Int> = 1...16
    public var channels: ClosedRange<Int> = 1...1024
    /// Hidden fully connected layers, and the width of each.
    public var hiddenLayers: ClosedRange<Int> = 0...16
    public var hiddenWidth: ClosedRange<Int> = 1...65_536
    public var embedding: ClosedRange<Int> = 1...4096
    /// Max pooling window after each block (0: none), the share of each side cut off before the
    /// resize, and the embeddings' length (0 in an option: raw embeddings).
    public var pool: ClosedRange<Int> = 0...8
    public var inset: ClosedRange<Double> = 0...0.25
    public var embeddingScale: ClosedRange<Float> = 0...1000
    /// Weights and activations of the network, estimated by ``NetworkConfig/memoryEstimate(batch:training:)``.
    public var memoryBytes: Int = 8 << 30

    /// Training numbers.
    public var epochs: ClosedRange<Int> = 1...100_000
    public var batch: ClosedRange<Int> = 2...4096
    public var folds: ClosedRange<Int> = 2...1000
    public var learningRate: ClosedRange<Float> = 1e-12...10
    public var margin: ClosedRange<Float> = 1e-6...1e3
    /// Bootstrap resamples of `evaluate` and `crossval` (0: no intervals).
    public var bootstrap: ClosedRange<Int> = 0...100_000
    /// Ranked candidates `identify` shows.
    public var top: ClosedRange<Int> = 1...100_000
    /// The share of mined impostor pairs, and of training identities held out for validation.
    public var hardShare: ClosedRange<Double> = 0...1
    public var validationShare: ClosedRange<Double> = 0...0.5
    /// Epochs without a better validation figure before a run stops (0: never) or its learning
    /// rate is reduced (from 1), at most the epochs' bound; images of each identity in a batch.
    public var patience: ClosedRange<Int> = 0...100_000
    public var imagesPerIdentity: ClosedRange<Int> = 2...4096

    /// Whether AdamW's decoupled weight decay fits `learningRate`: each step scales the weights
    /// by 1 − learningRate · weightDecay, which must stay in [0, 1] (weightDecay 0…1/learningRate).
    public func allowsWeightDecay(_ weightDecay: Float, learningRate: Float) -> Bool {
        weightDecay >= 0 && learningRate * weightDecay <= 1
    }

    /// Images embedded at once when a loaded model is used (`SiameseNetwork.embed`'s batch).
    public static let inferenceBatch = 64
}

extension NetworkConfig {
    /// The limits every configuration must respect.
    public static let limits = NetworkLimits()

    /// A bound as messages write it: 0.25, 0, 1000 (`%g`).
    public static func bound(_ value: Double) -> String { String(format: "%g", value) }

    /// Every tensor of the network's state dict, name and shape, in
    /// ``SiameseNetwork/stateTensors`` order, computed without building the network: what a
    /// model file must hold for this configuration.
    package var stateShapes: [(name: String, shape: [Int])] {
        var out: [(String, [Int])] = []
        var inChannels = inputChannels
        let modulesPerBlock = pool > 1 ? 5 : 4
        for (block, c) in channels.enumerated() {
            let conv = modulesPerBlock * block + 1, norm = modulesPerBlock * block + 3
            out.append(("cnn1.\(conv).weight", [c, inChannels, 3, 3]))
            out.append(("cnn1.\(conv).bias", [c]))
            for name in ["weight", "bias", "running_mean", "running_var"] { out.append(("cnn1.\(norm).\(name)", [c])) }
            inChannels = c
        }
        var width = flatFeatures
        for (layer, out_) in (hidden + [embeddingSize]).enumerated() {
            out.append(("fc1.\(2 * layer).weight", [out_, width]))
            out.append(("fc1.\(2 * layer).bias", [out_]))
            width = out_
        }
        if head == .sigmoid {
            for name in ["weight", "bias", "running_mean", "running_var"] { out.append(("head.0.\(name)", [1])) }
            out.append(("head.1.weight", [1, 1]))
            out.append(("head.1.bias", [1]))
        }
        return out
    }

    /// Estimated bytes for the network's weights and the activations of `batch` images
    /// (computed in Double, so no configuration can overflow it). Training counts each
    /// parameter four times (value, gradient, Adam's two moments), twice the images (a batch of
    /// pairs) and keeps activations and their gradients; evaluation counts the weights, the packed
    /// copy of the first linear layer that sustained embedding builds, and one batch's activations.
    public func memoryEstimate(batch: Int, training: Bool) -> Double {
        let hw = Double(inputHeight) * Double(inputWidth)
        var parameters = 0.0, activations = 0.0
        var inChannels = Double(inputChannels)
        for c in channels.map(Double.init) {
            parameters += c * inChannels * 9 + c + 4 * c
            // Padded input, its 3×3 patches, convolution, ReLU and BatchNorm outputs.
            activations += inChannels * (hw + 2 * Double(inputHeight + inputWidth) + 4) + inChannels * 9 * hw + 3 * c * hw
            inChannels = c
        }
        var width = Double(flatFeatures)
        let firstLayer = width * Double((hidden + [embeddingSize])[0])
        for w in (hidden + [embeddingSize]).map(Double.init) {
            parameters += width * w + w
            activations += 2 * w
            width = w
        }
        let images = Double(max(1, batch)) * (training ? 2 : 1)
        let weights = training ? 4 * parameters : parameters + firstLayer
        let perImage = training ? 2 * activations : activations
        return 4 * (weights + images * perImage)
    }

    /// What is wrong with this configuration against ``limits`` (with `batch` images at once,
    /// training or not), or nil when it is acceptable. One sentence naming the bound.
    public func problem(batch: Int = NetworkLimits.inferenceBatch, training: Bool = false) -> String? {
        let l = Self.limits
        func range<T>(_ r: ClosedRange<T>) -> String { "\(r.lowerBound)…\(r.upperBound)" }
        if !l.side.contains(inputHeight) || !l.side.contains(inputWidth) {
            return "input size \(inputWidth)x\(inputHeight) is outside \(range(l.side)) pixels a side"
        }
        if inputChannels != 1 && inputChannels != 3 {
            return "\(inputChannels) input channels is neither 1 (grey) nor 3 (colour)"
        }
        if !l.blocks.contains(channels.count) { return "\(channels.count) convolution blocks is outside \(range(l.blocks))" }
        if let c = channels.first(where: { !l.channels.contains($0) }) { return "\(c) channels is outside \(range(l.channels))" }
        if !l.hiddenLayers.contains(hidden.count) { return "\(hidden.count) hidden layers is outside \(range(l.hiddenLayers))" }
        if let h = hidden.first(where: { !l.hiddenWidth.contains($0) }) {
            return "hidden width \(h) is outside \(range(l.hiddenWidth))"
        }
        if !l.embedding.contains(embeddingSize) { return "embedding size \(embeddingSize) is outside \(range(l.embedding))" }
        if let inset = inputInset, !l.inset.contains(inset) {
            return
                "input inset \(inset) is outside \(Self.bound(l.inset.lowerBound))…\(Self.bound(l.inset.upperBound)) of each side"
        }
        if !l.pool.contains(pool) { return "pooling window \(pool) is outside \(range(l.pool))" }
        if pool > 1, featureHeight < 1 || featureWidth < 1 {
            return "input \(inputWidth)x\(inputHeight) is too small for \(channels.count) blocks each pooling by \(pool)"
        }
        if let s = embeddingScale, !(s.isFinite && s > l.embeddingScale.lowerBound && s <= l.embeddingScale.upperBound) {
            return "embedding scale \(s) is outside (\(Self.bound(Double(l.embeddingScale.lowerBound))), "
                + "\(Self.bound(Double(l.embeddingScale.upperBound)))]"
        }
        let bytes = memoryEstimate(batch: batch, training: training)
        if bytes > Double(l.memoryBytes) {
            let gib = Double(1 << 30)
            return "the network needs about \(Self.gibText(bytes / gib)) GiB of weights and activations"
                + (training ? " to train with batch \(batch)" : " to embed \(batch) images at once, as a loaded model does")
                + ", more than the limit of \(l.memoryBytes >> 30) GiB"
        }
        return nil
    }

    static func gibText(_ x: Double) -> String {
        x >= 100 ? String(Int(x.rounded())) : String(Double(Int((x * 10).rounded())) / 10)
    }
}
