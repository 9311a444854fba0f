/// The data of FaceTwinData prepared as a network takes it (``NetworkConfig``: size, channels,
/// inset, inversion, standardisation).
extension ImageFolder {
    /// The images of `root` prepared as `config`'s network takes them (size, channels, inset,
    /// inversion, standardisation).
    /// With `preparer`, faces are detected and aligned first (failures to acquire left out).
    public init(
        root: String, for config: NetworkConfig, only: Set<String>? = nil, excluding: Set<String> = [],
        preparer: (any ImagePreparing)? = nil
    ) throws(DatasetError) {
        try self.init(
            root: root, width: config.inputWidth, height: config.inputHeight, channels: config.inputChannels,
            invert: config.invert, standardize: config.standardize, only: only, excluding: excluding, preparer: preparer,
            inset: config.inputInset ?? 0)
    }
}

extension PairImages {
    /// Decodes the images of `pairs` (resolved paths) and prepares them as `config`'s network
    /// takes them (with `preparer`, through face detection or dlib's chips first). Throws the
    /// first image that fails, as ``ImageFolder`` does.
    public init(
        source: String, pairs: [(path1: String, path2: String, same: Bool)], for config: NetworkConfig,
        preparer: (any ImagePreparing)? = nil
    ) throws(DatasetError) {
        try self.init(
            source: source, pairs: pairs, width: config.inputWidth, height: config.inputHeight,
            channels: config.inputChannels, invert: config.invert, standardize: config.standardize,
            inset: config.inputInset ?? 0, preparer: preparer)
    }
}

extension FacePreparer {
    /// The preparation `info` asks for under `mode` (``ModelInfo/probePreparation(_:)``), with
    /// `policy` and a detector made by `detector` when first needed; when photos are taken as they
    /// are (`never`, or a model without a crop size), a preparer that only checks them.
    public init(
        for info: ModelInfo, mode: FaceDetectionMode, policy: MultiFacePolicy,
        detector: @escaping @Sendable () throws(FaceDetectionError) -> FaceDetector
    ) {
        self.init(for: info.preparation, mode: mode, policy: policy, detector: detector)
    }
}
