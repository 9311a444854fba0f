import Foundation

/// One fine-tuning step of dlib's ResNet on a batch of images and pairs among them: the
/// gradients zeroed, the training forward, the contrastive loss (on the distance, or on the
/// sigmoid head's score), the backward, and Adam's update: the backbone at its own learning rate
/// (the run's × ``TrainingOptions/backboneLearningRateScale``), the head at the run's.
final class ResNetTrainingStep {
    let network: DlibResNet
    let margin: Float
    /// Adam over the backbone's parameters (nil for a frozen backbone: no moments are kept for
    /// it), and over the head's (nil without a head).
    let backboneAdam: Adam?
    let headAdam: Adam?
    private var gradEmbeddings: Tensor?

    /// Throws ``TrainingError/backbone(_:)`` (``BackboneError/nothingToTrain``) for a frozen
    /// backbone (`trainsBackbone` false) under a network without a score head.
    init(
        network: DlibResNet, margin: Float, learningRate: Float, backboneScale: Float, weightDecay: Float = 0,
        trainsBackbone: Bool = true
    ) throws(TrainingError) {
        guard trainsBackbone || network.head != nil else { throw .backbone(.nothingToTrain) }
        self.network = network
        self.margin = margin
        backboneAdam =
            trainsBackbone
            ? Adam(parameters: network.namedParameters.map(\.parameter), learningRate: learningRate * backboneScale) : nil
        backboneAdam?.weightDecay = weightDecay
        headAdam = network.head.map { _ in Adam(parameters: network.headParameters.map(\.parameter), learningRate: learningRate) }
    }

    /// Sets the step's learning rate (the head's; the backbone's is `scale` times it).
    func setLearningRate(_ rate: Float, backboneScale scale: Float) {
        backboneAdam?.learningRate = rate * scale
        headAdam?.learningRate = rate
    }

    /// One step on `images` [N, 3, S, S]: `pairs` chooses the pairs (label 1 = different
    /// people) from the batch's embeddings [N × dim]. Returns the loss. A step whose backbone is
    /// frozen does not run (the fine-tuner trains its head on fixed embeddings instead): it
    /// returns NaN.
    func run(images: Tensor, pairs choose: (UnsafePointer<Float>) -> [IdentityBatchSampler.MinedPair]) -> Float {
        let n = images.shape[0], dim = network.architecture.embedding
        guard let backboneAdam else { return .nan }
        backboneAdam.zeroGradients()
        headAdam?.zeroGradients()
        let emb = network.forward(images, mode: .training)
        let pairs = choose(emb.pointer)
        let grad = Tensor.reuse(gradEmbeddings, shape: [n, dim])
        gradEmbeddings = grad
        let value =
            network.head?.contrastive(
                embeddings: emb.pointer, dim: dim, pairs: pairs, rows: n, margin: margin, gradient: grad.pointer)
            ?? ContrastiveLoss(margin: margin).evaluate(
                embeddings: emb.pointer, dim: dim, pairs: pairs, rows: n, gradient: grad.pointer)
        network.backward(grad)
        backboneAdam.update()
        headAdam?.update()
        return value
    }
}

/// Fine-tunes dlib's pretrained ResNet (a ``FaceModel`` of that format) on identity folders or
/// labelled pairs of its chips, with the margin contrastive loss on the distance, or on a fresh
/// sigmoid score head (``SigmoidHead``) on the distance.
///
/// Identity folders train on batches of identities × `imagesPerIdentity` images with every
/// genuine pair and as many impostor pairs, the pairing's `hardShare` of them the batch's hardest; a pair list on its pairs
/// in a seeded shuffled order. An epoch is as many pairs as there are training images (a pair
/// list: its pairs), the learning rate follows the run's warm-up and cosine decay, the backbone's
/// at ``TrainingOptions/backboneLearningRateScale`` of it.
///
/// With ``TrainingOptions/freezeBackbone`` the backbone stays bit for bit as it is: every
/// training image is embedded once, and only the head trains, on those embeddings.
///
/// With validation data every epoch is scored (EER over all pairs of the validation identities,
/// or over the validation pairs) and the epoch with the lowest EER (then highest AUC) kept; else
/// the last epoch. The model keeps the backbone's chip record (architecture, landmark model) and
/// records the backbone's fingerprint.
public final class ResNetFineTuner {
    public let backbone: FaceModel
    public let head: HeadKind
    public let options: TrainingOptions
    public let training: TrainingData
    public let validation: TrainingData?
    /// Where the backbone was loaded from, recorded in the model (nil: not recorded).
    public var backbonePath: String?

