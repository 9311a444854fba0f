import Foundation

/// How a training run draws its pairs.
public enum Pairing: Sendable, Equatable {
    /// The reference's sampler: each pair drawn on its own, half of the same identity, half of
    /// two (`PairSampler`); a batch of B pairs embeds 2B images.
    case balancedPairs
    /// Batches of B/2 identities × `imagesPerIdentity` images; every genuine pair of the batch
    /// and as many impostor pairs, `hardShare` of them the closest (`IdentityBatchSampler`).
    case identityBatches(imagesPerIdentity: Int, hardShare: Double)
}

/// The knobs of a training run. The memberwise defaults are the reference recipe;
/// `TrainingOptions.default` is the default recipe's.
public struct TrainingOptions: Sendable {
    public var epochs = 50
    /// Pairs per step (2 × this many images a step, whatever the pairing).
    public var batchSize = 32
    /// The peak learning rate.
    public var learningRate: Float = 5e-4
    public var margin: Float = 2
    /// Seeds the weight initialization and the pair sampler: the same seed and data give the
    /// same run.
    public var seed: UInt64 = 0
    public var pairing: Pairing = .balancedPairs
    /// Applied to every training image on the fly (seeded); `.none` leaves them as they are.
    public var augmentation: Augmentation = .none
    /// Decoupled weight decay (AdamW's), per unit of learning rate.
    public var weightDecay: Float = 0
    /// Epochs of linear learning-rate warm-up, then a cosine decay to zero if `cosineDecay`.
    public var warmupEpochs = 0
    public var cosineDecay = false
    /// Times a collapsed run restarts from its last healthy state at a tenth of the learning
    /// rate before it gives up (0: it stops at the first collapse).
    public var collapseRestarts = 2
    /// The recipe these options come from, recorded in the model file by its name.
    public var recipe: Recipe = .reference
    /// Share of the training identities held out (seeded, at least 2) when the run is given no
    /// validation identities: scored after every epoch to choose the kept epoch and to stop
    /// early. 0: no validation split (the last healthy epoch is kept).
    public var validationShare = 0.0
    /// With validation: stop after this many epochs without a better validation EER (0: run
    /// every epoch).
    public var patience = 0
    /// With a backbone (`Trainer.backbone`), whether it stays as it is: only the score head
    /// trains, and the backbone's layers get no gradient buffers and no Adam state.
    public var freezeBackbone = false
    /// With a backbone that is fine-tuned, its learning rate as a share of `learningRate` (the
    /// score head's): a pretrained network moves less than the fresh head (``ResNetFineTuner``).
    public var backboneLearningRateScale: Float = 0.01
    /// Keras's ReduceLROnPlateau on the validation loss: when it has not improved (by 1e-4) for
    /// `patience` epochs, the learning rate is multiplied by `factor`. Needs validation data.
    public var reduceOnPlateau: PlateauReduction?
    /// Which epoch's weights the run keeps.
    public var keep: KeepPolicy = .bestEER

    public init(epochs: Int = 50, batchSize: Int = 32, learningRate: Float = 5e-4, margin: Float = 2, seed: UInt64 = 0) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.margin = margin
        self.seed = seed
    }

    /// The reference recipe: the PyTorch ORL tutorial's training, exactly.
    public static let reference = TrainingOptions()

    /// The default recipe's training: batches of 16 identities × 4 images with every genuine
    /// pair and as many impostor pairs, half of them the batch's hardest; augmentation;
    /// AdamW at 2e-3 peak with a 2-epoch warm-up and a cosine decay, weight decay 1e-4.
    public static var `default`: TrainingOptions {
        var o = TrainingOptions(epochs: 50, batchSize: 32, learningRate: 2e-3, margin: 2)
        o.pairing = .identityBatches(imagesPerIdentity: 4, hardShare: 0.5)
        o.augmentation = Augmentation()
        o.weightDecay = 1e-4
        o.warmupEpochs = 2
        o.cosineDecay = true
        o.recipe = .default
        return o
    }
}

/// `--reduce-lr-on-plateau FACTOR,PATIENCE`.
public struct PlateauReduction: Sendable, Equatable {
    public var factor: Float
    public var patience: Int
    /// The smallest fall of the validation loss that counts as an improvement (Keras's `min_delta`).
    public static let minimumImprovement: Float = 1e-4

    public init(factor: Float, patience: Int) {
        self.factor = factor
        self.patience = patience
    }
}

