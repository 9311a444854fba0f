/// Batches of P identities × K images each, and the balanced pairs mined inside them: the
/// default recipe's way of drawing pairs on the fly.
///
/// One batch of P·K images gives P·K(K−1)/2 genuine pairs and many more impostor pairs, for the
/// price of embedding P·K images once. Every genuine pair is used, and as many impostor pairs,
/// so the loss stays balanced 50/50 like the reference's sampler; a share of the impostors are
/// the batch's hardest (closest) ones, the pairs the current model gets wrong, and the rest are
/// drawn at random so that easy impostors keep being pushed past the margin too.
struct IdentityBatchSampler {
    let identitiesPerBatch: Int
    let imagesPerIdentity: Int
    private let byLabel: [[Int]]
    private var rng: RandomSource

    /// `labels[i]` is image i's identity in `0..<identityCount`. Identities with fewer than
    /// `imagesPerIdentity` images give what they have (at least 2, as ImageFolder guarantees).
    init(labels: [Int], identitiesPerBatch: Int, imagesPerIdentity: Int, seed: UInt64) {
        var groups = [[Int]](repeating: [], count: (labels.max() ?? -1) + 1)
        for (i, l) in labels.enumerated() { groups[l].append(i) }
        byLabel = groups.filter { $0.count >= 2 }
        self.identitiesPerBatch = min(identitiesPerBatch, byLabel.count)
        self.imagesPerIdentity = imagesPerIdentity
        rng = RandomSource(seed: seed)
    }

    /// The next batch.
    mutating func next() -> IdentityBatch {
        var order = Array(byLabel.indices)
        order.shuffle(using: &rng)
        var images: [Int] = [], identities: [Int] = []
        for (p, label) in order.prefix(identitiesPerBatch).enumerated() {
            var pool = byLabel[label]
            pool.shuffle(using: &rng)
            for i in pool.prefix(imagesPerIdentity) {
                images.append(i)
                identities.append(p)
            }
        }
        return IdentityBatch(images: images, identities: identities)
    }

    /// A pair of rows of a batch and its contrastive label (0 same, 1 different).
    struct MinedPair: Equatable, Sendable {
        var first: Int
        var second: Int
        var label: Float
    }

    /// Every genuine pair of the batch and as many impostor pairs: `hardShare` of them the
    /// closest impostors under `distance`, the rest drawn uniformly from the others.
    mutating func minePairs(identities: [Int], hardShare: Double, distance: (Int, Int) -> Float) -> [MinedPair] {
        var genuine: [MinedPair] = [], impostors: [(pair: MinedPair, d: Float)] = []
        for i in identities.indices {
            for j in (i + 1)..<identities.count {
                if identities[i] == identities[j] {
                    genuine.append(MinedPair(first: i, second: j, label: 0))
                } else {
                    impostors.append((MinedPair(first: i, second: j, label: 1), hardShare > 0 ? distance(i, j) : 0))
                }
            }
        }
        let wanted = min(genuine.count, impostors.count)
        let hard = min(wanted, Int((Double(wanted) * hardShare).rounded()))
        if hard > 0 { impostors.sort { $0.d < $1.d } }
        var chosen = impostors.prefix(hard).map(\.pair)
        var rest = Array(impostors.dropFirst(hard))
        for k in 0..<(wanted - hard) {
            let j = Int.random(in: k..<rest.count, using: &rng)
            rest.swapAt(k, j)
            chosen.append(rest[k].pair)
        }
        return genuine + chosen
    }
}

/// A batch of identities × images: image indices, and for each the batch-local identity (0..<P).
struct IdentityBatch: Equatable {
    var images: [Int]
    var identities: [Int]
}