    /// Throws ``TrainingError/backbone(_:)`` when `backbone` is not dlib's ResNet or the options
    /// do not fit it (``Backbone/checkResNet(head:options:)``), ``TrainingError/sizeMismatch(_:)``
    /// when the data are not its chips.
    public init(backbone: FaceModel, head: HeadKind, options: TrainingOptions, data: TrainingData, validation: TrainingData?)
        throws(TrainingError)
    {
        guard let resnet = backbone.resnet else { throw .backbone(.wrongKind(expected: "dlib's ResNet")) }
        do { try Backbone.checkResNet(head: head, options: options) } catch { throw .backbone(error) }
        guard options.batchSize > 1 else { throw .invalidOption("the batch needs at least 2 pairs (got \(options.batchSize))") }
        guard options.learningRate > 0, options.learningRate.isFinite else {
            throw .invalidOption("learning rate must be positive (got \(options.learningRate))")
        }
        guard options.margin > 0, options.margin.isFinite else {
            throw .invalidOption("margin must be positive (got \(options.margin))")
        }
        if let problem = options.problem() { throw .invalidOption(problem) }
        if options.reduceOnPlateau != nil || options.keep == .bestLoss {
            throw .invalidOption(
                "fine-tuning dlib's ResNet keeps the best validation EER's epoch or the last; the plateau reduction and the best-loss epoch are the twin's"
            )
        }
        let side = resnet.architecture.input.size
        for data in [data] + (validation.map { [$0] } ?? []) {
            guard data.width == side, data.height == side, data.channels == 3, !data.invert, !data.standardize else {
                throw .sizeMismatch(
                    "\(data.source): images prepared at \(data.width)×\(data.height)×\(data.channels), the ResNet takes its \(side)×\(side)×3 chips"
                )
            }
        }
        if case .identities(let f) = data, f.imagesByLabel.filter({ $0.count >= 2 }).count < 2 {
            throw .invalidOption("\(f.root): fine-tuning needs at least 2 identities with 2 images or more each")
        }
        self.backbone = backbone
        self.head = head
        self.options = options
        // Without validation data, a seeded share of the training identities (as ``Trainer``).
        if validation == nil, case .identities(let folder) = data,
            case let carved = folder.validationIdentities(share: options.validationShare, seed: options.seed &+ 0x7F4A_7C15),
            !carved.isEmpty
        {
            let split = folder.splitting(off: Set(carved))
            self.training = .identities(split.rest)
            self.validation = .identities(split.held)
        } else {
            self.training = data
            self.validation = validation
        }
    }

    /// Steps of one epoch.
    private var stepsPerEpoch: Int { (training.epochPairs + options.batchSize - 1) / options.batchSize }

