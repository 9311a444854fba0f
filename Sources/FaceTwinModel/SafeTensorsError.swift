#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why reading or writing a safetensors file failed.
///
/// `description` is always one line: the file's path, a colon, and the problem, e.g.
/// `model.bin: not a safetensors file (header length 8245123456 exceeds file size 1024)`.
/// Tensor names and paths are quoted with control characters escaped, so a hostile
/// header cannot break the line.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable, Sendable {
    package enum Problem: Equatable, Sendable {
        /// A system call failed (`operation` is e.g. "open", "write", "rename").
        case io(operation: String, message: String)
        /// The path names a directory or other non-regular file.
        case notARegularFile
        /// Fewer than the 8 bytes of the header length.
        case fileTooShort(size: Int)
        /// The header length field points past the end of the file.
        case headerLengthExceedsFile(headerLength: UInt64, fileSize: Int)
        /// The header is larger than `SafeTensorsFile.maximumHeaderLength`.
        case headerTooLarge(headerLength: UInt64, limit: Int)
        /// The header is not JSON (or does not start with `{`).
        case headerNotJSON(detail: String)
        /// The header is JSON but not an object.
        case headerNotObject
        /// `__metadata__` is not an object of string values.
        case invalidMetadata(detail: String)
        /// A tensor entry is not an object.
        case invalidEntry(tensor: String)
        /// A tensor entry lacks `dtype`, `shape` or `data_offsets`.
        case missingField(tensor: String, field: String)
        /// A tensor entry's field has the wrong type or value.
        case invalidField(tensor: String, field: String, detail: String)
        /// A dtype this reader does not know.
        case unknownDType(tensor: String, dtype: String)
        /// `data_offsets` fall outside the data section.
        case offsetsOutOfRange(tensor: String, begin: Int, end: Int, dataSize: Int)
        /// `end - begin` differs from `product(shape) × dtype size`.
        case sizeMismatch(tensor: String, expectedBytes: Int, actualBytes: Int)
        /// Two tensors share bytes.
        case overlap(tensor: String, other: String)
        /// Bytes of the data section that no tensor covers.
        case hole(begin: Int, end: Int)
        /// No tensor of that name in the file.
        case noSuchTensor(String)
        /// The tensor's dtype cannot be converted to the requested element type.
        case unsupportedConversion(tensor: String, dtype: SafeTensorsDType, to: String)
        /// An element does not fit the requested type (a U64 above `Int64.max`).
        case valueOutOfRange(tensor: String, index: Int)
        /// Writing: two tensors with the same name.
        case duplicateTensor(String)
        /// Writing: an empty name or the reserved `__metadata__`.
        case invalidTensorName(String)
        /// Writing: a negative dimension or a shape whose size overflows.
        case invalidShape(tensor: String, shape: [Int])
        /// Writing: the data given does not match `product(shape) × dtype size`.
        case dataSizeMismatch(tensor: String, expectedBytes: Int, actualBytes: Int)
        /// Writing: the element array given does not match the declared dtype.
        case dtypeMismatch(tensor: String, declared: SafeTensorsDType, given: String)
    }

    /// The file the problem concerns, as the caller named it.
    public let path: String
    package let problem: Problem

    package init(path: String, problem: Problem) {
        self.path = path
        self.problem = problem
    }

    public var description: String {
        "\(SafeTensorsError.oneLine(path)): \(problemDescription)"
    }

    private var problemDescription: String {
        let q = SafeTensorsError.quoted
        switch problem {
        case let .io(operation, message):
            return "\(operation) failed: \(SafeTensorsError.oneLine(message))"
        case .notARegularFile:
            return "not a regular file"
        case let .fileTooShort(size):
            return "not a safetensors file (\(size) bytes, shorter than the 8-byte header length)"
        case let .headerLengthExceedsFile(length, size):
            return "not a safetensors file (header length \(length) exceeds file size \(size))"
        case let .headerTooLarge(length, limit):
            return "not a safetensors file (header length \(length) exceeds the limit of \(limit) bytes)"
        case let .headerNotJSON(detail):
            return "not a safetensors file (header is not valid JSON: \(SafeTensorsError.oneLine(detail)))"
        case .headerNotObject:
            return "not a safetensors file (header is not a JSON object)"
        case let .invalidMetadata(detail):
            return "invalid __metadata__ (\(SafeTensorsError.oneLine(detail)))"
        case let .invalidEntry(tensor):
            return "tensor \(q(tensor)): header entry is not an object"
        case let .missingField(tensor, field):
            return "tensor \(q(tensor)): header entry has no \"\(field)\""
        case let .invalidField(tensor, field, detail):
            return "tensor \(q(tensor)): invalid \"\(field)\" (\(SafeTensorsError.oneLine(detail)))"
        case let .unknownDType(tensor, dtype):
            return "tensor \(q(tensor)): unknown dtype \(q(dtype))"
        case let .offsetsOutOfRange(tensor, begin, end, dataSize):
            return "tensor \(q(tensor)): data_offsets [\(begin), \(end)] outside the data section of \(dataSize) bytes"
        case let .sizeMismatch(tensor, expected, actual):
            return "tensor \(q(tensor)): data_offsets span \(actual) bytes but dtype and shape need \(expected)"
        case let .overlap(tensor, other):
            return "tensor \(q(tensor)): data overlaps tensor \(q(other))"
        case let .hole(begin, end):
            return "data bytes [\(begin), \(end)) belong to no tensor"
        case let .noSuchTensor(name):
            return "no tensor named \(q(name))"
        case let .unsupportedConversion(tensor, dtype, to):
            return "tensor \(q(tensor)): cannot read dtype \(dtype.rawValue) as \(to)"
        case let .valueOutOfRange(tensor, index):
            return "tensor \(q(tensor)): element \(index) does not fit in Int64"
        case let .duplicateTensor(name):
            return "tensor \(q(name)) given twice"
        case let .invalidTensorName(name):
            return "invalid tensor name \(q(name))"
        case let .invalidShape(tensor, shape):
            return "tensor \(q(tensor)): invalid shape \(shape)"
        case let .dataSizeMismatch(tensor, expected, actual):
            return "tensor \(q(tensor)): \(actual) bytes of data given but dtype and shape need \(expected)"
        case let .dtypeMismatch(tensor, declared, given):
            return "tensor \(q(tensor)): \(given) data cannot be stored as \(declared.rawValue)"
        }
    }

    /// `"name"` with quotes, backslashes and control characters escaped.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default: out += escapedControl(scalar)
            }
        }
        return out + "\""
    }

    /// The string with control characters escaped so it stays on one line.
    static func oneLine(_ s: String) -> String {
        var out = ""
        for scalar in s.unicodeScalars { out += escapedControl(scalar) }
        return out
    }

    private static func escapedControl(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\n": return "\\n"
        case "\r": return "\\r"
        case "\t": return "\\t"
        default:
            if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
                || scalar.value == 0x2028 || scalar.value == 0x2029
            {
                return "\\u{" + String(scalar.value, radix: 16) + "}"
            }
            return String(scalar)
        }
    }
}

extension SafeTensorsError {
    /// An `.io` error for a failed system call, with the message for the current `errno`.
    static func system(_ operation: String, path: String) -> SafeTensorsError {
        SafeTensorsError(path: path, problem: .io(operation: operation, message: String(cString: strerror(errno))))
    }
}
