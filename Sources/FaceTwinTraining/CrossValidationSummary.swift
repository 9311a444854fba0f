import Foundation

/// The folds of one or more cross-validations (one per split seed) summed up: the mean EER
/// over all folds × seeds, the worst fold, and a 95 % t-interval of the mean; the same for TAR
/// at FMR 1 % when every fold's impostor pairs support it.
///
/// The interval is the Student t-interval of the mean of the fold figures,
/// mean ± t(0.975, n − 1) · sd / √n over the n = folds × seeds results. It treats the folds as
/// independent, which they are not quite (folds of one seed share training identities, and the
/// seeds reuse the same identities), so it is a guide to the run-to-run spread, not an exact
/// coverage guarantee.
public struct CrossValidationSummary: Sendable {
    /// One fold's headline figures.
    public struct FoldFigures: Codable, Equatable, Sendable {
        public let seed: UInt64
        /// 1-based.
        public let fold: Int
        public let eer: Double
        public let tarAtFMR1Percent: TARAtFMR
    }

    /// Mean of a figure over folds × seeds with its t-interval, or the reason there is none.
    public struct Mean: Equatable, Sendable {
        public let mean: Double?
        public let standardDeviation: Double?
        public let interval: ConfidenceInterval?
        public let count: Int
        public let unsupportedReason: String?
    }

    public let folds: [FoldFigures]
    public let eer: Mean
    /// The fold with the highest EER.
    public let worstFold: FoldFigures
    public let tarAtFMR1Percent: Mean
    /// "t-interval of the mean over 15 folds × seeds (t = 2.145, 14 degrees of freedom)".
    public let intervalMethod: String

    /// The intervals' confidence level.
    static let level = 0.95

    /// The folds of one split seed.
    public struct Run {
        public var seed: UInt64
        public var folds: [CrossValidationFoldResult]

        public init(seed: UInt64, folds: [CrossValidationFoldResult]) {
            self.seed = seed
            self.folds = folds
        }
    }

    /// `runs`: each split seed with its folds' results. Throws ``CrossValidationError/noFolds``
    /// without a fold.
    public init(runs: [Run]) throws(CrossValidationError) {
        let figures = runs.flatMap { run in
            run.folds.map {
                FoldFigures(
                    seed: run.seed, fold: $0.fold.index + 1, eer: $0.metrics.eer, tarAtFMR1Percent: $0.metrics.tarAtFMR1Percent)
            }
        }
        guard !figures.isEmpty else { throw .noFolds }
        let level = Self.level
        folds = figures
        eer = Self.mean(figures.map(\.eer), level: level)
        worstFold = figures.max { $0.eer < $1.eer }!
        if let unsupported = figures.first(where: { !$0.tarAtFMR1Percent.isSupported }) {
            tarAtFMR1Percent = Mean(
                mean: nil, standardDeviation: nil, interval: nil, count: figures.count,
                unsupportedReason:
                    "seed \(unsupported.seed) fold \(unsupported.fold): \(unsupported.tarAtFMR1Percent.unsupportedReason!)")
        } else {
            tarAtFMR1Percent = Self.mean(figures.compactMap(\.tarAtFMR1Percent.tar), level: level)
        }
        let n = figures.count
        intervalMethod =
            n > 1
            ? String(
                format: "t-interval of the mean over %d folds × seeds (t = %.3f, %d degrees of freedom)", n,
                StudentT.quantile(1 - (1 - level) / 2, degreesOfFreedom: n - 1), n - 1)
            : "no interval from a single fold"
    }

    static func mean(_ values: [Double], level: Double) -> Mean {
        let stat = CrossValidationStatistic(values)
        let n = values.count
        guard n > 1 else {
            return Mean(mean: stat.mean, standardDeviation: nil, interval: nil, count: n, unsupportedReason: nil)
        }
        let half =
            StudentT.quantile(1 - (1 - level) / 2, degreesOfFreedom: n - 1) * stat.standardDeviation / Double(n).squareRoot()
        return Mean(
            mean: stat.mean, standardDeviation: stat.standardDeviation,
            interval: ConfidenceInterval(lower: stat.mean - half, upper: stat.mean + half), count: n, unsupportedReason: nil)
    }
}

extension CrossValidationSummary.Mean: Codable {
    enum CodingKeys: String, CodingKey { case mean, standardDeviation, interval95, count, unsupportedReason }

    /// Missing figures are written as null.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(mean, forKey: .mean)
        try c.encode(standardDeviation, forKey: .standardDeviation)
        try c.encode(interval, forKey: .interval95)
        try c.encode(count, forKey: .count)
        try c.encode(unsupportedReason, forKey: .unsupportedReason)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        mean = try c.decodeIfPresent(Double.self, forKey: .mean)
        standardDeviation = try c.decodeIfPresent(Double.self, forKey: .standardDeviation)
        interval = try c.decodeIfPresent(ConfidenceInterval.self, forKey: .interval95)
        count = try c.decode(Int.self, forKey: .count)
        unsupportedReason = try c.decodeIfPresent(String.self, forKey: .unsupportedReason)
    }
}

/// Quantiles of Student's t distribution.
enum StudentT {
    /// The `p` quantile (0.5 < p < 1) with `degreesOfFreedom` ≥ 1: bisection on the CDF, which
    /// is computed from the regularized incomplete beta function (continued fraction).
    static func quantile(_ p: Double, degreesOfFreedom v: Int) -> Double {
        precondition(p > 0.5 && p < 1 && v >= 1, "0.5 < p < 1, at least 1 degree of freedom")
        var low = 0.0, high = 1.0
        while cdf(high, degreesOfFreedom: v) < p { high *= 2 }
        for _ in 0..<200 {
            let mid = (low + high) / 2
            if cdf(mid, degreesOfFreedom: v) < p { low = mid } else { high = mid }
        }
        return (low + high) / 2
    }

    /// P(T ≤ t) for t ≥ 0.
    static func cdf(_ t: Double, degreesOfFreedom v: Int) -> Double {
        let x = Double(v) / (Double(v) + t * t)
        return 1 - 0.5 * incompleteBeta(x, a: Double(v) / 2, b: 0.5)
    }

    /// I_x(a, b), Numerical Recipes' continued fraction (Lentz).
    static func incompleteBeta(_ x: Double, a: Double, b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let lnGammas: Double = lgamma(a + b) - lgamma(a) - lgamma(b)
        let lnPowers: Double = a * log(x) + b * log(1 - x)
        let lnFront: Double = lnGammas + lnPowers
        if x > (a + 1) / (a + b + 2) { return 1 - incompleteBeta(1 - x, a: b, b: a) }
        let tiny = 1e-300
        var c = 1.0
        var d: Double = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var f = d
        for m in 1...300 {
            let m = Double(m)
            let even: Double = (a + 2 * m - 1) * (a + 2 * m)
            var num: Double = m * (b - m) * x / even
            d = 1 + num * d; if abs(d) < tiny { d = tiny }
            c = 1 + num / c; if abs(c) < tiny { c = tiny }
            d = 1 / d; f *= d * c
            let odd: Double = (a + 2 * m) * (a + 2 * m + 1)
            num = -(a + m) * (a + b + m) * x / odd
            d = 1 + num * d; if abs(d) < tiny { d = tiny }
            c = 1 + num / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            f *= delta
            if abs(delta - 1) < 1e-15 { break }
        }
        return exp(lnFront) * f / a
    }
}