    /// Runs every epoch, calling `progress` after each. Returns the kept model.
    public func run(progress: (EpochReport) -> Void = { _ in }) throws(TrainingError) -> TrainingResult {
        let start = Date()
        let source = backbone.resnet!
        var architecture = source.architecture
        architecture.head = head == .sigmoid ? .sigmoid : nil
        let network: DlibResNet
        do {
            network = try DlibResNet(architecture: architecture, seed: options.seed)
        } catch {
            throw .invalidOption("the fine-tuned network: \(error.description)")
        }
        for ((_, mine), (_, theirs)) in zip(network.namedParameters, source.namedParameters) {
            mine.value.copy(from: theirs.value)
        }
        let frozen = options.freezeBackbone
        let step = try ResNetTrainingStep(
            network: network, margin: options.margin, learningRate: options.learningRate,
            backboneScale: options.backboneLearningRateScale, weightDecay: options.weightDecay, trainsBackbone: !frozen)
        let total = options.epochs * stepsPerEpoch
        let schedule = LearningRateSchedule(
            peak: options.learningRate, warmupSteps: options.warmupEpochs * stepsPerEpoch, cosineDecay: options.cosineDecay)
        var sampler = BatchSource(training, options: options)
        // A frozen backbone embeds every image once: training and validation.
        let fixed = frozen ? network.embed(pixels: training.pixels, count: training.imageCount) : nil
        let fixedValidation = frozen ? validation.map { network.embed(pixels: $0.pixels, count: $0.imageCount) } : nil

        var history: [EpochReport] = []
        var kept: (epoch: Int, loss: Float, eer: Double, auc: Double, threshold: Float?, state: [Tensor]?)? = nil
        var reference = Float.nan
        for epoch in 1...options.epochs {
            let epochStart = Date()
            var sum = 0.0
            for i in 0..<stepsPerEpoch {
                let rate = schedule.rate(step: (epoch - 1) * stepsPerEpoch + i, total: total)
                step.setLearningRate(rate, backboneScale: options.backboneLearningRateScale)
                let batch = sampler.next()
                let value: Float
                if let fixed, let head = network.head, let adam = step.headAdam {
                    // The head alone on the batch's fixed embeddings.
                    let dim = architecture.embedding
                    var rows: [Float] = []
                    rows.reserveCapacity(batch.images.count * dim)
                    for i in batch.images { rows += fixed[(i * dim)..<((i + 1) * dim)] }
                    var grad = [Float](repeating: 0, count: rows.count)
                    adam.zeroGradients()
                    value = rows.withUnsafeBufferPointer { r in
                        let pairs = sampler.pairs(batch, embeddings: r.baseAddress!, dim: dim)
                        return grad.withUnsafeMutableBufferPointer { g in
                            head.contrastive(
                                embeddings: r.baseAddress!, dim: dim, pairs: pairs, rows: batch.images.count,
                                margin: options.margin, gradient: g.baseAddress!)
                        }
                    }
                    adam.update()
                } else {
                    let images = sampler.tensor(for: batch.images)
                    value = step.run(images: images) { e in
                        sampler.pairs(batch, embeddings: e, dim: architecture.embedding)
                    }
                }
                sum += Double(value)
                if reference.isNaN { reference = max(value, options.margin * options.margin) }
            }
            let meanLoss = Float(sum / Double(stepsPerEpoch))
            guard meanLoss.isFinite, meanLoss <= Trainer.divergenceFactor * reference else {
                throw .diverged(epoch: epoch, loss: meanLoss, reference: reference, learningRate: options.learningRate)
            }
            let trainSeconds = Date().timeIntervalSince(epochStart)
            // Validation (or, without it, a look at the training images) after the epoch.
            let watched = validation ?? training
            let embeddings =
                (validation != nil ? fixedValidation : fixed) ?? network.embed(pixels: watched.pixels, count: watched.imageCount)
            let (bands, metrics) = Self.observe(
                watched, embeddings: embeddings, dim: architecture.embedding, network: network, scored: validation != nil)
            let improves =
                kept == nil || validation == nil || options.keep == .last
                || metrics.map { m in m.eer < kept!.eer || (m.eer == kept!.eer && m.auc >= kept!.auc) } ?? true
            if improves {
                let state = validation == nil || options.keep == .last ? nil : network.stateTensors.map { $0.tensor.clone() }
                kept = (epoch, meanLoss, metrics?.eer ?? 0, metrics?.auc ?? 0, metrics?.eerThreshold, state)
            }
            let elapsed = Date().timeIntervalSince(start)
            let report = EpochReport(
                epoch: epoch, epochs: options.epochs, steps: stepsPerEpoch, meanLoss: meanLoss,
                seconds: Date().timeIntervalSince(epochStart),
                pairsPerSecond: Double(stepsPerEpoch * options.batchSize) / max(trainSeconds, 1e-9),
                secondsLeft: elapsed / Double(epoch) * Double(options.epochs - epoch), validation: metrics, isBest: improves,
                bands: bands, collapsed: false,
                learningRate: step.headAdam?.learningRate ?? (step.backboneAdam?.learningRate ?? 0)
                    / options.backboneLearningRateScale)
            history.append(report)
            progress(report)
            if validation != nil, options.patience > 0, let k = kept, epoch - k.epoch >= options.patience { break }
        }
        guard let best = kept else { throw .collapsed(epoch: options.epochs, restarts: 0, learningRate: options.learningRate) }
        if let state = best.state {
            for ((_, tensor), saved) in zip(network.stateTensors, state) { tensor.copy(from: saved) }
        }
        if head == .sigmoid, validation != nil, best.auc < 0.5, history[best.epoch - 1].validation != nil {
            throw .inverted(epoch: best.epoch, auc: best.auc)
        }
        return TrainingResult(
            model: model(
                network, best: (best.epoch, best.loss, best.eer, best.auc, best.threshold), history: history,
                seconds: Date().timeIntervalSince(start)), history: history, bestEpoch: best.epoch)
    }

