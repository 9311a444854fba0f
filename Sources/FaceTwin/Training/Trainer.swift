import Foundation

/// The knobs of a training run. The defaults are the reference recipe.
public struct TrainingOptions: Sendable {
    public var epochs = 50
    public var batchSize = 32
    public var learningRate: Float = 5e-4
    public var margin: Float = 2
    /// Seeds the weight initialization and the pair sampler: the same seed and data give the
    /// same run.
    public var seed: UInt64 = 0

    public init(epochs: Int = 50, batchSize: Int = 32, learningRate: Float = 5e-4, margin: Float = 2, seed: UInt64 = 0) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.margin = margin
        self.seed = seed
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
}

/// The outcome of `Trainer.run`: the kept model (the best validation epoch, or the last one
/// without validation) and every epoch's report.
public struct TrainingResult {
    public let model: FaceModel
    public let history: [EpochReport]
    public let bestEpoch: Int

    /// The loss history as CSV: one row per epoch.
    public var historyCSV: String {
        var s = "epoch,steps,mean_loss,val_eer,val_auc,val_tar_at_fmr1,seconds,pairs_per_second,kept\n"
        for r in history {
            let v = r.validation
            s += "\(r.epoch),\(r.steps),\(r.meanLoss),\(v.map { "\($0.eer)" } ?? ""),\(v.map { "\($0.auc)" } ?? ""),"
            s += "\(v.map { "\($0.tarAtFMR1Percent.measuredTAR)" } ?? ""),\(String(format: "%.3f", r.seconds)),\(String(format: "%.1f", r.pairsPerSecond)),"
            s += "\(r.epoch == bestEpoch ? 1 : 0)\n"
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

    public var description: String {
        switch self {
        case .invalidOption(let m): return m
        case .sizeMismatch(let m): return m
        case .diverged(let e, let loss, let reference):
            if !loss.isFinite { return "training diverged at epoch \(e): the loss is not a finite number; no model was written (try a smaller --lr)" }
            return "training diverged at epoch \(e): mean loss \(loss) is more than \(Int(Trainer.divergenceFactor)) times the untrained network's \(reference); no model was written (try a smaller --lr)"
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
    public let training: ImageFolder
    public let validation: ImageFolder?

    public init(config: NetworkConfig, options: TrainingOptions, training: ImageFolder, validation: ImageFolder?) throws(TrainingError) {
        guard options.epochs > 0 else { throw .invalidOption("epochs must be at least 1 (got \(options.epochs))") }
        guard options.batchSize > 1 else { throw .invalidOption("the batch needs at least 2 pairs for BatchNorm (got \(options.batchSize))") }
        guard options.learningRate > 0, options.learningRate.isFinite else { throw .invalidOption("learning rate must be positive (got \(options.learningRate))") }
        guard options.margin > 0, options.margin.isFinite else { throw .invalidOption("margin must be positive (got \(options.margin))") }
        if let problem = options.problem() { throw .invalidOption(problem) }
        if let problem = config.problem(batch: options.batchSize, training: true) { throw .invalidOption(problem) }
        for folder in [training] + (validation.map { [$0] } ?? []) {
            guard folder.height == config.inputHeight, folder.width == config.inputWidth, folder.invert == config.invert else {
                throw .sizeMismatch("\(folder.root): images prepared at \(folder.width)×\(folder.height), the network takes \(config.inputWidth)×\(config.inputHeight)")
            }
        }
        self.config = config
        self.options = options
        self.training = training
        self.validation = validation
    }

    /// Runs every epoch, calling `progress` after each (from the calling thread). Returns the
    /// kept model; its threshold is the kept epoch's validation EER threshold.
    public func run(progress: (EpochReport) -> Void = { _ in }) throws(TrainingError) -> TrainingResult {
        let network = SiameseNetwork(config: config, seed: options.seed)
        let adam = Adam(parameters: network.namedParameters.map(\.parameter), learningRate: options.learningRate)
        let step = TrainingStep(network: network, loss: ContrastiveLoss(margin: options.margin))
        // A seed of its own for the pairs, derived from the run's seed.
        var batches = PairBatches(training, batchSize: options.batchSize, seed: options.seed &* 0x9E37_79B9_7F4A_7C15 &+ 1)
        let stepsPerEpoch = (training.count + options.batchSize - 1) / options.batchSize

        // The loss of the untrained network's first batch (at least margin²): an epoch whose mean
        // loss is far above it has diverged (a too large learning rate gives 1e12 and more).
        var reference = Float.nan
        var history: [EpochReport] = []
        var kept: KeptEpoch? = nil
        let start = Date()
        for epoch in 1...options.epochs {
            let epochStart = Date()
            let meanLoss = trainEpoch(step, adam, &batches, steps: stepsPerEpoch, firstLoss: &reference)
            guard meanLoss.isFinite, meanLoss <= Self.divergenceFactor * reference else {
                throw .diverged(epoch: epoch, loss: meanLoss, reference: reference)
            }
            let trainSeconds = Date().timeIntervalSince(epochStart)

            let metrics = validate(network)
            let improves = kept.map { $0.isImproved(by: metrics) } ?? true
            if improves {
                kept = KeptEpoch(epoch: epoch, loss: meanLoss, metrics: metrics, network: network,
                                 snapshot: validation != nil, reusing: kept)
            }
            let elapsed = Date().timeIntervalSince(start)
            let report = EpochReport(epoch: epoch, epochs: options.epochs, steps: stepsPerEpoch, meanLoss: meanLoss,
                                     seconds: Date().timeIntervalSince(epochStart),
                                     pairsPerSecond: Double(stepsPerEpoch * options.batchSize) / trainSeconds,
                                     secondsLeft: elapsed / Double(epoch) * Double(options.epochs - epoch),
                                     validation: metrics, isBest: improves)
            history.append(report)
            progress(report)
        }

        let best = kept!
        best.restore(into: network)
        let holdout = validation?.identities ?? []
        let summary = TrainingSummary(
            data: training.root, trainIdentities: training.identities.count, trainImages: training.count,
            holdout: holdout, epochs: options.epochs, bestEpoch: best.epoch, batchSize: options.batchSize,
            learningRate: options.learningRate, seed: options.seed, finalLoss: history.last!.meanLoss,
            bestEpochLoss: best.loss, validationEER: validation == nil ? nil : best.eer,
            validationAUC: validation == nil ? nil : best.auc, seconds: Date().timeIntervalSince(start))
        let info = ModelInfo(config: config, margin: options.margin, threshold: best.threshold,
                             thresholdMethod: best.threshold == nil ? nil : "EER on held-out \(holdout.joined(separator: ","))",
                             training: summary)
        return TrainingResult(model: FaceModel(network: network, info: info), history: history, bestEpoch: best.epoch)
    }

    /// One epoch: `steps` batches of pairs, each a training step and an Adam update (fused into
    /// the backward where a layer can). Returns the mean loss.
    /// One epoch of steps; returns the mean loss. `firstLoss` is set by the run's first step (at
    /// least margin²): the scale against which a diverging loss is judged.
    private func trainEpoch(_ step: TrainingStep, _ adam: Adam, _ batches: inout PairBatches, steps: Int,
                            firstLoss: inout Float) -> Float {
        var total = 0.0
        for _ in 0..<steps {
            batches.next()
            adam.zeroGradients(fuseIntoBackward: true)
            let (value, _) = step.run(images: batches.images, labels: batches.labels)
            adam.update()
            total += Double(value)
            if firstLoss.isNaN { firstLoss = max(value, options.margin * options.margin) }
        }
        return Float(total / Double(steps))
    }

    /// Metrics over all pairs of the held-out identities, embedded by `network` as it is now;
    /// nil without validation identities (or without a genuine and an impostor pair).
    private func validate(_ network: SiameseNetwork) -> VerificationMetrics? {
        guard let validation else { return nil }
        let emb = network.embed(pixels: validation.pixels, count: validation.count)
        guard let pairs = try? VerificationPairs.allPairs(embeddings: emb, dimension: config.embeddingSize, labels: validation.labels) else {
            return nil
        }
        return try? VerificationMetrics(distances: pairs.distances, genuine: pairs.genuine)
    }
}

/// Batches of training pairs drawn on the fly: balanced pairs from `PairSampler`, their images
/// copied into one tensor [2B, 1, H, W] (first images, then second images) with their labels.
struct PairBatches {
    private let folder: ImageFolder
    private var sampler: PairSampler
    let images: Tensor
    private(set) var labels: [Float]

    init(_ folder: ImageFolder, batchSize: Int, seed: UInt64) {
        self.folder = folder
        sampler = PairSampler(labels: folder.labels, seed: seed)
        images = Tensor(shape: [2 * batchSize, 1, folder.height, folder.width])
        labels = [Float](repeating: 0, count: batchSize)
    }

    /// Draws the next batch into `images` and `labels`.
    mutating func next() {
        let b = labels.count, hw = folder.height * folder.width
        folder.pixels.withUnsafeBufferPointer { px in
            for i in 0..<b {
                let pair = sampler.next()
                labels[i] = pair.label
                (images.pointer + i * hw).update(from: px.baseAddress! + pair.first * hw, count: hw)
                (images.pointer + (b + i) * hw).update(from: px.baseAddress! + pair.second * hw, count: hw)
            }
        }
    }
}

/// The epoch whose weights a run keeps: the lowest validation EER (then the highest AUC), or
/// without validation the last epoch.
struct KeptEpoch {
    let epoch: Int
    let loss: Float
    let eer: Double, auc: Double
    let threshold: Float?
    /// A copy of the network's state tensors and BatchNorm counters, taken only with validation:
    /// without it every epoch improves and the last one is kept, which is the network as it
    /// ends, so nothing is copied.
    private let state: [Tensor]
    private let batchesTracked: [Int64]

    /// The kept epoch `epoch` of `network` as it is now. With `snapshot`, its state is copied,
    /// into the tensors of `previous` when there is one: one snapshot (160 MB for the reference
    /// network) is overwritten in place, never two held at once.
    init(epoch: Int, loss: Float, metrics: VerificationMetrics?, network: SiameseNetwork, snapshot: Bool, reusing previous: KeptEpoch?) {
        self.epoch = epoch
        self.loss = loss
        (eer, auc, threshold) = (metrics?.eer ?? 0, metrics?.auc ?? 0, metrics?.eerThreshold)
        var state = previous?.state ?? []
        if snapshot {
            if state.isEmpty {
                state = network.stateTensors.map { $0.tensor.clone() }
            } else {
                for ((_, tensor), saved) in zip(network.stateTensors, state) { saved.copy(from: tensor) }
            }
        }
        self.state = state
        batchesTracked = network.batchNorms.map(\.layer.numBatchesTracked)
    }

    /// Whether an epoch with `metrics` is better than this one (any epoch is, without validation).
    func isImproved(by metrics: VerificationMetrics?) -> Bool {
        guard let metrics else { return true }
        return metrics.eer < eer || (metrics.eer == eer && metrics.auc >= auc)
    }

    /// Puts the kept weights back into `network` (nothing to do without a snapshot).
    func restore(into network: SiameseNetwork) {
        guard !state.isEmpty else { return }
        for ((_, tensor), saved) in zip(network.stateTensors, state) { tensor.copy(from: saved) }
        for ((_, bn), n) in zip(network.batchNorms, batchesTracked) { bn.numBatchesTracked = n }
    }
}
