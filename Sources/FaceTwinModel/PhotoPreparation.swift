/// How a ``FaceModel`` prepares the photos it is given by path before its network sees them
/// (its ``FaceModel/facePreparer``): face detection and alignment, and the refusal of images
/// that are not one face.
public enum PhotoPreparation: Sendable, Equatable {
    /// As the model records how its training images were prepared, refusing photos with several
    /// faces: ``detect(_:faces:landmarks:)`` with `.auto` and `.refuse` for a model that records
    /// it (a dlib ResNet file carrying its landmark model; a twin with a preparation record), and
    /// ``none`` for one that records nothing (a plain PyTorch state dict, a twin saved without a
    /// record), whose photos are used as they are. The default of ``FaceModel/load(path:preparation:)``.
    case asRecorded
    /// Photos used as they are: no detection, no check (the caller gives the network its crops).
    case none
    /// Face detection in `mode` (``FaceDetectionMode``), photos with several faces refused or
    /// reduced to the largest by `faces`; a twin detects with `landmarks`, dlib's 68-point shape
    /// predictor (a ResNet model uses the landmark model its file carries). In every mode a blank
    /// image, or one taken as a crop in which no face is found, is refused.
    case detect(FaceDetectionMode, faces: MultiFacePolicy = .refuse, landmarks: String = FaceDetector.defaultLandmarkModel)
}

/// Why a ``PhotoPreparation`` cannot be made for a model.
public enum PhotoPreparationError: Error, Equatable, CustomStringConvertible {
    /// A dlib ResNet model file without its landmark model, asked to detect faces: its photos
    /// cannot be cut into chips (images that are chips already take `.detect(.never)`).
    case noLandmarkModel

    public var description: String {
        switch self {
        case .noLandmarkModel:
            "the model file carries no landmark model (landmarks.shape_predictor_5) to align photos with"
        }
    }
}

extension FaceModel {
    /// The face preparer `preparation` gives this model (nil: photos used as they are). Each call
    /// makes a new one (dlib's detector serializes its calls: give each worker its own). The
    /// detector and landmark model are loaded when the first photo needs them.
    /// - Throws: ``PhotoPreparationError/noLandmarkModel`` for a ResNet model without its
    ///   landmark model, with detection asked for explicitly.
    public func preparer(for preparation: PhotoPreparation) throws(PhotoPreparationError) -> FacePreparer? {
        let mode: FaceDetectionMode
        let faces: MultiFacePolicy
        let landmarks: String
        switch preparation {
        case .none: return nil
        case .asRecorded:
            if resnet != nil {
                guard landmarkModel != nil else { return nil }
            } else if info.preparation == nil {
                return nil
            }
            (mode, faces, landmarks) = (.auto, .refuse, FaceDetector.defaultLandmarkModel)
        case .detect(let m, let f, let l): (mode, faces, landmarks) = (m, f, l)
        }
        // dlib's ResNet takes its chips in every mode (never: the face is looked for only in the
        // image taken as a crop); without the landmark model, only `never` (images that are chips
        // already, checked as crops).
        if resnet != nil, landmarkModel != nil || mode != .never {
            guard let bytes = landmarkModel else { throw .noLandmarkModel }
            return FacePreparer(
                chipsWith: bytes, modelName: DlibModelImport.landmarkTensor, detectorModel: detectorModel, mode: mode,
                policy: faces)
        }
        return FacePreparer(
            for: info, mode: mode, policy: faces,
            detector: { () throws(FaceDetectionError) in try FaceDetector(landmarkModel: landmarks) })
    }
}