    /// The written model: the backbone's chip record and source, the run's facts.
    private func model(
        _ network: DlibResNet, best: (epoch: Int, loss: Float, eer: Double, auc: Double, threshold: Float?),
        history: [EpochReport],
        seconds: Double
    ) -> FaceModel {
        var holdout: [String] = [], identities = 0, pairs: Int? = nil
        if case .identities(let v) = validation { holdout = v.identities }
        switch training {
        case .identities(let f): identities = f.identities.count
        case .pairs(let p): pairs = p.count
        }
        var summary = TrainingSummary(
            data: training.source, trainIdentities: identities, trainImages: training.imageCount, holdout: holdout,
            epochs: options.epochs, bestEpoch: best.epoch, batchSize: options.batchSize, learningRate: options.learningRate,
            seed: options.seed, finalLoss: history.last!.meanLoss, bestEpochLoss: best.loss,
            validationEER: validation == nil ? nil : best.eer, validationAUC: validation == nil ? nil : best.auc,
            seconds: seconds, recipe: options.recipe.rawValue)
        summary.epochsRun = history.last!.epoch
        summary.trainPairs = pairs
        if case .identities(let f) = training { summary.trainedIdentities = NaturalOrder.sorted(f.identities) }
        if case .pairs(let v) = validation { summary.validationPairs = v.source }
        summary.backbone = backbonePath ?? "(not recorded)"
        summary.backboneFrozen = options.freezeBackbone
        summary.backboneFingerprint = backbone.fingerprint
        if !options.freezeBackbone { summary.backboneLearningRateScale = options.backboneLearningRateScale }
        var info = ModelInfo(
            config: network.config, margin: options.margin, training: summary, preparation: backbone.info.preparation)
        if head == .sigmoid {
            info.threshold = SigmoidHead.decision
            info.thresholdMethod = SigmoidHead.decisionMethod
        } else if let t = best.threshold, validation != nil {
            info.threshold = t
            info.thresholdMethod = {
                if case .pairs(let v) = validation { return "EER on validation pairs \(v.source)" }
                return "EER on held-out \(holdout.joined(separator: ","))"
            }()
        }
        let model = FaceModel(network: network, info: info)
        model.source = backbone.source
        model.landmarkModel = backbone.landmarkModel
        return model
    }

    /// Bands of the watched images' distances and, when `scored`, their verification metrics.
    private static func observe(
        _ data: TrainingData, embeddings: [Float], dim: Int, network: DlibResNet, scored: Bool
    ) -> (DistanceBands, VerificationMetrics?) {
        let pairs: (distances: [Float], genuine: [Bool])
        switch data {
        case .identities(let folder):
            // Up to 4 images of each of at most 64 identities when only watching.
            var keep: [Int] = []
            for images in folder.imagesByLabel.prefix(scored ? Int.max : 64) { keep += images.prefix(scored ? Int.max : 4) }
            var rows: [Float] = [], labels: [Int] = []
            for i in keep {
                rows += embeddings[(i * dim)..<((i + 1) * dim)]
                labels.append(folder.labels[i])
            }
            guard let all = try? VerificationPairs.allPairs(embeddings: rows, dimension: dim, labels: labels) else {
                return (DistanceBands(genuine: [], impostor: []), nil)
            }
            pairs = all
        case .pairs(let p):
            let n = scored ? p.count : min(p.count, 512)
            let distances = embeddings.withUnsafeBufferPointer { e in
                (0..<n).map { k in
                    Evaluation.distance(e.baseAddress! + p.first[k] * dim, e.baseAddress! + p.second[k] * dim, dimension: dim)
                }
            }
            pairs = (distances, Array(p.same.prefix(n)))
        }
        var genuine: [Float] = [], impostor: [Float] = []
        for (d, same) in zip(pairs.distances, pairs.genuine) { if same { genuine.append(d) } else { impostor.append(d) } }
        let bands = DistanceBands(genuine: genuine, impostor: impostor)
        guard scored else { return (bands, nil) }
        return (bands, try? VerificationMetrics(distances: network.scores(distances: pairs.distances), genuine: pairs.genuine))
    }
}