/// Which epoch a run keeps.
public enum KeepPolicy: String, Sendable, CaseIterable, Codable {
    /// The lowest validation EER (then the highest AUC); the last epoch without validation.
    case bestEER = "best-eer"
    /// The lowest validation loss (Keras's ModelCheckpoint on `val_loss`). Needs validation data.
    case bestLoss = "best-loss"
    /// The last healthy epoch.
    case last
}

extension TrainingOptions {
    /// Fine-tuning dlib's pretrained ResNet (``ResNetFineTuner``): batches of 8 identities × 4
    /// images with every genuine pair and as many impostor pairs, half of them the hardest;
    /// margin 1 (its genuine distances lie below dlib's 0.6, its impostors' near 0.9); Adam at
    /// 1e-3 for the head, a hundredth of it for the backbone (a tenth moved ORL's held-out EER
    /// from 0.3 % to 3–5 % in one epoch), a 1-epoch warm-up and a cosine decay over 3 epochs;
    /// no augmentation (the chips are aligned).
    public static var resNetFineTuning: TrainingOptions {
        var o = TrainingOptions(epochs: 3, batchSize: 16, learningRate: 1e-3, margin: 1)
        o.pairing = .identityBatches(imagesPerIdentity: 4, hardShare: 0.5)
        o.warmupEpochs = 1
        o.cosineDecay = true
        o.recipe = .resNetFineTune
        return o
    }
}

/// A named recipe: a network and how to train it. Its raw value is the name a model file
/// records (``TrainingSummary/recipe``).
public enum Recipe: String, Sendable, CaseIterable, Codable {
    /// The classic PyTorch siamese ORL tutorial, reproduced exactly.
    case reference
    /// The best recipe measured on identities never seen in training (docs/DESIGN.md).
    case `default`
    /// Fine-tuning dlib's pretrained ResNet (``ResNetFineTuner``): the network is the backbone's.
    case resNetFineTune = "resnet-fine-tune"

    /// The twin network the recipe trains from its seed; nil for ``resNetFineTune``, whose
    /// network is the backbone's.
    public var config: NetworkConfig? {
        switch self {
        case .reference: return .reference
        case .default: return .default
        case .resNetFineTune: return nil
        }
    }

    public var options: TrainingOptions {
        switch self {
        case .reference: return .reference
        case .default: return .default
        case .resNetFineTune: return .resNetFineTuning
        }
    }
}

extension TrainingOptions {
    /// What is out of ``NetworkConfig/limits`` in these options, or nil.
    public func problem() -> String? {
        let l = NetworkConfig.limits
        if !l.epochs.contains(epochs) { return "epochs \(epochs) is outside \(l.epochs.lowerBound)…\(l.epochs.upperBound)" }
        if !l.batch.contains(batchSize) { return "batch \(batchSize) is outside \(l.batch.lowerBound)…\(l.batch.upperBound)" }
        if !l.learningRate.contains(learningRate) {
            return "learning rate \(learningRate) is outside \(l.learningRate.lowerBound)…\(l.learningRate.upperBound)"
        }
        if !l.margin.contains(margin) { return "margin \(margin) is outside \(l.margin.lowerBound)…\(l.margin.upperBound)" }
        if !(0...0.5).contains(validationShare) { return "validation share \(validationShare) is outside 0…0.5" }
        if !(0...l.epochs.upperBound).contains(patience) { return "patience \(patience) is outside 0…\(l.epochs.upperBound)" }
        return nil
    }
}

/// What one epoch did, for progress lines and the loss history.
public struct EpochReport: Sendable {
    public var epoch: Int
    public var epochs: Int
    public var steps: Int
    public var meanLoss: Float
    public var seconds: Double
    public var pairsPerSecond: Double
    /// Estimated time for the remaining epochs, from the mean epoch time so far.
    public var secondsLeft: Double
    /// Metrics on the held-out identities, when there are any.
    public var validation: VerificationMetrics?
    /// Whether this epoch's weights are now the ones kept.
    public var isBest: Bool
    /// Genuine and impostor distances on the monitoring images after the epoch.
    public var bands: DistanceBands
    /// Whether those distances showed a collapse (every embedding pulled together).
    public var collapsed: Bool
    /// The learning rate of the epoch's last step.
    public var learningRate: Float
    /// After a collapse: the healthy epoch the run goes on from (0: the initial weights).
    public var restartsFrom: Int?
    /// The contrastive loss on the validation data after the epoch (its scores: the distances,
    /// or the sigmoid head's), with the run's margin; nil without validation data. Over listed
    /// pairs, their mean; over held-out identities, the mean of the genuine pairs' mean and the
    /// impostor pairs' mean (each kind weighted equally, as balanced training pairs are).
    public var validationLoss: Float? = nil
}

