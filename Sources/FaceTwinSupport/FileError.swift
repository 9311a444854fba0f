/// A file could not be read or written. `description` is one line that names the file: what the
/// CLI prints after "facetwin: error: ".
public struct FileError: Error, CustomStringConvertible, Equatable, Sendable {
    public let path: String
    public let message: String

    public init(path: String, _ message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}
