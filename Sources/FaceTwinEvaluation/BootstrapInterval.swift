import Foundation

extension ConfidenceInterval {
    /// The percentile interval of `values` at `level` (0.95: the 2.5th and 97.5th
    /// percentiles, linear interpolation between order statistics). `values` must not be empty.
    public init(percentilesOf values: [Double], level: Double) {
        precondition(!values.isEmpty, "no values")
        let sorted = values.sorted()
        func quantile(_ q: Double) -> Double {
            let h = Double(sorted.count - 1) * q
            let k = Int(h.rounded(.down))
            guard k + 1 < sorted.count else { return sorted[k] }
            return sorted[k] + (h - Double(k)) * (sorted[k + 1] - sorted[k])
        }
        let tail = (1 - level) / 2
        self.init(lower: quantile(tail), upper: quantile(1 - tail))
    }
}

/// What a bootstrap resamples.
public enum BootstrapUnit: String, Codable, Sendable {
    /// Identities drawn with replacement; every pair among the drawn identities' images is
    /// scored (genuine pairs within a draw, impostor pairs between draws of different identities).
    case identities
    /// Genuine and impostor pairs drawn with replacement, each kind to its own count.
    case pairs
}

/// 95 % (or other) intervals of the headline figures by a percentile bootstrap.
public struct BootstrapIntervals: Equatable, Sendable {
    public let unit: BootstrapUnit
    /// Identities (or pairs) there were to draw from.
    public let units: Int
    /// Why pairs were resampled rather than identities; nil when identities were.
    public let note: String?
    public let resamples: Int
    /// Resamples that had both genuine and impostor pairs (the others are skipped).
    public let validResamples: Int
    public let seed: UInt64
    public let level: Double
    public let eer: ConfidenceInterval
    /// Nil when the operating point is not supported by the evaluated impostor pairs
    /// (``TARAtFMR/isSupported``): an interval would dress up a figure that is not there.
    public let tarAtFMR1Percent: ConfidenceInterval?
    public let tarAtFMR0_1Percent: ConfidenceInterval?

    /// "percentile bootstrap over identities, 1000 resamples, seed 0".
    public var method: String { "percentile bootstrap over \(unit.rawValue), \(resamples) resamples, seed \(seed)" }
}

extension BootstrapIntervals: Codable {
    enum CodingKeys: String, CodingKey {
        case unit, units, note, resamples, validResamples, seed, level, method, eer, tarAtFMR1Percent, tarAtFMR0_1Percent
    }

    /// Unsupported intervals and a missing note are written as null, not left out.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(unit, forKey: .unit)
        try c.encode(units, forKey: .units)
        try c.encode(note, forKey: .note)
        try c.encode(resamples, forKey: .resamples)
        try c.encode(validResamples, forKey: .validResamples)
        try c.encode(seed, forKey: .seed)
        try c.encode(level, forKey: .level)
        try c.encode(method, forKey: .method)
        try c.encode(eer, forKey: .eer)
        try c.encode(tarAtFMR1Percent, forKey: .tarAtFMR1Percent)
        try c.encode(tarAtFMR0_1Percent, forKey: .tarAtFMR0_1Percent)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        unit = try c.decode(BootstrapUnit.self, forKey: .unit)
        units = try c.decode(Int.self, forKey: .units)
        note = try c.decodeIfPresent(String.self, forKey: .note)
        resamples = try c.decode(Int.self, forKey: .resamples)
        validResamples = try c.decode(Int.self, forKey: .validResamples)
        seed = try c.decode(UInt64.self, forKey: .seed)
        level = try c.decode(Double.self, forKey: .level)
        eer = try c.decode(ConfidenceInterval.self, forKey: .eer)
        tarAtFMR1Percent = try c.decodeIfPresent(ConfidenceInterval.self, forKey: .tarAtFMR1Percent)
        tarAtFMR0_1Percent = try c.decodeIfPresent(ConfidenceInterval.self, forKey: .tarAtFMR0_1Percent)
    }
}

