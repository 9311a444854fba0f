/// Whether images go through face detection and alignment before the usual preprocessing.
public enum FacePreparation: String, Codable, CaseIterable, Sendable {
    case never
    case always
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
    /// As the model's training images were prepared (``ProbePreparation/init(record:mode:)``).
    case auto
    case always
    case never
}

/// How probes are to be prepared for a model: detected and aligned by `aligner`, except images
/// of exactly `passThroughSize`, which are taken as crops as they are.
public struct ProbePreparation: Equatable, Sendable {
    public var aligner: FaceAligner
    public var passThroughSize: ImageSize?

    public init(aligner: FaceAligner, passThroughSize: ImageSize?) {
        self.aligner = aligner
        self.passThroughSize = passThroughSize
    }

    /// Whether and how a probe photo is detected and aligned before the network's resize, for
    /// a model whose training images were prepared as `preparation` says, under `mode`: nil when
    /// photos are taken as they are.
    ///
    /// `never`: nil. `always`: detection, aligned as the record says (ORL's geometry without a
    /// record). `auto`: the same preparation as the training images had: detection for a model
    /// trained on detected faces; for a model trained on crops of one size, images of that size
    /// are taken as crops and any other photo is detected and aligned to the crops' geometry;
    /// nil for a model without a record or trained on crops of several sizes.
    public init?(record preparation: FacePreparationRecord?, mode: FaceDetectionMode) {
        let aligner = preparation?.aligner ?? FaceAligner()
        switch mode {
        case .never: return nil
        case .always: self.init(aligner: aligner, passThroughSize: nil)
        case .auto:
            guard let preparation else { return nil }
            switch preparation.detect {
            case .always: self.init(aligner: aligner, passThroughSize: nil)
            case .never:
                guard let size = preparation.cropSize else { return nil }
                self.init(aligner: aligner, passThroughSize: size)
            }
        }
    }
}
