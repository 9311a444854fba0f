import Foundation

/// An ``ErrorRateTable`` measured on an evaluation's pairs.
extension ErrorRateTable {
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
        // Near 0 or 1 a bootstrap collapses (no false match among the pairs gives [0, 0]), so
        // each interval is widened to Wilson's score interval of the same count where that is
        // wider (which alone would take the pairs as independent: they are not, hence the
        // bootstrap over identities).
        let nImp = evaluation.metrics.impostorCount, nGen = evaluation.metrics.genuineCount
        let wFMR = grid.indices.map { Self.wilson(point.fmr[$0], count: nImp, level: level) }
        let wFNMR = grid.indices.map { Self.wilson(point.fnmr[$0], count: nGen, level: level) }
        self.init(
            distances: grid, fmr: point.fmr,
            fmrLower: grid.indices.map { min(fmrI[$0].lower, wFMR[$0].lower, point.fmr[$0]) },
            fmrUpper: grid.indices.map { max(fmrI[$0].upper, wFMR[$0].upper, point.fmr[$0]) },
            fnmr: point.fnmr,
            fnmrLower: grid.indices.map { min(fnmrI[$0].lower, wFNMR[$0].lower, point.fnmr[$0]) },
            fnmrUpper: grid.indices.map { max(fnmrI[$0].upper, wFNMR[$0].upper, point.fnmr[$0]) },
            genuinePairs: nGen, impostorPairs: nImp, unit: engine.unit.rawValue, units: engine.units,
            resamples: resamples, level: level, calibrationSet: calibrationSet, description: evaluation.summary)
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
