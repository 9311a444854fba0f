import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a safetensors file, atomically.
///
/// Tensors are laid out in the order given (the header lists them in that order too,
/// after `__metadata__` with its keys sorted, so the same input always gives the same
/// bytes). The JSON header is padded with spaces to a multiple of 8 bytes, as the
/// reference Rust implementation does, so every tensor starts 8-byte aligned in the file
/// when the tensors before it have sizes that are multiples of 8.
///
/// `write(to:)` never leaves a half-written model behind: it writes a temporary file
/// `.<name>.tmp-<pid>-<random>` in the destination's directory, `fsync`s it, renames it
/// over the destination (atomic on POSIX file systems), then `fsync`s the directory
/// (best effort: some file systems refuse it). On any failure the temporary file is
/// removed and the destination is left as it was.
public struct SafeTensorsWriter: Sendable {
    /// The elements of one tensor.
    public enum Elements: Sendable {
        /// Stored as F32.
        case floats([Float])
        /// Stored as I64.
        case int64s([Int64])
        /// Raw little-endian bytes of the declared dtype, stored as given.
        case bytes(Data)
    }

    /// One tensor to write.
    public struct Tensor: Sendable {
        public var name: String
        public var dtype: SafeTensorsDType
        /// Dimensions, outermost first; `[]` for a scalar.
        public var shape: [Int]
        public var elements: Elements

        public init(name: String, dtype: SafeTensorsDType, shape: [Int], elements: Elements) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.elements = elements
        }

        /// An F32 tensor.
        public static func float32(_ name: String, shape: [Int], _ values: [Float]) -> Tensor {
            Tensor(name: name, dtype: .float32, shape: shape, elements: .floats(values))
        }

