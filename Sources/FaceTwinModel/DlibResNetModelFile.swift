import Foundation

extension ModelInfo {
    /// dlib's verification threshold for its ResNet's descriptors (Euclidean distance), and how a
    /// ResNet model's threshold is described until `calibrate` replaces it.
    public static let dlibThreshold: Float = 0.6
    public static let dlibThresholdMethod = "dlib default (0.6)"

    /// What a ResNet model records before any calibration: its input, dlib's threshold.
    public static func dlibResNet(_ network: DlibResNet) -> ModelInfo {
        ModelInfo(config: network.config, threshold: dlibThreshold, thresholdMethod: dlibThresholdMethod)
    }
}

extension FaceModel {
    /// A ResNet model of `architecture` built in memory (weights from `seed`, as
    /// ``DlibResNet/init(architecture:seed:)``), with dlib's threshold.
    public convenience init(resnet: DlibResNet) {
        self.init(network: resnet, info: .dlibResNet(resnet))
    }

    /// Loads a `facetwin.dlib-resnet` file: the architecture from its metadata, checked
    /// (``DlibResNetArchitecture/problem()``), then every tensor it needs present with its shape
    /// and a floating-point dtype before anything is allocated, then the weights (finite values
    /// only) with the fingerprint computed as they are copied in. The `info` metadata, when
    /// present, gives the threshold and how it was chosen; without it, dlib's 0.6.
    static func loadDlibResNet(_ file: SafeTensorsFile) throws(ModelFileError) -> FaceModel {
        let (format, version, landmarkTensor, detectorTensor) = (
            DlibModelImport.format, DlibModelImport.formatVersion, DlibModelImport.landmarkTensor,
            DlibModelImport.detectorTensor
        )
        guard file.metadata["format_version"] == version else {
            throw ModelFileError(
                path: file.path,
                "\(format) model format version \(file.metadata["format_version"] ?? "?") is not supported (this build reads \(version))"
            )
        }
        guard let json = file.metadata["architecture"],
            let architecture = try? JSONDecoder().decode(DlibResNetArchitecture.self, from: Data(json.utf8))
        else {
            throw ModelFileError(path: file.path, "\(format) model with unreadable metadata (key \"architecture\")")
        }
        if let problem = architecture.problem() {
            throw ModelFileError(path: file.path, "implausible network architecture: \(problem)")
        }
        for (name, shape) in architecture.stateShapes {
            guard let actual = try? file.info(name) else {
                throw ModelFileError(path: file.path, "not a \(format) model: tensor \(name) is missing")
            }
            guard actual.shape == shape, actual.dtype.isFloatingPoint else {
                throw ModelFileError(
                    path: file.path,
                    "tensor \(name) is \(actual.dtype) \(actual.shape), the architecture in the metadata needs floating-point weights of shape \(shape)"
                )
            }
        }
        var landmarks: Data? = nil
        if file.contains(landmarkTensor) {
            guard let info = try? file.info(landmarkTensor), info.dtype == .uint8, info.shape.count == 1,
                let bytes = try? file.withUnsafeBytes(of: landmarkTensor, { Data($0) })
            else {
                throw ModelFileError(
                    path: file.path, "tensor \(landmarkTensor) should hold the landmark model's bytes (U8, one dimension)")
            }
            landmarks = bytes
        }
        var detector: Data? = nil
        if file.contains(detectorTensor) {
            guard let info = try? file.info(detectorTensor), info.dtype == .uint8, info.shape.count == 1,
                let bytes = try? file.withUnsafeBytes(of: detectorTensor, { Data($0) })
            else {
                throw ModelFileError(
                    path: file.path, "tensor \(detectorTensor) should hold the face detector's bytes (U8, one dimension)")
            }
            detector = bytes
        }
        var info: ModelInfo? = nil
        if let json = file.metadata["info"] {
            guard let decoded = try? JSONDecoder().decode(ModelInfo.self, from: Data(json.utf8)) else {
                throw ModelFileError(path: file.path, "\(format) model with unreadable metadata (key \"info\")")
            }
            info = decoded
        }
        let network = DlibResNet(checked: architecture, seed: nil)
        let fingerprint = try loadWeights(into: network, from: file)
        if let head = network.head {
            let variance = head.norm.runningVar.pointer[0]
            guard variance >= 0 else {
                throw ModelFileError(path: file.path, "tensor head.0.running_var holds a negative variance (\(variance))")
            }
        }
        // The input and embedding size come from the architecture, whatever `info` says.
        var modelInfo = info ?? .dlibResNet(network)
        modelInfo.config = network.config
        // dlib's threshold is for dlib's weights: a fine-tuned model (training recorded) keeps
        // the threshold its training chose, or none until calibrated.
        if modelInfo.threshold == nil, modelInfo.training == nil {
            modelInfo.threshold = ModelInfo.dlibThreshold
            modelInfo.thresholdMethod = ModelInfo.dlibThresholdMethod
        }
        let model = FaceModel(network: network, info: modelInfo)
        model.source = file.metadata["source"]
        model.landmarkModel = landmarks
        model.detectorModel = detector
        if let recorded = file.metadata["fingerprint"], recorded.count == 64, recorded.allSatisfy(\.isHexDigit) {
            model.recordedFingerprint = recorded
        }
        model.cachedFingerprint = fingerprint
        return model
    }
}
