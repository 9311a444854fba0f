import Foundation

/// A face-embedding network with what it needs to be used: its configuration, training facts
/// and threshold. The network is FaceTwin's twin (``SiameseNetwork``, stored as safetensors
/// with PyTorch's state-dict names, so the same file loads with `safetensors.torch.load_file`
/// into the PyTorch reference network) or dlib's pretrained ResNet (``DlibResNet``, format
/// `facetwin.dlib-resnet`, written by `facetwin import-dlib`).
public final class FaceModel {
    package let network: any EmbeddingNetwork
    public var info: ModelInfo
    /// The twin, for what only it does (training, its layers' options); nil for a ResNet model.
    public var siamese: SiameseNetwork? { network as? SiameseNetwork }
    /// dlib's ResNet, for a model of that format.
    public var resnet: DlibResNet? { network as? DlibResNet }
    /// A ResNet model's `source` metadata (where its weights came from, their hash and
    /// licence), written back on save.
    public var source: String?
    /// The landmark model a ResNet model file carries for its chips' alignment (the bytes of
    /// dlib's `shape_predictor_5_face_landmarks.dat`, tensor `landmarks.shape_predictor_5`),
    /// written back on save.
    public var landmarkModel: Data?
    /// The face detector a ResNet model file carries (dlib's serialization of libdlib's frontal
    /// face detector, tensor `detector.frontal_face`), written back on save; without it, libdlib's
    /// own copy is used.
    public var detectorModel: Data?
    /// When set, images given by path are run through face detection and alignment before
    /// the usual preprocessing (``prepareImage(at:)``). Not saved with the model; see
    /// ``ModelInfo/preparation`` for what the model records.
    public var facePreparer: FacePreparer?
    /// The weights' fingerprint as recorded in the file it was loaded from or last saved to: a
    /// hint, never trusted (`fingerprint` is computed). Whoever changes the weights in place must
    /// reset it (setting it also forgets the computed one).
    public var recordedFingerprint: String? {
        didSet { cachedFingerprint = nil }
    }
    /// `fingerprint`, once computed from the weights.
    var cachedFingerprint: String?

    /// The `format` metadata value that marks a FaceTwin model file.
    public static let format = "facetwin.siamese"
    public static let formatVersion = "1"

    package init(network: any EmbeddingNetwork, info: ModelInfo) {
        self.network = network
        self.info = info
    }

    public var config: NetworkConfig { network.config }

    // MARK: Loading

    /// Loads a model file: FaceTwin's own (configuration from its metadata), or a PyTorch state
    /// dict of the reference architecture saved with safetensors (configuration read off the tensor
    /// shapes; the input is taken as square).
    ///
    /// Photos given by path are then prepared as `preparation` says (``facePreparer``): by
    /// default as the model records (``PhotoPreparation/asRecorded``), so a photo without a face,
    /// a blank frame or one with several faces is refused with an ``ImageError``; `.none` uses
    /// them as they are.
    /// - Throws: ``ModelFileError`` when the file cannot be read as a model, or when
    ///   `preparation` detects faces for a ResNet model file without its landmark model.
    public static func load(path: String, preparation: PhotoPreparation = .asRecorded) throws(ModelFileError)
        -> FaceModel
    {
        let model = try read(path: path)
        do { model.facePreparer = try model.preparer(for: preparation) } catch {
            throw ModelFileError(path: path, error.description)
        }
        return model
    }