/// Bootstrap of EER and TAR at FMR 1 % / 0.1 % over identities (or pairs).
///
/// A resample never rescores anything: the pairs are sorted by distance once, and a resample
/// only gives each pair a weight — over identities, drawn identity counts m: m(I) for a
/// genuine pair of I (each draw of I brings its pairs), m(I)·m(J) for an impostor pair of I
/// and J (every draw of I against every draw of J; two draws of the same identity form no
/// pairs with each other: they are one person, and an image against itself is no comparison).
/// Over pairs, the weight is how often the pair was drawn. One pass over the sorted pairs then
/// gives the weighted ROC points, ties grouped as in ``ROCCurve``, and the figures read as
/// there. With all weights 1 the figures are exactly the point estimates. Cost: one pass per
/// resample, e.g. 3160 pairs × 1000 resamples in a few milliseconds.
struct VerificationBootstrap: Sendable {
    public let unit: BootstrapUnit
    /// Identities (or pairs) drawn from.
    public let units: Int
    public let note: String?
    /// Pairs in order of distance: the distance, whether genuine, and for identities the two
    /// identities.
    let sortedDistances: [Float]
    let sortedGenuine: [Bool]
    private let sortedFirst: [Int32]
    private let sortedSecond: [Int32]
    /// For each sorted pair: true when the next pair has a larger distance (a ROC point ends).
    private let groupEnds: [Bool]
    private let genuineCount: Int
    private let impostorCount: Int

    /// Over identities: `firstIdentity[k]` and `secondIdentity[k]` are the identities (any
    /// integers) of pair k's two images. Throws `BootstrapError.labelsDisagree` when a pair's
    /// `genuine` label is not "same identity", and `MetricsError`s as ``ROCCurve`` does.
    public init(distances: [Float], genuine: [Bool], firstIdentity: [Int], secondIdentity: [Int]) throws {
        guard firstIdentity.count == distances.count, secondIdentity.count == distances.count else {
            throw MetricsError.lengthMismatch(distances: distances.count, labels: firstIdentity.count)
        }
        var dense: [Int: Int32] = [:]
        func code(_ id: Int) -> Int32 {
            if let c = dense[id] { return c }
            let c = Int32(dense.count)
            dense[id] = c
            return c
        }
        var first = [Int32](), second = [Int32]()
        first.reserveCapacity(distances.count)
        second.reserveCapacity(distances.count)
        for k in distances.indices {
            guard genuine.indices.contains(k), (firstIdentity[k] == secondIdentity[k]) == genuine[k] else {
                throw BootstrapError.labelsDisagree(pair: k)
            }
            first.append(code(firstIdentity[k]))
            second.append(code(secondIdentity[k]))
        }
        try self.init(
            unit: .identities, units: dense.count, note: nil, distances: distances, genuine: genuine, first: first, second: second
        )
    }

    /// Over pairs (identities unknown): genuine and impostor pairs resampled separately.
    public init(distances: [Float], genuine: [Bool], note: String? = nil) throws {
        try self.init(
            unit: .pairs, units: distances.count, note: note, distances: distances, genuine: genuine, first: [], second: [])
    }

    private init(
        unit: BootstrapUnit, units: Int, note: String?, distances: [Float], genuine: [Bool], first: [Int32], second: [Int32]
    ) throws {
        // Validates lengths, finiteness and both kinds of pair.
        let curve = try ROCCurve(distances: distances, genuine: genuine)
        let order = distances.indices.sorted { distances[$0] < distances[$1] }
        self.unit = unit
        self.units = units
        self.note = note
        sortedDistances = order.map { distances[$0] }
        sortedGenuine = order.map { genuine[$0] }
        sortedFirst = first.isEmpty ? [] : order.map { first[$0] }
        sortedSecond = second.isEmpty ? [] : order.map { second[$0] }
        groupEnds = order.indices.map { k in k == order.count - 1 || distances[order[k + 1]] != distances[order[k]] }
        genuineCount = curve.genuineCount
        impostorCount = curve.impostorCount
    }

