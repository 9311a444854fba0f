/// Draws balanced training pairs on the fly, by the reference's rule: pick an image uniformly, then
/// with probability ½ another image of the same identity (label 0), else an image of another
/// identity (label 1 = different).
struct PairSampler {
    let labels: [Int]
    /// Image indices of each identity.
    private let byLabel: [[Int]]
    private var rng: RandomSource

    /// `labels[i]` is image i's identity, in `0..<identityCount`. Every identity needs at least
    /// two images and there must be at least two identities (ImageFolder guarantees both).
    init(labels: [Int], seed: UInt64) {
        self.labels = labels
        let identities = (labels.max() ?? -1) + 1
        var groups = [[Int]](repeating: [], count: identities)
        for (i, l) in labels.enumerated() { groups[l].append(i) }
        byLabel = groups
        rng = RandomSource(seed: seed)
    }

    struct Pair: Equatable, Sendable {
        var first: Int
        var second: Int
        /// 0 for the same identity, 1 for different identities.
        var label: Float
    }

    mutating func next() -> Pair {
        let a = Int.random(in: 0..<labels.count, using: &rng)
        let la = labels[a]
        if Bool.random(using: &rng) {
            let pool = byLabel[la]
            // Uniform over the identity's other images: draw among count−1 and skip `a`.
            var j = Int.random(in: 0..<(pool.count - 1), using: &rng)
            if j >= pool.firstIndex(of: a)! { j += 1 }
            return Pair(first: a, second: pool[j], label: 0)
        } else {
            // Uniform over images of other identities: draw among the rest and map past la's block.
            let others = labels.count - byLabel[la].count
            var k = Int.random(in: 0..<others, using: &rng)
            for (l, group) in byLabel.enumerated() where l != la {
                if k < group.count { return Pair(first: a, second: group[k], label: 1) }
                k -= group.count
            }
            preconditionFailure("unreachable: \(others) images of other identities")
        }
    }

    mutating func next(_ count: Int) -> [Pair] { (0..<count).map { _ in next() } }
}