    private static func read(path: String) throws(ModelFileError) -> FaceModel {
        let file: SafeTensorsFile
        do {
            file = try SafeTensorsFile(path: path)
        } catch let e as SafeTensorsError {
            switch e.problem {
            case .io(let operation, let message): throw ModelFileError(path: path, "cannot \(operation): \(message)")
            default: throw ModelFileError(path: path, "not a model file: \(Self.problemText(e))")
            }
        } catch {
            throw ModelFileError(path: path, "not a model file: \(error)")
        }
        if file.metadata["format"] == DlibModelImport.format { return try loadDlibResNet(file) }
        let info: ModelInfo
        if file.metadata["format"] == format {
            guard let json = file.metadata["info"], let decoded = try? JSONDecoder().decode(ModelInfo.self, from: Data(json.utf8))
            else {
                throw ModelFileError(path: path, "FaceTwin model with unreadable metadata (key \"info\")")
            }
            if file.metadata["format_version"] != formatVersion {
                throw ModelFileError(
                    path: path,
                    "FaceTwin model format version \(file.metadata["format_version"] ?? "?") is not supported (this build reads \(formatVersion))"
                )
            }
            info = decoded
        } else {
            info = ModelInfo(config: try inferConfig(file))
        }
        try validate(info.config, against: file)
        // Under an address-space limit the weights must fit beside the mapped file.
        let weightBytes = 4 * info.config.stateShapes.reduce(0.0) { $0 + Double($1.shape.reduce(1, *)) }
        if let shortfall = AddressSpace.shortfall(weightBytes) { throw ModelFileError(path: path, "cannot load: \(shortfall)") }
        let network = SiameseNetwork(config: info.config, seed: nil)
        let fingerprint = try loadWeights(into: network, from: file)
        try checkComputable(network, path: path)
        // A loaded model is used, not trained: sustained embedding may take the sparse product.
        network.freezeForInference()
        let model = FaceModel(network: network, info: info)
        if let recorded = file.metadata["fingerprint"], recorded.count == 64, recorded.allSatisfy(\.isHexDigit) {
            model.recordedFingerprint = recorded
        }
        model.cachedFingerprint = fingerprint  // computed from the weights as they were loaded
        return model
    }

    /// Finite weights that still cannot compute a meaningful score: a BatchNorm running
    /// variance below zero (its square root is NaN), or a sigmoid head whose score falls as the
    /// distance grows (a plain PyTorch head with w·γ ≤ 0: an inverted scorer).
    private static func checkComputable(_ network: SiameseNetwork, path: String) throws(ModelFileError) {
        for (name, tensor) in network.stateTensors where name.hasSuffix("running_var") {
            if let i = (0..<tensor.count).first(where: { tensor.pointer[$0] < 0 }) {
                throw ModelFileError(
                    path: path, "tensor \(name) holds a negative variance (\(tensor.pointer[i]) at element \(i))")
            }
        }
        if let head = network.head, !(head.slope > 0) {
            throw ModelFileError(
                path: path,
                "the sigmoid head's score does not rise with the distance (BatchNorm weight × Dense weight = \(head.slope)): an inverted scorer"
            )
        }
    }

    /// Shapes of a PyTorch reference-architecture state dict → configuration.
    private static func inferConfig(_ file: SafeTensorsFile) throws(ModelFileError) -> NetworkConfig {
        func fail(_ m: String) -> ModelFileError {
            ModelFileError(path: file.path, "not a FaceTwin or reference-architecture model: \(m)")
        }
        func shape(_ name: String) throws(ModelFileError) -> [Int]? {
            guard file.contains(name) else { return nil }
            do { return try file.shape(of: name) } catch { throw fail("\(error)") }
        }
        var channels: [Int] = []
        var inputChannels = 1
        var index = 1
        while let s = try shape("cnn1.\(index).weight") {
            guard s.count == 4, s[2] == 3, s[3] == 3 else {
                throw fail("cnn1.\(index).weight has shape \(s), expected [out, in, 3, 3]")
            }
            if index == 1 { inputChannels = s[1] }
            channels.append(s[0])
            index += 4
        }
        var widths: [Int] = []
        var inFeatures: Int? = nil
        index = 0
        while let s = try shape("fc1.\(index).weight") {
            guard s.count == 2 else { throw fail("fc1.\(index).weight has shape \(s)") }
            if inFeatures == nil { inFeatures = s[1] }
            widths.append(s[0])
            index += 2
        }
        guard !channels.isEmpty, let flat = inFeatures, let embedding = widths.last else {
            throw fail("no cnn1.1.weight / fc1.0.weight tensors")
        }
        guard let lastChannels = channels.last, lastChannels > 0, flat > 0 else {
            throw fail("cnn1 ends with \(channels.last ?? 0) channels and fc1.0 takes \(flat) features")
        }
        let pixels = flat / lastChannels
        let side = Int(Double(pixels).squareRoot().rounded())
        guard side * side * lastChannels == flat else {
            throw fail("fc1.0 takes \(flat) features, not \(lastChannels) channels of a square image")
        }
        var config = NetworkConfig(
            inputHeight: side, inputWidth: side, channels: channels, hidden: Array(widths.dropLast()),
            embeddingSize: embedding, inputChannels: inputChannels, head: file.contains("head.1.weight") ? .sigmoid : .distance)
        // A plain PyTorch state dict holds the head's parameters as they are used.
        config.monotoneHead = config.head != .sigmoid
        return config
    }

