import Foundation

/// One fold of a subject-disjoint cross-validation: the identities it tests on and the ones
/// it trains on (all the others). No identity is in both.
public struct CrossValidationFold: Sendable, Equatable {
    /// 0-based.
    public let index: Int
    public let count: Int
    /// Natural order.
    public let testIdentities: [String]
    public let trainIdentities: [String]
}

/// What one fold produced.
public struct CrossValidationFoldResult {
    public let fold: CrossValidationFold
    /// Metrics over all pairs of the fold's test identities (never seen in training).
    public let metrics: VerificationMetrics
    public let testImages: Int
    public let trainImages: Int
    /// Mean training loss of the last epoch.
    public let finalLoss: Float
    /// Training and evaluation time.
    public let seconds: Double
    /// The seed the fold trained with: the split seed for fold 0, then steps of the golden-ratio
    /// constant (see ``CrossValidation``).
    public let trainingSeed: UInt64
    /// 95 % intervals over the fold's test identities; nil when `bootstrapResamples` is 0.
    public let intervals: BootstrapIntervals?
    /// The trained model (the kept epoch's weights). Its training record lists the fold's test
    /// identities as held out, and its threshold is the EER threshold on them. Nil in a
    /// `withoutModel()` copy, made so that the weights (160 MB for the reference network) can be freed.
    public private(set) var model: FaceModel?
    public let history: [EpochReport]
}

extension CrossValidationFoldResult {
    /// The same result without its model, so that the weights can be freed.
    public func withoutModel() -> CrossValidationFoldResult {
        var r = self
        r.model = nil
        return r
    }
}

/// Mean and standard deviation over folds.
public struct CrossValidationStatistic: Sendable, Equatable, Codable {
    public let mean: Double
    /// Sample standard deviation (divides by K − 1).
    public let standardDeviation: Double
    public let minimum: Double
    public let maximum: Double

    package init(_ values: [Double]) {
        let n = Double(values.count)
        let m = values.reduce(0, +) / n
        mean = m
        let squares = values.reduce(0) { $0 + ($1 - m) * ($1 - m) }
        standardDeviation = values.count > 1 ? (squares / (n - 1)).squareRoot() : 0
        minimum = values.min() ?? .nan
        maximum = values.max() ?? .nan
    }
}

/// The outcome of a cross-validation.
public struct CrossValidationResult {
    public let folds: [CrossValidationFoldResult]
    init(folds: [CrossValidationFoldResult]) { self.folds = folds }
    public var eer: CrossValidationStatistic { CrossValidationStatistic(folds.map(\.metrics.eer)) }
    public var auc: CrossValidationStatistic { CrossValidationStatistic(folds.map(\.metrics.auc)) }
    /// TAR at FMR 1 % over folds; nil unless every fold's impostor pairs support it.
    public var tarAtFMR1Percent: CrossValidationStatistic? {
        let tars = folds.compactMap(\.metrics.tarAtFMR1Percent.tar)
        return tars.count == folds.count ? CrossValidationStatistic(tars) : nil
    }
    public var bestAccuracy: CrossValidationStatistic { CrossValidationStatistic(folds.map(\.metrics.bestAccuracy)) }
}

/// Progress of a cross-validation, reported from the calling thread.
public enum CrossValidationEvent {
    case foldStarted(CrossValidationFold, trainImages: Int, testImages: Int)
    case epoch(CrossValidationFold, EpochReport)
    case foldFinished(CrossValidationFoldResult)
}

