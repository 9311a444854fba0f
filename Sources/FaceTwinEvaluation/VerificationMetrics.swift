/// The headline figures of a verification evaluation, computed from pair distances.
///
/// Convention: smaller distance = more similar; match iff `distance <= threshold`.
/// Every threshold here is one that reproduces its operating point on the evaluated
/// pairs, placed midway to the next distance value (`ROCCurve.operatingThreshold(at:)`).
///
/// No genuine or no impostor pairs → the initialisers throw `MetricsError` (the rates
/// would be 0/0), rather than returning NaNs that look like numbers in a report.
public struct VerificationMetrics: Sendable, Equatable, Codable {
    /// Same-identity pairs evaluated, P.
    public let genuineCount: Int
    /// Different-identity pairs evaluated, N.
    public let impostorCount: Int
    /// Equal error rate, (FNMR + FMR) / 2 at the ROC point minimising |FNMR − FMR|
    /// (the definition of `scripts/facetwin_torch.py`).
    public let eer: Double
    public let eerThreshold: Float
    /// Area under the ROC curve (trapezoid rule; ties count ½).
    public let auc: Double
    /// TAR at FMR ≤ 1 %; its `tar` is nil below 300 impostor pairs (``TARAtFMR``).
    public let tarAtFMR1Percent: TARAtFMR
    /// TAR at FMR ≤ 0.1 %; its `tar` is nil below 3000 impostor pairs.
    public let tarAtFMR0_1Percent: TARAtFMR
    /// Highest (TP + TN) / (P + N) over all thresholds, including "accept nothing".
    public let bestAccuracy: Double
    public let bestAccuracyThreshold: Float

    /// Computes every figure from one ROC curve. Throws `MetricsError`.
    public init(distances: [Float], genuine: [Bool]) throws {
        self.init(curve: try ROCCurve(distances: distances, genuine: genuine))
    }

    /// Reads every figure from an already built curve.
    public init(curve: ROCCurve) {
        genuineCount = curve.genuineCount
        impostorCount = curve.impostorCount
        let equalError = curve.equalErrorPoint()
        eer = equalError.halfTotalErrorRate
        eerThreshold = equalError.threshold
        auc = curve.auc
        tarAtFMR1Percent = TARAtFMR(curve: curve, targetFMR: 0.01)
        tarAtFMR0_1Percent = TARAtFMR(curve: curve, targetFMR: 0.001)
        let best = curve.bestAccuracyPoint()
        bestAccuracy = best.accuracy
        bestAccuracyThreshold = best.threshold
    }

    /// Accuracy (TP + TN) / (P + N) of the rule "match iff distance ≤ threshold",
    /// counted directly. Throws `MetricsError` on a length mismatch or when there are no
    /// pairs at all; unlike the rates, accuracy is defined with only one kind of pair.
    public static func accuracy(distances: [Float], genuine: [Bool], threshold: Float) throws -> Double {
        guard distances.count == genuine.count else {
            throw MetricsError.lengthMismatch(distances: distances.count, labels: genuine.count)
        }
        guard !distances.isEmpty else { throw MetricsError.noPairs }
        var correct = 0
        for i in distances.indices where (distances[i] <= threshold) == genuine[i] { correct += 1 }
        return Double(correct) / Double(distances.count)
    }
}
