import Foundation

/// Turns a decoded photo into the face crop the network's resize takes: face detection and
/// alignment (``FaceCropper``), except for images taken as crops (of ``passThroughSize``, or
/// every image when ``alignsPhotos`` is false), which are used as they are once
/// `FaceCheck` found a face in them. A blank image is refused before anything else.
///
/// The detector can be made on first use (``init(aligner:policy:passThroughSize:detector:)``),
/// so a run whose images are all crops never loads dlib's landmark model.
public struct FacePreparer: Sendable {
    public let aligner: FaceAligner
    public let policy: MultiFacePolicy
    /// Images of exactly this size are taken as crops (nil: every image is detected).
    public let passThroughSize: ImageSize?
    /// False when every image is taken as a crop (`--detect never`, or a model that records no
    /// crop size): checked for a face, never aligned.
    public let alignsPhotos: Bool
    private let source: CropperSource
    /// For dlib's ResNet: every image becomes its 150×150 chip (``init(chipsWith:modelName:mode:policy:)``).
    private let chips: ChipSource?

    public init(cropper: FaceCropper, passThroughSize: ImageSize? = nil) {
        aligner = cropper.aligner
        policy = cropper.policy
        self.passThroughSize = passThroughSize
        alignsPhotos = true
        source = CropperSource(cropper)
        chips = nil
    }

    /// A preparer whose detector is made by `detector` the first time an image needs it.
    public init(
        aligner: FaceAligner, policy: MultiFacePolicy, passThroughSize: ImageSize? = nil,
        detector: @escaping @Sendable () throws(FaceDetectionError) -> FaceDetector
    ) {
        self.aligner = aligner
        self.policy = policy
        self.passThroughSize = passThroughSize
        alignsPhotos = true
        source = CropperSource(aligner: aligner, policy: policy, make: detector)
        chips = nil
    }

    /// A preparer that takes every image as a crop: refused when blank, without a face found by
    /// `FaceCheck`, or with several when `policy` refuses them; else used as it is.
    public init(takingCropsAsTheyAre aligner: FaceAligner = FaceAligner(), policy: MultiFacePolicy = .refuse) {
        self.aligner = aligner
        self.policy = policy
        passThroughSize = nil
        alignsPhotos = false
        source = CropperSource(
            aligner: aligner, policy: policy,
            make: { () throws(FaceDetectionError) in
                try FaceDetector(landmarkModel: nil)
            })
        chips = nil
    }

    /// A preparer that turns every image into dlib's chip.
    init(chips: ChipSource) {
        aligner = FaceAligner()
        policy = chips.policy
        passThroughSize = nil
        alignsPhotos = false
        source = CropperSource(
            aligner: aligner, policy: chips.policy,
            make: { () throws(FaceDetectionError) in try FaceDetector(landmarkModel: nil) })
        self.chips = chips
    }

    /// The preparation a model trained on images prepared as `record` says asks for under `mode`
    /// (``ProbePreparation/init(record:mode:)``), with `policy` and a detector made by `detector`
    /// when first needed; when photos are taken as they are (`never`, or a model without a crop
    /// size), a preparer that only checks them.
    public init(
        for record: FacePreparationRecord?, mode: FaceDetectionMode, policy: MultiFacePolicy,
        detector: @escaping @Sendable () throws(FaceDetectionError) -> FaceDetector
    ) {
        guard let p = ProbePreparation(record: record, mode: mode) else {
            self.init(takingCropsAsTheyAre: record?.aligner ?? FaceAligner(), policy: policy)
            return
        }
        self.init(aligner: p.aligner, policy: policy, passThroughSize: p.passThroughSize, detector: detector)
    }

    /// Whether `image` is taken as a crop rather than detected and aligned.
    func takesAsCrop(_ image: GrayImage) -> Bool {
        if !alignsPhotos { return true }
        guard let passThroughSize else { return false }
        return image.width == passThroughSize.width && image.height == passThroughSize.height
    }