    /// The identities of the k-th pair in order of distance (identities mode).
    func identities(ofSortedPair k: Int) -> (Int, Int) { (Int(sortedFirst[k]), Int(sortedSecond[k])) }

    /// EER and TAR at FMR 1 % and 0.1 % with every pair weighted by `weights` (in order of
    /// distance), or nil when the weights leave no genuine or no impostor pair.
    func figures(sortedWeights w: [Int]) -> (eer: Double, tar1: Double, tar01: Double)? {
        var p = 0, n = 0
        for k in w.indices { if sortedGenuine[k] { p += w[k] } else { n += w[k] } }
        guard p > 0, n > 0 else { return nil }
        let dp = Double(p), dn = Double(n)
        var tp = 0, fp = 0
        // The first point accepts nothing: FNMR 1, FMR 0.
        var bestGap = p * n, bestEER = 0.5
        var tar1 = 0.0, tar01 = 0.0
        var open1 = true, open01 = true
        for k in w.indices {
            if sortedGenuine[k] { tp += w[k] } else { fp += w[k] }
            guard groupEnds[k] else { continue }
            let gap = abs((p - tp) * n - fp * p)
            if gap < bestGap {
                bestGap = gap
                bestEER = ((1 - Double(tp) / dp) + Double(fp) / dn) / 2
            }
            let fmr = Double(fp) / dn
            if open1 { if fmr <= 0.01 { tar1 = Double(tp) / dp } else { open1 = false } }
            if open01 { if fmr <= 0.001 { tar01 = Double(tp) / dp } else { open01 = false } }
        }
        return (bestEER, tar1, tar01)
    }

    /// The figures with every weight 1: the point estimates.
    func pointEstimates() -> (eer: Double, tarAtFMR1Percent: Double, tarAtFMR0_1Percent: Double) {
        let f = figures(sortedWeights: [Int](repeating: 1, count: sortedGenuine.count))!
        return (f.eer, f.tar1, f.tar01)
    }

    /// The percentile intervals of `resamples` seeded resamples. TAR intervals are nil when
    /// the evaluated impostor pairs do not support the operating point (rule of three).
    public func intervals(resamples: Int = 1000, seed: UInt64 = 0, level: Double = 0.95) -> BootstrapIntervals {
        precondition(resamples > 0 && level > 0 && level < 1, "resamples ≥ 1, 0 < level < 1")
        var rng = RandomSource(seed: seed)
        var eers: [Double] = [], tars1: [Double] = [], tars01: [Double] = []
        eers.reserveCapacity(resamples)
        var draw = ResampleWeights(self)
        for _ in 0..<resamples {
            let weights = draw.next(&rng)
            guard let f = figures(sortedWeights: weights) else { continue }
            eers.append(f.eer)
            tars1.append(f.tar1)
            tars01.append(f.tar01)
        }
        let supported1 = TARAtFMR.isSupported(fmr: 0.01, impostorPairs: impostorCount)
        let supported01 = TARAtFMR.isSupported(fmr: 0.001, impostorPairs: impostorCount)
        let empty = eers.isEmpty
        return BootstrapIntervals(
            unit: unit, units: units, note: note, resamples: resamples, validResamples: eers.count, seed: seed, level: level,
            eer: empty ? ConfidenceInterval(lower: .nan, upper: .nan) : ConfidenceInterval(percentilesOf: eers, level: level),
            tarAtFMR1Percent: supported1 && !empty ? ConfidenceInterval(percentilesOf: tars1, level: level) : nil,
            tarAtFMR0_1Percent: supported01 && !empty ? ConfidenceInterval(percentilesOf: tars01, level: level) : nil)
    }
}

/// The weights of one resample after another, in order of distance: over identities, a pair
/// weighs the product of its two identities' draw counts (an identity's own pairs, its count);
/// over pairs, genuine and impostor pairs are drawn separately.
struct ResampleWeights {
    private let engine: VerificationBootstrap
    private var weights: [Int]
    private var counts: [Int]
    private let genuineIndices: [Int]
    private let impostorIndices: [Int]

