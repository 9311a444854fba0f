import Foundation

/// Trains a siamese network by the reference recipe: balanced pairs sampled on the fly, contrastive
/// loss, Adam; an epoch is as many pairs as there are training images, in batches. After every
/// epoch the held-out identities (if any) are embedded and scored over all their pairs, and the
/// epoch with the lowest EER (then highest AUC) is the one kept.
public final class Trainer {
    /// An epoch's mean loss above this many times the first step's is divergence.
    public static let divergenceFactor: Float = 1000
    public let config: NetworkConfig
    public let options: TrainingOptions
    public let training: TrainingData
    public let validation: TrainingData?
    /// Whether `validation` was carved from the given training identities
    /// (`TrainingOptions.validationShare`) rather than given.
    public let validationIsCarved: Bool
    /// A trained twin whose weights (`cnn1`, `fc1` and their BatchNorm state) the run starts
    /// from; the score head starts from the seed. Its configuration must be `config`'s but for
    /// the head (``Backbone/twinConfiguration(backbone:run:freeze:)``), else `run` throws
    /// ``TrainingError/backbone(_:)``.
    public var backbone: SiameseNetwork?
    /// Where the backbone was loaded from, recorded in the model with whether it was frozen
    /// (nil: "(not recorded)").
    public var backbonePath: String?

    public convenience init(config: NetworkConfig, options: TrainingOptions, training: ImageFolder, validation: ImageFolder?)
        throws(TrainingError)
    {
        try self.init(
            config: config, options: options, data: .identities(training), validation: validation.map { .identities($0) })
    }

    /// A run on any ``TrainingData``: identity folders or labelled pairs, validated on either.
    /// With identity folders, no `validation` and a `validationShare` above 0, the validation
    /// identities are carved from `training`'s (``ImageFolder/validationIdentities(share:seed:)``,
    /// seeded by the run's seed), so they are never identities the caller holds out for
    /// evaluation; a folder too small to leave 2 identities on each side trains without validation.
    public init(config: NetworkConfig, options: TrainingOptions, data training: TrainingData, validation: TrainingData?)
        throws(TrainingError)
    {
        guard options.epochs > 0 else { throw .invalidOption("epochs must be at least 1 (got \(options.epochs))") }
        guard options.batchSize > 1 else {
            throw .invalidOption("the batch needs at least 2 pairs for BatchNorm (got \(options.batchSize))")
        }
        guard options.learningRate > 0, options.learningRate.isFinite else {
            throw .invalidOption("learning rate must be positive (got \(options.learningRate))")
        }
        guard options.margin > 0, options.margin.isFinite else {
            throw .invalidOption("margin must be positive (got \(options.margin))")
        }
        if let problem = options.problem() { throw .invalidOption(problem) }
        // Validation identities carved from the training identities, when none are given.
        var carved: [String] = []
        if validation == nil, case .identities(let folder) = training {
            carved = folder.validationIdentities(share: options.validationShare, seed: options.seed &+ 0x7F4A_7C15)
        }
        if validation == nil, carved.isEmpty, options.reduceOnPlateau != nil || options.keep == .bestLoss {
            throw .validationLossNeeded(reduceOnPlateau: options.reduceOnPlateau, keep: options.keep)
        }
        if let p = options.reduceOnPlateau, !p.isValid { throw .invalidPlateauReduction(p) }
        if options.freezeBackbone, config.head == .distance { throw .backbone(.nothingToTrain) }
        // The model must also load: every command embeds NetworkLimits.inferenceBatch images at once.
        if let problem = config.problem(batch: options.batchSize, training: true) ?? config.problem() {
            throw .invalidOption(problem)
        }
        for folder in [training] + (validation.map { [$0] } ?? []) {
            guard folder.height == config.inputHeight, folder.width == config.inputWidth, folder.invert == config.invert,
                folder.standardize == config.standardize, folder.channels == config.inputChannels
            else {
                throw .sizeMismatch(
                    "\(folder.source): images prepared at \(folder.width)×\(folder.height)×\(folder.channels), the network takes \(config.inputWidth)×\(config.inputHeight)×\(config.inputChannels)"
                )
            }
        }
        self.config = config
        self.options = options
        var split: (rest: ImageFolder, held: ImageFolder)? = nil
        if !carved.isEmpty, case .identities(let folder) = training { split = folder.splitting(off: Set(carved)) }
        if let split {
            self.training = .identities(split.rest)
            self.validation = .identities(split.held)
        } else {
            self.training = training
            self.validation = validation
        }
        validationIsCarved = !carved.isEmpty
    }

