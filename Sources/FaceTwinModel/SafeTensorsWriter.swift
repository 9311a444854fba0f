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
/// `write(to:)` never leaves a half-written model behind: it writes through ``OutputFile``
/// (a temporary file in the destination's folder, `fsync`ed and renamed over the
/// destination, which must be a regular file or a new path). On any failure the temporary
/// file is removed and the destination is left as it was.
package struct SafeTensorsWriter: Sendable {
    /// The elements of one tensor.
    package enum Elements: Sendable {
        /// Stored as F32.
        case floats([Float])
        /// Stored as I64.
        case int64s([Int64])
        /// Raw little-endian bytes of the declared dtype, stored as given.
        case bytes(Data)
    }

    /// One tensor to write.
    package struct Tensor: Sendable {
        package var name: String
        package var dtype: SafeTensorsDType
        /// Dimensions, outermost first; `[]` for a scalar.
        package var shape: [Int]
        package var elements: Elements

        package init(name: String, dtype: SafeTensorsDType, shape: [Int], elements: Elements) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.elements = elements
        }

        /// An F32 tensor.
        package static func float32(_ name: String, shape: [Int], _ values: [Float]) -> Tensor {
            Tensor(name: name, dtype: .float32, shape: shape, elements: .floats(values))
        }

        /// An I64 tensor (e.g. BatchNorm's `num_batches_tracked`, shape `[]`).
        package static func int64(_ name: String, shape: [Int], _ values: [Int64]) -> Tensor {
            Tensor(name: name, dtype: .int64, shape: shape, elements: .int64s(values))
        }
    }

    /// Tensors in file order.
    package var tensors: [Tensor]
    /// The `__metadata__` string map (omitted from the file when empty).
    package var metadata: [String: String]

    package init(tensors: [Tensor] = [], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// Appends an F32 tensor.
    package mutating func add(_ name: String, floats: [Float], shape: [Int]) {
        tensors.append(.float32(name, shape: shape, floats))
    }

    /// Appends an I64 tensor.
    package mutating func add(_ name: String, int64s: [Int64], shape: [Int]) {
        tensors.append(.int64(name, shape: shape, int64s))
    }

    /// Appends a tensor given as raw little-endian bytes of `dtype`.
    package mutating func add(_ name: String, dtype: SafeTensorsDType, shape: [Int], bytes: Data) {
        tensors.append(Tensor(name: name, dtype: dtype, shape: shape, elements: .bytes(bytes)))
    }

    /// Validates the tensors and writes the file atomically (see the type's documentation).
    /// Errors name `url`'s path.
    package func write(to url: URL) throws {
        try write(to: url, injectingFailureAt: nil)
    }

    /// Writes `tensors` and `metadata` to `url` atomically.
    package static func write(_ tensors: [Tensor], metadata: [String: String] = [:], to url: URL) throws {
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
        let file: StagedFile
        do { file = try OutputFile.stage(path) } catch { throw Self.ioError(error, path: path) }
        defer { file.discard() }  // removes the temporary unless committed
        try write(into: file, header: header, injectingFailureAt: injected)
        if injected == .beforeRename {
            throw SafeTensorsError(path: path, problem: .io(operation: "rename", message: "injected failure"))
        }
        do { try file.commit() } catch { throw Self.ioError(error, path: path) }
    }

    /// Validates the tensors and writes the file's bytes into `file` (through ``OutputFile``),
    /// without committing it: the caller renames it into place, e.g. after a companion file.
    package func write(into file: StagedFile) throws {
        try write(into: file, header: try headerBytes(path: file.path), injectingFailureAt: nil)
    }

    private func write(into file: StagedFile, header: [UInt8], injectingFailureAt injected: InjectedFailure?) throws {
        let path = file.path
        do {
            var length = UInt64(header.count).littleEndian
            try Swift.withUnsafeBytes(of: &length) { (raw: UnsafeRawBufferPointer) in try file.write(raw) }
            try header.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in try file.write(raw) }
            if injected == .afterHeader {
                throw SafeTensorsError(path: path, problem: .io(operation: "write", message: "injected failure"))
            }
            for tensor in tensors {
                switch tensor.elements {
                case .floats(let values): try Self.writeLittleEndian(values, file: file) { $0.bitPattern.littleEndian }
                case .int64s(let values): try Self.writeLittleEndian(values, file: file) { $0.littleEndian }
                case .bytes(let data): try file.write(data)
                }
            }
        } catch let e as FileError {
            throw Self.ioError(e, path: path)
        }
    }

    static func ioError(_ error: FileError, path: String) -> SafeTensorsError {
        SafeTensorsError(path: path, problem: .io(operation: "write", message: error.message))
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
            json += Array(
                ":{\"dtype\":\"\(tensor.dtype.rawValue)\",\"shape\":[\(shapeList)],\"data_offsets\":[\(offset),\(offset + expected)]}"
                    .utf8)
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
            case 0..<0x20:
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
        _ values: [T], file: StagedFile, _ littleEndianBits: (T) -> Bits
    ) throws {
        #if _endian(little)
        try values.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in try file.write(raw) }
        #else
        let chunk = 1 << 16
        var buffer = [Bits](repeating: 0, count: chunk)
        var start = 0
        while start < values.count {
            let end = min(start + chunk, values.count)
            for i in start..<end { buffer[i - start] = littleEndianBits(values[i]) }
            try buffer.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                try file.write(UnsafeRawBufferPointer(rebasing: raw[0..<(end - start) * MemoryLayout<Bits>.size]))
            }
            start = end
        }
        #endif
    }
}
