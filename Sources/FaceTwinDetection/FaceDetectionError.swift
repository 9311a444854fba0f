/// Why face detection could not run. (A photo with no face is not an error: it is an empty
/// result, which callers count as a failure to acquire.)
public enum FaceDetectionError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The landmark model file could not be opened or is not a 68-point dlib shape predictor.
    case landmarkModelUnreadable(path: String, reason: String)
    /// dlib failed on an image (out of memory, or an internal error), with its message.
    case detectionFailed(reason: String)

    public var description: String {
        switch self {
        case .landmarkModelUnreadable(let path, let reason):
            return "\(path): cannot load the face landmark model: \(reason) (Debian: apt-get install libdlib-data)"
        case .detectionFailed(let reason):
            return "face detection failed: \(reason)"
        }
    }
}