/// Subject-disjoint K-fold cross-validation, the project's headline quality protocol.
///
/// The identities are shuffled with a seeded `RandomSource` and dealt into K folds like
/// cards: fold f tests on shuffled[f], shuffled[f+K], shuffled[f+2K], … (the protocol of
/// `scripts/facetwin_torch.py --folds`, though its shuffle is Python's, so its folds differ). Each
/// fold trains a fresh network on the other identities, then scores all pairs of its test
/// identities. With `options.validationShare` above 0 the trainer holds a seeded share of the
/// fold's training identities out of its training to choose the kept epoch (and stop early);
/// without it the last epoch is kept. The test identities influence nothing. Fold f trains
/// with the split seed + f × 0x9E3779B97F4A7C15 (wrapping), so that the runs of several split
/// seeds never share a training seed.
///
/// Before any training, no test image may equal a training image byte for byte (SHA-256): the
/// same photo filed under two identities would otherwise be seen in training and tested on.
///
/// Over labelled pairs (``init(pairs:config:options:folds:)``), the units dealt into folds are
/// the connected groups of images: two images are in one group when a pair joins them or their
/// files have the same bytes, so no image, and no copy of one, is on both sides. With pair
/// folders whose images appear in no other pair, each pair folder is its own group. A group is
/// named by its first pair's first image, as the list writes it.
public final class CrossValidation {
    public let root: String
    /// The labelled pairs and the group of each, when cross-validating over pairs.
    private let pairData: (list: PairList, group: [String])?
    public let config: NetworkConfig
    public let options: TrainingOptions
    public let folds: [CrossValidationFold]
    /// Resamples of each fold's bootstrap over its test identities (0: no intervals).
    public var bootstrapResamples = 1000
    /// dlib's ResNet as every fold's starting point, and its chips of the identities (loaded once).
    private let resnet: (backbone: FaceModel, head: HeadKind, training: ResNetTraining, all: ImageFolder)?

    /// What each fold does with dlib's ResNet.
    public enum ResNetTraining: Sendable {
        /// Nothing: the fold's test identities are scored by the pretrained network as it is.
        case zeroShot
        /// ``ResNetFineTuner`` on the fold's training identities (frozen under a head when the
        /// options say so).
        case fineTune
    }

    /// Lists the identities under `root` (loading them once at the network's input size, so
    /// a bad image fails here rather than in fold 3) and splits them into `folds` folds
    /// shuffled by `options.seed`.
    public init(root: String, config: NetworkConfig, options: TrainingOptions, folds: Int) throws(CrossValidationError) {
        let all: ImageFolder
        do {
            all = try ImageFolder(root: root, for: config)
        } catch {
            throw .dataset(error)
        }
        self.root = root
        self.config = config
        self.options = options
        self.folds = try Self.split(all.identities, folds: folds, seed: options.seed)
        self.pairData = nil
        resnet = nil
        try Self.checkNoSharedImages(all, folds: self.folds)
    }

    /// Folds of the identities of `chips` (dlib's ResNet's chips of identity folders, loaded
    /// once by the caller), each fold scoring `backbone` zero-shot or fine-tuned on the others
    /// (``ResNetFineTuner``, with `head` and `options`), on its unseen identities.
    public init(
        chips: ImageFolder, backbone: FaceModel, head: HeadKind, training: ResNetTraining, options: TrainingOptions, folds: Int
    )
        throws(CrossValidationError)
    {
        root = chips.root
        config = backbone.config
        self.options = options
        pairData = nil
        self.folds = try Self.split(chips.identities, folds: folds, seed: options.seed)
        resnet = (backbone, head, training, chips)
        try Self.checkNoSharedImages(chips, folds: self.folds)
    }

    /// Splits the connected groups of `pairs`' images into `folds` folds shuffled by
    /// `options.seed` (see the type's notes). The pairs need labels.
    public init(pairs: PairList, config: NetworkConfig, options: TrainingOptions, folds: Int) throws(CrossValidationError) {
        var hashes: [String: String] = [:]
        for pair in pairs.pairs {
            for path in [pair.path1, pair.path2] where hashes[path] == nil {
                do { hashes[path] = try ImageFileHashes.sha256(ofFile: path) } catch { throw .unreadable(error) }
            }
        }
        let group = Self.pairGroups(pairs, hashes: hashes)
        var names: [String] = []
        for name in group where !names.contains(name) { names.append(name) }
        root = pairs.file
        self.config = config
        self.options = options
        pairData = (pairs, group)
        resnet = nil
        self.folds = try Self.split(names, folds: folds, seed: options.seed)
    }

