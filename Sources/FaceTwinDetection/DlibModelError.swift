/// Why one of dlib's model files (the face-recognition ResNet, the 5-point landmark model) could
/// not be used, or dlib failed on it.
public enum DlibModelError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file could not be opened or read (missing, a directory, permission).
    case unreadable(path: String, reason: String)
    /// The file is not dlib's face-recognition ResNet v1 (truncated, random bytes, another
    /// dlib network, another architecture), with dlib's or the layer check's reason.
    case notResNet(path: String, reason: String)
    /// The landmark file is not dlib's 5-point shape predictor.
    case notLandmarkModel(path: String, reason: String)
    /// dlib failed while running (out of memory, an internal error), with its message.
    case dlibFailed(reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            return "\(path): cannot read the dlib model: \(reason)"
        case .notResNet(let path, let reason):
            return "\(path): not dlib's face recognition ResNet (dlib_face_recognition_resnet_model_v1.dat): \(reason)"
        case .notLandmarkModel(let path, let reason):
            return "\(path): not dlib's 5-point landmark model (shape_predictor_5_face_landmarks.dat): \(reason)"
        case .dlibFailed(let reason):
            return "dlib failed: \(reason)"
        }
    }
}
