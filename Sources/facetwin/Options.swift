import ArgumentParser
import FaceTwin
import Foundation

/// `--threshold T` of compare, verify and identify: a distance threshold that overrides the one
/// stored in the model, checked to be a finite number ≥ 0 before the command runs.
struct ThresholdOption: ParsableArguments {
    @Option(help: "Distance threshold (default: the one stored in the model).")
    var threshold: Float?

    func validate() throws {
        if let threshold, let problem = VerificationThreshold.problem(threshold) {
            throw ValidationError("--threshold: \(problem)")
        }
    }

    /// The threshold to judge with and where it came from: --threshold, else the one stored in
    /// `model` (loaded from `path`) with its recorded method.
    func resolve(for model: FaceModel, path: String) throws -> (value: Float, method: String) {
        if let threshold { return (threshold, "--threshold") }
        guard let stored = model.info.threshold else {
            throw CLIError("\(path): the model has no stored threshold; pass --threshold T or run facetwin calibrate first")
        }
        if let problem = VerificationThreshold.problem(stored) {
            throw CLIError("\(path): stored \(problem); pass --threshold T or run facetwin calibrate")
        }
        return (stored, model.info.thresholdMethod ?? "stored in the model")
    }
}

/// The network and training options of `train` and `crossval`: same names, defaults (the
/// recipe's: `--recipe` then the options that change it) and help in both.
extension HeadKind: ExpressibleByArgument {}

/// `--recipe`'s values: the recipes that train a twin from its seed (fine-tuning dlib's ResNet,
/// ``Recipe/resNetFineTune``, comes with --backbone).
enum RecipeChoice: String, ExpressibleByArgument, CaseIterable {
    case reference, `default`

    var recipe: Recipe { self == .reference ? .reference : .default }
    var config: NetworkConfig { self == .reference ? .reference : .default }
}

/// `--pairing`'s values.
enum PairingChoice: String, ExpressibleByArgument, CaseIterable {
    case batches, pairs
}

struct TrainingOptionsGroup: ParsableArguments {
    @Option(
        help:
            "The recipe: default (the best measured on unseen people) or reference (the PyTorch ORL tutorial, exactly). The options below change it."
    )
    var recipe: RecipeChoice = .default

    @Option(help: "Training epochs; an epoch is as many pairs as there are training images (default 50).")
    var epochs: Int?

    @Option(help: "Pairs per training step (default 32).")
    var batch: Int?

    @Option(help: "Peak learning rate (default: 2e-3 default recipe, 5e-4 reference).")
    var lr: Float?

    @Option(help: "Contrastive loss margin (default 2).")
    var margin: Float?

    @Option(help: "Input image size: N for N×N, or WxH (default: 64 default recipe, 100 reference).")
    var size: String?

    @Option(help: "Output channels of the convolution blocks, comma-separated (default: 16,32,64,64 / 4,8,8).")
    var channels: String?

    @Option(help: "Hidden widths of the fully connected layers, comma-separated; \"\" for none (default: none / 500,500).")
    var hidden: String?

    @Option(help: "Embedding size (default: 64 / 5).")
    var embedding: Int?

    @Flag(help: "Invert pixel values (1 − x) before the network sees them.")
    var invert = false

    @Flag(help: "Colour input: three channels (RGB; grey photos give three equal channels).")
    var color = false

    @Option(
        help:
            "Pair score: distance (a threshold on the embedding distance) or sigmoid (distance → BatchNorm → Dense(1) → sigmoid, small for similar, contrastive margin 1 on it, decision at 0.5)."
    )
    var head: HeadKind = .distance

    @Flag(help: "No augmentation of training images (the default recipe augments them).")
    var noAugment = false

    @Option(
        help:
            "How pairs are drawn: batches (identities × 4 images, mined balanced pairs; default recipe) or pairs (each drawn on its own; reference)."
    )
    var pairing: PairingChoice?

    @Option(help: "Share of a batch's impostor pairs that are its hardest, with --pairing batches (default 0.5).")
    var hardShare: Double?