/// The outcome of `Trainer.run`: the kept model (the best validation epoch, or the last one
/// without validation) and every epoch's report.
public struct TrainingResult {
    public let model: FaceModel
    public let history: [EpochReport]
    public let bestEpoch: Int

    /// The loss history as CSV: one row per epoch.
    public var historyCSV: String {
        var s = "epoch,steps,mean_loss,val_eer,val_auc,val_tar_at_fmr1,seconds,pairs_per_second,kept,learning_rate,"
        s += "genuine_mean,genuine_p10,genuine_p90,impostor_mean,impostor_p10,impostor_p90,collapsed\n"
        for (i, r) in history.enumerated() {
            let v = r.validation, b = r.bands
            // The kept epoch's row: its last occurrence (a restart after a collapse runs epochs again).
            let kept = r.epoch == bestEpoch && !history[(i + 1)...].contains { $0.epoch == bestEpoch }
            s += "\(r.epoch),\(r.steps),\(r.meanLoss),\(v.map { "\($0.eer)" } ?? ""),\(v.map { "\($0.auc)" } ?? ""),"
            s +=
                "\(v.map { "\($0.tarAtFMR1Percent.measuredTAR)" } ?? ""),\(String(format: "%.3f", r.seconds)),\(String(format: "%.1f", r.pairsPerSecond)),"
            s += "\(kept ? 1 : 0),\(r.learningRate),"
            s += [b.genuineMean, b.genuineP10, b.genuineP90, b.impostorMean, b.impostorP10, b.impostorP90]
                .map { String(format: "%.5f", $0) }.joined(separator: ",")
            s += ",\(r.collapsed ? 1 : 0)\n"
        }
        return s
    }
}

/// Why training could not run.
public enum TrainingError: Error, CustomStringConvertible, Sendable {
    case invalidOption(String)
    case sizeMismatch(String)
    /// The loss exploded: not finite, or more than ``Trainer/divergenceFactor`` times `reference`
    /// (the first step's loss, at least margin²).
    case diverged(epoch: Int, loss: Float, reference: Float)
    /// The embeddings collapsed again after `restarts` restarts at a lower learning rate.
    case collapsed(epoch: Int, restarts: Int)
    /// The kept epoch's held-out AUC is below 0.5: its scores rank impostor pairs as more alike
    /// than genuine ones.
    case inverted(epoch: Int, auc: Double)
    /// The backbone and the run do not agree (``Backbone``).
    case backbone(BackboneError)

    public var description: String {
        switch self {
        case .backbone(let e): return e.description
        case .invalidOption(let m): return m
        case .sizeMismatch(let m): return m
        case .collapsed(let e, let restarts):
            return "training collapsed at epoch \(e): every embedding pulled together (impostor distances near zero)"
                + (restarts > 0 ? " again after \(restarts) restart\(restarts == 1 ? "" : "s") at a lower learning rate" : "")
                + "; no model was written (try a smaller --lr)"
        case .inverted(let e, let auc):
            return
                "the kept epoch \(e) scores held-out impostor pairs as more alike than genuine ones (AUC \(String(format: "%.4f", auc)) < 0.5); no model was written"
        case .diverged(let e, let loss, let reference):
            if !loss.isFinite {
                return
                    "training diverged at epoch \(e): the loss is not a finite number; no model was written (try a smaller --lr)"
            }
            return
                "training diverged at epoch \(e): mean loss \(loss) is more than \(Int(Trainer.divergenceFactor)) times the untrained network's \(reference); no model was written (try a smaller --lr)"
        }
    }
}

/// What a run trains or validates on: identity folders (pairs drawn from the identities) or
/// labelled pairs (each epoch takes every pair once, in a seeded shuffled order).
public enum TrainingData: Sendable {
    case identities(ImageFolder)
    case pairs(PairImages)

    /// The folder or pair list it was read from.
    public var source: String {
        switch self {
        case .identities(let f): return f.root
        case .pairs(let p): return p.source
        }
    }