    /// The group of each pair: images joined by a pair or by equal bytes (`hashes`, by path)
    /// are one group, named by the first image (as written) of its first pair.
    static func pairGroups(_ list: PairList, hashes: [String: String]) -> [String] {
        var parent: [String: String] = [:]
        func find(_ x: String) -> String {
            var root = x
            while let p = parent[root], p != root { root = p }
            var node = x
            while let p = parent[node], p != root { parent[node] = root; node = p }
            return root
        }
        func union(_ a: String, _ b: String) {
            let (ra, rb) = (find(a), find(b))
            if ra != rb { parent[rb] = ra }
        }
        // Nodes are the files' contents: a copy of an image joins the original's group.
        for pair in list.pairs {
            let (a, b) = (hashes[pair.path1] ?? pair.path1, hashes[pair.path2] ?? pair.path2)
            if parent[a] == nil { parent[a] = a }
            if parent[b] == nil { parent[b] = b }
            union(a, b)
        }
        var name: [String: String] = [:]
        return list.pairs.map { pair in
            let r = find(hashes[pair.path1] ?? pair.path1)
            if let n = name[r] { return n }
            name[r] = pair.image1
            return pair.image1
        }
    }

    /// The training seed of fold `fold` (0-based) of the split seeded `seed`: `seed` for fold
    /// 0, then steps of the golden-ratio constant 0x9E3779B97F4A7C15, so that the runs of
    /// several split seeds never share a training seed (with `seed + fold`, seed 0's fold 2
    /// and seed 1's fold 1 would start from the same weights).
    static func trainingSeed(seed: UInt64, fold: Int) -> UInt64 {
        seed &+ UInt64(fold) &* 0x9E37_79B9_7F4A_7C15
    }

    /// Throws `.sharedImage` when a fold's test side holds a file whose bytes equal a file on
    /// its training side.
    static func checkNoSharedImages(_ all: ImageFolder, folds: [CrossValidationFold]) throws(CrossValidationError) {
        var hashes: [String: String] = [:]
        for path in all.paths {
            do { hashes[path] = try ImageFileHashes.sha256(ofFile: path) } catch { throw .unreadable(error) }
        }
        for fold in folds {
            let test = Set(fold.testIdentities)
            var testPaths: [String] = [], trainPaths: [String] = []
            for (k, path) in all.paths.enumerated() {
                if test.contains(all.identities[all.labels[k]]) { testPaths.append(path) } else { trainPaths.append(path) }
            }
            if let shared = ImageFileHashes.firstShared(test: testPaths, train: trainPaths, hashes: hashes) {
                throw .sharedImage(test: shared.test, train: shared.train, fold: fold.index, count: fold.count)
            }
        }
    }

    /// Deals `identities` into `folds` disjoint folds after a seeded Fisher–Yates shuffle.
    /// Every fold needs at least 2 test identities (else it has no impostor pairs), so
    /// `identities.count ≥ 2 × folds`; and at least 2 folds.
    static func split(_ identities: [String], folds k: Int, seed: UInt64) throws(CrossValidationError)
        -> [CrossValidationFold]
    {
        guard k >= 2 else { throw .invalidFoldCount(k) }
        guard identities.count / 2 >= k else { throw .tooFewIdentities(folds: k, identities: identities.count) }
        guard Set(identities).count == identities.count else { throw .duplicateIdentities }
        var order = identities
        var rng = RandomSource(seed: seed)
        // Fisher–Yates, written out so the order depends only on RandomSource.
        if order.count > 1 {
            for i in stride(from: order.count - 1, to: 0, by: -1) {
                let j = Int(rng.next() % UInt64(i + 1))
                order.swapAt(i, j)
            }
        }
        return (0..<k).map { f in
            let test = Set(stride(from: f, to: order.count, by: k).map { order[$0] })
            return CrossValidationFold(
                index: f, count: k, testIdentities: NaturalOrder.sorted(test),
                trainIdentities: identities.filter { !test.contains($0) })
        }
    }

    /// Runs every fold in turn, keeping every fold's model. To hold one network at a time
    /// instead, run the folds one by one and keep `withoutModel()` of each (as `facetwin
    /// crossval` does, saving each model first).
    public func run(progress: (CrossValidationEvent) -> Void = { _ in }) throws(CrossValidationError) -> CrossValidationResult {
        var results: [CrossValidationFoldResult] = []
        for fold in folds {
            results.append(try run(fold, progress: progress))
        }
        return CrossValidationResult(folds: results)
    }

