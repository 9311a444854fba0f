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
    /// How the training images were prepared: `always` when faces were detected and aligned
    /// (``FaceCropper``) before the usual resize, `never` (or nil, models made before this
    /// field) when the images were used as they were. `--detect auto` follows it.
    public var detect: FacePreparation?

    public init(
        config: NetworkConfig, margin: Float = 2, threshold: Float? = nil, thresholdMethod: String? = nil,
        training: TrainingSummary? = nil, detect: FacePreparation? = nil
    ) {
        self.config = config
        self.detect = detect
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
    /// Pairs trained on, when the data was a pair dataset (nil for identity folders).
    public var trainPairs: Int?
    /// The validation pair list (a CSV, or a pair folder root's annos.csv), when there was one.
    public var validationPairs: String?
    /// The model file whose twin the run started from, and whether it stayed frozen.
    public var backbone: String?
    public var backboneFrozen: Bool?

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

/// Whether images go through face detection and alignment before the usual preprocessing.
public enum FacePreparation: String, Codable, CaseIterable, Sendable {
    case never
    case always
}
