/// One point of a ROC curve: the result of accepting every pair whose distance is at most
/// `threshold`.
public struct ROCPoint: Sendable, Equatable, Hashable {
    /// Pairs with distance ≤ threshold are accepted. For the curve's first point, which
    /// accepts nothing, this is `-infinity`; otherwise it is one of the distance values.
    public let threshold: Float
    /// Genuine pairs accepted.
    public let truePositives: Int
    /// Impostor pairs accepted.
    public let falsePositives: Int
    /// True accept rate: truePositives / genuine pairs.
    public let tar: Double
    /// false match rate: falsePositives / impostor pairs.
    public let fmr: Double

    public init(threshold: Float, truePositives: Int, falsePositives: Int, genuineCount: Int, impostorCount: Int) {
        self.threshold = threshold
        self.truePositives = truePositives
        self.falsePositives = falsePositives
        self.tar = Double(truePositives) / Double(genuineCount)
        self.fmr = Double(falsePositives) / Double(impostorCount)
    }

    /// false non-match rate: 1 − TAR.
    public var fnmr: Double { 1 - tar }
}

/// A decision threshold chosen on a ROC curve, with its error rates on the pairs it was
/// chosen from.
public struct ROCOperatingPoint: Sendable, Equatable {
    /// A threshold that reproduces `point` (accept iff distance ≤ threshold), placed in
    /// the middle of the gap to the next distance value; see
    /// `ROCCurve.operatingThreshold(at:)`.
    public let threshold: Float
    /// Index of the point in `ROCCurve.points`.
    public let index: Int
    /// The ROC point reproduced.
    public let point: ROCPoint
    public let genuineCount: Int
    public let impostorCount: Int

    public var tar: Double { point.tar }
    public var fmr: Double { point.fmr }
    public var fnmr: Double { point.fnmr }
    /// (FNMR + FMR) / 2: the equal error rate when this is the EER point.
    public var halfTotalErrorRate: Double { (point.fnmr + point.fmr) / 2 }
    /// (TP + TN) / (P + N).
    public var accuracy: Double {
        Double(point.truePositives + impostorCount - point.falsePositives) / Double(genuineCount + impostorCount)
    }
}

/// The ROC curve of a set of verification pairs, and the figures read from it: AUC,
/// equal error rate, TAR at a FMR, best accuracy.
///
/// Convention: a *smaller* distance means *more similar*, and a pair is accepted as a
/// match iff `distance <= threshold`. Distances are any finite numbers (scores work too).
///
/// Ties are grouped: pairs with equal distance are accepted together, so there is one
/// point per distinct distance value, plus a first point (FMR 0, TAR 0) with threshold
/// `-infinity`. The last point is always (FMR 1, TAR 1). Building sorts the genuine and
/// the impostor distances once each and merges them: O(n log n) time, O(n) memory.
public struct ROCCurve: Sendable {
    /// Number of genuine (same identity) pairs, P.
    public let genuineCount: Int
    /// Number of impostor (different identity) pairs, N.
    public let impostorCount: Int
    /// The curve, from (0, 0) to (1, 1), thresholds strictly increasing.
    public let points: [ROCPoint]
    /// Area under the curve by the trapezoid rule over `points`. Because ties form one
    /// diagonal segment, this equals the Mann–Whitney statistic
    /// P(d_genuine < d_impostor) + ½ P(d_genuine = d_impostor).
    public let auc: Double

    /// Builds the curve. Throws `MetricsError` when the arrays differ in length, a
    /// distance is not finite, or there are no genuine or no impostor pairs.
    public init(distances: [Float], genuine: [Bool]) throws {
        guard distances.count == genuine.count else {
            throw MetricsError.lengthMismatch(distances: distances.count, labels: genuine.count)
        }
        guard !distances.isEmpty else { throw MetricsError.noPairs }
        var genuineDistances: [Float] = []
        var impostorDistances: [Float] = []
        let genuineTotal = genuine.reduce(0) { $0 + ($1 ? 1 : 0) }
        genuineDistances.reserveCapacity(genuineTotal)
        impostorDistances.reserveCapacity(distances.count - genuineTotal)
        for i in distances.indices {
            let d = distances[i]
            guard d.isFinite else { throw MetricsError.nonFiniteDistance(index: i, value: d) }
            if genuine[i] { genuineDistances.append(d) } else { impostorDistances.append(d) }
        }
        guard !genuineDistances.isEmpty else { throw MetricsError.noGenuinePairs }
        guard !impostorDistances.isEmpty else { throw MetricsError.noImpostorPairs }
        genuineDistances.sort()
        impostorDistances.sort()

        let p = genuineDistances.count
        let n = impostorDistances.count
        var points: [ROCPoint] = []
        points.reserveCapacity(p + n + 1)
        points.append(ROCPoint(threshold: -.infinity, truePositives: 0, falsePositives: 0, genuineCount: p, impostorCount: n))
        // Twice the area in units of 1/(P·N), kept as an exact integer.
        var doubledArea = 0
        var i = 0, j = 0
        while i < p || j < n {
            let value: Float
            if i == p {
                value = impostorDistances[j]
            } else if j == n {
                value = genuineDistances[i]
            } else {
                value = min(genuineDistances[i], impostorDistances[j])
            }
            let tpBefore = i, fpBefore = j
            while i < p && genuineDistances[i] == value { i += 1 }
            while j < n && impostorDistances[j] == value { j += 1 }
            doubledArea += (j - fpBefore) * (i + tpBefore)
            points.append(ROCPoint(threshold: value, truePositives: i, falsePositives: j, genuineCount: p, impostorCount: n))
        }
        self.genuineCount = p
        self.impostorCount = n
        self.points = points
        self.auc = Double(doubledArea) / (2 * Double(p) * Double(n))
    }