    @Option(help: "AdamW weight decay (default: 1e-4 default recipe, 0 reference).")
    var weightDecay: Float?

    @Option(help: "Epochs of learning-rate warm-up (default: 2 default recipe, 0 reference).")
    var warmup: Int?

    @Flag(
        inversion: .prefixedNo, help: "Cosine decay of the learning rate (default: on for the default recipe, off for reference)."
    )
    var cosine: Bool?

    @Flag(inversion: .prefixedNo, help: "Standardise each image (default: on for the default recipe, off for reference).")
    var standardize: Bool?

    @Flag(inversion: .prefixedNo, help: "Average each embedding with its mirror image's (default: on for the default recipe).")
    var mirror: Bool?

    @Option(help: "Max pooling window after each block, 0 for none (default: 2 default recipe, 0 reference).")
    var pool: Int?

    @Option(help: "L2-normalise embeddings to this length, 0 for raw embeddings (default: 1 default recipe, 0 reference).")
    var embeddingScale: Float?

    @Option(
        help:
            "Share of the training identities held out (seeded, at least 2) to choose the kept epoch and stop early; 0 for none (train: ignored with --holdout)."
    )
    var validationShare: Double?

    @Option(help: "With validation, stop after this many epochs without a better validation EER; 0 to run every epoch.")
    var patience: Int?

    @Option(
        help:
            "Fraction of each side of every image cut off before the resize, 0 to 0.25 (default 0): the network sees the face without the crop's border, where a photo's background differs most from the training crops'."
    )
    var inset: Double?

    /// Every number within `NetworkConfig.limits` (the bounds the model loader applies too), and
    /// the network small enough to train: a hostile number is refused here, before anything is
    /// allocated or any data read.
    func validate() throws {
        let l = NetworkConfig.limits
        func check<T: Comparable>(_ value: T, _ range: ClosedRange<T>, _ option: String) throws {
            guard range.contains(value) else {
                throw ValidationError("\(option) must be between \(range.lowerBound) and \(range.upperBound) (got \(value))")
            }
        }
        let o = trainingOptions(seed: 0)
        try check(o.epochs, l.epochs, "--epochs")
        try check(o.batchSize, l.batch, "--batch")
        guard o.learningRate.isFinite else { throw ValidationError("--lr must be a finite number (got \(o.learningRate))") }
        try check(o.learningRate, l.learningRate, "--lr")
        guard o.margin.isFinite else { throw ValidationError("--margin must be a finite number (got \(o.margin))") }
        try check(o.margin, l.margin, "--margin")
        func between(_ r: ClosedRange<Double>) -> String {
            "between \(NetworkConfig.bound(r.lowerBound)) and \(NetworkConfig.bound(r.upperBound))"
        }
        if let hardShare, !l.hardShare.contains(hardShare) {
            throw ValidationError("--hard-share must be \(between(l.hardShare)) (got \(hardShare))")
        }
        if let weightDecay, !l.allowsWeightDecay(weightDecay, learningRate: o.learningRate) {
            throw ValidationError("--weight-decay must be between 0 and 1/--lr (got \(weightDecay))")
        }
        if let warmup { try check(warmup, 0...o.epochs, "--warmup") }
        if let pool { try check(pool, l.pool, "--pool") }
        if let validationShare, !l.validationShare.contains(validationShare) {
            throw ValidationError("--validation-share must be \(between(l.validationShare)) (got \(validationShare))")
        }
        if let patience { try check(patience, l.patience, "--patience") }
        if let inset, !l.inset.contains(inset) {
            throw ValidationError("--inset must be \(between(l.inset)) (got \(inset))")
        }
        if let embeddingScale, !l.embeddingScale.contains(embeddingScale) {
            let r = l.embeddingScale
            throw ValidationError(
                "--embedding-scale must be \(between(Double(r.lowerBound)...Double(r.upperBound))) (got \(embeddingScale))")
        }
        let config = try networkConfig()
        // The model must also load: every command embeds NetworkLimits.inferenceBatch images at once.
        if let problem = config.problem(batch: o.batchSize, training: true) ?? config.problem() {
            throw ValidationError("--size/--channels/--hidden/--embedding/--batch: \(problem)")
        }
    }

