import Foundation

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

    /// Measures the table on an evaluation's pairs.
    public init(
        evaluation: Evaluation, calibrationSet: String, resamples: Int = 1000, seed: UInt64 = 0, level: Double = 0.95
    ) {
        let engine = evaluation.bootstrapEngine()
        let sorted = engine.sortedDistances
        // The grid: up to maximumPoints distinct distances at evenly spaced ranks.
        var grid: [Float] = []
        let n = sorted.count
        let steps = min(Self.maximumPoints, n)
        for k in 0..<steps {
            let d = sorted[steps == 1 ? n - 1 : k * (n - 1) / (steps - 1)]
            if grid.last != d { grid.append(d) }
        }
        let point = Self.rates(sortedDistances: sorted, genuine: engine.sortedGenuine, weights: nil, at: grid)!
        var fmrs = [[Double]](repeating: [], count: grid.count), fnmrs = [[Double]](repeating: [], count: grid.count)
        var rng = RandomSource(seed: seed)
        var draw = ResampleWeights(engine)
        for _ in 0..<resamples {
            let w = draw.next(&rng)
            guard let r = Self.rates(sortedDistances: sorted, genuine: engine.sortedGenuine, weights: w, at: grid) else {
                continue
            }
            for i in grid.indices {
                fmrs[i].append(r.fmr[i])
                fnmrs[i].append(r.fnmr[i])
            }
        }
        let fmrI = fmrs.map {
            $0.isEmpty ? ConfidenceInterval(lower: 0, upper: 1) : ConfidenceInterval(percentilesOf: $0, level: level)
        }
        let fnmrI = fnmrs.map {
            $0.isEmpty ? ConfidenceInterval(lower: 0, upper: 1) : ConfidenceInterval(percentilesOf: $0, level: level)
        }
        distances = grid
        fmr = point.fmr
        fnmr = point.fnmr
        // Near 0 or 1 a bootstrap collapses (no false match among the pairs gives [0, 0]), so
        // each interval is widened to Wilson's score interval of the same count where that is
        // wider (which alone would take the pairs as independent: they are not, hence the
        // bootstrap over identities).
        let nImp = evaluation.metrics.impostorCount, nGen = evaluation.metrics.genuineCount
        let wFMR = grid.indices.map { Self.wilson(point.fmr[$0], count: nImp, level: level) }
        let wFNMR = grid.indices.map { Self.wilson(point.fnmr[$0], count: nGen, level: level) }
        fmrLower = grid.indices.map { min(fmrI[$0].lower, wFMR[$0].lower, point.fmr[$0]) }
        fmrUpper = grid.indices.map { max(fmrI[$0].upper, wFMR[$0].upper, point.fmr[$0]) }
        fnmrLower = grid.indices.map { min(fnmrI[$0].lower, wFNMR[$0].lower, point.fnmr[$0]) }
        fnmrUpper = grid.indices.map { max(fnmrI[$0].upper, wFNMR[$0].upper, point.fnmr[$0]) }
        genuinePairs = nGen
        impostorPairs = nImp
        unit = engine.unit.rawValue
        units = engine.units
        self.resamples = resamples
        self.level = level
        self.calibrationSet = calibrationSet
        description = evaluation.summary
    }

    /// Wilson's score interval of a proportion `p` of `count` trials (z of the two-sided `level`).
    static func wilson(_ p: Double, count: Int, level: Double) -> ConfidenceInterval {
        // z for 95 % (the only level the CLI uses) and 90 %/99 % by the normal quantile table.
        let z = level >= 0.99 ? 2.5758 : level >= 0.95 ? 1.96 : 1.6449
        let n = Double(count)
        let z2 = z * z
        let centre = (p + z2 / (2 * n)) / (1 + z2 / n)
        let half = z * (p * (1 - p) / n + z2 / (4 * n * n)).squareRoot() / (1 + z2 / n)
        return ConfidenceInterval(lower: max(0, centre - half), upper: min(1, centre + half))
    }

    /// FMR and FNMR at each of `grid` (ascending) for pairs sorted by distance, each weighted
    /// (nil: weight 1); nil when the weights leave no genuine or no impostor pair.
    static func rates(sortedDistances d: [Float], genuine: [Bool], weights w: [Int]?, at grid: [Float])
        -> (fmr: [Double], fnmr: [Double])?
    {
        var p = 0, n = 0
        for k in d.indices {
            let weight = w?[k] ?? 1
            if genuine[k] { p += weight } else { n += weight }
        }
        guard p > 0, n > 0 else { return nil }
        var fmr = [Double](), fnmr = [Double]()
        fmr.reserveCapacity(grid.count)
        fnmr.reserveCapacity(grid.count)
        var k = 0, tp = 0, fp = 0
        for t in grid {
            while k < d.count, d[k] <= t {
                let weight = w?[k] ?? 1
                if genuine[k] { tp += weight } else { fp += weight }
                k += 1
            }
            fmr.append(Double(fp) / Double(n))
            fnmr.append(Double(p - tp) / Double(p))
        }
        return (fmr, fnmr)
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

    /// SHA-256 over the sorted SHA-256s of the images' bytes: the same photos give the same
    /// hash wherever they are and however they are named.
    public static func hash(ofImages paths: [String]) throws(FileError) -> String {
        var hashes: [String] = []
        for path in paths { hashes.append(try ImageFileHashes.sha256(ofFile: path)) }
        var h = SHA256()
        for line in hashes.sorted() { h.update(Array((line + "\n").utf8)) }
        return h.hexDigest()
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
