import Foundation

/// A model scored on a set of pairs: every image embedded once (in batches), the Euclidean
/// distance of each pair, the ROC curve and the headline metrics, and the accuracy of the
/// threshold stored in the model.
///
/// Two ways to choose the pairs:
/// - ``init(model:folder:)`` / ``init(model:root:identities:)``: all pairs of the images of
///   some identities (`VerificationPairs.allPairs`, the protocol of `scripts/facetwin_torch.py`):
///   n(n−1)/2 pairs, genuine iff both images are of the same identity.
/// - ``init(model:pairList:)``: the pairs of a labelled ``PairList``.
///
/// Convention throughout: smaller distance = more similar; match iff distance ≤ threshold.
public struct Evaluation: Sendable {
    /// Where the pairs came from.
    public enum Source: Sendable, Equatable {
        /// All pairs of these identities under `root`.
        case identities(root: String, names: [String])
        /// The pairs of a pair list file.
        case pairList(file: String)
    }

    public let source: Source
    /// Every image embedded, once each.
    public let imagePaths: [String]
    /// The embeddings, `imagePaths.count × dimension`, row-major.
    public let embeddings: [Float]
    public let dimension: Int
    /// The pairs, as indices into `imagePaths`.
    public let first: [Int32]
    public let second: [Int32]
    /// Score of each pair: its distance, or for a model with a sigmoid head the head's score.
    public let distances: [Float]
    /// Whether each pair is of the same person.
    public let genuine: [Bool]
    /// The ROC curve of `distances` / `genuine`.
    public let curve: ROCCurve
    public let metrics: VerificationMetrics
    /// The model's stored threshold and how it was chosen, if it has one.
    public let storedThreshold: Float?
    public let storedThresholdMethod: String?
    /// Accuracy of "match iff distance ≤ storedThreshold" on these pairs.
    public let accuracyAtStoredThreshold: Double?

    public var pairCount: Int { distances.count }

    // MARK: Building

    /// All pairs of the images of `identities` (nil = every identity folder) under `root`,
    /// prepared at the model's input size.
    public init(model: FaceModel, root: String, identities: Set<String>? = nil) throws(EvaluationError) {
        let c = model.config
        let folder: ImageFolder
        do {
            folder = try ImageFolder(root: root, for: c, only: identities)
        } catch {
            throw .dataset(error)
        }
        try self.init(model: model, folder: folder)
    }

    /// All pairs of an already loaded folder. The folder must be prepared as the model's input.
    public init(model: FaceModel, folder: ImageFolder) throws(EvaluationError) {
        let c = model.config
        guard folder.width == c.inputWidth, folder.height == c.inputHeight, folder.invert == c.invert,
            folder.channels == c.inputChannels
        else {
            throw .inputMismatch(
                "\(folder.root): images prepared at \(folder.width)×\(folder.height)\(folder.invert ? " inverted" : ""), the model takes \(c.inputWidth)×\(c.inputHeight)\(c.invert ? " inverted" : "")"
            )
        }
        let embeddings = model.network.embed(pixels: folder.pixels, count: folder.count)
        let scored: (distances: [Float], genuine: [Bool])
        do {
            scored = try VerificationPairs.allPairs(embeddings: embeddings, dimension: c.embeddingSize, labels: folder.labels)
        } catch let e as MetricsError {
            throw .metrics(e, context: folder.root)
        } catch {
            throw .metrics(.noPairs, context: "\(folder.root): \(error)")
        }
        var first: [Int32] = [], second: [Int32] = []
        first.reserveCapacity(scored.distances.count)
        second.reserveCapacity(scored.distances.count)
        for i in 0..<folder.count { for j in (i + 1)..<folder.count { first.append(Int32(i)); second.append(Int32(j)) } }
        try self.init(
            model: model, source: .identities(root: folder.root, names: folder.identities), imagePaths: folder.paths,
            embeddings: embeddings, first: first, second: second,
            distances: model.network.scores(distances: scored.distances), genuine: scored.genuine)
    }

    /// The pairs of a labelled pair list. Each distinct image is decoded and embedded once.
    public init(model: FaceModel, pairList: PairList) throws(EvaluationError) {
        guard pairList.hasLabels else { throw .unlabeledPairs(file: pairList.file) }
        let scored = try Self.score(model: model, pairList: pairList)
        try self.init(
            model: model, source: .pairList(file: pairList.file), imagePaths: scored.imagePaths,
            embeddings: scored.embeddings, first: scored.first, second: scored.second,
            distances: model.network.scores(distances: scored.distances), genuine: pairList.pairs.map { $0.same! })
    }

    private init(
        model: FaceModel, source: Source, imagePaths: [String], embeddings: [Float], first: [Int32], second: [Int32],
        distances: [Float], genuine: [Bool]
    ) throws(EvaluationError) {
        let context: String
        switch source {
        case .identities(let root, let names): context = "\(root) (\(names.joined(separator: ",")))"
        case .pairList(let file): context = file
        }
        do {
            curve = try ROCCurve(distances: distances, genuine: genuine)
        } catch let e as MetricsError {
            throw .metrics(e, context: context)
        } catch {
            throw .metrics(.noPairs, context: "\(context): \(error)")
        }
        self.source = source
        self.imagePaths = imagePaths
        self.embeddings = embeddings
        self.dimension = model.config.embeddingSize
        self.first = first
        self.second = second
        self.distances = distances
        self.genuine = genuine
        metrics = VerificationMetrics(curve: curve)
        storedThreshold = model.info.threshold
        storedThresholdMethod = model.info.thresholdMethod
        let builtCurve = curve
        accuracyAtStoredThreshold = model.info.threshold.map { builtCurve.accuracy(atThreshold: $0) }
    }