    /// Refuses a blank image, an image taken as a crop in which no face is found, and one in
    /// which several are found when the policy refuses several faces.
    func check(_ image: GrayImage, path: String) throws(ImageError) {
        if FaceCheck.isBlank(image) { throw .blankImage(path: path) }
        guard takesAsCrop(image) else { return }
        let found: Int
        do { found = try FaceCheck.facesInCrop(image) } catch {
            throw .detectionFailed(path: path, reason: error.description)
        }
        if found == 0 { throw .noFace(path: path) }
        if found > 1, policy == .refuse { throw .multipleFaces(path: path, count: found) }
    }

    /// The detector and aligner, made now if they were not yet.
    public func cropper() throws(FaceDetectionError) -> FaceCropper { try source.get() }

    /// The face crop of `image` (decoded from `path`, named in errors).
    /// - Throws: ``ImageError/blankImage(path:)``, ``ImageError/noFace(path:)``,
    ///   ``ImageError/multipleFaces(path:count:)`` (a failure to acquire), ``ImageError/detectionFailed(path:reason:)`` (also when the detector cannot
    ///   be made, e.g. the landmark model is missing).
    public func prepare(_ image: GrayImage, path: String) throws(ImageError) -> GrayImage {
        if let chips { return try chips.chip(image, rgb: nil, path: path).gray }
        try check(image, path: path)
        if takesAsCrop(image) { return image }
        let a: FaceAcquisition
        do { a = try cropper().acquire(image) } catch { throw .detectionFailed(path: path, reason: error.description) }
        switch a.status {
        case .noFace: throw .noFace(path: path)
        case .refused: throw .multipleFaces(path: path, count: a.faces.count)
        case .ok: return a.crops[0]
        }
    }

    /// The face crop of a photo kept in colour: found on `gray`, and each of `rgb`'s channels
    /// aligned by the same transform (``prepare(_:path:)`` when `rgb` is nil).
    public func prepared(_ gray: GrayImage, rgb: RGBImage?, path: String) throws(ImageError) -> PreparedImage {
        if let chips {
            let chip = try chips.chip(gray, rgb: rgb, path: path)
            return PreparedImage(gray: chip.gray, rgb: rgb == nil ? nil : chip)
        }
        guard let rgb else { return PreparedImage(gray: try prepare(gray, path: path), rgb: nil) }
        try check(gray, path: path)
        if takesAsCrop(gray) { return PreparedImage(gray: gray, rgb: rgb) }
        let a: FaceAcquisition
        do { a = try cropper().acquire(gray, color: rgb) } catch {
            throw .detectionFailed(path: path, reason: error.description)
        }
        switch a.status {
        case .noFace: throw .noFace(path: path)
        case .refused: throw .multipleFaces(path: path, count: a.faces.count)
        case .ok: return PreparedImage(gray: a.crops[0], rgb: a.colorCrops[0])
        }
    }

    /// ``prepared(_:rgb:path:)`` as a pair (for the service's photo pipeline).
    package func prepare(_ gray: GrayImage, rgb: RGBImage?, path: String) throws(ImageError) -> (GrayImage, RGBImage?) {
        let p = try prepared(gray, rgb: rgb, path: path)
        return (p.gray, p.rgb)
    }
}

extension FacePreparer: ImagePreparing {}

/// The cropper of a ``FacePreparer``, made once on first use (under a lock: images are prepared
/// on several threads).
private final class CropperSource: @unchecked Sendable {
    // @unchecked Sendable: `made`, the one mutable field, is read and written under `lock`.
    private let lock = NSLock()
    private var made: FaceCropper?
    private let aligner: FaceAligner
    private let policy: MultiFacePolicy
    private let make: (@Sendable () throws(FaceDetectionError) -> FaceDetector)?

    init(_ cropper: FaceCropper) {
        made = cropper
        aligner = cropper.aligner
        policy = cropper.policy
        make = nil
    }

    init(aligner: FaceAligner, policy: MultiFacePolicy, make: @escaping @Sendable () throws(FaceDetectionError) -> FaceDetector) {
        self.aligner = aligner
        self.policy = policy
        self.make = make
    }

    func get() throws(FaceDetectionError) -> FaceCropper {
        lock.lock()
        defer { lock.unlock() }
        if let made { return made }
        let cropper = FaceCropper(detector: try make!(), aligner: aligner, policy: policy)
        made = cropper
        return cropper
    }
}
