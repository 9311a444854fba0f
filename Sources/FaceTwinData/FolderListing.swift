import Foundation

/// One folder's entries, as every reader of identity folders (`<root>/<identity>/<image>`) sees
/// them: natural order (`NaturalOrder`: `s2` before `s10`), hidden entries (names starting
/// with a dot: `.git`, `.DS_Store`) kept apart, each entry's kind found by following symbolic
/// links. A folder lists its own entries only: a link back up the tree is an entry, never
/// followed further, so a loop of links cannot make a scan run forever.
public struct FolderListing: Sendable {
    /// One entry of a folder.
    public struct Entry: Equatable, Sendable {
        /// What an entry is, its symbolic links followed.
        public enum Kind: Equatable, Sendable {
            case directory
            case file
            /// The entry cannot be followed: a dangling symbolic link, or a loop of them.
            case unresolved
        }

        public let name: String
        /// The folder's path joined with ``name``.
        public let path: String
        public let kind: Kind

        public var isDirectory: Bool { kind == .directory }
        /// Whether ``name`` ends in one of ``FolderListing/imageExtensions`` (any case).
        public var hasImageExtension: Bool { FolderListing.imageExtensions.contains(FolderListing.fileExtension(name)) }
    }

    /// The folder listed.
    public let path: String
    /// Its entries that are not hidden, in natural order.
    public let entries: [Entry]
    /// Its hidden entries, in natural order.
    public let hidden: [Entry]

    /// Image file extensions, lower-cased.
    public static let imageExtensions: Set<String> = ImageFormat.fileExtensions

    /// Lists `path`.
    /// - Throws: ``DatasetError/rootNotFound(path:)``, ``DatasetError/notADirectory(path:)`` or
    ///   ``DatasetError/unreadableDirectory(path:reason:)``, naming `path`.
    public init(_ path: String) throws(DatasetError) {
        guard let dir = opendir(path) else {
            let code = errno
            if code == ENOTDIR { throw .notADirectory(path: path) }
            if code == ENOENT { throw .rootNotFound(path: path) }
            throw .unreadableDirectory(path: path, reason: String(cString: strerror(code)))
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        let all = NaturalOrder.sorted(names).map { name in
            let joined = Self.join(path, name)
            return Entry(name: name, path: joined, kind: Self.kind(of: joined))
        }
        self.path = path
        entries = all.filter { !$0.name.hasPrefix(".") }
        hidden = all.filter { $0.name.hasPrefix(".") }
    }

    /// The entries that are folders (identity folders, at a data set's root).
    public var folders: [Entry] { entries.filter(\.isDirectory) }

    /// The entries that are image files by their name: not a folder, an image extension (an
    /// entry that cannot be followed is kept, so reading it reports the problem).
    public var images: [Entry] { entries.filter { !$0.isDirectory && $0.hasImageExtension } }

    /// `directory` joined with `name` by one "/".
    public static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// Lower-cased text after the last dot, or "" if there is none.
    static func fileExtension(_ name: String) -> String {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return "" }
        return String(name[name.index(after: dot)...]).lowercased()
    }

    private static func kind(of path: String) -> Entry.Kind {
        var info = stat()
        guard stat(path, &info) == 0 else { return .unresolved }
        return (info.st_mode & S_IFMT) == S_IFDIR ? .directory : .file
    }
}
