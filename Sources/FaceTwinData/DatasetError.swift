/// Why an identity-folder dataset could not be loaded.
///
/// A dataset problem is almost always "this folder" or "this file", so every
/// case names the path and ``description`` is one line starting with it. Image
/// decoding failures keep their ``ImageError`` (which names the image file)
/// rather than being skipped: a silently missing face changes the pairs a model
/// trains on and the numbers an evaluation reports.
public enum DatasetError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The root folder does not exist.
    case rootNotFound(path: String)
    /// The root (or an identity) exists but is not a directory.
    case notADirectory(path: String)
    /// A directory could not be listed (permissions, I/O error).
    case unreadableDirectory(path: String, reason: String)
    /// `only` or `excluding` named identities that have no folder under `root`.
    case unknownIdentities(root: String, names: [String])
    /// An identity folder holds fewer than two images, so it cannot form a
    /// same-identity pair.
    case tooFewImages(folder: String, count: Int)
    /// Fewer than two identities remain, so no different-identity pair exists.
    case tooFewIdentities(root: String, count: Int)
    /// The requested network input size is not positive.
    case invalidImageSize(root: String, width: Int, height: Int)
    /// An image file failed to decode.
    case image(ImageError)

    /// The folder or file the error is about.
    public var path: String {
        switch self {
        case .rootNotFound(let path), .notADirectory(let path), .unreadableDirectory(let path, _):
            return path
        case .unknownIdentities(let root, _), .tooFewIdentities(let root, _), .invalidImageSize(let root, _, _):
            return root
        case .tooFewImages(let folder, _):
            return folder
        case .image(let error):
            return error.path
        }
    }

    /// One line: the path, a colon, what is wrong.
    public var description: String {
        switch self {
        case .rootNotFound(let path):
            return "\(path): dataset folder not found"
        case .notADirectory(let path):
            return "\(path): not a directory (expected <root>/<identity>/<image> folders)"
        case .unreadableDirectory(let path, let reason):
            return "\(path): cannot list directory: \(reason)"
        case .unknownIdentities(let root, let names):
            return "\(root): no identity folder named \(names.joined(separator: ", "))"
        case .tooFewImages(let folder, let count):
            return "\(folder): identity folder has \(count) image\(count == 1 ? "" : "s"); at least 2 are needed"
        case .tooFewIdentities(let root, let count):
            return "\(root): found \(count) identity folder\(count == 1 ? "" : "s"); at least 2 are needed"
        case .invalidImageSize(let root, let width, let height):
            return "\(root): image size must be positive, got \(width)x\(height)"
        case .image(let error):
            return error.description
        }
    }
}
