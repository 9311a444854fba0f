/// A two-sided interval, e.g. the 95 % interval of an error rate.
public struct ConfidenceInterval: Codable, Equatable, Sendable {
    public let lower: Double
    public let upper: Double
    public init(lower: Double, upper: Double) { self.lower = lower; self.upper = upper }
    public var width: Double { upper - lower }
    public func contains(_ value: Double) -> Bool { lower <= value && value <= upper }
}

/// How often a distance is wrong, as measured on a calibration set: for a distance d, the false
/// match rate FMR(d) (the share of the set's impostor pairs at distance ≤ d: how often two
/// different people come this close) and the false non-match rate FNMR(d) (the share of its
/// genuine pairs farther than d: how often one person's photos are farther apart), each with a
/// percentile-bootstrap interval over the calibration identities (over pairs when the
/// identities are unknown).
///
/// `calibrate` stores one in the model beside the threshold; `verify`, `identify` and `compare`
/// then report, for the distance they found, what these rates were on the calibration set.
/// The estimate assumes the probes' people are like the calibration people (same population,
/// cameras and conditions) and that the model is the one calibrated: a different population
/// can have other rates, and no interval covers that.
///
/// Compact: the rates at up to ``maximumPoints`` distances (the calibration distances'
/// quantiles); between two of them the rates are interpolated linearly; below the smallest
/// distance FMR is 0 (interval up to the smallest distance's upper bound), above the largest it is 1.
///
/// The table as a model file keeps it; FaceTwinEvaluation measures one
/// (`ErrorRateTable(evaluation:calibrationSet:resamples:seed:level:)`).
public struct ErrorRateTable: Codable, Equatable, Sendable {
    /// Ascending distances at which the rates were measured.
    public var distances: [Float]
    public var fmr: [Double]
    public var fmrLower: [Double]
    public var fmrUpper: [Double]
    public var fnmr: [Double]
    public var fnmrLower: [Double]
    public var fnmrUpper: [Double]
    public var genuinePairs: Int
    public var impostorPairs: Int
    /// "identities" or "pairs": what the bootstrap drew, and how many of them.
    public var unit: String
    public var units: Int
    public var resamples: Int
    public var level: Double
    /// SHA-256 of the calibration set: of the sorted SHA-256s of its image files' bytes.
    public var calibrationSet: String
    /// What the calibration set was ("s5,s6,s7 (30 images, 435 pairs)").
    public var description: String

    public static let maximumPoints = 256

    package init(
        distances: [Float], fmr: [Double], fmrLower: [Double], fmrUpper: [Double], fnmr: [Double],
        fnmrLower: [Double], fnmrUpper: [Double], genuinePairs: Int, impostorPairs: Int, unit: String, units: Int,
        resamples: Int, level: Double, calibrationSet: String, description: String
    ) {
        self.distances = distances
        self.fmr = fmr
        self.fmrLower = fmrLower
        self.fmrUpper = fmrUpper
        self.fnmr = fnmr
        self.fnmrLower = fnmrLower
        self.fnmrUpper = fnmrUpper
        self.genuinePairs = genuinePairs
        self.impostorPairs = impostorPairs
        self.unit = unit
        self.units = units
        self.resamples = resamples
        self.level = level
        self.calibrationSet = calibrationSet
        self.description = description
    }

    /// The rates at `distance`, interpolated between the measured distances.
    public func estimate(atDistance distance: Float) -> ErrorRateEstimate {
        func at(_ values: [Double], below: Double, above: Double) -> Double {
            guard let first = distances.first, let last = distances.last, distance.isFinite else { return above }
            if distance < first { return below }
            if distance >= last { return above }
            var low = 0, high = distances.count - 1  // distances[low] ≤ distance < distances[high]
            while high - low > 1 {
                let mid = (low + high) / 2
                if distances[mid] <= distance { low = mid } else { high = mid }
            }
            let span = Double(distances[high]) - Double(distances[low])
            let f = span > 0 ? (Double(distance) - Double(distances[low])) / span : 0
            return values[low] + f * (values[high] - values[low])
        }
        let last = distances.count - 1
        return ErrorRateEstimate(
            distance: distance,
            fmr: at(fmr, below: 0, above: 1),
            fmrInterval: ConfidenceInterval(
                lower: at(fmrLower, below: 0, above: fmrLower[last]), upper: at(fmrUpper, below: fmrUpper[0], above: 1)),
            fnmr: at(fnmr, below: 1, above: 0),
            fnmrInterval: ConfidenceInterval(
                lower: at(fnmrLower, below: fnmrLower[0], above: 0), upper: at(fnmrUpper, below: 1, above: fnmrUpper[last])),
            impostorPairs: impostorPairs, genuinePairs: genuinePairs, calibration: description)
    }

    /// Whether the table is whole: as many values as distances, ascending finite distances,
    /// rates within 0…1 (a table read from a file is checked before use).
    public var isValid: Bool {
        let n = distances.count
        guard n > 0, n <= Self.maximumPoints,
            [fmr, fmrLower, fmrUpper, fnmr, fnmrLower, fnmrUpper].allSatisfy({
                $0.count == n && $0.allSatisfy { $0 >= 0 && $0 <= 1 }
            }),
            distances.allSatisfy(\.isFinite), zip(distances, distances.dropFirst()).allSatisfy({ $0 < $1 }),
            genuinePairs > 0, impostorPairs > 0
        else { return false }
        return true
    }
}

/// What a distance's error rates were on the calibration set (``ErrorRateTable``).
public struct ErrorRateEstimate: Codable, Equatable, Sendable {
    public var distance: Float
    /// The share of calibration impostor pairs this close or closer.
    public var fmr: Double
    public var fmrInterval: ConfidenceInterval
    /// The share of calibration genuine pairs farther apart.
    public var fnmr: Double
    public var fnmrInterval: ConfidenceInterval
    public var impostorPairs: Int
    public var genuinePairs: Int
    /// The calibration set's description.
    public var calibration: String
}

extension ModelInfo {
    /// What `distance` (a head's score for a model with a score head) was worth on the
    /// calibration set; nil when the model has no (valid) error-rate table.
    public func errorEstimate(atDistance distance: Float) -> ErrorRateEstimate? {
        guard let table = errorRates, table.isValid else { return nil }
        return table.estimate(atDistance: distance)
    }
}
