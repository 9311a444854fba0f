/// A point in image coordinates: x right, y down, pixel (i, j) covering [i, i+1) × [j, j+1),
/// so its centre is (i + 0.5, j + 0.5).
public struct ImagePoint: Codable, Equatable, Sendable {
    public var x: Double
    public var y: Double
    public init(x: Double, y: Double) { self.x = x; self.y = y }
}

/// An axis-aligned box in image coordinates: top-left corner and size, in pixels.
public struct FaceBox: Codable, Equatable, Sendable {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double
    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x; self.y = y; self.width = width; self.height = height
    }
    public var area: Double { width * height }
}

/// One face found in a photo.
public struct DetectedFace: Codable, Equatable, Sendable {
    /// The detector's box (dlib's HOG box: roughly eyebrows to chin, ear to ear).
    public var box: FaceBox
    /// dlib's detection score (the SVM margin; above 0 is a face, larger is surer).
    public var confidence: Double
    /// Eye centres from the 68-point landmarks (nil when no landmark model was loaded):
    /// `leftEye` is the eye on the image's left (the person's right eye).
    public var leftEye: ImagePoint?
    public var rightEye: ImagePoint?

    public init(box: FaceBox, confidence: Double, leftEye: ImagePoint? = nil, rightEye: ImagePoint? = nil) {
        self.box = box
        self.confidence = confidence
        self.leftEye = leftEye
        self.rightEye = rightEye
    }
}