    /// A threshold that reproduces `points[index]` under "accept iff distance ≤
    /// threshold", chosen to generalise rather than to sit on a sample:
    /// - between two distance values `v` (this point's) and `w` (the next point's), the
    ///   midpoint (v + w) / 2 (or `v` itself when the two are adjacent `Float`s);
    /// - for the first point (accept nothing), the smallest distance minus
    ///   1e-6 · max(1, |v|);
    /// - for the last point (accept everything), the largest distance plus
    ///   1e-6 · max(1, |v|).
    public func operatingThreshold(at index: Int) -> Float {
        precondition(points.indices.contains(index), "ROC point index out of range")
        if index == 0 {
            let v = points[1].threshold
            let t = Float(Double(v) - 1e-6 * max(1, Double(abs(v))))
            return t < v ? t : v.nextDown
        }
        let v = points[index].threshold
        if index == points.count - 1 {
            let t = Float(Double(v) + 1e-6 * max(1, Double(abs(v))))
            return t >= v ? t : v
        }
        let w = points[index + 1].threshold
        let t = Float((Double(v) + Double(w)) / 2)
        return (t >= v && t < w) ? t : v
    }

    /// The operating point at `points[index]`.
    public func operatingPoint(at index: Int) -> ROCOperatingPoint {
        ROCOperatingPoint(
            threshold: operatingThreshold(at: index), index: index, point: points[index],
            genuineCount: genuineCount, impostorCount: impostorCount)
    }

    /// The equal-error point: of all ROC points, the first (lowest threshold) one
    /// minimising |FNMR − FMR|; the EER is its `halfTotalErrorRate`, (FNMR + FMR) / 2.
    ///
    /// This is the definition of `eer_auc` in `scripts/facetwin_torch.py` (argmin over the
    /// curve, no interpolation), so the figures compare; that code does not group ties,
    /// which makes no difference when no two distances are equal. The comparison is done
    /// exactly in integers, |(P − TP)·N − FP·P|.
    public func equalErrorPoint() -> ROCOperatingPoint {
        let p = genuineCount, n = impostorCount
        var best = 0
        var bestGap = Int.max
        for (k, point) in points.enumerated() {
            let gap = abs((p - point.truePositives) * n - point.falsePositives * p)
            if gap < bestGap { bestGap = gap; best = k }
        }
        return operatingPoint(at: best)
    }

    /// TAR at a false match rate: the highest TAR among the points with FMR ≤
    /// `targetFMR`, at the first (strictest) such point reaching it. The first point
    /// (FMR 0) always qualifies; a negative target is treated as 0.
    public func tar(atFMR targetFMR: Double) -> ROCOperatingPoint {
        var last = 0
        for k in 1..<points.count {
            if points[k].fmr <= targetFMR { last = k } else { break }
        }
        while last > 0 && points[last - 1].truePositives == points[last].truePositives { last -= 1 }
        return operatingPoint(at: last)
    }

    /// The point of highest accuracy (TP + TN) / (P + N), the first one on ties. The
    /// point that accepts nothing counts too (so the result is never below N / (P + N));
    /// the reference `eer_auc` leaves that point out, which can only differ on a
    /// model worse than rejecting everything.
    public func bestAccuracyPoint() -> ROCOperatingPoint {
        var best = 0
        var bestCorrect = -1
        for (k, point) in points.enumerated() {
            let correct = point.truePositives + impostorCount - point.falsePositives
            if correct > bestCorrect { bestCorrect = correct; best = k }
        }
        return operatingPoint(at: best)
    }

    /// Accuracy (TP + TN) / (P + N) when accepting iff distance ≤ `threshold`; a binary
    /// search over the curve, equal to counting the pairs directly.
    public func accuracy(atThreshold threshold: Float) -> Double {
        // Last point whose threshold is ≤ the given one (the first point's is -inf).
        var low = 0, high = points.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if points[mid].threshold <= threshold { low = mid } else { high = mid - 1 }
        }
        let point = points[low]
        return Double(point.truePositives + impostorCount - point.falsePositives)
            / Double(genuineCount + impostorCount)
    }
}
