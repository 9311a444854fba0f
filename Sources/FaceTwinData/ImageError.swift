/// Why an image file could not be decoded.
///
/// Every case carries the file's path, and ``description`` is a single line
/// that starts with it (`s1/3.pgm: truncated: EOF / read error …`), so a CLI can
/// print it as is and a user knows which file to look at. The message text after
/// the path comes from libnetpbm, libjpeg, libpng or libwebp where the library found the problem.
public enum ImageError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file could not be opened or read (missing, permissions, a directory).
    case cannotOpen(path: String, reason: String)
    /// The file has zero bytes.
    case empty(path: String)
    /// The file starts with `P` but not with a Netpbm magic number (`P1` … `P7`).
    case notNetpbm(path: String, reason: String)
    /// The first bytes are none of the formats we read (Netpbm, PNG, JPEG, WebP).
    case unrecognized(path: String, reason: String)
    /// The file ends before its header or raster is complete.
    case truncated(path: String, reason: String)
    /// libnetpbm rejected the header or data for another reason.
    case malformed(path: String, reason: String)
    /// libjpeg, libpng or libwebp rejected the file (bad Huffman table, bad CRC, corrupt data…).
    case malformedPhoto(path: String, format: ImageFormat, reason: String)
    /// The header declares more pixels than the caller allowed; nothing was allocated.
    case tooLarge(path: String, width: Int, height: Int, limit: Int)
    /// A valid Netpbm file we cannot turn into gray (e.g. a PAM with depth 5).
    case unsupported(path: String, reason: String)
    /// Memory for the raster could not be allocated.
    case outOfMemory(path: String, width: Int, height: Int)
    /// The image decoded, but the model turns it into an embedding with NaN or infinite
    /// values (a model whose products overflow): it cannot be enrolled or compared.
    case nonFiniteEmbedding(path: String)
    /// Face detection was asked for (``FaceModel/facePreparer``) and found no face: a failure
    /// to acquire (to enroll, when enrolling).
    case noFace(path: String)
    /// The image is (nearly) one grey level (`FaceCheck/isBlank(_:)`): no face can be in it, a
    /// failure to acquire.
    case blankImage(path: String)
    /// Face detection found several faces and the policy refuses such photos.
    case multipleFaces(path: String, count: Int)
    /// Face detection itself failed on the image.
    case detectionFailed(path: String, reason: String)

    /// The file the error is about.
    public var path: String {
        switch self {
        case .cannotOpen(let path, _), .empty(let path), .notNetpbm(let path, _), .unrecognized(let path, _),
            .truncated(let path, _), .malformed(let path, _), .malformedPhoto(let path, _, _),
            .tooLarge(let path, _, _, _),
            .unsupported(let path, _), .outOfMemory(let path, _, _), .nonFiniteEmbedding(let path),
            .noFace(let path), .blankImage(let path), .multipleFaces(let path, _), .detectionFailed(let path, _):
            return path
        }
    }

    /// One line: the path, a colon, what is wrong.
    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason):
            return "\(path): cannot open: \(reason)"
        case .empty(let path):
            return "\(path): empty file (0 bytes)"
        case .notNetpbm(let path, let reason):
            return "\(path): not a Netpbm image (\(reason))"
        case .unrecognized(let path, let reason):
            return "\(path): not a PGM/PPM/PAM, PNG, JPEG or WebP image (\(reason))"
        case .malformedPhoto(let path, let format, let reason):
            return "\(path): malformed \(format) image: \(reason)"
        case .truncated(let path, let reason):
            return "\(path): truncated: \(reason)"
        case .malformed(let path, let reason):
            return "\(path): malformed Netpbm image: \(reason)"
        case .tooLarge(let path, let width, let height, let limit):
            return "\(path): image too large: \(width)x\(height) = \(width * height) pixels exceeds the limit of \(limit) pixels"
        case .unsupported(let path, let reason):
            return "\(path): unsupported image: \(reason)"
        case .outOfMemory(let path, let width, let height):
            return "\(path): out of memory for a \(width)x\(height) image"
        case .nonFiniteEmbedding(let path):
            return "\(path): the model's embedding of this photo is not finite (NaN or infinite values)"
        case .noFace(let path):
            return "\(path): no face found"
        case .blankImage(let path):
            return "\(path): blank image (one grey level), no face"
        case .multipleFaces(let path, let count):
            return "\(path): \(count) faces found; refused"
        case .detectionFailed(let path, let reason):
            return "\(path): face detection failed: \(reason)"
        }
    }
}

extension ImageError {
    /// No face, or several refused: the photo is a failure to acquire (to enroll), not a bad file.
    public var isFailureToAcquire: Bool {
        switch self {
        case .blankImage, .noFace, .multipleFaces: return true
        default: return false
        }
    }

    /// The image itself is unusable: no usable face (``isFailureToAcquire``), or a file that
    /// cannot be opened or decoded. A run over many images may count it as a failure to acquire
    /// and go on. A non-finite embedding is the model's fault, not the image's: never.
    public var isUnusableImage: Bool {
        switch self {
        case .nonFiniteEmbedding: return false
        default: return true
        }
    }
}