    /// Trains and evaluates one fold.
    public func run(_ fold: CrossValidationFold, progress: (CrossValidationEvent) -> Void = { _ in }) throws(CrossValidationError)
        -> CrossValidationFoldResult
    {
        if let pairData { return try runPairs(fold, pairData, progress: progress) }
        if let resnet { return try runResNet(fold, resnet, progress: progress) }
        let start = Date()
        let test = Set(fold.testIdentities)
        let trainSet: ImageFolder, testSet: ImageFolder
        do {
            trainSet = try ImageFolder(root: root, for: config, excluding: test)
            testSet = try ImageFolder(root: root, for: config, only: test)
        } catch {
            throw .dataset(error)
        }
        progress(.foldStarted(fold, trainImages: trainSet.count, testImages: testSet.count))
        var foldOptions = options
        foldOptions.seed = Self.trainingSeed(seed: options.seed, fold: fold.index)
        let result: TrainingResult
        do {
            let trainer = try Trainer(config: config, options: foldOptions, training: trainSet, validation: nil)
            result = try trainer.run { progress(.epoch(fold, $0)) }
        } catch {
            throw .training(fold: fold.index, count: fold.count, error)
        }
        let evaluation: Evaluation
        do {
            evaluation = try Evaluation(model: result.model, folder: testSet)
        } catch {
            throw .evaluation(fold: fold.index, count: fold.count, error)
        }
        let model = result.model
        model.info.training?.holdout = fold.testIdentities
        model.info.threshold = evaluation.metrics.eerThreshold
        model.info.thresholdMethod = "EER on crossval fold \(fold.index + 1)/\(fold.count) test identities \(evaluation.summary)"
        let done = CrossValidationFoldResult(
            fold: fold, metrics: evaluation.metrics, testImages: testSet.count,
            trainImages: trainSet.count, finalLoss: result.history.last!.meanLoss,
            seconds: Date().timeIntervalSince(start), trainingSeed: foldOptions.seed,
            intervals: bootstrapResamples > 0
                ? evaluation.bootstrapIntervals(resamples: bootstrapResamples, seed: options.seed) : nil,
            model: model, history: result.history)
        progress(.foldFinished(done))
        return done
    }
}

extension CrossValidation {
    /// One fold of dlib's ResNet: zero-shot, or fine-tuned on the other folds' identities; scored
    /// on the fold's identities.
    private func runResNet(
        _ fold: CrossValidationFold, _ r: (backbone: FaceModel, head: HeadKind, training: ResNetTraining, all: ImageFolder),
        progress: (CrossValidationEvent) -> Void
    ) throws(CrossValidationError) -> CrossValidationFoldResult {
        let start = Date()
        let (trainSet, testSet) = r.all.splitting(off: Set(fold.testIdentities))
        progress(.foldStarted(fold, trainImages: r.training == .zeroShot ? 0 : trainSet.count, testImages: testSet.count))
        var foldOptions = options
        foldOptions.seed = Self.trainingSeed(seed: options.seed, fold: fold.index)
        let model: FaceModel
        var history: [EpochReport] = []
        switch r.training {
        case .zeroShot:
            // The backbone's network under a record of its own (the fold's threshold goes there).
            model = FaceModel(network: r.backbone.network, info: r.backbone.info)
            model.source = r.backbone.source
            model.landmarkModel = r.backbone.landmarkModel
        case .fineTune:
            do {
                let tuner = try ResNetFineTuner(
                    backbone: r.backbone, head: r.head, options: foldOptions, data: .identities(trainSet), validation: nil)
                let result = try tuner.run { progress(.epoch(fold, $0)) }
                model = result.model
                history = result.history
            } catch {
                throw .training(fold: fold.index, count: fold.count, error)
            }
        }
        let evaluation: Evaluation
        do {
            evaluation = try Evaluation(model: model, folder: testSet)
        } catch {
            throw .evaluation(fold: fold.index, count: fold.count, error)
        }
        model.info.training?.holdout = fold.testIdentities
        model.info.threshold = evaluation.metrics.eerThreshold
        model.info.thresholdMethod = "EER on crossval fold \(fold.index + 1)/\(fold.count) test identities \(evaluation.summary)"
        let done = CrossValidationFoldResult(
            fold: fold, metrics: evaluation.metrics, testImages: testSet.count,
            trainImages: r.training == .zeroShot ? 0 : trainSet.count, finalLoss: history.last?.meanLoss ?? .nan,
            seconds: Date().timeIntervalSince(start), trainingSeed: foldOptions.seed,
            intervals: bootstrapResamples > 0
                ? evaluation.bootstrapIntervals(resamples: bootstrapResamples, seed: options.seed) : nil,
            model: model, history: history)
        progress(.foldFinished(done))
        return done
    }