    var width: Int {
        switch self {
        case .identities(let f): return f.width
        case .pairs(let p): return p.width
        }
    }
    var height: Int {
        switch self {
        case .identities(let f): return f.height
        case .pairs(let p): return p.height
        }
    }
    var channels: Int {
        switch self {
        case .identities(let f): return f.channels
        case .pairs(let p): return p.channels
        }
    }
    var invert: Bool {
        switch self {
        case .identities(let f): return f.invert
        case .pairs(let p): return p.invert
        }
    }
    var standardize: Bool {
        switch self {
        case .identities(let f): return f.standardize
        case .pairs(let p): return p.standardize
        }
    }
    /// The identity folder, for identity data.
    public var folder: ImageFolder? {
        if case .identities(let f) = self { return f }
        return nil
    }
    /// Images in memory (each distinct image once).
    var imageCount: Int {
        switch self {
        case .identities(let f): return f.count
        case .pairs(let p): return p.paths.count
        }
    }
    var pixels: [Float] {
        switch self {
        case .identities(let f): return f.pixels
        case .pairs(let p): return p.pixels
        }
    }
    /// Pairs an epoch trains on: as many as there are images for identity folders (the
    /// reference's epoch), every pair once for a pair list.
    var epochPairs: Int {
        switch self {
        case .identities(let f): return f.count
        case .pairs(let p): return p.count
        }
    }
}

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
        if validation == nil, options.reduceOnPlateau != nil || options.keep == .bestLoss {
            throw .invalidOption("--reduce-lr-on-plateau and --keep best-loss need validation data (the validation loss)")
        }
        if let p = options.reduceOnPlateau, !(p.factor > 0 && p.factor < 1) || p.patience < 1 {
            throw .invalidOption("--reduce-lr-on-plateau needs a factor in (0, 1) and a patience of at least 1 epoch")
        }
        if options.freezeBackbone, config.head == .distance {
            throw .invalidOption("a frozen backbone with the distance head leaves nothing to train (use --head sigmoid)")
        }
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
        var carved: [String] = []
        var split: (rest: ImageFolder, held: ImageFolder)? = nil
        if validation == nil, case .identities(let folder) = training {
            carved = folder.validationIdentities(share: options.validationShare, seed: options.seed &+ 0x7F4A_7C15)
            if !carved.isEmpty { split = folder.splitting(off: Set(carved)) }
        }
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
        let step = TrainingStep(
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
                throw .diverged(epoch: epoch, loss: meanLoss, reference: reference)
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
                guard restarts < options.collapseRestarts else { throw .collapsed(epoch: epoch, restarts: restarts) }
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

        guard let best = kept else { throw .collapsed(epoch: options.epochs, restarts: restarts) }
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
        var info = ModelInfo(
            config: config, margin: options.margin, threshold: best.threshold,
            thresholdMethod: best.threshold == nil ? nil : method, training: summary)
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

/// The batches a run trains on, by its pairing (or the listed pairs of a pair dataset), each step's images drawn into one tensor and
/// augmented (then standardised again when the network standardises its input).
struct TrainingBatches {
    private let pixels: [Float]
    private let width: Int, height: Int, channels: Int
    private let config: NetworkConfig
    private let augmentation: Augmentation
    private var rng: RandomSource
    private var pairs: PairSampler?
    private var identities: IdentityBatchSampler?
    /// A pair dataset's pairs, taken in `order` (reshuffled whenever it runs out).
    private var listed: PairImages?
    private var order: [Int] = []
    private var cursor = 0
    private let hardShare: Double
    /// The step's images; an identity batch of another size (few identities or images) takes
    /// a tensor of its own size, kept for the next such batch.
    private var images: Tensor
    private var labels: [Float]

    init(_ data: TrainingData, config: NetworkConfig, options: TrainingOptions, seed: UInt64) {
        pixels = data.pixels
        (width, height, channels) = (data.width, data.height, data.channels)
        self.config = config
        augmentation = options.augmentation
        rng = RandomSource(seed: seed &+ 0x5851_F42D_4C95_7F2D)
        let b = options.batchSize
        hardShare = {
            if case .identityBatches(_, let share) = options.pairing { return share }
            return 0
        }()
        switch (data, options.pairing) {
        case (.pairs(let p), _):
            listed = p
        case (.identities(let folder), .balancedPairs):
            pairs = PairSampler(labels: folder.labels, seed: seed)
        case (.identities(let folder), .identityBatches(let k, _)):
            identities = IdentityBatchSampler(
                labels: folder.labels, identitiesPerBatch: max(2, 2 * b / max(k, 2)),
                imagesPerIdentity: k, seed: seed)
        }
        images = Tensor(shape: [2 * b, channels, height, width])
        labels = [Float](repeating: 0, count: b)
    }

    /// Draws the next batch and runs `step` on it; returns the loss.
    mutating func step(_ step: TrainingStep) -> Float {
        if var sampler = identities {
            let batch = sampler.next()
            images = Tensor.reuse(images, shape: [batch.images.count, channels, height, width])
            let tensor = images
            for (row, image) in batch.images.enumerated() { copy(image, to: tensor, row: row) }
            let value = step.run(images: tensor, identities: batch.identities, sampler: &sampler, hardShare: hardShare)
            identities = sampler
            return value
        }
        let b = labels.count
        for i in 0..<b {
            let pair = nextPair()
            labels[i] = pair.label
            copy(pair.first, to: images, row: i)
            copy(pair.second, to: images, row: b + i)
        }
        return step.run(images: images, labels: labels).loss
    }

    /// The next pair: drawn by the sampler, or the pair dataset's next in its shuffled order.
    private mutating func nextPair() -> PairSampler.Pair {
        guard let listed else { return pairs!.next() }
        if cursor == order.count {
            order = Array(0..<listed.count)
            order.shuffle(using: &rng)
            cursor = 0
        }
        let k = order[cursor]
        cursor += 1
        return PairSampler.Pair(first: listed.first[k], second: listed.second[k], label: listed.same[k] ? 0 : 1)
    }

    /// Image `index` into row `row` of `tensor`, augmented.
    private mutating func copy(_ index: Int, to tensor: Tensor, row: Int) {
        let hw = channels * height * width
        let dst = tensor.pointer + row * hw
        pixels.withUnsafeBufferPointer { px in
            let src = px.baseAddress! + index * hw
            if augmentation.isIdentity {
                dst.update(from: src, count: hw)
            } else {
                augmentation.apply(src, into: dst, width: width, height: height, channels: channels, rng: &rng)
                if config.standardize { Standardization.apply(dst, count: hw) }
            }
        }
    }
}

/// A copy of a network's state tensors and BatchNorm counters, to put back later.
struct NetworkSnapshot {
    private var state: [Tensor]
    private var batchesTracked: [Int64]

    init(_ network: SiameseNetwork) {
        state = network.stateTensors.map { $0.tensor.clone() }
        batchesTracked = network.batchStatisticLayers.map(\.numBatchesTracked)
    }

    /// Overwrites the copy with the network as it is now (in place: no second copy is held).
    mutating func update(from network: SiameseNetwork) {
        for ((_, tensor), saved) in zip(network.stateTensors, state) { saved.copy(from: tensor) }
        batchesTracked = network.batchStatisticLayers.map(\.numBatchesTracked)
    }

    func restore(into network: SiameseNetwork) {
        network.thaw()
        for ((_, tensor), saved) in zip(network.stateTensors, state) { tensor.copy(from: saved) }
        for (bn, n) in zip(network.batchStatisticLayers, batchesTracked) { bn.numBatchesTracked = n }
    }
}

/// The epoch whose weights a run keeps, by its `KeepPolicy`: the lowest validation EER (then
/// the highest AUC), the lowest validation loss, or the last healthy epoch (always the last one
/// without validation).
struct KeptEpoch {
    let epoch: Int
    let loss: Float
    let validationLoss: Float?
    let eer: Double, auc: Double
    /// Whether `eer` and `auc` were measured (validation data with genuine and impostor pairs).
    let measured: Bool
    let threshold: Float?
    /// A copy of the network's state, taken only with validation: without it every epoch
    /// improves and the last one is kept, which is the network as it ends, so nothing is copied.
    private let state: NetworkSnapshot?

    /// The kept epoch `epoch` of `network` as it is now. With `snapshot`, its state is copied,
    /// into the tensors of `previous` when there is one: one snapshot (160 MB for the reference
    /// network) is overwritten in place, never two held at once.
    init(
        epoch: Int, loss: Float, metrics: VerificationMetrics?, validationLoss: Float? = nil, network: SiameseNetwork,
        snapshot: Bool, reusing previous: KeptEpoch?
    ) {
        self.epoch = epoch
        self.loss = loss
        self.validationLoss = validationLoss
        (eer, auc, threshold) = (metrics?.eer ?? 0, metrics?.auc ?? 0, metrics?.eerThreshold)
        measured = metrics != nil
        if snapshot, var state = previous?.state {
            state.update(from: network)
            self.state = state
        } else {
            state = snapshot ? NetworkSnapshot(network) : nil
        }
    }

    /// Whether an epoch with `metrics` and `validationLoss` is better than this one under
    /// `policy` (any epoch is, without validation or with `.last`).
    func isImproved(by metrics: VerificationMetrics?, validationLoss: Float? = nil, policy: KeepPolicy = .bestEER) -> Bool {
        switch policy {
        case .last: return true
        case .bestLoss:
            guard let validationLoss, let kept = self.validationLoss else { return true }
            return validationLoss < kept
        case .bestEER:
            guard let metrics else { return true }
            return metrics.eer < eer || (metrics.eer == eer && metrics.auc >= auc)
        }
    }

    /// Puts the kept weights back into `network` (nothing to do without a snapshot).
    func restore(into network: SiameseNetwork) {
        state?.restore(into: network)
    }
}
