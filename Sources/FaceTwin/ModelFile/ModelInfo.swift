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

/// Whether images go through face detection and alignment before the usual preprocessing.
public enum FacePreparation: String, Codable, CaseIterable, Sendable {
    case never
    case always
}

/// A width and height in pixels.
public struct ImageSize: Codable, Equatable, Hashable, Sendable, CustomStringConvertible {
    public var width: Int
    public var height: Int
    public init(width: Int, height: Int) { self.width = width; self.height = height }
    public var description: String { "\(width)×\(height)" }
}

/// How a model's training images were prepared, recorded in the model file.
///
/// - `detect == .never`: the images were used as they were (face crops, such as ORL's).
///   `cropSize` is the one size they all had (nil when sizes varied). The alignment geometry
///   is where probes detected in whole photos are aligned to: ORL's measured eye positions
///   (``FaceAligner/orlLeftEye``) in a crop of `cropSize`, unless given otherwise.
/// - `detect == .always`: every training image went through face detection and alignment
///   with this geometry and multi-face policy; images without a usable face were left out
///   (`failedToAcquire` of them).
public struct FacePreparationRecord: Codable, Equatable, Sendable {
    public var detect: FacePreparation
    /// The size every training image had as given (crops), nil when they varied.
    public var cropSize: ImageSize?
    /// The aligned crop's size and where the eyes are put in it (fractions of width, height;
    /// the eye on the image's left first).
    public var alignedSize: ImageSize
    public var leftEye: ImagePoint
    public var rightEye: ImagePoint
    /// With detection: the multi-face policy and the training images left out without a face.
    public var faces: MultiFacePolicy?
    public var failedToAcquire: Int?

    public init(
        detect: FacePreparation, cropSize: ImageSize? = nil, aligner: FaceAligner = FaceAligner(),
        faces: MultiFacePolicy? = nil, failedToAcquire: Int? = nil
    ) {
        self.detect = detect
        self.cropSize = cropSize
        self.alignedSize = ImageSize(width: aligner.width, height: aligner.height)
        self.leftEye = aligner.leftEye
        self.rightEye = aligner.rightEye
        self.faces = faces
        self.failedToAcquire = failedToAcquire
    }

    /// The aligner that makes crops like the training images.
    public var aligner: FaceAligner {
        FaceAligner(width: alignedSize.width, height: alignedSize.height, leftEye: leftEye, rightEye: rightEye)
    }

    /// One line for `facetwin info`.
    public var description: String {
        let eyes = String(format: "eyes at (%.3f, %.3f) and (%.3f, %.3f)", leftEye.x, leftEye.y, rightEye.x, rightEye.y)
        switch detect {
        case .never:
            let size = cropSize.map { "crops of \($0)" } ?? "crops of several sizes"
            return "\(size) as given; photos of another size are detected and aligned to \(alignedSize), \(eyes)"
        case .always:
            var text = "faces detected and aligned to \(alignedSize), \(eyes)"
            if let faces { text += "; several faces: \(faces.rawValue)" }
            if let failedToAcquire { text += "; \(failedToAcquire) training image(s) without a usable face left out" }
            return text
        }
    }
}

/// `--detect`: whether photos go through face detection and alignment.
public enum FaceDetectionMode: String, Codable, CaseIterable, Sendable {
    /// As the model's training images were prepared (``ModelInfo/probePreparation(_:)``).
    case auto
    case always
    case never
}

/// How probes are to be prepared for a model: detected and aligned by `aligner`, except images
/// of exactly `passThroughSize`, which are taken as crops as they are.
public struct ProbePreparation: Equatable, Sendable {
    public var aligner: FaceAligner
    public var passThroughSize: ImageSize?
}

extension ModelInfo {
    /// Whether and how a probe photo is detected and aligned before the network's resize, for
    /// `--detect mode`: nil when photos are taken as they are.
    ///
    /// `never`: nil. `always`: detection, aligned as the record says (ORL's geometry without a
    /// record). `auto`: the same preparation as the training images had: detection for a model
    /// trained on detected faces; for a model trained on crops of one size, images of that size
    /// are taken as crops and any other photo is detected and aligned to the crops' geometry;
    /// nil for a model without a record or trained on crops of several sizes.
    public func probePreparation(_ mode: FaceDetectionMode) -> ProbePreparation? {
        let aligner = preparation?.aligner ?? FaceAligner()
        switch mode {
        case .never: return nil
        case .always: return ProbePreparation(aligner: aligner, passThroughSize: nil)
        case .auto:
            guard let preparation else { return nil }
            switch preparation.detect {
            case .always: return ProbePreparation(aligner: aligner, passThroughSize: nil)
            case .never:
                guard let size = preparation.cropSize else { return nil }
                return ProbePreparation(aligner: aligner, passThroughSize: size)
            }
        }
    }
}
