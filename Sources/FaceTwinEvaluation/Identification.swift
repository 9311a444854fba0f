import Foundation

/// Open-set identification measured as NIST's face recognition tests do (1:N): each identity's
/// first images enrolled as its templates, its other images searched against the whole gallery.
///
/// - A **mated search** is a photo of an enrolled person; it is ranked by its distance to each
///   identity (the nearest template, as `identify --score min`). **CMC**: the share of mated
///   searches whose own identity is among the first k.
/// - A **non-mated search** is a photo of someone not enrolled: the identities named as never
///   enrolled, or else each mated search's photo against the gallery without its own identity.
/// - At a threshold t, **FPIR** (false positive identification rate) is the share of non-mated
///   searches whose nearest identity is within t, and **FNIR** (false negative identification
///   rate) the share of mated searches whose own identity is not first or not within t.
///   FNIR at FPIR x is read at the most accepting threshold whose FPIR is at most x; it is
///   reported only when there are at least 3/x non-mated searches (the rule of three, as for
///   TAR at FMR).
///
/// 95 % intervals: percentile bootstrap over the searched identities (each identity's searches
/// drawn together; the gallery stays whole), widened to Wilson's score interval of the mated
/// searches where that is wider.
public struct IdentificationEvaluation: Codable, Equatable, Sendable {
    /// One FNIR at FPIR operating point; nil FNIR when the non-mated searches cannot support it.
    public struct OperatingPoint: Codable, Equatable, Sendable {
        public var targetFPIR: Double
        public var fnir: Double?
        public var fpir: Double?
        public var threshold: Float?
        public var interval: ConfidenceInterval?
        public var unsupportedReason: String?
    }

    /// One point of the FNIR–FPIR curve (a threshold between two non-mated scores).
    public struct CurvePoint: Codable, Equatable, Sendable {
        public var threshold: Float
        public var fpir: Double
        public var fnir: Double
    }

    public let galleryIdentities: [String]
    public let templatesPerIdentity: Int
    public let matedSearches: Int
    public let nonMatedSearches: Int
    /// Where the non-mated searches came from.
    public let nonMatedSource: String
    /// CMC: rank-k identification rate for k = 1…`cmc.count`.
    public let cmc: [Double]
    /// 95 % intervals of the CMC's ranks (nil without a bootstrap).
    public let cmcIntervals: [ConfidenceInterval]?
    public let fnirAtFPIR: [OperatingPoint]
    public let curve: [CurvePoint]

