import Foundation

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

/// How a training run draws its pairs.
public enum Pairing: Sendable, Equatable {
    /// The reference's sampler: each pair drawn on its own, half of the same identity, half of
    /// two (`PairSampler`); a batch of B pairs embeds 2B images.
    case balancedPairs
    /// Batches of B/2 identities × `imagesPerIdentity` images; every genuine pair of the batch
    /// and as many impostor pairs, `hardShare` of them the closest (`IdentityBatchSampler`).
    case identityBatches(imagesPerIdentity: Int, hardShare: Double)
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

    /// Whether the factor is in (0, 1) and the patience at least 1 epoch, within
    /// ``NetworkLimits/patience``.
    package var isValid: Bool {
        factor > 0 && factor < 1 && patience >= 1 && NetworkConfig.limits.patience.contains(patience)
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

extension TrainingOptions {
    /// What is out of ``NetworkConfig/limits`` in these options, or nil.
    func problem() -> String? {
        let l = NetworkConfig.limits
        if !l.epochs.contains(epochs) { return "epochs \(epochs) is outside \(l.epochs.lowerBound)…\(l.epochs.upperBound)" }
        if !l.batch.contains(batchSize) { return "batch \(batchSize) is outside \(l.batch.lowerBound)…\(l.batch.upperBound)" }
        if !l.learningRate.contains(learningRate) {
            return "learning rate \(learningRate) is outside \(l.learningRate.lowerBound)…\(l.learningRate.upperBound)"
        }
        if !l.margin.contains(margin) { return "margin \(margin) is outside \(l.margin.lowerBound)…\(l.margin.upperBound)" }
        if !l.validationShare.contains(validationShare) {
            return
                "validation share \(validationShare) is outside \(l.validationShare.lowerBound)…\(l.validationShare.upperBound)"
        }
        if !l.patience.contains(patience) {
            return "patience \(patience) is outside \(l.patience.lowerBound)…\(l.patience.upperBound)"
        }
        if case .identityBatches(let k, let share) = pairing {
            if !l.imagesPerIdentity.contains(k) {
                return "images per identity \(k) is outside \(l.imagesPerIdentity.lowerBound)…\(l.imagesPerIdentity.upperBound)"
            }
            if !l.hardShare.contains(share) {
                return "hard share \(share) is outside \(l.hardShare.lowerBound)…\(l.hardShare.upperBound)"
            }
        }
        if !l.allowsWeightDecay(weightDecay, learningRate: learningRate) {
            return "weight decay \(weightDecay) is outside 0…1/learning rate (learning rate \(learningRate))"
        }
        return nil
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