    /// Runs every epoch, calling `progress` after each (from the calling thread). Returns the
    /// kept model; its threshold is the kept epoch's validation EER threshold.
    ///
    /// After every epoch the genuine and impostor distances of a fixed set of images (the
    /// held-out identities, else up to 4 images of each training identity) are summarised
    /// (`DistanceBands`). When they show a collapse (every embedding pulled together), the run
    /// says so, puts back the last healthy epoch's weights and goes on from there at a tenth of
    /// the learning rate, at most `collapseRestarts` times; then it stops with
    /// `TrainingError.collapsed` and no model.
    public func run(progress: (EpochReport) -> Void = { _ in }) throws(TrainingError) -> TrainingResult {
        let network = SiameseNetwork(config: config, seed: options.seed)
        if let backbone {
            let c: NetworkConfig
            do {
                c = try Backbone.twinConfiguration(backbone: backbone.config, run: config, freeze: options.freezeBackbone)
            } catch {
                throw .backbone(error)
            }
            guard c == config else { throw .backbone(.layersMismatch) }
            network.copyTwin(from: backbone)
        }
        var adam = makeOptimizer(network)
        let step = try TrainingStep(
            network: network, loss: ContrastiveLoss(margin: options.margin),
            trainsBackbone: backbone == nil || !options.freezeBackbone)
        // A seed of its own for the pairs and the augmentation, derived from the run's seed.
        var batches = TrainingBatches(
            training, config: config, options: options, seed: options.seed &* 0x9E37_79B9_7F4A_7C15 &+ 1)
        let stepsPerEpoch = (training.epochPairs + options.batchSize - 1) / options.batchSize
        var schedule = LearningRateSchedule(
            peak: options.learningRate, warmupSteps: options.warmupEpochs * stepsPerEpoch,
            cosineDecay: options.cosineDecay)
        let monitor = monitoringSet()
        let startBands = observe(network, monitor).bands
        // ReduceLROnPlateau's state: the best validation loss so far and the epochs since.
        var plateau = (best: Float.infinity, wait: 0)

        // The loss of the untrained network's first batch (at least margin²): an epoch whose mean
        // loss is far above it has diverged (a too large learning rate gives 1e12 and more).
        var reference = Float.nan
        var history: [EpochReport] = []
        var kept: KeptEpoch? = nil
        // The last epoch whose distances were healthy (the initial weights before the first).
        var healthy = (epoch: 0, state: NetworkSnapshot(network))
        var restarts = 0
        let start = Date()
        var epoch = 1
        while epoch <= options.epochs {
            let epochStart = Date()
            let meanLoss = trainEpoch(
                step, adam, &batches, steps: stepsPerEpoch, from: (epoch - 1) * stepsPerEpoch,
                of: options.epochs * stepsPerEpoch, schedule: schedule, firstLoss: &reference)
            guard meanLoss.isFinite, meanLoss <= Self.divergenceFactor * reference else {
                throw .diverged(epoch: epoch, loss: meanLoss, reference: reference, learningRate: options.learningRate)
            }
            let trainSeconds = Date().timeIntervalSince(epochStart)

            let (metrics, bands, validationLoss) = observe(network, monitor)
            let collapsed = bands.isCollapsed(margin: options.margin, start: startBands)
            let improves =
                !collapsed
                && (kept.map { $0.isImproved(by: metrics, validationLoss: validationLoss, policy: options.keep) } ?? true)
            if improves {
                kept = KeptEpoch(
                    epoch: epoch, loss: meanLoss, metrics: metrics, validationLoss: validationLoss, network: network,
                    snapshot: validation != nil && options.keep != .last, reusing: kept)
            }
            let rate = adam.learningRate
            if let reduction = options.reduceOnPlateau, let v = validationLoss, !collapsed {
                if v < plateau.best - PlateauReduction.minimumImprovement {
                    plateau = (v, 0)
                } else {
                    plateau.wait += 1
                    if plateau.wait >= reduction.patience {
                        schedule.peak *= reduction.factor
                        plateau.wait = 0
                    }
                }
            }
            let elapsed = Date().timeIntervalSince(start)
            let report = EpochReport(
                epoch: epoch, epochs: options.epochs, steps: stepsPerEpoch, meanLoss: meanLoss,
                seconds: Date().timeIntervalSince(epochStart),
                pairsPerSecond: Double(stepsPerEpoch * options.batchSize) / trainSeconds,
                secondsLeft: elapsed / Double(epoch) * Double(options.epochs - epoch),
                validation: metrics, isBest: improves, bands: bands, collapsed: collapsed,
                learningRate: rate, restartsFrom: collapsed ? healthy.epoch : nil, validationLoss: validationLoss)
            history.append(report)
            progress(report)
            if collapsed {
                guard restarts < options.collapseRestarts else {
                    throw .collapsed(epoch: epoch, restarts: restarts, learningRate: options.learningRate)
                }
                restarts += 1
                healthy.state.restore(into: network)
                schedule.peak /= 10
                adam = makeOptimizer(network)
                epoch = healthy.epoch + 1
                continue
            }
            healthy.state.update(from: network)
            healthy.epoch = epoch
            if validation != nil, options.patience > 0, let k = kept, epoch - k.epoch >= options.patience { break }
            epoch += 1
        }

        guard let best = kept else {
            throw .collapsed(epoch: options.epochs, restarts: restarts, learningRate: options.learningRate)
        }
        // A learned score that ranks held-out impostors above genuine pairs is an inverted
        // scorer, whatever its loss says: no model. (The distance head's score is the distance
        // itself; its AUC below 0.5 on a few held-out people is a weak network, reported as is.)
        if config.head == .sigmoid, best.measured, best.auc < 0.5 { throw .inverted(epoch: best.epoch, auc: best.auc) }
        best.restore(into: network)
        var holdout: [String] = [], trainIdentities = 0, trainPairs: Int? = nil
        if case .identities(let v) = validation { holdout = v.identities }
        switch training {
        case .identities(let f): trainIdentities = f.identities.count
        case .pairs(let p): trainPairs = p.count
        }
        var method = "EER on held-out \(holdout.joined(separator: ","))"
        if case .pairs(let v) = validation { method = "EER on validation pairs \(v.source)" }
        var summary = TrainingSummary(
            data: training.source, trainIdentities: trainIdentities, trainImages: training.imageCount,
            holdout: holdout, epochs: options.epochs, bestEpoch: best.epoch, batchSize: options.batchSize,
            learningRate: options.learningRate, seed: options.seed, finalLoss: history.last!.meanLoss,
            bestEpochLoss: best.loss, validationEER: validation == nil ? nil : best.eer,
            validationAUC: validation == nil ? nil : best.auc, seconds: Date().timeIntervalSince(start),
            recipe: options.recipe.rawValue, collapseRestarts: restarts)
        if case .identities(let v) = validation { summary.validation = v.identities }
        summary.epochsRun = history.last!.epoch
        summary.patience = validation != nil && options.patience > 0 ? options.patience : nil
        summary.trainPairs = trainPairs
        if case .identities(let f) = training { summary.trainedIdentities = NaturalOrder.sorted(f.identities) }
        if case .pairs(let v) = validation { summary.validationPairs = v.source }
        if backbone != nil {
            summary.backbone = backbonePath ?? "(not recorded)"
            summary.backboneFrozen = options.freezeBackbone
        }
        var info = ModelInfo(
            config: config, margin: options.margin, threshold: best.threshold,
            thresholdMethod: best.threshold == nil ? nil : method, training: summary,
            preparation: TrainingData.preparationRecord(training: training, validation: validation))
        if config.head == .sigmoid {
            info.threshold = SigmoidHead.decision
            info.thresholdMethod = SigmoidHead.decisionMethod
        }
        return TrainingResult(model: FaceModel(network: network, info: info), history: history, bestEpoch: best.epoch)
    }