    /// One fold over pairs: trains on the pairs of the other folds' groups, scores the pairs of
    /// the fold's groups.
    private func runPairs(
        _ fold: CrossValidationFold, _ data: (list: PairList, group: [String]), progress: (CrossValidationEvent) -> Void
    ) throws(CrossValidationError) -> CrossValidationFoldResult {
        let start = Date()
        let test = Set(fold.testIdentities)
        var trainPairs: [(path1: String, path2: String, same: Bool)] = [], testPairs: [PairListEntry] = []
        for (pair, group) in zip(data.list.pairs, data.group) {
            if test.contains(group) {
                testPairs.append(pair)
            } else {
                trainPairs.append((pair.path1, pair.path2, pair.same ?? false))
            }
        }
        let trainSet: PairImages
        do { trainSet = try PairImages(source: data.list.file, pairs: trainPairs, for: config) } catch { throw .dataset(error) }
        let testList = PairList(pairs: testPairs, file: data.list.file, root: data.list.root)
        let testImages = Set(testPairs.flatMap { [$0.path1, $0.path2] }).count
        progress(.foldStarted(fold, trainImages: trainSet.paths.count, testImages: testImages))
        var foldOptions = options
        foldOptions.seed = Self.trainingSeed(seed: options.seed, fold: fold.index)
        let result: TrainingResult
        do {
            let trainer = try Trainer(config: config, options: foldOptions, data: .pairs(trainSet), validation: nil)
            result = try trainer.run { progress(.epoch(fold, $0)) }
        } catch {
            throw .training(fold: fold.index, count: fold.count, error)
        }
        let evaluation: Evaluation
        do {
            evaluation = try Evaluation(model: result.model, pairList: testList)
        } catch {
            throw .evaluation(fold: fold.index, count: fold.count, error)
        }
        let model = result.model
        model.info.threshold = evaluation.metrics.eerThreshold
        model.info.thresholdMethod =
            "EER on crossval fold \(fold.index + 1)/\(fold.count) test pairs (\(testPairs.count) pairs, \(fold.testIdentities.count) groups)"
        let done = CrossValidationFoldResult(
            fold: fold, metrics: evaluation.metrics, testImages: testImages, trainImages: trainSet.paths.count,
            finalLoss: result.history.last!.meanLoss, seconds: Date().timeIntervalSince(start), trainingSeed: foldOptions.seed,
            intervals: bootstrapResamples > 0
                ? evaluation.bootstrapIntervals(resamples: bootstrapResamples, seed: options.seed) : nil,
            model: model, history: result.history)
        progress(.foldFinished(done))
        return done
    }
}

/// Why a cross-validation could not run. `description` is one line.
public enum CrossValidationError: Error, CustomStringConvertible, Sendable {
    case invalidFoldCount(Int)
    case tooFewIdentities(folds: Int, identities: Int)
    case duplicateIdentities
    /// A test image of fold `fold` has the same bytes as a training image.
    case sharedImage(test: String, train: String, fold: Int, count: Int)
    case unreadable(FileError)
    case dataset(DatasetError)
    case training(fold: Int, count: Int, TrainingError)
    case evaluation(fold: Int, count: Int, EvaluationError)
    /// A summary (``CrossValidationSummary``) asked of no fold.
    case noFolds

    public var description: String {
        switch self {
        case .invalidFoldCount(let k):
            return "cross-validation needs at least 2 folds (got \(k))"
        case .tooFewIdentities(let k, let n):
            return
                "\(k) folds need at least \(2 * k) identities (2 a fold, so that each test fold has impostor pairs); found \(n)"
        case .duplicateIdentities:
            return "cross-validation: identity names are not unique"
        case .sharedImage(let test, let train, let f, let k):
            return "fold \(f + 1)/\(k): test image \(test) has the same bytes (SHA-256) as training image \(train); "
                + "the same photo under two identities would leak into training — remove or refile one of them"
        case .unreadable(let e):
            return e.description
        case .dataset(let e):
            return e.description
        case .training(let f, let k, let e):
            return "fold \(f + 1)/\(k): \(e.description)"
        case .evaluation(let f, let k, let e):
            return "fold \(f + 1)/\(k): \(e.description)"
        case .noFolds:
            return "cross-validation: no fold to sum up"
        }
    }
}