        /// An I64 tensor (e.g. BatchNorm's `num_batches_tracked`, shape `[]`).
        public static func int64(_ name: String, shape: [Int], _ values: [Int64]) -> Tensor {
            Tensor(name: name, dtype: .int64, shape: shape, elements: .int64s(values))
        }
    }

    /// Tensors in file order.
    public var tensors: [Tensor]
    /// The `__metadata__` string map (omitted from the file when empty).
    public var metadata: [String: String]

    public init(tensors: [Tensor] = [], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// Appends an F32 tensor.
    public mutating func add(_ name: String, floats: [Float], shape: [Int]) {
        tensors.append(.float32(name, shape: shape, floats))
    }

    /// Appends an I64 tensor.
    public mutating func add(_ name: String, int64s: [Int64], shape: [Int]) {
        tensors.append(.int64(name, shape: shape, int64s))
    }

    /// Appends a tensor given as raw little-endian bytes of `dtype`.
    public mutating func add(_ name: String, dtype: SafeTensorsDType, shape: [Int], bytes: Data) {
        tensors.append(Tensor(name: name, dtype: dtype, shape: shape, elements: .bytes(bytes)))
    }

    /// Validates the tensors and writes the file atomically (see the type's documentation).
    /// Errors name `url`'s path.
    public func write(to url: URL) throws {
        try write(to: url, injectingFailureAt: nil)
    }

    /// Writes `tensors` and `metadata` to `url` atomically.
    public static func write(_ tensors: [Tensor], metadata: [String: String] = [:], to url: URL) throws {
        try SafeTensorsWriter(tensors: tensors, metadata: metadata).write(to: url)
    }

    // MARK: - Internals

    /// Points where tests make `write` fail, to check the cleanup.
    enum InjectedFailure {
        case afterHeader
        case beforeRename
    }

    func write(to url: URL, injectingFailureAt injected: InjectedFailure?) throws {
        let path = url.path
        let header = try headerBytes(path: path)

        let directory = url.deletingLastPathComponent().path
        let baseName = String(url.lastPathComponent.prefix(160))
        let temporary = (directory as NSString).appendingPathComponent(
            ".\(baseName).tmp-\(getpid())-\(String(UInt64.random(in: 0 ... UInt64.max), radix: 16))")

        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard fd >= 0 else { throw SafeTensorsError.system("create temporary file", path: path) }
        var fdOpen = true
        var renamed = false
        defer {
            if fdOpen { close(fd) }
            if !renamed { unlink(temporary) }
        }

        var length = UInt64(header.count).littleEndian
        try Swift.withUnsafeBytes(of: &length) { try Self.writeAll(fd, $0, path: path) }
        try header.withUnsafeBytes { try Self.writeAll(fd, $0, path: path) }
        if injected == .afterHeader { throw SafeTensorsError(path: path, problem: .io(operation: "write", message: "injected failure")) }
        for tensor in tensors {
            switch tensor.elements {
            case .floats(let values): try Self.writeLittleEndian(values, fd: fd, path: path) { $0.bitPattern.littleEndian }
            case .int64s(let values): try Self.writeLittleEndian(values, fd: fd, path: path) { $0.littleEndian }
            case .bytes(let data): try data.withUnsafeBytes { try Self.writeAll(fd, $0, path: path) }
            }
        }
        guard fsync(fd) == 0 else { throw SafeTensorsError.system("fsync", path: path) }
        fdOpen = false
        guard close(fd) == 0 else { throw SafeTensorsError.system("close", path: path) }
        if injected == .beforeRename { throw SafeTensorsError(path: path, problem: .io(operation: "rename", message: "injected failure")) }
        guard rename(temporary, path) == 0 else { throw SafeTensorsError.system("rename", path: path) }
        renamed = true

        // Make the rename itself durable; best effort.
        let directoryFD = open(directory.isEmpty ? "." : directory, O_RDONLY | O_CLOEXEC)
        if directoryFD >= 0 {
            _ = fsync(directoryFD)
            close(directoryFD)
        }
    }

    /// Checks every tensor and returns the space-padded JSON header.
    func headerBytes(path: String) throws -> [UInt8] {
        func fail(_ problem: SafeTensorsError.Problem) -> SafeTensorsError {
            SafeTensorsError(path: path, problem: problem)
        }
        var json: [UInt8] = Array("{".utf8)
        var first = true
        if !metadata.isEmpty {
            json += Array("\"__metadata__\":{".utf8)
            for (index, key) in metadata.keys.sorted().enumerated() {
                if index > 0 { json.append(UInt8(ascii: ",")) }
                Self.appendJSONString(key, to: &json)
                json.append(UInt8(ascii: ":"))
                Self.appendJSONString(metadata[key]!, to: &json)
            }
            json.append(UInt8(ascii: "}"))
            first = false
        }

        var seen = Set<String>()
        var offset = 0
        for tensor in tensors {
            let name = tensor.name
            guard !name.isEmpty, name != "__metadata__" else { throw fail(.invalidTensorName(name)) }
            guard seen.insert(name).inserted else { throw fail(.duplicateTensor(name)) }

            var expected = tensor.dtype.byteSize
            for d in tensor.shape {
                let (product, overflow) = expected.multipliedReportingOverflow(by: d)
                guard d >= 0, !overflow else { throw fail(.invalidShape(tensor: name, shape: tensor.shape)) }
                expected = product
            }
            let actual: Int
            switch tensor.elements {
            case .floats(let values):
                guard tensor.dtype == .float32 else {
                    throw fail(.dtypeMismatch(tensor: name, declared: tensor.dtype, given: "Float"))
                }
                actual = values.count * 4
            case .int64s(let values):
                guard tensor.dtype == .int64 else {
                    throw fail(.dtypeMismatch(tensor: name, declared: tensor.dtype, given: "Int64"))
                }
                actual = values.count * 8
            case .bytes(let data):
                actual = data.count
            }
            guard actual == expected else {
                throw fail(.dataSizeMismatch(tensor: name, expectedBytes: expected, actualBytes: actual))
            }

            if !first { json.append(UInt8(ascii: ",")) }
            first = false
            Self.appendJSONString(name, to: &json)
            let shapeList = tensor.shape.map(String.init).joined(separator: ",")
            json += Array(":{\"dtype\":\"\(tensor.dtype.rawValue)\",\"shape\":[\(shapeList)],\"data_offsets\":[\(offset),\(offset + expected)]}".utf8)
            offset += expected
        }
        json.append(UInt8(ascii: "}"))
        let padding = (8 - json.count % 8) % 8
        json += repeatElement(UInt8(ascii: " "), count: padding)
        return json
    }

    /// Appends `s` as a JSON string literal: UTF-8 kept as is, `"`, `\` and control
    /// characters escaped.
    static func appendJSONString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case UInt8(ascii: "\n"): out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case UInt8(ascii: "\r"): out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case UInt8(ascii: "\t"): out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0 ..< 0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Writes the array's bytes in little-endian order: straight from the array's
    /// storage on little-endian hosts, converted in chunks otherwise.
    private static func writeLittleEndian<T, Bits: FixedWidthInteger>(
        _ values: [T], fd: Int32, path: String, _ littleEndianBits: (T) -> Bits
    ) throws {
        #if _endian(little)
        try values.withUnsafeBytes { try writeAll(fd, $0, path: path) }
        #else
        let chunk = 1 << 16
        var buffer = [Bits](repeating: 0, count: chunk)
        var start = 0
        while start < values.count {
            let end = min(start + chunk, values.count)
            for i in start ..< end { buffer[i - start] = littleEndianBits(values[i]) }
            try buffer.withUnsafeBytes { try writeAll(fd, UnsafeRawBufferPointer(rebasing: $0[0 ..< (end - start) * MemoryLayout<Bits>.size]), path: path) }
            start = end
        }
        #endif
    }

    /// `write(2)` until every byte is written, retrying on EINTR.
    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        guard var pointer = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let written = posixWrite(fd, pointer, min(remaining, 1 << 30))
            if written < 0 {
                if errno == EINTR { continue }
                throw SafeTensorsError.system("write", path: path)
            }
            pointer += written
            remaining -= written
        }
    }
}

/// `write(2)`, named apart from the writer's own `write(to:)`.
@inline(__always)
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, buffer, count)
    #elseif canImport(Musl)
    return Musl.write(fd, buffer, count)
    #else
    return Darwin.write(fd, buffer, count)
    #endif
}