/// The batches of a fine-tuning run: identities × images with mined pairs (identity folders), or
/// the next listed pairs in a seeded shuffled order (a pair list), and their images as a tensor.
struct BatchSource {
    struct Batch {
        /// Image indices into the data's images, in batch order.
        var images: [Int]
        /// Each row's batch-local identity (identity folders), or the listed pairs' labels.
        var identities: [Int]
        var listed: [IdentityBatchSampler.MinedPair]
    }

    private let pixels: [Float]
    private let imageSize: Int
    private let shape: [Int]
    private var identities: IdentityBatchSampler?
    private let hardShare: Double
    private var listed: PairImages?
    private var order: [Int] = []
    private var cursor = 0
    private let batchSize: Int
    private var rng: RandomSource
    private var cache: Tensor?

    init(_ data: TrainingData, options: TrainingOptions) {
        pixels = data.pixels
        shape = [data.channels, data.height, data.width]
        imageSize = data.channels * data.height * data.width
        batchSize = options.batchSize
        let seed = options.seed &* 0x9E37_79B9_7F4A_7C15 &+ 1
        rng = RandomSource(seed: seed &+ 0x5851_F42D_4C95_7F2D)
        var k = 2, share = 0.0
        if case .identityBatches(let images, let s) = options.pairing { (k, share) = (max(2, images), s) }
        hardShare = share
        switch data {
        case .identities(let folder):
            identities = IdentityBatchSampler(
                labels: folder.labels, identitiesPerBatch: max(2, 2 * options.batchSize / k), imagesPerIdentity: k, seed: seed)
        case .pairs(let p):
            listed = p
        }
    }

    mutating func next() -> Batch {
        if var sampler = identities {
            let b = sampler.next()
            identities = sampler
            return Batch(images: b.images, identities: b.identities, listed: [])
        }
        let p = listed!
        var first: [Int] = [], second: [Int] = [], pairs: [IdentityBatchSampler.MinedPair] = []
        for i in 0..<batchSize {
            if cursor == order.count {
                order = Array(0..<p.count)
                order.shuffle(using: &rng)
                cursor = 0
            }
            let k = order[cursor]
            cursor += 1
            first.append(p.first[k])
            second.append(p.second[k])
            pairs.append(IdentityBatchSampler.MinedPair(first: i, second: batchSize + i, label: p.same[k] ? 0 : 1))
        }
        return Batch(images: first + second, identities: [], listed: pairs)
    }

    /// The batch's images [N, C, H, W] (a tensor reused between batches of one size).
    mutating func tensor(for images: [Int]) -> Tensor {
        let t = Tensor.reuse(cache, shape: [images.count] + shape)
        cache = t
        pixels.withUnsafeBufferPointer { px in
            for (row, i) in images.enumerated() {
                (t.pointer + row * imageSize).update(from: px.baseAddress! + i * imageSize, count: imageSize)
            }
        }
        return t
    }

    /// The batch's pairs: listed, or mined from its embeddings [N × dim].
    mutating func pairs(_ batch: Batch, embeddings e: UnsafePointer<Float>, dim: Int) -> [IdentityBatchSampler.MinedPair] {
        guard var sampler = identities else { return batch.listed }
        let pairs = sampler.minePairs(identities: batch.identities, hardShare: hardShare) { i, j in
            var sq: Float = 0
            for k in 0..<dim { let d = e[i * dim + k] - e[j * dim + k]; sq += d * d }
            return sq
        }
        identities = sampler
        return pairs
    }
}
