import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A safetensors file opened for reading, memory-mapped so a large model opens at once
/// and only the tensors actually read are paged in.
///
/// Layout (<https://github.com/huggingface/safetensors>): an 8-byte little-endian `u64`
/// header length `N`, `N` bytes of UTF-8 JSON
/// `{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, …,
/// "__metadata__": {"key": "value", …}}`, then the raw little-endian tensor bytes;
/// offsets are relative to the start of that data section.
///
/// Opening validates the whole header as strictly as the reference Rust implementation:
/// every tensor entry must be complete with a known dtype, its byte span must match
/// `product(shape) × dtype size`, and the tensors must tile the data section exactly
/// (no overlaps, no holes, no trailing bytes). After that, reads cannot go out of bounds.
///
/// The mapping is private and read-only. A file replaced by `SafeTensorsWriter` (which
/// renames a new file over the old one) does not disturb an open reader: it keeps the
/// old file's pages. Truncating the file in place while it is open is not supported
/// (the kernel would signal the reading process).
package final class SafeTensorsFile: @unchecked Sendable {
    // @unchecked Sendable: every stored property is immutable after `init`, and the
    // mapping is read-only and lives until `deinit`.

    /// Headers above this size are rejected, as by the reference implementation.
    package static let maximumHeaderLength = 100_000_000

    /// One tensor's header entry.
    package struct TensorInfo: Sendable, Equatable {
        package let name: String
        package let dtype: SafeTensorsDType
        /// Dimensions, outermost first; `[]` for a scalar.
        package let shape: [Int]
        /// Byte range within the data section (the bytes after the header).
        package let dataOffsets: Range<Int>

        /// Number of elements: the product of `shape` (1 for a scalar).
        package var elementCount: Int { shape.reduce(1, *) }
    }

    /// The path the file was opened with; errors name it.
    package let path: String
    /// The `__metadata__` string map (empty when the header has none).
    package let metadata: [String: String]
    /// Tensor names in the order their data lies in the file.
    package let tensorNames: [String]

    private let infos: [String: TensorInfo]
    private let mapping: UnsafeMutableRawPointer
    private let mappingLength: Int
    /// Offset of the data section within the mapping: 8 + header length.
    private let dataStart: Int

    /// Opens and validates the file at `path`.
    package convenience init(path: String) throws {
        try self.init(contentsOf: URL(fileURLWithPath: path))
    }

    /// Opens and validates the file at `url` (a file URL).
    package init(contentsOf url: URL) throws {
        let path = url.path
        // Through InputFile: a named pipe, socket or device is refused instead of blocking.
        let fd: Int32
        do {
            fd = try InputFile.open(path)
        } catch {
            throw SafeTensorsError(path: path, problem: .io(operation: "open", message: error.message))
        }
        defer { close(fd) }

        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw SafeTensorsError.system("stat", path: path)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw SafeTensorsError(path: path, problem: .notARegularFile)
        }
        let size = Int(info.st_size)
        guard size >= 8 else { throw SafeTensorsError(path: path, problem: .fileTooShort(size: size)) }

        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0),
            mapped != UnsafeMutableRawPointer(bitPattern: -1)
        else {
            throw SafeTensorsError.system("mmap", path: path)
        }
        let header: SafeTensorsHeader
        do {
            header = try SafeTensorsHeader(parsing: UnsafeRawBufferPointer(start: mapped, count: size), path: path)
        } catch {
            munmap(mapped, size)
            throw error
        }
        self.path = path
        self.mapping = mapped
        self.mappingLength = size
        self.dataStart = header.dataStart
        self.metadata = header.metadata
        self.tensorNames = header.tensors.map(\.name)
        self.infos = Dictionary(header.tensors.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    deinit {
        munmap(mapping, mappingLength)
    }

    /// Whether the file holds a tensor of that name.
    package func contains(_ name: String) -> Bool { infos[name] != nil }

    /// The header entry of a tensor.
    package func info(_ name: String) throws -> TensorInfo {
        guard let info = infos[name] else { throw error(.noSuchTensor(name)) }
        return info
    }

    /// The tensor's shape (`[]` for a scalar).
    package func shape(of name: String) throws -> [Int] { try info(name).shape }

    /// The tensor's element type.
    package func dtype(of name: String) throws -> SafeTensorsDType { try info(name).dtype }

    /// The tensor's raw little-endian bytes, valid only inside `body`.
    package func withUnsafeBytes<R>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let info = try self.info(name)
        return try body(
            UnsafeRawBufferPointer(
                start: UnsafeRawPointer(mapping) + dataStart + info.dataOffsets.lowerBound,
                count: info.dataOffsets.count))
    }

    /// The tensor's elements as `Float`, row-major. F32 is copied as is; F16 and BF16
    /// convert exactly; F64 rounds to the nearest `Float`. Integer dtypes throw.
    package func floats(_ name: String) throws -> [Float] {
        let info = try self.info(name)
        guard info.dtype.isFloatingPoint else {
            throw error(.unsupportedConversion(tensor: name, dtype: info.dtype, to: "Float"))
        }
        let count = info.elementCount
        guard count > 0 else { return [] }
        let src = UnsafeRawPointer(mapping) + dataStart + info.dataOffsets.lowerBound
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            switch info.dtype {
            case .float32:
                #if _endian(little)
                UnsafeMutableRawPointer(out.baseAddress!).copyMemory(from: src, byteCount: count * 4)
                #else
                for i in 0..<count {
                    out[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                }
                #endif
            case .float16:
                for i in 0..<count {
                    let bits = UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                    out[i] = HalfConversion.float(fromHalfBits: bits)
                }
            case .bfloat16:
                for i in 0..<count {
                    let bits = UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                    out[i] = HalfConversion.float(fromBFloat16Bits: bits)
                }
            case .float64:
                for i in 0..<count {
                    let bits = UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
                    out[i] = Float(Double(bitPattern: bits))
                }
            default:
                preconditionFailure("unreachable: dtype checked above")
            }
            initialized = count
        }
    }

    /// The tensor's elements as `Int64`, row-major: any integer dtype, and BOOL as 0/1.
    /// PyTorch's BatchNorm `num_batches_tracked` is an I64 scalar (shape `[]`): one element.
    /// Float dtypes throw, as does a U64 element above `Int64.max`.
    package func int64s(_ name: String) throws -> [Int64] {
        let info = try self.info(name)
        guard info.dtype.isInteger else {
            throw error(.unsupportedConversion(tensor: name, dtype: info.dtype, to: "Int64"))
        }
        let count = info.elementCount
        guard count > 0 else { return [] }
        let src = UnsafeRawPointer(mapping) + dataStart + info.dataOffsets.lowerBound
        var overflowIndex: Int?
        let values = [Int64](unsafeUninitializedCapacity: count) { out, initialized in
            for i in 0..<count {
                let value: Int64
                switch info.dtype {
                case .bool: value = src.load(fromByteOffset: i, as: UInt8.self) == 0 ? 0 : 1
                case .uint8: value = Int64(src.load(fromByteOffset: i, as: UInt8.self))
                case .int8: value = Int64(src.load(fromByteOffset: i, as: Int8.self))
                case .int16: value = Int64(Int16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
                case .uint16: value = Int64(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                case .int32: value = Int64(Int32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
                case .uint32: value = Int64(UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                case .int64: value = Int64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))
                case .uint64:
                    let raw = UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
                    if raw > UInt64(Int64.max), overflowIndex == nil { overflowIndex = i }
                    value = Int64(truncatingIfNeeded: raw)
                default: preconditionFailure("unreachable: dtype checked above")
                }
                out[i] = value
            }
            initialized = count
        }
        if let index = overflowIndex { throw error(.valueOutOfRange(tensor: name, index: index)) }
        return values
    }

    private func error(_ problem: SafeTensorsError.Problem) -> SafeTensorsError {
        SafeTensorsError(path: path, problem: problem)
    }
}