    init(_ engine: VerificationBootstrap) {
        self.engine = engine
        weights = [Int](repeating: 0, count: engine.sortedGenuine.count)
        counts = [Int](repeating: 0, count: engine.unit == .identities ? engine.units : 0)
        genuineIndices = engine.unit == .pairs ? engine.sortedGenuine.indices.filter { engine.sortedGenuine[$0] } : []
        impostorIndices = engine.unit == .pairs ? engine.sortedGenuine.indices.filter { !engine.sortedGenuine[$0] } : []
    }

    mutating func next(_ rng: inout RandomSource) -> [Int] {
        switch engine.unit {
        case .identities:
            for i in counts.indices { counts[i] = 0 }
            for _ in 0..<engine.units { counts[Int(rng.next() % UInt64(engine.units))] += 1 }
            for k in weights.indices {
                let (a, b) = engine.identities(ofSortedPair: k)
                weights[k] = a == b ? counts[a] : counts[a] * counts[b]
            }
        case .pairs:
            for k in weights.indices { weights[k] = 0 }
            for _ in 0..<genuineIndices.count {
                weights[genuineIndices[Int(rng.next() % UInt64(genuineIndices.count))]] += 1
            }
            for _ in 0..<impostorIndices.count {
                weights[impostorIndices[Int(rng.next() % UInt64(impostorIndices.count))]] += 1
            }
        }
        return weights
    }
}

/// Why a bootstrap over identities cannot be made.
public enum BootstrapError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Pair `pair` is labelled genuine across two identities, or impostor within one.
    case labelsDisagree(pair: Int)

    public var description: String {
        switch self {
        case .labelsDisagree(let k): return "pair \(k + 1): its same/different label disagrees with its images' identities"
        }
    }
}

extension Evaluation {
    /// Intervals of EER and TAR at FMR 1 % / 0.1 % by a percentile bootstrap.
    ///
    /// Identities mode: over identities (each image's identity is its folder). Pair list:
    /// over identities when the images' parent folders agree with every pair's label (same
    /// folder iff labelled the same person), else over pairs, with a note saying why. The
    /// folders are taken for identity folders only when some different-people pair spans two
    /// of them: images in one flat folder, or in a folder per pair, say nothing of identities.
    public func bootstrapIntervals(resamples: Int = 1000, seed: UInt64 = 0, level: Double = 0.95) -> BootstrapIntervals {
        bootstrapEngine().intervals(resamples: resamples, seed: seed, level: level)
    }

    /// The resampling engine of ``bootstrapIntervals(resamples:seed:level:)``: over identities
    /// when the images' folders agree with the labels, else over pairs with a note saying why.
    func bootstrapEngine() -> VerificationBootstrap {
        var folderCode: [String: Int] = [:]
        let imageIdentity = imagePaths.map { path -> Int in
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent().standardizedFileURL.path
            if let c = folderCode[folder] { return c }
            folderCode[folder] = folderCode.count
            return folderCode.count - 1
        }
        let a = first.map { imageIdentity[Int($0)] }, b = second.map { imageIdentity[Int($0)] }
        let note: String
        let identityFolders = genuine.indices.contains { !genuine[$0] && a[$0] != b[$0] }
        if !identityFolders {
            note = "identities unknown: the images are not in identity folders"
        } else {
            do {
                return try VerificationBootstrap(
                    distances: distances, genuine: genuine, firstIdentity: a, secondIdentity: b)
            } catch let BootstrapError.labelsDisagree(pair: k) {
                let same = genuine[k] ? "the same person" : "different people"
                note =
                    "identities unknown: pair \(k + 1) (\(shortName(ofImage: Int(first[k]))), \(shortName(ofImage: Int(second[k])))) is labelled \(same) but its folders say otherwise"
            } catch {
                note = "identities unknown: \(error)"
            }
        }
        // The evaluation's pairs passed ROCCurve already, so this cannot fail.
        return try! VerificationBootstrap(distances: distances, genuine: genuine, note: note)
    }
}