    // MARK: Scoring without labels

    /// The distances of a pair list's pairs (labels not needed), each distinct image decoded
    /// and embedded once, in batches.
    public static func score(model: FaceModel, pairList: PairList) throws(EvaluationError)
        -> (imagePaths: [String], embeddings: [Float], first: [Int32], second: [Int32], distances: [Float])
    {
        var index: [String: Int32] = [:]
        var paths: [String] = []
        var first: [Int32] = [], second: [Int32] = []
        for pair in pairList.pairs {
            for (path, out) in [(pair.path1, 0), (pair.path2, 1)] {
                let k: Int32
                if let known = index[path] {
                    k = known
                } else {
                    k = Int32(paths.count)
                    index[path] = k
                    paths.append(path)
                }
                if out == 0 { first.append(k) } else { second.append(k) }
            }
        }
        let hw = model.config.imageSize
        var pixels: [Float] = []
        pixels.reserveCapacity(paths.count * hw)
        for path in paths {
            do { pixels += try model.prepareImage(at: path) } catch { throw .image(error) }
        }
        let dim = model.config.embeddingSize
        let embeddings = model.network.embed(pixels: pixels, count: paths.count)
        var distances = [Float](repeating: 0, count: first.count)
        embeddings.withUnsafeBufferPointer { e in
            for k in distances.indices {
                distances[k] = Self.distance(
                    e.baseAddress! + Int(first[k]) * dim, e.baseAddress! + Int(second[k]) * dim, dimension: dim)
            }
        }
        return (paths, embeddings, first, second, distances)
    }

    /// Euclidean distance of two embeddings, accumulated in `Double` and rounded once, the
    /// same arithmetic as `VerificationPairs.allPairs`.
    public static func distance(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "embeddings of different sizes")
        return a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in distance(pa.baseAddress!, pb.baseAddress!, dimension: a.count) }
        }
    }

    static func distance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, dimension: Int) -> Float {
        var sum = 0.0
        for c in 0..<dimension {
            let d = Double(a[c]) - Double(b[c])
            sum += d * d
        }
        return Float(sum.squareRoot())
    }

    // MARK: Describing

    /// The identities evaluated (identity mode), or the names of the folders holding the
    /// pair list's images (a guess at their identities, for the training-overlap check).
    public var identities: [String] {
        switch source {
        case .identities(_, let names): return names
        case .pairList:
            var seen = Set<String>(), out: [String] = []
            for p in imagePaths {
                let name = URL(fileURLWithPath: p).deletingLastPathComponent().lastPathComponent
                if seen.insert(name).inserted { out.append(name) }
            }
            return NaturalOrder.sorted(out)
        }
    }

    /// What was evaluated, for thresholds' method strings and report titles:
    /// "s5,s6,s7 (30 images, 435 pairs)" or "pairs.csv (40 images, 120 pairs)".
    public var summary: String {
        let counts = "(\(imagePaths.count) images, \(pairCount) pairs)"
        switch source {
        case .identities(_, let names): return "\(Self.compactList(names)) \(counts)"
        case .pairList(let file): return "\(URL(fileURLWithPath: file).lastPathComponent) \(counts)"
        }
    }

    /// "s5,s6,s7", or for long lists the first few and a count: "s1,s2,s3,… (40 identities)".
    public static func compactList(_ names: [String], limit: Int = 12) -> String {
        if names.count <= limit { return names.joined(separator: ",") }
        return names.prefix(limit - 2).joined(separator: ",") + ",…,\(names.last!) (\(names.count) identities)"
    }

    /// The identity (parent folder name) and file name of an image, "s5/3.pgm".
    public func shortName(ofImage index: Int) -> String {
        let url = URL(fileURLWithPath: imagePaths[index])
        return url.deletingLastPathComponent().lastPathComponent + "/" + url.lastPathComponent
    }
}

/// Why an evaluation could not be made. `description` is one line naming the file or folder.
public enum EvaluationError: Error, CustomStringConvertible, Sendable {
    case dataset(DatasetError)
    case image(ImageError)
    case pairList(PairListError)
    /// A pair list without the `same` column cannot give error rates.
    case unlabeledPairs(file: String)
    /// The images are not prepared the way the model takes them.
    case inputMismatch(String)
    /// The metrics are undefined (no genuine or no impostor pairs, NaN distances …).
    case metrics(MetricsError, context: String)

    public var description: String {
        switch self {
        case .dataset(let e): return e.description
        case .image(let e): return e.description
        case .pairList(let e): return e.description
        case .unlabeledPairs(let file):
            return "\(file): the pair list has no \"same\" column (1 = same person, 0 = different); error rates need it"
        case .inputMismatch(let m): return m
        case .metrics(let e, let context): return "\(context): \(e.description)"
        }
    }
}