    /// Identification over the images of an ``Evaluation`` made on identity folders (image
    /// identity = its folder; images in the folder's order). The first `galleryImages` images of
    /// each identity not in `nonMated` are its templates; identities with no image left to
    /// search are enrolled and not searched. `nonMated` identities are searched, never enrolled.
    public init(
        evaluation e: Evaluation, galleryImages: Int, nonMated: Set<String> = [], ranks: Int = 10, resamples: Int = 1000,
        seed: UInt64 = 0
    ) throws(IdentificationError) {
        guard galleryImages >= 1 else { throw .badGallerySize(galleryImages) }
        let dim = e.dimension
        var order: [String] = [], byIdentity: [String: [Int]] = [:]
        for (k, path) in e.imagePaths.enumerated() {
            let name = URL(fileURLWithPath: path).deletingLastPathComponent().lastPathComponent
            if byIdentity[name] == nil { order.append(name) }
            byIdentity[name, default: []].append(k)
        }
        for name in nonMated where byIdentity[name] == nil { throw .unknownIdentity(name) }
        let gallery = order.filter { !nonMated.contains($0) }
        guard gallery.count >= 2 else { throw .tooFewIdentities(gallery.count) }
        // Templates and searches.
        var templates: [(identity: Int, image: Int)] = []
        var searches: [(image: Int, mate: Int?, subject: String)] = []
        for (g, name) in gallery.enumerated() {
            let images = byIdentity[name]!
            for image in images.prefix(galleryImages) { templates.append((g, image)) }
            for image in images.dropFirst(galleryImages) { searches.append((image, g, name)) }
        }
        for name in order where nonMated.contains(name) {
            for image in byIdentity[name]! { searches.append((image, nil, name)) }
        }
        guard searches.contains(where: { $0.mate != nil }) else { throw .noMatedSearches(galleryImages: galleryImages) }
        // Each search's distance to each gallery identity: its nearest template.
        let n = gallery.count
        var scores = [Float](repeating: .infinity, count: searches.count * n)
        e.embeddings.withUnsafeBufferPointer { emb in
            for (s, search) in searches.enumerated() {
                let a = emb.baseAddress! + search.image * dim
                for t in templates {
                    let d = Evaluation.distance(a, emb.baseAddress! + t.image * dim, dimension: dim)
                    if d < scores[s * n + t.identity] { scores[s * n + t.identity] = d }
                }
            }
        }
        // Per search: the rank of its mate and the mate's score (mated), or the nearest score
        // (non-mated; for the gallery-without-mate construction, the nearest other identity).
        var matedRank: [Int] = [], matedScore: [Float] = [], matedFirst: [Bool] = [], matedSubject: [String] = []
        var nonMatedScore: [Float] = [], nonMatedSubject: [String] = []
        for (s, search) in searches.enumerated() {
            let row = scores[(s * n)..<((s + 1) * n)]
            if let mate = search.mate {
                let own = row[row.startIndex + mate]
                let closer = row.indices.filter { $0 - row.startIndex != mate && row[$0] < own }.count
                matedRank.append(closer + 1)
                matedScore.append(own)
                matedFirst.append(closer == 0)
                matedSubject.append(search.subject)
                if nonMated.isEmpty {
                    nonMatedScore.append(row.indices.filter { $0 - row.startIndex != mate }.map { row[$0] }.min()!)
                    nonMatedSubject.append(search.subject)
                }
            } else {
                nonMatedScore.append(row.min()!)
                nonMatedSubject.append(search.subject)
            }
        }
        let maxRank = min(ranks, n)
        galleryIdentities = gallery
        templatesPerIdentity = galleryImages
        matedSearches = matedRank.count
        nonMatedSearches = nonMatedScore.count
        nonMatedSource =
            nonMated.isEmpty
            ? "each mated search against the gallery without its own identity"
            : "\(nonMated.count) identities never enrolled (\(Evaluation.compactList(NaturalOrder.sorted(Array(nonMated)))))"
        cmc = Self.cmc(ranks: matedRank, weights: nil, maxRank: maxRank)!
        curve = Self.curve(matedScore: matedScore, matedFirst: matedFirst, nonMatedScore: nonMatedScore)

        // Bootstrap over the searched identities.
        let subjects = NaturalOrder.sorted(Array(Set(matedSubject + nonMatedSubject)))
        let code = Dictionary(uniqueKeysWithValues: subjects.enumerated().map { ($1, $0) })
        let matedCode = matedSubject.map { code[$0]! }, nonMatedCode = nonMatedSubject.map { code[$0]! }
        var cmcDraws = [[Double]](repeating: [], count: maxRank)
        let targets = [0.01, 0.1]
        var fnirDraws = [[Double]](repeating: [], count: targets.count)
        if resamples > 0 {
            var rng = RandomSource(seed: seed)
            var counts = [Int](repeating: 0, count: subjects.count)
            for _ in 0..<resamples {
                for i in counts.indices { counts[i] = 0 }
                for _ in subjects.indices { counts[Int(rng.next() % UInt64(subjects.count))] += 1 }
                let wm = matedCode.map { counts[$0] }, wn = nonMatedCode.map { counts[$0] }
                if let c = Self.cmc(ranks: matedRank, weights: wm, maxRank: maxRank) {
                    for k in c.indices { cmcDraws[k].append(c[k]) }
                }
                for (t, target) in targets.enumerated() {
                    if let f = Self.fnir(
                        atFPIR: target, matedScore: matedScore, matedFirst: matedFirst, matedWeights: wm,
                        nonMatedScore: nonMatedScore, nonMatedWeights: wn)
                    {
                        fnirDraws[t].append(f.fnir)
                    }
                }
            }
        }
        // Widened to Wilson's interval where that is wider: a bootstrap of searches that all
        // succeeded collapses to [1, 1] (as for ErrorRateTable).
        let matedCount = matedRank.count
        func widened(_ draws: [Double], _ p: Double) -> ConfidenceInterval {
            let w = ErrorRateTable.wilson(p, count: matedCount, level: 0.95)
            guard !draws.isEmpty else { return w }
            let b = ConfidenceInterval(percentilesOf: draws, level: 0.95)
            return ConfidenceInterval(lower: min(b.lower, w.lower, p), upper: max(b.upper, w.upper, p))
        }
        let rates = cmc
        cmcIntervals = resamples > 0 ? cmcDraws.indices.map { widened(cmcDraws[$0], rates[$0]) } : nil
        let nonMatedCount = nonMatedScore.count
        fnirAtFPIR = targets.enumerated().map { t, target in
            guard nonMatedCount >= Int((3 / target).rounded(.up)) else {
                return OperatingPoint(
                    targetFPIR: target, fnir: nil, fpir: nil, threshold: nil, interval: nil,
                    unsupportedReason:
                        "not supported by \(nonMatedCount) non-mated searches (needs ≥ \(Int((3 / target).rounded(.up))))")
            }
            let f = Self.fnir(
                atFPIR: target, matedScore: matedScore, matedFirst: matedFirst,
                matedWeights: [Int](repeating: 1, count: matedScore.count), nonMatedScore: nonMatedScore,
                nonMatedWeights: [Int](repeating: 1, count: nonMatedCount))!
            let draws = fnirDraws[t]
            return OperatingPoint(
                targetFPIR: target, fnir: f.fnir, fpir: f.fpir, threshold: f.threshold,
                interval: resamples > 0 ? widened(draws, f.fnir) : nil, unsupportedReason: nil)
        }
    }

