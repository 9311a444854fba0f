/// What a model file records beside its weights (in the safetensors `__metadata__`): how to
/// feed the network, how it was trained, and the verification threshold once one was chosen.
public struct ModelInfo: Codable, Equatable, Sendable {
    public var config: NetworkConfig
    /// The contrastive loss margin the model was trained with.
    public var margin: Float
    /// Distance at or below which two faces are the same person, and how it was chosen
    /// (e.g. "EER on held-out s5,s6,s7"); nil until validation or calibration ran.
    public var threshold: Float?
    public var thresholdMethod: String?
    public var training: TrainingSummary?
    /// How the training images were prepared (crops as given, or faces detected and aligned,
    /// and the alignment's geometry); nil in models made before it was recorded, which are
    /// taken as trained on crops. `--detect auto` follows it (``probePreparation(_:)``).
    public var preparation: FacePreparationRecord?
    /// The error rates of each distance on the calibration set (``ErrorRateTable``), stored by
    /// `calibrate` with the threshold; nil until then.
    public var errorRates: ErrorRateTable?

    /// `always` when the training images' faces were detected and aligned, `never` when the
    /// images were used as they were (and for models without a record).
    public var detect: FacePreparation { preparation?.detect ?? .never }

    public init(
        config: NetworkConfig, margin: Float = 2, threshold: Float? = nil, thresholdMethod: String? = nil,
        training: TrainingSummary? = nil, preparation: FacePreparationRecord? = nil
    ) {
        self.config = config
        self.preparation = preparation
        self.margin = margin
        self.threshold = threshold
        self.thresholdMethod = thresholdMethod
        self.training = training
    }
}

/// The facts of a training run, kept in the model file.
public struct TrainingSummary: Codable, Equatable, Sendable {
    public var data: String
    public var trainIdentities: Int
    public var trainImages: Int
    public var holdout: [String]
    public var epochs: Int
    /// The epoch whose weights were kept (the best validation EER), 1-based.
    public var bestEpoch: Int
    public var batchSize: Int
    public var learningRate: Float
    public var seed: UInt64
    /// Mean training loss of the last epoch run, and of the kept epoch.
    public var finalLoss: Float
    public var bestEpochLoss: Float
    public var validationEER: Double?
    public var validationAUC: Double?
    public var seconds: Double
    /// The recipe trained (`reference`, `default`); nil in files written before recipes were recorded.
    public var recipe: String?
    /// Restarts after a collapse of the embeddings (nil in older files).
    public var collapseRestarts: Int?
    /// The identities scored after every epoch to choose the kept epoch (given, or carved from
    /// the training identities); nil without validation and in older files.
    public var validation: [String]?
    /// The last epoch run: below `epochs` when training stopped early (nil in older files).
    public var epochsRun: Int?
    /// Epochs without a better validation EER after which training stops (nil: it ran every epoch).
    public var patience: Int?
    /// Pairs trained on, when the data was a pair dataset (nil for identity folders).
    public var trainPairs: Int?
    /// The validation pair list (a CSV, or a pair folder root's annos.csv), when there was one.
    public var validationPairs: String?
    /// The model file whose twin the run started from, and whether it stayed frozen.
    public var backbone: String?
    public var backboneFrozen: Bool?
    /// The backbone's weights' fingerprint (``FaceModel/fingerprint``), and with a fine-tuned
    /// (not frozen) dlib ResNet its learning rate as a share of `learningRate`.
    public var backboneFingerprint: String?
    public var backboneLearningRateScale: Float?
    /// The identity folders trained on, by name (natural order), so a later calibration or
    /// evaluation can tell them wherever it runs (nil in files that do not record them).
    public var trainedIdentities: [String]?

    public init(
        data: String, trainIdentities: Int, trainImages: Int, holdout: [String], epochs: Int, bestEpoch: Int,
        batchSize: Int, learningRate: Float, seed: UInt64, finalLoss: Float, bestEpochLoss: Float,
        validationEER: Double?, validationAUC: Double?, seconds: Double, recipe: String? = nil,
        collapseRestarts: Int? = nil
    ) {
        self.recipe = recipe
        self.collapseRestarts = collapseRestarts
        self.data = data
        self.trainIdentities = trainIdentities
        self.trainImages = trainImages
        self.holdout = holdout
        self.epochs = epochs
        self.bestEpoch = bestEpoch
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.seed = seed
        self.finalLoss = finalLoss
        self.bestEpochLoss = bestEpochLoss
        self.validationEER = validationEER
        self.validationAUC = validationAUC
        self.seconds = seconds
    }
}

extension ModelInfo {
    /// Whether and how a probe photo is detected and aligned before the network's resize, for
    /// `mode`: nil when photos are taken as they are (``ProbePreparation/init(record:mode:)`` of
    /// the model's preparation record).
    public func probePreparation(_ mode: FaceDetectionMode) -> ProbePreparation? {
        ProbePreparation(record: preparation, mode: mode)
    }
}
