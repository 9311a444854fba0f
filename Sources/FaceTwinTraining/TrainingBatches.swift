import Foundation

/// The batches a run trains on, by its pairing (or the listed pairs of a pair dataset), each step's images drawn into one tensor and
/// augmented (then standardised again when the network standardises its input).
struct TrainingBatches {
    private let pixels: [Float]
    private let width: Int, height: Int, channels: Int
    private let config: NetworkConfig
    private let augmentation: Augmentation
    private var rng: RandomSource
    private var pairs: PairSampler?
    private var identities: IdentityBatchSampler?
    /// A pair dataset's pairs, taken in `order` (reshuffled whenever it runs out).
    private var listed: PairImages?
    private var order: [Int] = []
    private var cursor = 0
    private let hardShare: Double
    /// The step's images; an identity batch of another size (few identities or images) takes
    /// a tensor of its own size, kept for the next such batch.
    private var images: Tensor
    private var labels: [Float]

    init(_ data: TrainingData, config: NetworkConfig, options: TrainingOptions, seed: UInt64) {
        pixels = data.pixels
        (width, height, channels) = (data.width, data.height, data.channels)
        self.config = config
        augmentation = options.augmentation
        rng = RandomSource(seed: seed &+ 0x5851_F42D_4C95_7F2D)
        let b = options.batchSize
        hardShare = {
            if case .identityBatches(_, let share) = options.pairing { return share }
            return 0
        }()
        switch (data, options.pairing) {
        case (.pairs(let p), _):
            listed = p
        case (.identities(let folder), .balancedPairs):
            pairs = PairSampler(labels: folder.labels, seed: seed)
        case (.identities(let folder), .identityBatches(let k, _)):
            identities = IdentityBatchSampler(
                labels: folder.labels, identitiesPerBatch: max(2, 2 * b / max(k, 2)),
                imagesPerIdentity: k, seed: seed)
        }
        images = Tensor(shape: [2 * b, channels, height, width])
        labels = [Float](repeating: 0, count: b)
    }

    /// Draws the next batch and runs `step` on it; returns the loss.
    mutating func step(_ step: TrainingStep) -> Float {
        if var sampler = identities {
            let batch = sampler.next()
            images = Tensor.reuse(images, shape: [batch.images.count, channels, height, width])
            let tensor = images
            for (row, image) in batch.images.enumerated() { copy(image, to: tensor, row: row) }
            let value = step.run(images: tensor, identities: batch.identities, sampler: &sampler, hardShare: hardShare)
            identities = sampler
            return value
        }
        let b = labels.count
        for i in 0..<b {
            let pair = nextPair()
            labels[i] = pair.label
            copy(pair.first, to: images, row: i)
            copy(pair.second, to: images, row: b + i)
        }
        return step.run(images: images, labels: labels).loss
    }

    /// The next pair: drawn by the sampler, or the pair dataset's next in its shuffled order.
    private mutating func nextPair() -> PairSampler.Pair {
        guard let listed else { return pairs!.next() }
        if cursor == order.count {
            order = Array(0..<listed.count)
            order.shuffle(using: &rng)
            cursor = 0
        }
        let k = order[cursor]
        cursor += 1
        return PairSampler.Pair(first: listed.first[k], second: listed.second[k], label: listed.same[k] ? 0 : 1)
    }

    /// Image `index` into row `row` of `tensor`, augmented.
    private mutating func copy(_ index: Int, to tensor: Tensor, row: Int) {
        let hw = channels * height * width
        let dst = tensor.pointer + row * hw
        pixels.withUnsafeBufferPointer { px in
            let src = px.baseAddress! + index * hw
            if augmentation.isIdentity {
                dst.update(from: src, count: hw)
            } else {
                augmentation.apply(src, into: dst, width: width, height: height, channels: channels, rng: &rng)
                if config.standardize { Standardization.apply(dst, count: hw) }
            }
        }
    }
}