    /// Rank-k rates (k = 1…maxRank) of mated searches, each weighted; nil for no weight.
    static func cmc(ranks: [Int], weights: [Int]?, maxRank: Int) -> [Double]? {
        var atRank = [Int](repeating: 0, count: maxRank + 1)
        var total = 0
        for (k, r) in ranks.enumerated() {
            let w = weights?[k] ?? 1
            total += w
            if r <= maxRank { atRank[r] += w }
        }
        guard total > 0 else { return nil }
        var cumulative = 0
        return (1...maxRank).map { k in
            cumulative += atRank[k]
            return Double(cumulative) / Double(total)
        }
    }

    /// FNIR at the most accepting threshold whose FPIR is at most `target` (weighted searches);
    /// nil when a side has no weight. A threshold accepts scores ≤ it.
    static func fnir(
        atFPIR target: Double, matedScore: [Float], matedFirst: [Bool], matedWeights: [Int], nonMatedScore: [Float],
        nonMatedWeights: [Int]
    ) -> (fnir: Double, fpir: Double, threshold: Float)? {
        let nTotal = nonMatedWeights.reduce(0, +), mTotal = matedWeights.reduce(0, +)
        guard nTotal > 0, mTotal > 0 else { return nil }
        // Non-mated scores ascending: accepting through the j-th gives FPIR = weight so far.
        let order = nonMatedScore.indices.sorted { nonMatedScore[$0] < nonMatedScore[$1] }
        let allowed = Int((target * Double(nTotal)).rounded(.down))
        var accepted = 0
        var k = 0
        while k < order.count {
            // A group of equal scores is accepted together.
            var j = k, w = 0
            while j < order.count, nonMatedScore[order[j]] == nonMatedScore[order[k]] {
                w += nonMatedWeights[order[j]]
                j += 1
            }
            if accepted + w > allowed { break }
            accepted += w
            k = j
        }
        // The most accepting such threshold: just below the first non-mated score refused.
        let t: Float = k < order.count ? nonMatedScore[order[k]].nextDown : .infinity
        var missed = 0
        for i in matedScore.indices where !(matedFirst[i] && matedScore[i] <= t) { missed += matedWeights[i] }
        return (Double(missed) / Double(mTotal), Double(accepted) / Double(nTotal), t)
    }

    /// The FNIR–FPIR trade-off at each non-mated score (the threshold just accepting it).
    static func curve(matedScore: [Float], matedFirst: [Bool], nonMatedScore: [Float]) -> [CurvePoint] {
        let sortedNon = nonMatedScore.sorted()
        let firstScores = matedScore.indices.filter { matedFirst[$0] }.map { matedScore[$0] }.sorted()
        let m = Double(matedScore.count), nn = Double(sortedNon.count)
        var points: [CurvePoint] = []
        var hit = 0
        for (k, t) in sortedNon.enumerated() where k == sortedNon.count - 1 || sortedNon[k + 1] != t {
            while hit < firstScores.count, firstScores[hit] <= t { hit += 1 }
            points.append(CurvePoint(threshold: t, fpir: Double(k + 1) / nn, fnir: 1 - Double(hit) / m))
        }
        return points
    }
}

/// Why identification could not be measured.
public enum IdentificationError: Error, CustomStringConvertible, Equatable, Sendable {
    case badGallerySize(Int)
    case unknownIdentity(String)
    case tooFewIdentities(Int)
    case noMatedSearches(galleryImages: Int)

    public var description: String {
        switch self {
        case .badGallerySize(let n): return "gallery images per identity must be at least 1 (got \(n))"
        case .unknownIdentity(let name): return "non-mated identity \(name) is not among the evaluated identities"
        case .tooFewIdentities(let n): return "identification needs at least 2 enrolled identities (got \(n))"
        case .noMatedSearches(let n):
            return "no identity has more than \(n) images, so nothing is left to search after enrolling the first \(n)"
        }
    }
}
