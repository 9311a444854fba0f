import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writing a file FaceTwin produces (a model, a training history, results CSVs, report
/// files): the one routine every writer goes through.
///
/// - Only a regular file or a new path is written. A device (`/dev/null`), a named pipe, a
///   socket or a directory is refused with an error naming the path, and left untouched.
/// - A symbolic link is followed: its target is replaced, the link stays a link.
/// - The bytes go to a temporary file in the target's folder (`.<name>.facetwin-tmp-<pid>-<random>`),
///   which is `fsync`ed, renamed over the target, and the folder `fsync`ed: a reader sees the
///   old file or the new one, never half of one, and a crash cannot lose a file once
///   ``StagedFile/commit()`` returned.
/// - An existing target keeps its permissions (and its owner when running as root); a new
///   file is 0600, whatever the umask: models, galleries, results and reports hold biometric data.
/// - Temporaries left by a killed process are removed by the next write into the same
///   folder: the name carries the pid, and a temporary whose process is gone is stale.
///
/// ``write(_:to:)`` does it all for bytes in memory; ``stage(_:)`` gives a ``StagedFile`` to
/// stream into and commit later, e.g. to rename two files in a chosen order.
package enum OutputFile {
    /// Marks the temporaries' names: `.<name>` + this + `<pid>-<random hex>`.
    static let temporaryMarker = ".facetwin-tmp-"

    /// Writes `data` to `path` as described above.
    package static func write(_ data: Data, to path: String) throws(FileError) {
        let file = try stage(path)
        try file.write(data)
        try file.commit()
    }

    /// Writes UTF-8 text to `path`.
    package static func write(_ text: String, to path: String) throws(FileError) {
        try write(Data(text.utf8), to: path)
    }

    /// Checks that `path` can be written now, before long work whose result goes there: a
    /// temporary file is made beside its target and removed; nothing is written at `path`.
    package static func checkWritable(_ path: String) throws(FileError) {
        try stage(path).discard()
    }

    /// Checks `path` and opens a temporary file beside its target; nothing is visible at
    /// `path` until ``StagedFile/commit()``.
    package static func stage(_ path: String) throws(FileError) -> StagedFile {
        let target = try destination(path)
        removeStaleTemporaries(in: target.directory)
        return try StagedFile(path: path, target: target)
    }

    /// Where writing `path` lands: the path itself, or the end of its chain of symbolic
    /// links; with the existing file's status, nil for a new file.
    struct Destination {
        var target: String
        var directory: String
        var existing: stat?
    }

    static func destination(_ path: String) throws(FileError) -> Destination {
        guard !path.isEmpty else { throw FileError(path: path, "empty path") }
        var current = path
        for _ in 0..<40 {
            var st = stat()
            if lstat(current, &st) != 0 {
                let code = errno
                guard code == ENOENT else { throw FileError(path: path, "cannot write: \(String(cString: strerror(code)))") }
                return Destination(target: current, directory: directoryName(current), existing: nil)
            }
            switch st.st_mode & S_IFMT {
            case S_IFREG:
                return Destination(target: current, directory: directoryName(current), existing: st)
            case S_IFLNK:
                var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let n = readlink(current, &buffer, buffer.count - 1)
                guard n >= 0 else {
                    throw FileError(path: path, "cannot read the symbolic link: \(String(cString: strerror(errno)))")
                }
                let link = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                current = link.hasPrefix("/") ? link : directoryName(current) + "/" + link
            default:
                let shown = current == path ? "" : " (\(current))"
                throw FileError(path: path, "is \(InputFile.kind(st.st_mode))\(shown), not a regular file; refusing to write it")
            }
        }
        throw FileError(path: path, "too many levels of symbolic links")
    }

    package static func directoryName(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let dir = String(path[..<slash])
        return dir.isEmpty ? "/" : dir
    }

    static func baseName(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// A new temporary name beside `target`, carrying this process's pid.
    package static func temporaryName(for target: String) -> String {
        let base = String(baseName(target).prefix(120))
        let random = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        return directoryName(target) + "/." + base + temporaryMarker + "\(getpid())-" + random
    }

    /// The pid in a temporary's name (the name may end in SQLite's `-journal`, `-wal` or
    /// `-shm`), or nil when the name is not one of ours.
    static func temporaryOwner(_ name: String) -> pid_t? {
        guard name.hasPrefix("."), let marker = name.range(of: temporaryMarker, options: .backwards) else { return nil }
        let parts = name[marker.upperBound...].split(separator: "-")
        guard parts.count >= 2, let pid = pid_t(parts[0]), pid > 0,
            parts[1].allSatisfy(\.isHexDigit),
            parts.count == 2 || (parts.count == 3 && ["journal", "wal", "shm"].contains(parts[2]))
        else { return nil }
        return pid
    }

    /// Removes the temporaries in `directory` whose process no longer exists (left by a
    /// killed write). A temporary of a live process, or of this one, is left alone.
    package static func removeStaleTemporaries(in directory: String) {
        guard let dir = opendir(directory) else { return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            guard let pid = temporaryOwner(name), pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH {
                unlink(directory + "/" + name)
            }
        }
    }

    /// `fsync` of a folder, so a rename or link in it survives a crash (best effort: some
    /// file systems refuse it).
    package static func syncDirectory(_ directory: String) {
        let fd = systemOpen(directory, O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            _ = fsync(fd)
            close(fd)
        }
    }
}

/// A file being written by ``OutputFile``: bytes go to a temporary beside the target until
/// ``commit()`` renames it into place. Dropped without a commit, the temporary is removed.
package final class StagedFile {
    /// The path as given (errors name it).
    package let path: String
    /// The file actually replaced (`path`, or the end of its symbolic links).
    package let target: String
    let temporary: String
    private let directory: String
    private let existing: stat?
    private var fd: Int32
    private var committed = false

    init(path: String, target: OutputFile.Destination) throws(FileError) {
        self.path = path
        self.target = target.target
        self.directory = target.directory
        self.existing = target.existing
        self.temporary = OutputFile.temporaryName(for: target.target)
        fd = systemOpen(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw FileError(path: path, "cannot create a temporary file in \(directory): \(String(cString: strerror(errno)))")
        }
        WritePoint.here("output: temporary created")
    }

    deinit { discard() }

    /// Appends bytes.
    package func write(_ bytes: UnsafeRawBufferPointer) throws(FileError) {
        guard fd >= 0, !committed else { throw FileError(path: path, "write after commit") }
        guard var pointer = bytes.baseAddress else { return }
        var remaining = bytes.count
        var halfway = remaining > 1 ? remaining / 2 : -1
        while remaining > 0 {
            let n = systemWrite(fd, pointer, min(remaining, 1 << 30, halfway > 0 ? halfway : Int.max))
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError(path: path, "cannot write: \(String(cString: strerror(errno)))")
            }
            pointer += n
            remaining -= n
            if halfway > 0 {
                halfway = -1
                WritePoint.here("output: half written")
            }
        }
    }

    /// Appends bytes.
    package func write(_ data: Data) throws(FileError) {
        do {
            try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in try write(raw) }
        } catch let e as FileError {
            throw e
        } catch {
            throw FileError(path: path, "cannot write: \(error)")
        }
    }

    /// Syncs the temporary, gives it the target's permissions, renames it over the target
    /// and syncs the folder. After it returns the new content is in place and durable.
    package func commit() throws(FileError) {
        guard fd >= 0, !committed else { throw FileError(path: path, "already committed") }
        if let existing {
            _ = fchmod(fd, existing.st_mode & 0o7777)
            if geteuid() == 0 { _ = fchown(fd, existing.st_uid, existing.st_gid) }
        } else {
            _ = fchmod(fd, 0o600)
        }
        guard fsync(fd) == 0 else { throw FileError(path: path, "cannot write (fsync): \(String(cString: strerror(errno)))") }
        let closing = fd
        fd = -1
        guard close(closing) == 0 else {
            throw FileError(path: path, "cannot write (close): \(String(cString: strerror(errno)))")
        }
        WritePoint.here("output: synced, before rename")
        guard rename(temporary, target) == 0 else {
            throw FileError(path: path, "cannot rename the temporary file into place: \(String(cString: strerror(errno)))")
        }
        committed = true
        WritePoint.here("output: renamed, before folder sync")
        OutputFile.syncDirectory(directory)
    }

    /// Removes the temporary (nothing happens at `path`).
    package func discard() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        if !committed {
            unlink(temporary)
            committed = true
        }
    }
}
