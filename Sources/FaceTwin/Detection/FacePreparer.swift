/// Turns a decoded photo into the face crop the network's resize takes: face detection and
/// alignment (``FaceCropper``), except for images of ``passThroughSize``, which are already
/// crops like the training images.
public struct FacePreparer: Sendable {
    public var cropper: FaceCropper
    /// Images of exactly this size are used as they are (nil: every image is detected).
    public var passThroughSize: ImageSize?

    public init(cropper: FaceCropper, passThroughSize: ImageSize? = nil) {
        self.cropper = cropper
        self.passThroughSize = passThroughSize
    }

    /// The preparation `info` asks for under `mode` (``ModelInfo/probePreparation(_:)``), with
    /// `detector` and `policy`; nil when photos are taken as they are.
    public init?(
        for info: ModelInfo, mode: FaceDetectionMode, detector: () throws(FaceDetectionError) -> FaceDetector,
        policy: MultiFacePolicy
    )
        throws(FaceDetectionError)
    {
        guard let p = info.probePreparation(mode) else { return nil }
        self.init(
            cropper: FaceCropper(detector: try detector(), aligner: p.aligner, policy: policy), passThroughSize: p.passThroughSize
        )
    }

    /// The face crop of `image` (decoded from `path`, named in errors).
    /// - Throws: ``ImageError/noFace(path:)``, ``ImageError/multipleFaces(path:count:)`` (a failure
    ///   to acquire), ``ImageError/detectionFailed(path:reason:)``.
    public func prepare(_ image: GrayImage, path: String) throws(ImageError) -> GrayImage {
        if let passThroughSize, image.width == passThroughSize.width, image.height == passThroughSize.height { return image }
        let a: FaceAcquisition
        do { a = try cropper.acquire(image) } catch { throw .detectionFailed(path: path, reason: error.description) }
        switch a.status {
        case .noFace: throw .noFace(path: path)
        case .refused: throw .multipleFaces(path: path, count: a.faces.count)
        case .ok: return a.crops[0]
        }
    }

    /// The face crop of a photo kept in colour: found on `gray`, and each of `rgb`'s channels
    /// aligned by the same transform (``prepare(_:path:)`` when `rgb` is nil).
    public func prepare(_ gray: GrayImage, rgb: RGBImage?, path: String) throws(ImageError) -> (GrayImage, RGBImage?) {
        guard let rgb else { return (try prepare(gray, path: path), nil) }
        if let passThroughSize, gray.width == passThroughSize.width, gray.height == passThroughSize.height {
            return (gray, rgb)
        }
        let a: FaceAcquisition
        do { a = try cropper.acquire(gray) } catch { throw .detectionFailed(path: path, reason: error.description) }
        switch a.status {
        case .noFace: throw .noFace(path: path)
        case .refused: throw .multipleFaces(path: path, count: a.faces.count)
        case .ok:
            let face = a.faces[a.kept[0]]
            return (a.crops[0], RGBImage(planes: (0..<3).map { cropper.aligner.align(rgb.channel($0), face: face) }))
        }
    }
}

extension ImageError {
    /// No face, or several refused: the photo is a failure to acquire (to enroll), not a bad file.
    public var isFailureToAcquire: Bool {
        switch self {
        case .noFace, .multipleFaces: return true
        default: return false
        }
    }
}
