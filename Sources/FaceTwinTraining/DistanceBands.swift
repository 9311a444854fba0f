/// Where genuine and impostor distances lie after an epoch: their mean and 10th/90th
/// percentiles on a fixed set of monitoring images. Written to the history CSV and drawn as
/// bands over the epochs in a report, so a collapse (both bands at zero) or an overfit (the
/// bands crossing on unseen people) shows at a glance.
public struct DistanceBands: Sendable, Equatable, Codable {
    public var genuineMean: Double
    public var genuineP10: Double
    public var genuineP90: Double
    public var impostorMean: Double
    public var impostorP10: Double
    public var impostorP90: Double

    init(genuine: [Float], impostor: [Float]) {
        func stats(_ v: [Float]) -> (Double, Double, Double) {
            guard !v.isEmpty else { return (.nan, .nan, .nan) }
            let s = v.sorted()
            func q(_ p: Double) -> Double { Double(s[min(s.count - 1, Int(p * Double(s.count - 1) + 0.5))]) }
            return (s.reduce(0.0) { $0 + Double($1) } / Double(s.count), q(0.1), q(0.9))
        }
        (genuineMean, genuineP10, genuineP90) = stats(genuine)
        (impostorMean, impostorP10, impostorP90) = stats(impostor)
    }

    /// Whether the embeddings have pulled together: even the far impostor pairs (the 90th
    /// percentile) sit within `fraction` of the margin, so the loss pushes every impostor pair
    /// and no threshold with room around it separates anyone. (A collapsed reference run in
    /// PyTorch sat at distances of about 0.1 with margin 2 and a loss stuck at 1.79.)
    ///
    /// `start` is the untrained network's bands: a pull *together* also means the far
    /// impostors are less than half as far apart as they started, so a network that simply
    /// has not spread out yet (small initial outputs) does not count.
    func isCollapsed(margin: Float, start: DistanceBands, fraction: Double = 0.1) -> Bool {
        guard impostorP90.isFinite, genuineMean.isFinite else { return true }
        return impostorP90 < fraction * Double(margin) && !(impostorP90 >= 0.5 * start.impostorP90)
    }
}