    /// Adam over the network's parameters (AdamW with the recipe's weight decay); over the
    /// head's alone when the backbone is frozen.
    private func makeOptimizer(_ network: SiameseNetwork) -> Adam {
        let trained =
            backbone != nil && options.freezeBackbone
            ? (network.head?.parameters ?? []).map(\.parameter)
            : network.namedParameters.map(\.parameter)
        let adam = Adam(parameters: trained, learningRate: options.learningRate)
        adam.weightDecay = options.weightDecay
        return adam
    }

    /// One epoch of `steps` steps, steps `first`… of `total` in the schedule; returns the mean
    /// loss. `firstLoss` is set by the run's first step (at least margin²): the scale against
    /// which a diverging loss is judged.
    private func trainEpoch(
        _ step: TrainingStep, _ adam: Adam, _ batches: inout TrainingBatches, steps: Int,
        from first: Int, of total: Int, schedule: LearningRateSchedule, firstLoss: inout Float
    ) -> Float {
        var sum = 0.0
        for i in 0..<steps {
            adam.learningRate = schedule.rate(step: first + i, total: total)
            // Adam fused into the big layer's backward only without weight decay (see Adam).
            adam.zeroGradients(fuseIntoBackward: adam.weightDecay == 0)
            let value = batches.step(step)
            adam.update()
            sum += Double(value)
            if firstLoss.isNaN { firstLoss = max(value, options.margin * options.margin) }
        }
        return Float(sum / Double(steps))
    }

