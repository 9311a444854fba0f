/// Why face detection could not run. (A photo with no face is not an error: it is an empty
/// result, which callers count as a failure to acquire.)
public enum FaceDetectionError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The landmark model file could not be opened or is not a 68-point dlib shape predictor.
    case landmarkModelUnreadable(path: String, reason: String)
    /// The serialized detector a model file carries (`source` names it) is not a dlib frontal
    /// face detector.
    case detectorUnreadable(source: String, reason: String)
    /// dlib failed on an image (out of memory, or an internal error), with its message.
    case detectionFailed(reason: String)

    public var description: String {
        switch self {
        case .landmarkModelUnreadable(let path, let reason):
            return "\(path): cannot load the face landmark model: \(reason) (Debian: apt-get install libdlib-data)"
        case .detectorUnreadable(let source, let reason):
            return "\(source): cannot load the face detector: \(reason)"
        case .detectionFailed(let reason):
            return "face detection failed: \(reason)"
        }
    }
}
