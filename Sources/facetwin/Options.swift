import ArgumentParser
import FaceTwin
import Foundation

/// `--threshold T` of compare, verify and identify: a distance threshold that overrides the one
/// stored in the model, checked to be a finite number ≥ 0 before the command runs.
struct ThresholdOption: ParsableArguments {
    @Option(help: "Distance threshold (default: the one stored in the model).")
    var threshold: Float?

    func validate() throws {
        if let threshold, !(threshold.isFinite && threshold >= 0) {
            throw ValidationError("--threshold must be a number ≥ 0 (got \(threshold))")
        }
    }

    /// The threshold to judge with and where it came from: --threshold, else the one stored in
    /// `model` (loaded from `path`) with its recorded method.
    func resolve(for model: FaceModel, path: String) throws -> (value: Float, method: String) {
        if let threshold { return (threshold, "--threshold") }
        guard let stored = model.info.threshold else {
            throw CLIError("\(path): the model has no stored threshold; pass --threshold T or run facetwin calibrate first")
        }
        return (stored, model.info.thresholdMethod ?? "stored in the model")
    }
}

/// The network and training options of `train` and `crossval`: same names, defaults (the
/// reference recipe) and help in both.
struct TrainingOptionsGroup: ParsableArguments {
    @Option(help: "Training epochs; an epoch is as many pairs as there are training images.")
    var epochs: Int = 50

    @Option(help: "Pairs per training step.")
    var batch: Int = 32

    @Option(help: "Adam learning rate.")
    var lr: Float = 5e-4

    @Option(help: "Contrastive loss margin.")
    var margin: Float = 2

    @Option(help: "Input image size: N for N×N, or WxH.")
    var size: String = "100"

    @Option(help: "Output channels of the convolution blocks, comma-separated.")
    var channels: String = "4,8,8"

    @Option(help: "Hidden widths of the fully connected layers, comma-separated.")
    var hidden: String = "500,500"

    @Option(help: "Embedding size.")
    var embedding: Int = 5

    @Flag(help: "Invert pixel values (1 − x) before the network sees them.")
    var invert = false

    func validate() throws {
        _ = try networkConfig()
        guard epochs > 0 else { throw ValidationError("--epochs must be at least 1") }
        guard batch > 1 else { throw ValidationError("--batch must be at least 2 (BatchNorm needs two pairs)") }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be positive") }
        guard margin > 0, margin.isFinite else { throw ValidationError("--margin must be positive") }
    }

    /// The network these options describe (the parsing of `train`).
    func networkConfig() throws -> NetworkConfig {
        func ints(_ s: String, _ what: String) throws -> [Int] {
            let parts = s.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? 0) > 0 }) else {
                throw ValidationError("\(what) must be positive integers separated by commas (got \"\(s)\")")
            }
            return parts.map { $0! }
        }
        let dims = size.lowercased().split(separator: "x").map { Int($0) }
        guard (1...2).contains(dims.count), dims.allSatisfy({ ($0 ?? 0) >= 3 }) else {
            throw ValidationError("--size must be N or WxH with sides of at least 3 (got \"\(size)\")")
        }
        let width = dims[0]!, height = dims.count == 2 ? dims[1]! : dims[0]!
        guard embedding > 0 else { throw ValidationError("--embedding must be positive") }
        return NetworkConfig(inputHeight: height, inputWidth: width, channels: try ints(channels, "--channels"),
                             hidden: hidden.isEmpty ? [] : try ints(hidden, "--hidden"), embeddingSize: embedding, invert: invert)
    }

    func trainingOptions(seed: UInt64) -> TrainingOptions {
        TrainingOptions(epochs: epochs, batchSize: batch, learningRate: lr, margin: margin, seed: seed)
    }
}

/// `--detect` of the commands that read face photos by path.
enum DetectMode: String, CaseIterable, ExpressibleByArgument {
    /// What the model records (ModelInfo.detect; `never` for models without it).
    case auto
    case always
    case never
}

/// `--detect auto|always|never` and `--faces largest|refuse` of enroll, verify, identify and
/// compare: run face detection and alignment (as `facetwin detect`) before the usual
/// preprocessing. `never` uses the photos as they are (crops); `auto` follows the model file.
struct DetectOptionsGroup: ParsableArguments {
    @Option(help: "Face detection and alignment before preprocessing: auto (as the model's training images were prepared), always, never (photos are crops).")
    var detect: DetectMode = .auto

    @Option(help: "A photo with several faces: refuse it, or keep the largest (with detection).")
    var faces: MultiFacePolicy = .refuse

    @Option(help: "Landmark model for detection (dlib's 68-point shape predictor).")
    var landmarks: String = FaceDetector.defaultLandmarkModel

    func validate() throws {
        if faces == .all { throw ValidationError("--faces all is for facetwin detect; here use largest or refuse") }
    }

    /// Whether detection runs for `model`.
    func isOn(for model: FaceModel) -> Bool {
        switch detect {
        case .always: return true
        case .never: return false
        case .auto: return model.info.detect == .always
        }
    }

    /// Sets `model.faceCropper` when detection is on: its images are then detected and aligned
    /// to the ORL crop geometry (92×112, the eyes where ORL has them) before being resized.
    func apply(to model: FaceModel) throws {
        guard isOn(for: model) else { return }
        model.faceCropper = FaceCropper(detector: try FaceDetector(landmarkModel: landmarks), policy: faces)
    }
}