    /// The images whose distances are watched every epoch: the held-out identities or
    /// validation pairs, else up to 4 images of each of at most 64 training identities, or the
    /// first 512 training pairs.
    private func monitoringSet() -> MonitoringSet {
        switch validation ?? training {
        case .identities(let folder) where validation != nil:
            return MonitoringSet(pixels: folder.pixels, count: folder.count, scored: .allPairs(labels: folder.labels))
        case .identities(let folder):
            let hw = folder.imageSize
            var pixels: [Float] = [], labels: [Int] = []
            for (label, images) in folder.imagesByLabel.prefix(64).enumerated() {
                for i in images.prefix(4) {
                    pixels += folder.pixels[(i * hw)..<((i + 1) * hw)]
                    labels.append(label)
                }
            }
            return MonitoringSet(pixels: pixels, count: labels.count, scored: .allPairs(labels: labels))
        case .pairs(let p):
            let n = validation != nil ? p.count : min(p.count, 512)
            return MonitoringSet(
                pixels: p.pixels, count: p.paths.count,
                scored: .listed(first: Array(p.first.prefix(n)), second: Array(p.second.prefix(n)), same: Array(p.same.prefix(n)))
            )
        }
    }

    /// The network's distances on the monitoring set: its bands, and with validation data the
    /// verification metrics (nil without a genuine and an impostor pair) and the validation loss.
    private func observe(_ network: SiameseNetwork, _ monitor: MonitoringSet) -> (
        metrics: VerificationMetrics?, bands: DistanceBands, validationLoss: Float?
    ) {
        let emb = network.embed(pixels: monitor.pixels, count: monitor.count)
        let pairs: (distances: [Float], genuine: [Bool])
        switch monitor.scored {
        case .allPairs(let labels):
            guard let all = try? VerificationPairs.allPairs(embeddings: emb, dimension: config.embeddingSize, labels: labels)
            else {
                return (nil, DistanceBands(genuine: [], impostor: []), nil)
            }
            pairs = all
        case .listed(let first, let second, let same):
            let dim = config.embeddingSize
            let distances = emb.withUnsafeBufferPointer { e in
                zip(first, second).map { i, j in
                    Evaluation.distance(e.baseAddress! + i * dim, e.baseAddress! + j * dim, dimension: dim)
                }
            }
            pairs = (distances, same)
        }
        var genuine: [Float] = [], impostor: [Float] = []
        for (d, same) in zip(pairs.distances, pairs.genuine) { if same { genuine.append(d) } else { impostor.append(d) } }
        guard validation != nil else { return (nil, DistanceBands(genuine: genuine, impostor: impostor), nil) }
        // The ROC, EER and loss of the pairs' scores (the distances, or the sigmoid head's scores).
        let scores = network.scores(distances: pairs.distances)
        let metrics = try? VerificationMetrics(distances: scores, genuine: pairs.genuine)
        var sums = (genuine: 0.0, impostor: 0.0), counts = (genuine: 0, impostor: 0)
        for (s, same) in zip(scores, pairs.genuine) {
            if same {
                sums.genuine += Double(s * s)
                counts.genuine += 1
            } else {
                let hinge = max(0, options.margin - s)
                sums.impostor += Double(hinge * hinge)
                counts.impostor += 1
            }
        }
        let loss: Double
        if case .allPairs = monitor.scored {
            loss = (sums.genuine / Double(max(1, counts.genuine)) + sums.impostor / Double(max(1, counts.impostor))) / 2
        } else {
            loss = (sums.genuine + sums.impostor) / Double(max(1, counts.genuine + counts.impostor))
        }
        return (metrics, DistanceBands(genuine: genuine, impostor: impostor), Float(loss))
    }
}

/// The images watched after every epoch and the pairs scored among them.
struct MonitoringSet {
    enum Scored {
        /// Every pair of the images (`labels` their identities).
        case allPairs(labels: [Int])
        /// Listed pairs of image indices and whether each shows one person.
        case listed(first: [Int], second: [Int], same: [Bool])
    }
    var pixels: [Float]
    var count: Int
    var scored: Scored
}
