/// What to do with a photo that shows several faces.
public enum MultiFacePolicy: String, CaseIterable, Codable, Sendable {
    /// Keep the largest face (by box area).
    case largest
    /// Refuse the photo: no crop, reported as multi-face.
    case refuse
    /// Keep every face.
    case all
}

/// The outcome of looking for faces in one photo.
public struct FaceAcquisition: Sendable {
    public enum Status: String, Codable, Sendable {
        /// One face, or several with `largest`/`all`: `crops` has what was kept.
        case ok
        /// No face found: a failure to acquire.
        case noFace = "no-face"
        /// Several faces and the policy is `refuse`: no crop.
        case refused = "multi-face-refused"
    }
    public var status: Status
    /// Every face found, most confident first.
    public var faces: [DetectedFace]
    /// Indices into `faces` of the faces kept, and their aligned crops (same order).
    public var kept: [Int]
    public var crops: [GrayImage]
    /// For a colour photo, the kept faces' crops in colour (each channel aligned by the grey
    /// crop's transform, same order); empty otherwise.
    public var colorCrops: [RGBImage] = []

    public var isMultiFace: Bool { faces.count > 1 }
}

/// Detection and alignment together: a photo in, aligned crops out, by a ``MultiFacePolicy``.
public struct FaceCropper: Sendable {
    public let detector: FaceDetector
    public var aligner: FaceAligner
    public var policy: MultiFacePolicy

    public init(detector: FaceDetector, aligner: FaceAligner = FaceAligner(), policy: MultiFacePolicy = .largest) {
        self.detector = detector
        self.aligner = aligner
        self.policy = policy
    }

    /// Finds the faces in `image` and aligns those the policy keeps; with `color` (the same photo
    /// in colour), their colour crops too.
    public func acquire(_ image: GrayImage, color: RGBImage? = nil) throws(FaceDetectionError) -> FaceAcquisition {
        let faces = try detector.detect(image)
        if faces.isEmpty { return FaceAcquisition(status: .noFace, faces: [], kept: [], crops: []) }
        var kept: [Int]
        switch policy {
        case .all: kept = Array(faces.indices)
        case .largest: kept = [faces.indices.max { faces[$0].box.area < faces[$1].box.area }!]
        case .refuse:
            if faces.count > 1 { return FaceAcquisition(status: .refused, faces: faces, kept: [], crops: []) }
            kept = [0]
        }
        var a = FaceAcquisition(status: .ok, faces: faces, kept: kept, crops: kept.map { aligner.align(image, face: faces[$0]) })
        if let color {
            a.colorCrops = kept.map { i in RGBImage(planes: (0..<3).map { aligner.align(color.channel($0), face: faces[i]) }) }
        }
        return a
    }
}