    /// The configuration within ``NetworkConfig/limits``, and every tensor it needs present in
    /// the file with its shape, before anything is allocated: the metadata cannot make the
    /// network bigger than the weights the file actually holds.
    private static func validate(_ c: NetworkConfig, against file: SafeTensorsFile) throws(ModelFileError) {
        if let problem = c.problem() {
            throw ModelFileError(path: file.path, "implausible network configuration: \(problem)")
        }
        for (name, shape) in c.stateShapes {
            guard file.contains(name) else {
                throw ModelFileError(path: file.path, "not a FaceTwin model: tensor \(name) is missing")
            }
            let actual: SafeTensorsFile.TensorInfo
            do { actual = try file.info(name) } catch { throw ModelFileError(path: file.path, "\(error)") }
            guard actual.shape == shape else {
                throw ModelFileError(
                    path: file.path, "tensor \(name) has shape \(actual.shape), the network the metadata describes needs \(shape)"
                )
            }
            guard actual.dtype.isFloatingPoint else {
                throw ModelFileError(path: file.path, "tensor \(name) holds \(actual.dtype), not floating-point weights")
            }
        }
    }

    static func problemText(_ e: SafeTensorsError) -> String {
        let d = e.description
        return d.hasPrefix(e.path + ": ") ? String(d.dropFirst(e.path.count + 2)) : d
    }

    // MARK: Saving

    /// Writes the model atomically through `OutputFile`: to a temporary file beside `path`,
    /// then renamed over it.
    public func save(to path: String) throws(ModelFileError) {
        let file = try stage(to: path)
        defer { file.discard() }
        do { try file.commit() } catch { throw ModelFileError(path: path, "cannot write model: \(error.message)") }
    }

