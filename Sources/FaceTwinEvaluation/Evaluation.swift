import Foundation

/// A model scored on a set of pairs: every image embedded once (in batches), the Euclidean
/// distance of each pair, the ROC curve and the headline metrics, and the accuracy of the
/// threshold stored in the model.
///
/// Two ways to choose the pairs:
/// - ``init(model:folder:)`` / ``init(model:root:identities:)``: all pairs of the images of
///   some identities (`VerificationPairs.allPairs`, the protocol of `scripts/facetwin_torch.py`):
///   n(n−1)/2 pairs, genuine iff both images are of the same identity.
/// - `init(model:pairList:)`: the pairs of a labelled ``PairList``.
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
    /// With face detection (``FaceModel/facePreparer``), or when images of a pair list were
    /// counted as unusable: the failed images and the pairs they took out of scoring; nil
    /// without detection and without failures.
    public let acquisition: AcquisitionFailures?

    public var pairCount: Int { distances.count }

    // MARK: Building

    /// All pairs of the images of `identities` (nil = every identity folder) under `root`,
    /// prepared at the model's input size.
    public init(model: FaceModel, root: String, identities: Set<String>? = nil) throws(EvaluationError) {
        let c = model.config
        let folder: ImageFolder
        do {
            folder = try ImageFolder(root: root, for: c, only: identities, preparer: model.facePreparer)
        } catch {
            throw .dataset(error)
        }
        try self.init(model: model, folder: folder)
    }

    /// All pairs of an already loaded folder. The folder must be prepared as the model's input.
    /// Its failures to acquire (a folder loaded with a ``FacePreparer``) are counted, with the
    /// pairs they would have made.
    public init(model: FaceModel, folder: ImageFolder) throws(EvaluationError) {
        let c = model.config
        guard folder.width == c.inputWidth, folder.height == c.inputHeight, folder.invert == c.invert,
            folder.inset == (c.inputInset ?? 0), folder.channels == c.inputChannels
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
        var acquisition: AcquisitionFailures? = nil
        if model.facePreparer != nil || !folder.failedToAcquire.isEmpty {
            let pairs = { (n: Int) in n * (n - 1) / 2 }
            let attempted = folder.attemptedByLabel.reduce(0, +)
            let genuineAll = folder.attemptedByLabel.map(pairs).reduce(0, +)
            let genuineScored = folder.imagesByLabel.map { pairs($0.count) }.reduce(0, +)
            let impostorAll = pairs(attempted) - genuineAll
            let impostorScored = pairs(folder.count) - genuineScored
            acquisition = AcquisitionFailures(
                attemptedImages: attempted, failures: folder.failedToAcquire,
                genuinePairsNotScored: genuineAll - genuineScored, impostorPairsNotScored: impostorAll - impostorScored)
        }
        try self.init(
            model: model, source: .identities(root: folder.root, names: folder.identities), imagePaths: folder.paths,
            embeddings: embeddings, first: first, second: second,
            distances: model.network.scores(distances: scored.distances), genuine: scored.genuine, acquisition: acquisition)
    }

    /// The pairs of a labelled pair list. Each distinct image is decoded and embedded once.
    /// With face detection, a pair with an image without a usable face is not scored; the
    /// images and pairs are counted in ``acquisition``. With `countUnusableImages`, so is a pair
    /// with an image that cannot be opened or decoded (``ImageError/isUnusableImage``);
    /// without, such an image stops the evaluation with its error.
    public init(model: FaceModel, pairList: PairList, countUnusableImages: Bool = false) throws(EvaluationError) {
        guard pairList.hasLabels else { throw .unlabeledPairs(file: pairList.file) }
        let labels = pairList.pairs.map { $0.same! }
        guard model.facePreparer != nil || countUnusableImages else {
            let scored = try Self.score(model: model, pairList: pairList)
            try self.init(
                model: model, source: .pairList(file: pairList.file), imagePaths: scored.imagePaths,
                embeddings: scored.embeddings, first: scored.first, second: scored.second,
                distances: model.network.scores(distances: scored.distances), genuine: labels, acquisition: nil)
            return
        }
        let scored = try Self.score(
            model: model, pairList: pairList, failuresToAcquire: true, unusableImages: countUnusableImages)
        let failed = Set(scored.failures.keys)
        var keptPaths: [String] = [], keptIndex: [Int32: Int32] = [:], keptEmbeddings: [Float] = []
        let dim = model.config.embeddingSize
        for (k, path) in scored.imagePaths.enumerated() where !failed.contains(Int32(k)) {
            keptIndex[Int32(k)] = Int32(keptPaths.count)
            keptPaths.append(path)
            keptEmbeddings += scored.embeddings[k * dim..<(k + 1) * dim]
        }
        var first: [Int32] = [], second: [Int32] = [], distances: [Float] = [], genuine: [Bool] = []
        var genuineLost = 0, impostorLost = 0
        for k in scored.first.indices {
            guard let a = keptIndex[scored.first[k]], let b = keptIndex[scored.second[k]] else {
                if labels[k] { genuineLost += 1 } else { impostorLost += 1 }
                continue
            }
            first.append(a); second.append(b); distances.append(scored.distances[k]); genuine.append(labels[k])
        }
        let failures = scored.failures.sorted { $0.key < $1.key }.map(\.value)
        // As for identity folders: counted with detection on, or when an image failed.
        let acquisition =
            model.facePreparer != nil || !failures.isEmpty
            ? AcquisitionFailures(
                attemptedImages: scored.imagePaths.count, failures: failures, genuinePairsNotScored: genuineLost,
                impostorPairsNotScored: impostorLost) : nil
        try self.init(
            model: model, source: .pairList(file: pairList.file), imagePaths: keptPaths, embeddings: keptEmbeddings,
            first: first, second: second, distances: model.network.scores(distances: distances), genuine: genuine,
            acquisition: acquisition)
    }

    private init(
        model: FaceModel, source: Source, imagePaths: [String], embeddings: [Float], first: [Int32], second: [Int32],
        distances: [Float], genuine: [Bool], acquisition: AcquisitionFailures?
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
        self.acquisition = acquisition
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
        let s = try score(model: model, pairList: pairList, failuresToAcquire: false)
        return (s.imagePaths, s.embeddings, s.first, s.second, s.distances)
    }

    /// ``score(model:pairList:)``; with `failuresToAcquire`, an image without a usable face is
    /// kept in `failures` (by its index; its embedding and its pairs' distances are meaningless)
    /// instead of thrown; with `unusableImages` too, so is an image that cannot be opened or
    /// decoded.
    static func score(
        model: FaceModel, pairList: PairList, failuresToAcquire: Bool, unusableImages: Bool = false
    ) throws(EvaluationError)
        -> (
            imagePaths: [String], embeddings: [Float], first: [Int32], second: [Int32], distances: [Float],
            failures: [Int32: ImageError]
        )
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
        var failures: [Int32: ImageError] = [:]
        for (k, path) in paths.enumerated() {
            do {
                pixels += try model.prepareImage(at: path)
            } catch {
                guard (failuresToAcquire && error.isFailureToAcquire) || (unusableImages && error.isUnusableImage) else {
                    throw .image(error)
                }
                failures[Int32(k)] = error
                pixels += [Float](repeating: 0, count: hw)
            }
        }
        let dim = model.config.embeddingSize
        let embeddings = model.network.embed(pixels: pixels, count: paths.count)
        for k in paths.indices where failures[Int32(k)] == nil {
            if embeddings[(k * dim)..<((k + 1) * dim)].contains(where: { !$0.isFinite }) {
                throw .image(.nonFiniteEmbedding(path: paths[k]))
            }
        }
        var distances = [Float](repeating: 0, count: first.count)
        embeddings.withUnsafeBufferPointer { e in
            for k in distances.indices {
                distances[k] = Self.distance(
                    e.baseAddress! + Int(first[k]) * dim, e.baseAddress! + Int(second[k]) * dim, dimension: dim)
            }
        }
        return (paths, embeddings, first, second, distances, failures)
    }

    /// Euclidean distance of two embeddings, accumulated in `Double` and rounded once, the
    /// same arithmetic as `VerificationPairs.allPairs`.
    public static func distance(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "embeddings of different sizes")
        return a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in distance(pa.baseAddress!, pb.baseAddress!, dimension: a.count) }
        }
    }

    package static func distance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, dimension: Int) -> Float {
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

/// The failures to acquire of an evaluation: images in which no usable face was found (with
/// face detection) or, for a pair list evaluated with unusable images counted, that could not
/// be opened or decoded, and the pairs they took out of scoring.
public struct AcquisitionFailures: Equatable, Sendable {
    /// Images the evaluation tried to acquire, those that failed included.
    public var attemptedImages: Int
    /// One error a failed image (``ImageError/noFace(path:)``, ``ImageError/multipleFaces(path:count:)``,
    /// or a decoding error), in the order the images were first listed.
    public var failures: [ImageError]
    public var genuinePairsNotScored: Int
    public var impostorPairsNotScored: Int

    /// The failure-to-acquire rate: failed images over attempted images.
    public var rate: Double { attemptedImages == 0 ? 0 : Double(failures.count) / Double(attemptedImages) }
}

extension Evaluation {
    /// Transaction rates at `threshold`, counting a pair not scored (a failure to acquire) as a
    /// rejection, as ISO/IEC 19795-1's FAR and FRR do: FAR = impostor pairs accepted over all
    /// impostor pairs, FRR = (genuine pairs rejected + genuine pairs not scored) over all
    /// genuine pairs. nil without ``acquisition`` (they equal FMR and FNMR then).
    public func transactionRates(atThreshold threshold: Float) -> TransactionRates? {
        guard let a = acquisition else { return nil }
        var accepted = 0, rejected = 0
        for k in distances.indices {
            let match = distances[k] <= threshold
            if genuine[k] && !match { rejected += 1 }
            if !genuine[k] && match { accepted += 1 }
        }
        let genuineAll = metrics.genuineCount + a.genuinePairsNotScored
        let impostorAll = metrics.impostorCount + a.impostorPairsNotScored
        return TransactionRates(
            far: Double(accepted) / Double(impostorAll), frr: Double(rejected + a.genuinePairsNotScored) / Double(genuineAll))
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

/// ISO/IEC 19795-1's false accept and false reject rates at one threshold
/// (``Evaluation/transactionRates(atThreshold:)``).
public struct TransactionRates: Equatable, Sendable {
    public var far: Double
    public var frr: Double

    public init(far: Double, frr: Double) {
        self.far = far
        self.frr = frr
    }
}
