import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Opening a file FaceTwin reads (an image, a model, a pair list, a photo to hash): the one
/// place that refuses what is not a regular file.
///
/// A named pipe would block `open(2)` (and every read after it) until some other process
/// writes, so a FIFO given as an image or a model would hang the command forever; a device
/// or a socket is no better. The file is therefore opened with `O_NONBLOCK` (which makes
/// opening a FIFO return at once), checked with `fstat` to be a regular file, and only then
/// switched back to blocking reads. What is checked is the opened file itself, so a path
/// swapped between a check and the open cannot slip through.
package enum InputFile {
    /// Opens `path` for reading; the caller closes the descriptor.
    /// - Throws: ``FileError`` naming `path`: missing, unreadable, not a regular file, or
    ///   larger than `maxBytes`.
    package static func open(_ path: String, maxBytes: Int = .max) throws(FileError) -> Int32 {
        let fd = systemOpen(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(path: path, String(cString: strerror(errno))) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw FileError(path: path, message)
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw FileError(path: path, "is \(kind(st.st_mode)), not a regular file")
        }
        guard Int(st.st_size) <= maxBytes else {
            close(fd)
            throw FileError(path: path, "\(st.st_size) bytes, more than the \(maxBytes) bytes allowed")
        }
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw FileError(path: path, message)
        }
        return fd
    }

    /// The whole file's bytes, read through ``open(_:maxBytes:)``.
    package static func read(_ path: String, maxBytes: Int = .max) throws(FileError) -> Data {
        let fd = try open(path, maxBytes: maxBytes)
        defer { close(fd) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError(path: path, String(cString: strerror(errno)))
            }
            if n == 0 { return data }
            data.append(contentsOf: buffer[0..<n])
        }
    }

    /// Words for a file type: "a directory", "a named pipe (FIFO)", …
    package static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a named pipe (FIFO)"
        case S_IFSOCK: return "a socket"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFLNK: return "a symbolic link"
        case S_IFREG: return "a regular file"
        default: return "an unknown kind of file"
        }
    }
}

/// `open(2)` and `read(2)`, named apart from the members of the types that call them.
package func systemOpen(_ path: String, _ flags: Int32, _ mode: mode_t = 0) -> Int32 {
    #if canImport(Glibc)
    return Glibc.open(path, flags, mode)
    #elseif canImport(Musl)
    return Musl.open(path, flags, mode)
    #else
    return Darwin.open(path, flags, mode)
    #endif
}

func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.read(fd, buffer, count)
    #elseif canImport(Musl)
    return Musl.read(fd, buffer, count)
    #else
    return Darwin.read(fd, buffer, count)
    #endif
}

func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, buffer, count)
    #elseif canImport(Musl)
    return Musl.write(fd, buffer, count)
    #else
    return Darwin.write(fd, buffer, count)
    #endif
}

package func systemRename(_ from: String, _ to: String) -> Int32 {
    #if canImport(Glibc)
    return Glibc.rename(from, to)
    #elseif canImport(Musl)
    return Musl.rename(from, to)
    #else
    return Darwin.rename(from, to)
    #endif
}
