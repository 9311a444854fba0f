import Foundation

/// The validated header of a safetensors file: kept apart from the memory mapping so the
/// checks read as one list and run on any byte buffer.
struct SafeTensorsHeader {
    /// Tensors sorted by their position in the data section.
    let tensors: [SafeTensorsFile.TensorInfo]
    let metadata: [String: String]
    /// Offset of the data section from the start of the file: 8 + header length.
    let dataStart: Int

    /// Validates `file` (the whole file's bytes); `path` only names the file in errors.
    init(parsing file: UnsafeRawBufferPointer, path: String) throws {
        func fail(_ problem: SafeTensorsError.Problem) -> SafeTensorsError {
            SafeTensorsError(path: path, problem: problem)
        }
        let size = file.count
        guard size >= 8 else { throw fail(.fileTooShort(size: size)) }
        let headerLength = UInt64(littleEndian: file.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        guard headerLength <= UInt64(size - 8) else {
            throw fail(.headerLengthExceedsFile(headerLength: headerLength, fileSize: size))
        }
        guard headerLength <= UInt64(SafeTensorsFile.maximumHeaderLength) else {
            throw fail(.headerTooLarge(headerLength: headerLength, limit: SafeTensorsFile.maximumHeaderLength))
        }
        let n = Int(headerLength)
        let headerBytes = UnsafeRawBufferPointer(rebasing: file[8..<8 + n])
        // The format says UTF-8; JSONSerialization alone would also guess UTF-16/32.
        guard String(validating: headerBytes, as: UTF8.self) != nil else {
            throw fail(.headerNotJSON(detail: "not UTF-8"))
        }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(headerBytes), options: [.fragmentsAllowed])
        } catch {
            // Foundation's message is in the debug description ("Invalid value around character 1.").
            let nsError = error as NSError
            let detail = nsError.userInfo[NSDebugDescriptionErrorKey] as? String ?? nsError.localizedDescription
            throw fail(.headerNotJSON(detail: n == 0 ? "empty" : detail))
        }
        guard let object = json as? [String: Any] else { throw fail(.headerNotObject) }

        var metadata: [String: String] = [:]
        var tensors: [SafeTensorsFile.TensorInfo] = []
        let dataSize = size - 8 - n
        // Sorted so that, of several problems, the same one is always reported.
        for key in object.keys.sorted() {
            let value = object[key]!
            if key == "__metadata__" {
                guard let map = value as? [String: Any] else {
                    throw fail(.invalidMetadata(detail: "not an object"))
                }
                for (k, v) in map {
                    guard let string = v as? String else {
                        throw fail(.invalidMetadata(detail: "value of \(SafeTensorsError.quoted(k)) is not a string"))
                    }
                    metadata[k] = string
                }
                continue
            }
            tensors.append(try Self.tensorInfo(name: key, entry: value, dataSize: dataSize, fail: fail))
        }

        // The tensors must tile [0, dataSize) exactly, in offset order.
        tensors.sort {
            ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound, $0.name)
                < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound, $1.name)
        }
        var cursor = 0
        var previous: String?
        for tensor in tensors {
            let begin = tensor.dataOffsets.lowerBound
            if begin < cursor { throw fail(.overlap(tensor: tensor.name, other: previous ?? "")) }
            if begin > cursor { throw fail(.hole(begin: cursor, end: begin)) }
            cursor = tensor.dataOffsets.upperBound
            previous = tensor.name
        }
        if cursor != dataSize { throw fail(.hole(begin: cursor, end: dataSize)) }

        self.tensors = tensors
        self.metadata = metadata
        self.dataStart = 8 + n
    }

    private static func tensorInfo(
        name: String, entry: Any, dataSize: Int, fail: (SafeTensorsError.Problem) -> SafeTensorsError
    ) throws -> SafeTensorsFile.TensorInfo {
        guard let fields = entry as? [String: Any] else { throw fail(.invalidEntry(tensor: name)) }

        guard let dtypeValue = fields["dtype"] else { throw fail(.missingField(tensor: name, field: "dtype")) }
        guard let dtypeName = dtypeValue as? String else {
            throw fail(.invalidField(tensor: name, field: "dtype", detail: "not a string"))
        }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            throw fail(.unknownDType(tensor: name, dtype: dtypeName))
        }

        guard let shapeValue = fields["shape"] else { throw fail(.missingField(tensor: name, field: "shape")) }
        guard let shapeArray = shapeValue as? [Any] else {
            throw fail(.invalidField(tensor: name, field: "shape", detail: "not an array"))
        }
        var shape: [Int] = []
        shape.reserveCapacity(shapeArray.count)
        for dimension in shapeArray {
            guard let d = strictNonNegativeInt(dimension) else {
                throw fail(.invalidField(tensor: name, field: "shape", detail: "dimensions must be non-negative integers"))
            }
            shape.append(d)
        }

        guard let offsetsValue = fields["data_offsets"] else {
            throw fail(.missingField(tensor: name, field: "data_offsets"))
        }
        guard let offsetsArray = offsetsValue as? [Any], offsetsArray.count == 2,
            let begin = strictNonNegativeInt(offsetsArray[0]),
            let end = strictNonNegativeInt(offsetsArray[1])
        else {
            throw fail(.invalidField(tensor: name, field: "data_offsets", detail: "not two non-negative integers"))
        }
        guard begin <= end, end <= dataSize else {
            throw fail(.offsetsOutOfRange(tensor: name, begin: begin, end: end, dataSize: dataSize))
        }

        var expected = dtype.byteSize
        for d in shape {
            let (product, overflow) = expected.multipliedReportingOverflow(by: d)
            guard !overflow else {
                throw fail(.invalidField(tensor: name, field: "shape", detail: "size overflows"))
            }
            expected = product
        }
        guard expected == end - begin else {
            throw fail(.sizeMismatch(tensor: name, expectedBytes: expected, actualBytes: end - begin))
        }
        return SafeTensorsFile.TensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: begin..<end)
    }

    /// A JSON integer ≥ 0 that fits `Int`; not a bool, not a number written with a
    /// fraction or exponent (serde in the reference implementation rejects those too).
    private static func strictNonNegativeInt(_ value: Any) -> Int? {
        guard let number = value as? NSNumber else { return nil }
        // JSONSerialization returns integers as NSNumber of an integer type; booleans
        // and non-integral literals come back as "c" and "d"/"f".
        let type = String(cString: number.objCType)
        guard ["s", "i", "l", "q", "S", "I", "L", "Q"].contains(type) else { return nil }
        guard let int = value as? Int, int >= 0 else { return nil }
        return int
    }
}
