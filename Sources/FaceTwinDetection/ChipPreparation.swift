import Foundation

/// How a photo becomes the 150×150 chip dlib's ResNet takes: the face found by dlib's HOG
/// detector, its 5 landmarks and dlib's chip (``FaceChipper``), as face_recognition prepares it.
///
/// Where the face is looked for depends on the `--detect` mode: `always` in the photo (upsampled
/// as ``FaceDetector`` does); `never` in the image taken as a face crop, shown to the detector as
/// ``FaceCheck/detectorView(of:)`` frames it (a crop fills its frame, where the detector misses
/// many); `auto` in the photo, then, if none is found, as a crop. The chip is cut from the same
/// image the face was found in (for a crop, the framed view, so its border is the crop's own edge
/// pixels rather than black). A blank image is refused first; several faces follow the policy
/// (the largest, or refused).
final class ChipSource: @unchecked Sendable {
    // @unchecked Sendable: `chipper` and `detector`, made on first use, are read and written under
    // `lock`; both are themselves safe to share (their C sides serialize every call).
    private let lock = NSLock()
    private let landmarkModel: Data
    private let modelName: String
    private let detectorModel: Data?
    let mode: FaceDetectionMode
    let policy: MultiFacePolicy
    private var chipper: FaceChipper?
    private var detector: FaceDetector?

    init(landmarkModel: Data, modelName: String, detectorModel: Data?, mode: FaceDetectionMode, policy: MultiFacePolicy) {
        self.landmarkModel = landmarkModel
        self.modelName = modelName
        self.detectorModel = detectorModel
        self.mode = mode
        self.policy = policy
    }

    /// The chipper and the photo detector, made on first use.
    func tools() throws(ImageError) -> (FaceChipper, FaceDetector) {
        lock.lock()
        defer { lock.unlock() }
        if let chipper, let detector { return (chipper, detector) }
        do {
            let c = try chipper ?? FaceChipper(landmarkModel: landmarkModel, source: modelName)
            chipper = c
        } catch {
            throw .detectionFailed(path: modelName, reason: "\(error)")
        }
        do {
            let d =
                try detector
                ?? FaceDetector(
                    landmarkModel: nil, detectorModel: detectorModel, source: FaceDetector.carriedTensor)
            detector = d
        } catch {
            if case FaceDetectionError.detectorUnreadable(let source, let reason) = error {
                throw .detectionFailed(path: source, reason: "cannot load the face detector: \(reason)")
            }
            throw .detectionFailed(path: modelName, reason: "\(error)")
        }
        return (chipper!, detector!)
    }

    /// The chip of the face in a decoded photo (`rgb` nil: the grey image in three planes).
    func chip(_ gray: GrayImage, rgb: RGBImage?, path: String) throws(ImageError) -> RGBImage {
        if FaceCheck.isBlank(gray) { throw .blankImage(path: path) }
        let (chipper, detector) = try tools()
        var image = rgb ?? RGBImage(gray)
        var faces: [DetectedFace] = []
        do {
            if mode != .never { faces = try detector.detect(gray) }
            if faces.isEmpty, mode != .always, gray.height >= FaceCheck.minimumHeight {
                let view = FaceCheck.detectorView(of: gray)
                faces = try detector.detect(view)
                if !faces.isEmpty { image = RGBImage(planes: (0..<3).map { FaceCheck.detectorView(of: image.channel($0)) }) }
            }
        } catch {
            throw .detectionFailed(path: path, reason: error.description)
        }
        guard !faces.isEmpty else { throw .noFace(path: path) }
        if faces.count > 1, policy == .refuse { throw .multipleFaces(path: path, count: faces.count) }
        let face = faces.max { $0.box.area < $1.box.area }!
        do {
            return try chipper.chip(image, face: face).image
        } catch {
            throw .detectionFailed(path: path, reason: error.description)
        }
    }
}

extension FacePreparer {
    /// The preparation of photos for dlib's ResNet (`ChipSource`), with the 5-point landmark
    /// model `landmarkModel` (the bytes of dlib's `shape_predictor_5_face_landmarks.dat`, which
    /// the model file carries; `modelName` names the model in errors) and, when given, the face
    /// detector `detectorModel` the model file carries (``FaceDetector/exportDetector()``).
    public init(
        chipsWith landmarkModel: Data, modelName: String, detectorModel: Data? = nil, mode: FaceDetectionMode,
        policy: MultiFacePolicy
    ) {
        self.init(
            chips: ChipSource(
                landmarkModel: landmarkModel, modelName: modelName, detectorModel: detectorModel, mode: mode,
                policy: policy))
    }
}
