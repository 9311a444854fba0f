import Foundation

/// Each identity's genuine and impostor distances, and Doddington's zoo as Yager and Dunstone
/// define it by quartiles of the identities' mean scores (for a distance, small is similar):
///
/// - **goats** (hard to match): identities whose mean genuine distance (their own photos' pairs)
///   is in the top quartile of all identities';
/// - **lambs** (easy to imitate): identities whose mean impostor distance (their pairs with
///   everyone else) is in the bottom quartile: others come close to them;
/// - **wolves** (good at imitating): the same ranking seen from the other side of each impostor
///   pair. FaceTwin's distance is symmetric (d(a, b) = d(b, a)), so an identity's distances as a
///   probe equal its distances as a target and the wolves are exactly the lambs; the report says
///   so rather than inventing a difference.
///
/// Beside the quartile labels, each identity's FNMR and FMR at the operating threshold (its own
/// genuine pairs rejected, its impostor pairs accepted) show whether the label costs errors.
/// Identities are the images' folders; an identity with a single image has no genuine pair and
/// is not ranked as a goat.
public struct IdentityZoo: Codable, Equatable, Sendable {
    public struct Row: Codable, Equatable, Sendable {
        public var identity: String
        public var images: Int
        public var genuinePairs: Int
        public var meanGenuineDistance: Double?
        public var maxGenuineDistance: Double?
        /// Its genuine pairs above the threshold, as a share of them.
        public var fnmr: Double?
        public var impostorPairs: Int
        public var meanImpostorDistance: Double?
        public var minImpostorDistance: Double?
        /// Its impostor pairs at or below the threshold, as a share of them.
        public var fmr: Double?
        public var goat: Bool
        public var lamb: Bool
    }

    public var threshold: Float
    /// The quartile bounds used: mean genuine distance above `goatAbove` is a goat, mean
    /// impostor distance below `lambBelow` a lamb (and a wolf).
    public var goatAbove: Double?
    public var lambBelow: Double?
    public var rows: [Row]

    public var goats: [String] { rows.filter(\.goat).map(\.identity) }
    public var lambs: [String] { rows.filter(\.lamb).map(\.identity) }
    /// With a symmetric distance, the lambs.
    public var wolves: [String] { lambs }

    /// The zoo of an evaluation's pairs at `threshold` (accept iff distance ≤ threshold); nil
    /// when its images are not in identity folders (fewer than 2 identities).
    public init?(evaluation e: Evaluation, threshold: Float) {
        var names: [String] = [], code: [String: Int] = [:]
        let identity = e.imagePaths.map { path -> Int in
            let name = URL(fileURLWithPath: path).deletingLastPathComponent().lastPathComponent
            if let c = code[name] { return c }
            code[name] = names.count
            names.append(name)
            return names.count - 1
        }
        guard names.count >= 2 else { return nil }
        // The labels must agree with the folders (same folder iff genuine), else folders say nothing.
        for k in e.distances.indices where (identity[Int(e.first[k])] == identity[Int(e.second[k])]) != e.genuine[k] {
            return nil
        }
        var images = [Int](repeating: 0, count: names.count)
        for i in identity { images[i] += 1 }
        var gSum = [Double](repeating: 0, count: names.count), gMax = [Double](repeating: -.infinity, count: names.count)
        var gN = [Int](repeating: 0, count: names.count), gRejected = [Int](repeating: 0, count: names.count)
        var iSum = [Double](repeating: 0, count: names.count), iMin = [Double](repeating: .infinity, count: names.count)
        var iN = [Int](repeating: 0, count: names.count), iAccepted = [Int](repeating: 0, count: names.count)
        for k in e.distances.indices {
            let d = Double(e.distances[k])
            let a = identity[Int(e.first[k])], b = identity[Int(e.second[k])]
            if e.genuine[k] {
                gSum[a] += d
                gMax[a] = max(gMax[a], d)
                gN[a] += 1
                if e.distances[k] > threshold { gRejected[a] += 1 }
            } else {
                for side in [a, b] {
                    iSum[side] += d
                    iMin[side] = min(iMin[side], d)
                    iN[side] += 1
                    if e.distances[k] <= threshold { iAccepted[side] += 1 }
                }
            }
        }
        var rows: [Row] = names.indices.map { i in
            Row(
                identity: names[i], images: images[i], genuinePairs: gN[i],
                meanGenuineDistance: gN[i] > 0 ? gSum[i] / Double(gN[i]) : nil, maxGenuineDistance: gN[i] > 0 ? gMax[i] : nil,
                fnmr: gN[i] > 0 ? Double(gRejected[i]) / Double(gN[i]) : nil, impostorPairs: iN[i],
                meanImpostorDistance: iN[i] > 0 ? iSum[i] / Double(iN[i]) : nil, minImpostorDistance: iN[i] > 0 ? iMin[i] : nil,
                fmr: iN[i] > 0 ? Double(iAccepted[i]) / Double(iN[i]) : nil, goat: false, lamb: false)
        }
        let goatAbove = Self.quartile(rows.compactMap(\.meanGenuineDistance), 0.75)
        let lambBelow = Self.quartile(rows.compactMap(\.meanImpostorDistance), 0.25)
        for i in rows.indices {
            if let g = rows[i].meanGenuineDistance, let q = goatAbove { rows[i].goat = g > q }
            if let m = rows[i].meanImpostorDistance, let q = lambBelow { rows[i].lamb = m < q }
        }
        self.threshold = threshold
        self.goatAbove = goatAbove
        self.lambBelow = lambBelow
        let byName = Dictionary(uniqueKeysWithValues: rows.map { ($0.identity, $0) })
        self.rows = NaturalOrder.sorted(names).map { byName[$0]! }
    }

    /// The q-quantile of `values` (linear between order statistics); nil for fewer than 4 values,
    /// where quartiles say nothing.
    static func quartile(_ values: [Double], _ q: Double) -> Double? {
        guard values.count >= 4 else { return nil }
        let s = values.sorted()
        let h = Double(s.count - 1) * q
        let k = Int(h.rounded(.down))
        return k + 1 < s.count ? s[k] + (h - Double(k)) * (s[k + 1] - s[k]) : s[k]
    }

    /// The table as CSV (identity names through `CSV/field(_:)`).
    public func csv() -> String {
        func f(_ v: Double?) -> String { v.map { String(format: "%.6g", $0) } ?? "" }
        var s =
            "identity,images,genuine_pairs,mean_genuine_distance,max_genuine_distance,fnmr,impostor_pairs,mean_impostor_distance,min_impostor_distance,fmr,goat,lamb_wolf\n"
        for r in rows {
            s +=
                "\(CSV.field(r.identity)),\(r.images),\(r.genuinePairs),\(f(r.meanGenuineDistance)),\(f(r.maxGenuineDistance)),\(f(r.fnmr)),"
            s +=
                "\(r.impostorPairs),\(f(r.meanImpostorDistance)),\(f(r.minImpostorDistance)),\(f(r.fmr)),\(r.goat ? 1 : 0),\(r.lamb ? 1 : 0)\n"
        }
        return s
    }
}