    /// The network these options describe (the parsing of `train`).
    func networkConfig() throws -> NetworkConfig {
        let l = NetworkConfig.limits
        func ints(_ s: String, _ what: String, each: ClosedRange<Int>, count: ClosedRange<Int>) throws -> [Int] {
            let items = CommaList.items(s)
            let parts = items.compactMap { Int($0) }
            guard parts.count == items.count, parts.allSatisfy(each.contains)
            else {
                throw ValidationError(
                    "\(what) must be integers from \(each.lowerBound) to \(each.upperBound) separated by commas (got \"\(s.prefix(60))\")"
                )
            }
            guard count.contains(parts.count) else {
                throw ValidationError("\(what) takes \(count.lowerBound) to \(count.upperBound) values (got \(parts.count))")
            }
            return parts
        }
        let base = recipe.config
        let size =
            self.size ?? (base.inputWidth == base.inputHeight ? "\(base.inputWidth)" : "\(base.inputWidth)x\(base.inputHeight)")
        let channels = self.channels ?? base.channels.map(String.init).joined(separator: ",")
        let hidden = self.hidden ?? base.hidden.map(String.init).joined(separator: ",")
        let embedding = self.embedding ?? base.embeddingSize
        let dims = size.lowercased().split(separator: "x", omittingEmptySubsequences: false).compactMap { Int($0) }
        let sides = max(3, l.side.lowerBound)...l.side.upperBound
        guard (1...2).contains(dims.count),
            dims.count == size.lowercased().split(separator: "x", omittingEmptySubsequences: false).count,
            dims.allSatisfy(sides.contains)
        else {
            throw ValidationError(
                "--size must be N or WxH with sides from \(sides.lowerBound) to \(sides.upperBound) (got \"\(size.prefix(60))\")")
        }
        let width = dims[0], height = dims.count == 2 ? dims[1] : dims[0]
        guard l.embedding.contains(embedding) else {
            throw ValidationError(
                "--embedding must be between \(l.embedding.lowerBound) and \(l.embedding.upperBound) (got \(embedding))")
        }
        var config = base
        config.inputHeight = height
        config.inputWidth = width
        config.channels = try ints(channels, "--channels", each: l.channels, count: l.blocks)
        config.hidden = hidden.isEmpty ? [] : try ints(hidden, "--hidden", each: l.hiddenWidth, count: l.hiddenLayers)
        config.embeddingSize = embedding
        config.invert = invert
        config.inputChannels = color ? 3 : 1
        config.head = head
        if let standardize { config.standardize = standardize }
        if let mirror { config.mirrorAverage = mirror }
        if let pool { config.pool = pool }
        if let embeddingScale { config.embeddingScale = embeddingScale > 0 ? embeddingScale : nil }
        if let inset { config.inputInset = inset > 0 ? inset : nil }
        return config
    }

    /// The twin-layer options given (`--size`, `--channels`, …): they describe a twin, not dlib's ResNet.
    var twinLayerOptions: [String] {
        let given: [(String, Bool)] = [
            ("--size", size != nil), ("--channels", channels != nil), ("--hidden", hidden != nil),
            ("--embedding", embedding != nil), ("--invert", invert), ("--color", color), ("--standardize", standardize != nil),
            ("--mirror", mirror != nil), ("--pool", pool != nil), ("--embedding-scale", embeddingScale != nil),
            ("--inset", inset != nil)
        ]
        return given.filter(\.1).map(\.0)
    }

