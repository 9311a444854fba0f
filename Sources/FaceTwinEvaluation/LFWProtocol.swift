import Foundation

/// LFW's "unrestricted, labeled outside data" verification figure over folds: for each fold,
/// the threshold of highest accuracy on the other folds' pairs (``ROCCurve/bestAccuracyPoint()``)
/// classifies the fold's pairs (a match when distance ≤ threshold); the figure is the mean of
/// the folds' accuracies ± its standard error, σ̂ / √k with σ̂ the sample standard deviation
/// (k − 1 in the denominator), as LFW's README defines it. With one fold (View 1) there is
/// nothing to fit the threshold on but the fold itself, so the accuracy is the best accuracy on
/// it (optimistic, and said so).
///
/// Pairs that were not scored (an image without a usable face) are counted per fold and, in
/// ``meanAccuracyCountingUnscoredAsErrors``, as wrong answers: LFW's protocol has no "failed"
/// outcome, so the figure a paper would compare with is that one when any pair failed.
public struct LFWProtocolResult: Codable, Sendable, Equatable {
    public struct Fold: Codable, Sendable, Equatable {
        /// 1-based, as LFW numbers them.
        public let number: Int
        /// Pairs of this fold that were scored, and how many were classified right.
        public let scoredPairs: Int
        public let correctPairs: Int
        /// Pairs of this fold that could not be scored.
        public let unscoredPairs: Int
        /// The threshold fitted on the other folds.
        public let threshold: Float
        /// correct / scored, and correct / (scored + unscored).
        public let accuracy: Double
        public let accuracyCountingUnscoredAsErrors: Double

        init(number: Int, scoredPairs: Int, correctPairs: Int, unscoredPairs: Int, threshold: Float) {
            self.number = number
            self.scoredPairs = scoredPairs
            self.correctPairs = correctPairs
            self.unscoredPairs = unscoredPairs
            self.threshold = threshold
            accuracy = scoredPairs == 0 ? 0 : Double(correctPairs) / Double(scoredPairs)
            let all = scoredPairs + unscoredPairs
            accuracyCountingUnscoredAsErrors = all == 0 ? 0 : Double(correctPairs) / Double(all)
        }
    }

    public let folds: [Fold]
    /// Whether each fold's threshold was fitted on other folds (false for a single fold).
    public let thresholdsFromOtherFolds: Bool
    public let meanAccuracy: Double
    /// σ̂ / √k (0 for a single fold).
    public let standardError: Double
    public let meanAccuracyCountingUnscoredAsErrors: Double
    public let standardErrorCountingUnscoredAsErrors: Double

    /// The figure of `distances` (scored pairs, with their `genuine` labels and 0-based `folds`),
    /// with `unscored[k]` pairs of fold k not scored.
    public init(distances: [Float], genuine: [Bool], folds foldOf: [Int], foldCount: Int, unscored: [Int]? = nil)
        throws(MetricsError)
    {
        guard distances.count == genuine.count, distances.count == foldOf.count else {
            throw .lengthMismatch(distances: distances.count, labels: min(genuine.count, foldOf.count))
        }
        let unscored = unscored ?? [Int](repeating: 0, count: foldCount)
        var result: [Fold] = []
        for fold in 0..<foldCount {
            let test = foldOf.indices.filter { foldOf[$0] == fold }
            let fit = foldCount == 1 ? test : foldOf.indices.filter { foldOf[$0] != fold }
            let threshold: Float
            do {
                threshold = try ROCCurve(distances: fit.map { distances[$0] }, genuine: fit.map { genuine[$0] })
                    .bestAccuracyPoint().threshold
            } catch let e as MetricsError {
                throw e
            } catch {
                throw .noPairs
            }
            let correct = test.reduce(0) { $0 + ((distances[$1] <= threshold) == genuine[$1] ? 1 : 0) }
            result.append(
                Fold(
                    number: fold + 1, scoredPairs: test.count, correctPairs: correct,
                    unscoredPairs: fold < unscored.count ? unscored[fold] : 0, threshold: threshold))
        }
        folds = result
        thresholdsFromOtherFolds = foldCount > 1
        (meanAccuracy, standardError) = Self.meanAndStandardError(result.map(\.accuracy))
        (meanAccuracyCountingUnscoredAsErrors, standardErrorCountingUnscoredAsErrors) = Self.meanAndStandardError(
            result.map(\.accuracyCountingUnscoredAsErrors))
    }

    /// Mean and σ̂ / √k, σ̂² = Σ (x − mean)² / (k − 1); 0 for k = 1.
    static func meanAndStandardError(_ values: [Double]) -> (Double, Double) {
        let k = Double(values.count)
        guard k > 0 else { return (0, 0) }
        let mean = values.reduce(0, +) / k
        guard k > 1 else { return (mean, 0) }
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (k - 1)
        return (mean, (variance / k).squareRoot())
    }

    public var totalUnscoredPairs: Int { folds.reduce(0) { $0 + $1.unscoredPairs } }
}

extension LFWPairs {
    /// The LFW figure of an evaluation of ``list`` (`Evaluation/init(model:pairList:)`): its
    /// scored pairs are matched to the file's pairs in order, pairs left out (failures to
    /// acquire) are counted in their folds.
    public func result(of evaluation: Evaluation) throws(MetricsError) -> LFWProtocolResult {
        var foldOfScored: [Int] = []
        var unscored = [Int](repeating: 0, count: foldCount)
        foldOfScored.reserveCapacity(evaluation.pairCount)
        var j = 0
        for (k, pair) in list.pairs.enumerated() {
            if j < evaluation.pairCount, evaluation.imagePaths[Int(evaluation.first[j])] == pair.path1,
                evaluation.imagePaths[Int(evaluation.second[j])] == pair.path2
            {
                foldOfScored.append(folds[k])
                j += 1
            } else {
                unscored[folds[k]] += 1
            }
        }
        guard j == evaluation.pairCount else { throw .lengthMismatch(distances: evaluation.pairCount, labels: j) }
        return try LFWProtocolResult(
            distances: evaluation.distances, genuine: evaluation.genuine, folds: foldOfScored, foldCount: foldCount,
            unscored: unscored)
    }
}
