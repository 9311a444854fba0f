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
        func fail(_ message: String) -> ModelFileError { ModelFileError(path: file.path, message) }
        guard file.metadata["format_version"] == dlibResNetFormatVersion else {
            throw fail(
                "dlib ResNet model format version \(file.metadata["format_version"] ?? "?") is not supported (this build reads \(dlibResNetFormatVersion))"
            )
        }
        guard let json = file.metadata["architecture"],
            let architecture = try? JSONDecoder().decode(DlibResNetArchitecture.self, from: Data(json.utf8))
        else {
            throw fail("dlib ResNet model with unreadable metadata (key \"architecture\")")
        }
        if let problem = architecture.problem() { throw fail("implausible network architecture: \(problem)") }
        for (name, shape) in architecture.stateShapes {
            guard file.contains(name) else { throw fail("not a dlib ResNet model: tensor \(name) is missing") }
            let actual: SafeTensorsFile.TensorInfo
            do { actual = try file.info(name) } catch { throw fail("\(error)") }
            guard actual.shape == shape else {
                throw fail("tensor \(name) has shape \(actual.shape), the architecture in the metadata needs \(shape)")
            }
            guard actual.dtype.isFloatingPoint else {
                throw fail("tensor \(name) holds \(actual.dtype), not floating-point weights")
            }
        }
        var landmarks: Data? = nil
        if file.contains(landmarkTensor) {
            let info: SafeTensorsFile.TensorInfo
            do { info = try file.info(landmarkTensor) } catch { throw fail("\(error)") }
            guard info.dtype == .uint8, info.shape.count == 1 else {
                throw fail("tensor \(landmarkTensor) should hold bytes (U8, one dimension), not \(info.dtype) \(info.shape)")
            }
            do { landmarks = try file.withUnsafeBytes(of: landmarkTensor) { Data($0) } } catch { throw fail("\(error)") }
        }
        var info: ModelInfo? = nil
        if let json = file.metadata["info"] {
            guard let decoded = try? JSONDecoder().decode(ModelInfo.self, from: Data(json.utf8)) else {
                throw fail("dlib ResNet model with unreadable metadata (key \"info\")")
            }
            info = decoded
        }
        let network = DlibResNet(architecture: architecture, seed: nil)
        let fingerprint = try loadWeights(into: network, from: file)
        // The input and embedding size come from the architecture, whatever `info` says.
        var modelInfo = info ?? .dlibResNet(network)
        modelInfo.config = network.config
        if modelInfo.threshold == nil {
            modelInfo.threshold = ModelInfo.dlibThreshold
            modelInfo.thresholdMethod = ModelInfo.dlibThresholdMethod
        }
        let model = FaceModel(network: network, info: modelInfo)
        model.source = file.metadata["source"]
        model.landmarkModel = landmarks
        if let recorded = file.metadata["fingerprint"], recorded.count == 64, recorded.allSatisfy(\.isHexDigit) {
            model.recordedFingerprint = recorded
        }
        model.cachedFingerprint = fingerprint
        return model
    }
}