    /// Writes the model into a temporary file beside `path` (see ``OutputFile/stage(_:)``)
    /// without renaming it into place: the caller commits it, e.g. after a companion file.
    package func stage(to path: String) throws(ModelFileError) -> StagedFile {
        var writer = SafeTensorsWriter()
        var metadata = ["format": Self.format, "format_version": Self.formatVersion]
        if let siamese {
            Self.addState(of: siamese, to: &writer)
        } else {
            for (name, tensor) in network.stateTensors {
                let bytes = Data(
                    bytesNoCopy: UnsafeMutableRawPointer(tensor.pointer), count: tensor.count * 4, deallocator: .none)
                writer.add(name, dtype: .float32, shape: tensor.shape, bytes: bytes)
            }
            if let landmarkModel {
                writer.add(DlibModelImport.landmarkTensor, dtype: .uint8, shape: [landmarkModel.count], bytes: landmarkModel)
            }
            if let detectorModel {
                writer.add(DlibModelImport.detectorTensor, dtype: .uint8, shape: [detectorModel.count], bytes: detectorModel)
            }
            metadata = ["format": DlibModelImport.format, "format_version": DlibModelImport.formatVersion]
            if let resnet { metadata["architecture"] = resnet.architecture.json }
            if let source { metadata["source"] = source }
        }
        let json: String
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            json = String(decoding: try encoder.encode(info), as: UTF8.self)
        } catch {
            throw ModelFileError(path: path, "cannot encode metadata: \(error)")
        }
        let fingerprint = computeFingerprint()
        metadata["info"] = json
        metadata["fingerprint"] = fingerprint
        writer.metadata = metadata
        let file: StagedFile
        do {
            file = try OutputFile.stage(path)
        } catch {
            throw ModelFileError(path: path, "cannot write model: \(error.message)")
        }
        do {
            try writer.write(into: file)
        } catch let e as SafeTensorsError {
            file.discard()
            throw ModelFileError(path: path, "cannot write model: \(Self.problemText(e))")
        } catch {
            file.discard()
            throw ModelFileError(path: path, "cannot write model: \(error)")
        }
        recordedFingerprint = fingerprint  // the weights' hash, as the staged file records it
        cachedFingerprint = fingerprint
        return file
    }

    /// The twin's state dict, each tensor's own bytes.
    private static func addState(of network: SiameseNetwork, to writer: inout SafeTensorsWriter) {
        for (name, value) in network.stateDict {
            switch value {
            case .tensor(let tensor):
                // The tensor's own bytes, not a copy: the 160 MB weight would otherwise double the
                // memory a save needs. Little-endian F32 is this machine's Float layout.
                let bytes = Data(
                    bytesNoCopy: UnsafeMutableRawPointer(tensor.pointer), count: tensor.count * 4, deallocator: .none)
                writer.add(name, dtype: .float32, shape: tensor.shape, bytes: bytes)
            case .batchesTracked(let bn):
                writer.add(name, int64s: [bn.numBatchesTracked], shape: [])
            }
        }
    }

    // MARK: Using

    /// Embeddings of images already prepared for the network ([count × C × H × W] values).
    public func embed(pixels: [Float], count: Int) -> [[Float]] {
        let dim = config.embeddingSize
        let flat = network.embed(pixels: pixels, count: count)
        return (0..<count).map { Array(flat[($0 * dim)..<(($0 + 1) * dim)]) }
    }
}

extension FaceModel {
    /// Decodes an image file and prepares it as this model's input (inset, resize, scale,
    /// invert; for a colour network the three RGB planes, a grey file giving three equal planes).
    /// With ``facePreparer`` set, the face is first detected (on the grey image) and aligned,
    /// each colour channel by the same transform (a photo without a face, or with several when
    /// the policy refuses them, throws ``ImageError/noFace(path:)`` or
    /// ``ImageError/multipleFaces(path:count:)``).
    public func prepareImage(at path: String) throws(ImageError) -> [Float] {
        let decoded = try ImageDecoder.decodeImage(path: path, keepColor: config.isColor)
        var gray = decoded.gray
        var rgb = config.isColor ? decoded.rgb : nil
        if let facePreparer {
            let p = try facePreparer.prepared(gray, rgb: rgb, path: path)
            (gray, rgb) = (p.gray, p.rgb)
        }
        let (w, h, inset) = (config.inputWidth, config.inputHeight, config.inputInset ?? 0)
        var pixels =
            rgb.map { Resize.networkInput($0.inset(inset), width: w, height: h, invert: config.invert) }
            ?? Resize.networkInput(gray.inset(inset), width: w, height: h, invert: config.invert)
        if config.standardize {
            pixels.withUnsafeMutableBufferPointer { Standardization.apply($0.baseAddress!, count: $0.count) }
        }
        return pixels
    }

    /// Embeddings of image files, in order, computed in batches. A model whose weights are
    /// finite can still compute NaN or infinity (weights near the float range's end): such an
    /// embedding throws ``ImageError/nonFiniteEmbedding(path:)``, never reaches a distance.
    public func embed(imagesAt paths: [String]) throws(ImageError) -> [[Float]] {
        var pixels: [Float] = []
        pixels.reserveCapacity(paths.count * config.imageSize)
        for path in paths { pixels += try prepareImage(at: path) }
        let embeddings = embed(pixels: pixels, count: paths.count)
        if let k = embeddings.firstIndex(where: { !$0.allSatisfy(\.isFinite) }) {
            throw .nonFiniteEmbedding(path: paths[k])
        }
        return embeddings
    }
}