    /// The recipe's training options (or `base`'s) with the options given.
    func trainingOptions(seed: UInt64, base: TrainingOptions? = nil) -> TrainingOptions {
        var o = base ?? recipe.recipe.options
        o.epochs = epochs ?? o.epochs
        o.batchSize = batch ?? o.batchSize
        o.learningRate = lr ?? o.learningRate
        o.margin = margin ?? (head == .sigmoid ? 1 : o.margin)
        o.seed = seed
        if noAugment { o.augmentation = .none }
        switch pairing {
        case .pairs: o.pairing = .balancedPairs
        case .batches: o.pairing = .identityBatches(imagesPerIdentity: 4, hardShare: hardShare ?? 0.5)
        case nil:
            if case .identityBatches(let k, let share) = o.pairing {
                o.pairing = .identityBatches(imagesPerIdentity: k, hardShare: hardShare ?? share)
            }
        }
        o.weightDecay = weightDecay ?? o.weightDecay
        o.warmupEpochs = warmup ?? o.warmupEpochs
        o.cosineDecay = cosine ?? o.cosineDecay
        o.validationShare = validationShare ?? o.validationShare
        o.patience = patience ?? o.patience
        return o
    }
}

extension FaceDetectionMode: ExpressibleByArgument {}

/// `--detect auto|always|never` and `--faces largest|refuse` of enroll, verify, identify,
/// compare and evaluate: run face detection and alignment (as `facetwin detect`) before the
/// usual preprocessing. `never` uses the photos as they are (crops); `auto` prepares them as
/// the model file records its training images were (ModelInfo.probePreparation). In every mode
/// a blank image, or one taken as a crop in which no face is found, is refused (FaceCheck).
struct DetectOptionsGroup: ParsableArguments {
    @Option(
        help:
            "Face detection and alignment before preprocessing: auto (as the model's training images were prepared: a model trained on crops takes photos of its crops' size as crops and detects and aligns faces in any other), always, never (photos are crops). An image taken as a crop is used as it is once a face is found in it; a blank image or one without a face is refused."
    )
    var detect: FaceDetectionMode = .auto

    @Option(help: "A photo with several faces: refuse it, or keep the largest (with detection).")
    var faces: MultiFacePolicy = .refuse

    @Option(help: "Landmark model for detection (dlib's 68-point shape predictor).")
    var landmarks: String = FaceDetector.defaultLandmarkModel

    func validate() throws {
        if faces == .all { throw ValidationError("--faces all is for facetwin detect; here use largest or refuse") }
    }

    /// Sets `model.facePreparer`: its images are then checked for a face and, when detection is
    /// on for this model, detected and aligned to the geometry the model records (ORL's crops by
    /// default) before being resized.
    ///
    /// The detector's landmark model is loaded when the first photo needs aligning: photos that
    /// pass as crops never load it. `always` loads it here, so a missing landmark model is
    /// reported before any photo is read.
    func apply(to model: FaceModel) throws {
        do {
            model.facePreparer = try model.preparer(for: .detect(detect, faces: faces, landmarks: landmarks))
        } catch .noLandmarkModel {
            throw CLIError(
                "the model file carries no landmark model (landmarks.shape_predictor_5) to align photos with: convert it again with facetwin import-dlib, or give --detect never for images that are chips already"
            )
        }
        if detect == .always, model.resnet == nil { _ = try model.facePreparer?.cropper() }
    }
}

/// `--detect`, `--faces` and `--landmarks` of train: how the training images are prepared,
/// recorded in the model file.
struct TrainDetectOptionsGroup: ParsableArguments {
    @Option(
        help:
            "How the training images are prepared: never or auto (they are face crops, used as they are), always (faces detected and aligned to ORL's eye positions; images without a usable face are left out). Recorded in the model; --detect auto on probes follows it."
    )
    var detect: FaceDetectionMode = .auto

    @Option(help: "A training photo with several faces (with --detect always): refuse it (left out), or keep the largest.")
    var faces: MultiFacePolicy = .refuse

    @Option(help: "Landmark model for detection (dlib's 68-point shape predictor).")
    var landmarks: String = FaceDetector.defaultLandmarkModel

    func validate() throws {
        if faces == .all { throw ValidationError("--faces all is for facetwin detect; here use largest or refuse") }
    }

    /// The preparer of the training images, nil for crops.
    func preparer() throws -> FacePreparer? {
        guard detect == .always else { return nil }
        return FacePreparer(cropper: FaceCropper(detector: try FaceDetector(landmarkModel: landmarks), policy: faces))
    }
}
