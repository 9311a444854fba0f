import Foundation
import XCTest

@testable import FaceTwin
@testable import FaceTwinModel

/// The safetensors reader and writer: round trips, the Python library's files, and the
/// atomic write.
final class SafeTensorsTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("facetwin-safetensors-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    func bytes<T>(of values: [T]) -> Data { values.withUnsafeBytes { Data($0) } }

    // MARK: - Round trip

    func testRoundTripKeepsValuesShapesOrderAndMetadata() throws {
        let metadata = [
            "format": "pt",
            "quotes": #"say "hi" \ to {"json": [1]}"#,
            "unicode": "Grüße, 顔, 🙂, e\u{301}",
            "lines": "first\nsecond\r\n\tthird\u{1}",
            "": "empty key"
        ]
        var writer = SafeTensorsWriter(metadata: metadata)
        writer.add("fc1.0.weight", floats: [1, -2.5, 3.25, .pi, -0.0, .greatestFiniteMagnitude], shape: [2, 3])
        writer.add("cnn1.3.num_batches_tracked", int64s: [1_234_567_890_123], shape: [])
        writer.add("indices", int64s: [-1, 0, .max], shape: [3])
        writer.add("half", dtype: .float16, shape: [2], bytes: bytes(of: [UInt16(0x3C00), 0xC000]))
        writer.add("brain", dtype: .bfloat16, shape: [1], bytes: bytes(of: [UInt16(0x4049)]))
        writer.add("double", dtype: .float64, shape: [2, 1], bytes: bytes(of: [0.1, -1e300]))
        writer.add("empty", floats: [], shape: [0, 4])
        writer.add("last", floats: [7], shape: [1, 1, 1])
        let path = url("model.safetensors")
        try writer.write(to: path)

        let file = try SafeTensorsFile(contentsOf: path)
        XCTAssertEqual(file.metadata, metadata)
        XCTAssertEqual(
            file.tensorNames,
            [
                "fc1.0.weight", "cnn1.3.num_batches_tracked", "indices", "half",
                "brain", "double", "empty", "last"
            ])
        XCTAssertEqual(try file.shape(of: "fc1.0.weight"), [2, 3])
        XCTAssertEqual(try file.dtype(of: "fc1.0.weight"), .float32)
        XCTAssertEqual(
            try file.floats("fc1.0.weight").map(\.bitPattern),
            [1, -2.5, 3.25, .pi, -0.0, .greatestFiniteMagnitude].map { (x: Float) in x.bitPattern })
        XCTAssertEqual(try file.shape(of: "cnn1.3.num_batches_tracked"), [])
        XCTAssertEqual(try file.dtype(of: "cnn1.3.num_batches_tracked"), .int64)
        XCTAssertEqual(try file.int64s("cnn1.3.num_batches_tracked"), [1_234_567_890_123])
        XCTAssertEqual(try file.int64s("indices"), [-1, 0, .max])
        XCTAssertEqual(try file.floats("half"), [1, -2])
        XCTAssertEqual(try file.floats("brain"), [3.140625])
        XCTAssertEqual(try file.floats("double"), [0.1, -.infinity])
        XCTAssertEqual(try file.shape(of: "empty"), [0, 4])
        XCTAssertEqual(try file.floats("empty"), [])
        XCTAssertEqual(try file.floats("last"), [7])
        XCTAssertTrue(file.contains("last"))
        XCTAssertFalse(file.contains("missing"))

        // Layout: header padded to a multiple of 8 with spaces; tensors in the order given.
        let raw = try Data(contentsOf: path)
        let headerLength = raw.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        XCTAssertEqual(headerLength % 8, 0)
        XCTAssertEqual(try file.info("fc1.0.weight").dataOffsets, 0..<24)
        XCTAssertEqual(try file.info("cnn1.3.num_batches_tracked").dataOffsets, 24..<32)
        XCTAssertEqual(try file.info("last").dataOffsets, (raw.count - 8 - headerLength - 4)..<(raw.count - 8 - headerLength))
        // F32 data stored as raw little-endian IEEE bits.
        let firstFloat = raw[(8 + headerLength)..<(8 + headerLength + 4)]
        XCTAssertEqual(Array(firstFloat), [0x00, 0x00, 0x80, 0x3F])
        try file.withUnsafeBytes(of: "half") { XCTAssertEqual(Array($0), [0x00, 0x3C, 0x00, 0xC0]) }
    }

    func testWritingIsDeterministic() throws {
        let metadata = ["b": "2", "a": "1", "c": "3", "z": "26", "m": "13"]
        let tensors: [SafeTensorsWriter.Tensor] = [.float32("w", shape: [2], [1, 2]), .int64("n", shape: [], [3])]
        try SafeTensorsWriter.write(tensors, metadata: metadata, to: url("one.safetensors"))
        try SafeTensorsWriter.write(tensors, metadata: metadata, to: url("two.safetensors"))
        XCTAssertEqual(try Data(contentsOf: url("one.safetensors")), try Data(contentsOf: url("two.safetensors")))
    }

    func testLargeTensorRoundTrip() throws {
        let count = 4_000_000
        let values = (0..<count).map { Float($0) * 0.5 - 1000 }
        let path = url("big.safetensors")
        try SafeTensorsWriter.write([.float32("fc1.0.weight", shape: [8000, 500], values)], to: path)
        let file = try SafeTensorsFile(contentsOf: path)
        XCTAssertEqual(try file.shape(of: "fc1.0.weight"), [8000, 500])
        XCTAssertEqual(try file.floats("fc1.0.weight"), values)
    }

    /// A reader keeps the file it opened when a writer replaces it (rename, not truncate).
    func testOpenReaderSurvivesReplacement() throws {
        let path = url("model.safetensors")
        try SafeTensorsWriter.write([.float32("w", shape: [3], [1, 2, 3])], to: path)
        let old = try SafeTensorsFile(contentsOf: path)
        try SafeTensorsWriter.write([.float32("w", shape: [2], [9, 9]), .float32("v", shape: [1], [5])], to: path)
        XCTAssertEqual(try old.floats("w"), [1, 2, 3])
        XCTAssertEqual(try SafeTensorsFile(contentsOf: path).floats("w"), [9, 9])
    }

    // MARK: - Python compatibility

    func pythonFixture() throws -> SafeTensorsFile {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/safetensors/python", withExtension: "safetensors"))
        return try SafeTensorsFile(contentsOf: url)
    }

    /// Written by `safetensors.torch.save_file` (scripts/make-safetensors-fixture.py).
    func testReadsFileWrittenByPythonSafetensors() throws {
        let file = try pythonFixture()
        XCTAssertEqual(
            file.metadata,
            [
                "format": "pt",
                "config": #"{"embedding": 5}"#,
                "note": "Grüße ✓ \"quoted\" \\ back\nsecond line"
            ])
        // Python orders the data by alignment, then name; tensorNames follows the data.
        XCTAssertEqual(
            file.tensorNames,
            [
                "bn.num_batches_tracked", "double.f64", "empty.f32", "weight.f32",
                "ints.i32", "brain.bf16", "half.f16"
            ])

        XCTAssertEqual(try file.dtype(of: "weight.f32"), .float32)
        XCTAssertEqual(try file.shape(of: "weight.f32"), [2, 3])
        XCTAssertEqual(
            try file.floats("weight.f32").map(\.bitPattern),
            [1.5, -2.25, 0.1, .greatestFiniteMagnitude, -0.0, .leastNonzeroMagnitude].map { (x: Float) in x.bitPattern })

        XCTAssertEqual(try file.dtype(of: "half.f16"), .float16)
        let half = try file.floats("half.f16")
        XCTAssertEqual(Array(half[0..<7]), [0.5, -1, 65504, 0x1p-14, 0x1p-24, .infinity, -.infinity])
        XCTAssertTrue(half[7].isNaN)
        XCTAssertEqual(half[8], 0.0999755859375)

        XCTAssertEqual(try file.dtype(of: "brain.bf16"), .bfloat16)
        XCTAssertEqual(try file.shape(of: "brain.bf16"), [2, 2])
        XCTAssertEqual(try file.floats("brain.bf16"), [1, -3.140625, 3.3895313892515355e38, 0.10009765625])

        XCTAssertEqual(try file.dtype(of: "double.f64"), .float64)
        XCTAssertEqual(try file.floats("double.f64"), [0.1, -2.5, 0, .infinity])

        XCTAssertEqual(try file.dtype(of: "bn.num_batches_tracked"), .int64)
        XCTAssertEqual(try file.shape(of: "bn.num_batches_tracked"), [])
        XCTAssertEqual(try file.int64s("bn.num_batches_tracked"), [1_234_567_890_123])

        XCTAssertEqual(try file.dtype(of: "ints.i32"), .int32)
        XCTAssertEqual(try file.int64s("ints.i32"), [-7, 0, 2_147_483_647])

        XCTAssertEqual(try file.shape(of: "empty.f32"), [0, 3])
        XCTAssertEqual(try file.floats("empty.f32"), [])
    }

    func testConversionErrorsNameTheFileAndTensor() throws {
        let file = try pythonFixture()
        assertProblem(try file.floats("ints.i32"), "python.safetensors", "cannot read dtype I32 as Float") {
            $0 == .unsupportedConversion(tensor: "ints.i32", dtype: .int32, to: "Float")
        }
        assertProblem(try file.int64s("half.f16"), "python.safetensors", "cannot read dtype F16 as Int64")
        assertProblem(try file.floats("nope"), "python.safetensors", #"no tensor named "nope""#) { $0 == .noSuchTensor("nope") }
        assertProblem(try file.shape(of: "nope"), "python.safetensors", "no tensor named")
        assertProblem(try file.dtype(of: "nope"), "python.safetensors", "no tensor named")
    }

    func testUInt64AboveInt64MaxIsRejected() throws {
        let path = url("u64.safetensors")
        try SafeTensorsWriter.write(
            [
                SafeTensorsWriter.Tensor(name: "u", dtype: .uint64, shape: [2], elements: .bytes(bytes(of: [UInt64(5), .max])))
            ], to: path)
        assertProblem(try SafeTensorsFile(contentsOf: path).int64s("u"), "u64.safetensors", "element 1 does not fit")
    }

    /// Every one of the 65 536 half-precision bit patterns against Swift's own Float16.
    func testHalfConversionIsExactForEveryBitPattern() throws {
        #if arch(x86_64) && os(macOS)
        throw XCTSkip("Float16 is unavailable on macOS x86_64")
        #else
        for bits in 0...UInt16.max {
            let expected = Float(Float16(bitPattern: bits))
            let actual = HalfConversion.float(fromHalfBits: bits)
            if expected.isNaN {
                XCTAssertTrue(actual.isNaN, "bits \(bits)")
            } else {
                XCTAssertEqual(actual.bitPattern, expected.bitPattern, "bits \(bits)")
            }
        }
        #endif
    }

    // MARK: - Malformed files

    /// Writes `header` (JSON text) with a correct length prefix, then `data`.
    func writeRaw(_ name: String, header: String, data: [UInt8] = []) throws -> URL {
        let headerBytes = Array(header.utf8)
        return try writeRaw(name, length: UInt64(headerBytes.count), bytes: headerBytes + data)
    }

    func writeRaw(_ name: String, length: UInt64, bytes: [UInt8]) throws -> URL {
        let path = url(name)
        var data = withUnsafeBytes(of: length.littleEndian) { Data($0) }
        data.append(contentsOf: bytes)
        try data.write(to: path)
        return path
    }

    /// Opening `header` + `data` fails with a one-line error naming the file and `phrase`.
    func assertRejected(
        _ header: String, data: [UInt8] = [], _ phrase: String, file: StaticString = #filePath, line: UInt = #line,
        _ problem: ((SafeTensorsError.Problem) -> Bool)? = nil
    ) throws {
        let name = "bad-\(line).safetensors"
        let path = try writeRaw(name, header: header, data: data)
        assertProblem(try SafeTensorsFile(contentsOf: path), name, phrase, file: file, line: line, problem)
    }

    func assertProblem<T>(
        _ expression: @autoclosure () throws -> T, _ fileName: String, _ phrase: String,
        file: StaticString = #filePath, line: UInt = #line, _ problem: ((SafeTensorsError.Problem) -> Bool)? = nil
    ) {
        do {
            _ = try expression()
            XCTFail("expected a SafeTensorsError containing \(phrase)", file: file, line: line)
        } catch let error as SafeTensorsError {
            let text = error.description
            XCTAssertTrue(text.contains(fileName), "\(text) should name \(fileName)", file: file, line: line)
            XCTAssertTrue(text.contains(phrase), "\(text) should contain \(phrase)", file: file, line: line)
            XCTAssertFalse(text.contains("\n") || text.contains("\r"), "\(text) should be one line", file: file, line: line)
            if let problem {
                XCTAssertTrue(problem(error.problem), "unexpected problem \(error.problem)", file: file, line: line)
            }
        } catch {
            XCTFail("expected a SafeTensorsError, got \(type(of: error)): \(error)", file: file, line: line)
        }
    }

    func testRejectsShortFiles() throws {
        for size in [0, 1, 7] {
            let path = url("short\(size).safetensors")
            try Data(repeating: 0, count: size).write(to: path)
            assertProblem(
                try SafeTensorsFile(contentsOf: path), "short\(size).safetensors",
                "not a safetensors file (\(size) bytes"
            ) { $0 == .fileTooShort(size: size) }
        }
    }

    func testRejectsHeaderLengthBeyondFile() throws {
        let path = try writeRaw("model.bin", length: 8_245_123_456, bytes: [UInt8](repeating: 0x20, count: 1016))
        assertProblem(
            try SafeTensorsFile(contentsOf: path), "model.bin",
            "model.bin: not a safetensors file (header length 8245123456 exceeds file size 1024)")
        let exact = try writeRaw("off-by-one.safetensors", length: 3, bytes: Array("{}".utf8))
        assertProblem(try SafeTensorsFile(contentsOf: exact), "off-by-one.safetensors", "header length 3 exceeds file size 10")
        let huge = try writeRaw("huge.safetensors", length: .max, bytes: Array("{}".utf8))
        assertProblem(try SafeTensorsFile(contentsOf: huge), "huge.safetensors", "header length 18446744073709551615 exceeds")
    }

    func testRejectsHeaderAboveOneHundredMegabytes() throws {
        // A sparse file: 100 MB + 16 bytes on disk costs nothing.
        let path = url("big-header.safetensors")
        let length = UInt64(SafeTensorsFile.maximumHeaderLength + 1)
        try withUnsafeBytes(of: length.littleEndian) { Data($0) }.write(to: path)
        let handle = try FileHandle(forWritingTo: path)
        try handle.truncate(atOffset: length + 8 + 7)
        try handle.close()
        assertProblem(
            try SafeTensorsFile(contentsOf: path), "big-header.safetensors",
            "header length 100000001 exceeds the limit of 100000000 bytes"
        ) {
            $0 == .headerTooLarge(headerLength: length, limit: 100_000_000)
        }
    }

    func testRejectsHeadersThatAreNotJSONObjects() throws {
        try assertRejected("{not json}", "header is not valid JSON")
        try assertRejected("", "header is not valid JSON: empty)")
        try assertRejected("{\"a\": ", "header is not valid JSON")
        try assertRejected("[1, 2]", "header is not a JSON object") { $0 == .headerNotObject }
        try assertRejected("\"string\"", "header is not a JSON object")
        let path = try writeRaw("latin1.safetensors", length: 8, bytes: [0x7B, 0x22, 0xE9, 0x22, 0x3A, 0x31, 0x7D, 0x20])
        assertProblem(try SafeTensorsFile(contentsOf: path), "latin1.safetensors", "not UTF-8")
    }

    func testRejectsBadMetadata() throws {
        try assertRejected(#"{"__metadata__": {"a": 1}}"#, #"value of "a" is not a string"#)
        try assertRejected(#"{"__metadata__": ["a"]}"#, "invalid __metadata__ (not an object)")
        try assertRejected(#"{"__metadata__": null}"#, "invalid __metadata__")
    }

    func testRejectsIncompleteOrInvalidEntries() throws {
        try assertRejected(#"{"t": 3}"#, #"tensor "t": header entry is not an object"#)
        try assertRejected(
            #"{"t": {"shape": [1], "data_offsets": [0, 4]}}"#, data: [0, 0, 0, 0],
            #"tensor "t": header entry has no "dtype""#
        ) { $0 == .missingField(tensor: "t", field: "dtype") }
        try assertRejected(#"{"t": {"dtype": "F32", "data_offsets": [0, 4]}}"#, data: [0, 0, 0, 0], #"has no "shape""#)
        try assertRejected(#"{"t": {"dtype": "F32", "shape": [1]}}"#, data: [0, 0, 0, 0], #"has no "data_offsets""#)
        try assertRejected(
            #"{"t": {"dtype": 32, "shape": [1], "data_offsets": [0, 4]}}"#, data: [0, 0, 0, 0],
            #"invalid "dtype""#)
        try assertRejected(
            #"{"t": {"dtype": "Q7", "shape": [1], "data_offsets": [0, 4]}}"#, data: [0, 0, 0, 0],
            #"tensor "t": unknown dtype "Q7""#
        ) { $0 == .unknownDType(tensor: "t", dtype: "Q7") }
        try assertRejected(
            #"{"t": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}}"#, data: [0],
            "unknown dtype")
        for shape in ["[-1]", "[1.5]", "[true]", "[\"2\"]", "2", "[18446744073709551615]"] {
            try assertRejected(
                #"{"t": {"dtype": "F32", "shape": \#(shape), "data_offsets": [0, 4]}}"#, data: [0, 0, 0, 0],
                #"invalid "shape""#)
        }
        try assertRejected(
            #"{"t": {"dtype": "F32", "shape": [4611686018427387904, 4], "data_offsets": [0, 4]}}"#,
            data: [0, 0, 0, 0], "size overflows")
        for offsets in ["[0]", "[0, 4, 8]", "[-4, 0]", "[0, 4.0]", "\"0,4\""] {
            try assertRejected(
                #"{"t": {"dtype": "F32", "shape": [1], "data_offsets": \#(offsets)}}"#, data: [0, 0, 0, 0],
                #"invalid "data_offsets""#)
        }
    }

    func testRejectsOffsetsOutsideTheDataOrOfTheWrongSize() throws {
        try assertRejected(
            #"{"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}"#, data: [0, 0, 0, 0],
            "data_offsets [0, 8] outside the data section of 4 bytes"
        ) {
            $0 == .offsetsOutOfRange(tensor: "t", begin: 0, end: 8, dataSize: 4)
        }
        try assertRejected(
            #"{"t": {"dtype": "F32", "shape": [0], "data_offsets": [4, 0]}}"#, data: [0, 0, 0, 0],
            "data_offsets [4, 0] outside")
        try assertRejected(
            #"{"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}"#, data: [0, 0, 0, 0],
            "data_offsets span 4 bytes but dtype and shape need 8"
        ) {
            $0 == .sizeMismatch(tensor: "t", expectedBytes: 8, actualBytes: 4)
        }
        try assertRejected(
            #"{"t": {"dtype": "I64", "shape": [], "data_offsets": [0, 4]}}"#, data: [0, 0, 0, 0],
            "need 8")
    }

    func testRejectsOverlapsAndHoles() throws {
        let twelve = [UInt8](repeating: 0, count: 12)
        try assertRejected(
            #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}"#,
            data: twelve, #"tensor "b": data overlaps tensor "a""#
        ) { $0 == .overlap(tensor: "b", other: "a") }
        try assertRejected(
            #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#,
            data: [0, 0, 0, 0], "data overlaps")
        try assertRejected(
            #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "z": {"dtype": "F32", "shape": [0], "data_offsets": [4, 4]}}"#,
            data: [UInt8](repeating: 0, count: 8), "data overlaps")
        try assertRejected(
            #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}"#,
            data: twelve, "data bytes [4, 8) belong to no tensor"
        ) { $0 == .hole(begin: 4, end: 8) }
        try assertRejected(
            #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#,
            data: [UInt8](repeating: 0, count: 8), "data bytes [4, 8) belong to no tensor")
        try assertRejected(
            #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#,
            data: [UInt8](repeating: 0, count: 8), "data bytes [0, 4) belong to no tensor")
        try assertRejected("{}", data: [1], "data bytes [0, 1) belong to no tensor")
    }

    func testAcceptsEmptyHeaderAndSpacePadding() throws {
        let path = try writeRaw("empty.safetensors", header: "{}      ")
        let file = try SafeTensorsFile(contentsOf: path)
        XCTAssertEqual(file.tensorNames, [])
        XCTAssertEqual(file.metadata, [:])
    }

    func testErrorsStayOnOneLineWhateverTheNames() throws {
        try assertRejected(
            #"{"bad\nname\u0000": {"dtype": "X\r\n", "shape": [1], "data_offsets": [0, 4]}}"#,
            data: [0, 0, 0, 0], #"tensor "bad\nname\u{0}": unknown dtype "X\r\n""#)
    }

    func testMissingFileAndDirectory() throws {
        assertProblem(
            try SafeTensorsFile(contentsOf: url("absent.safetensors")), "absent.safetensors", "open failed: No such file"
        ) {
            if case .io(operation: "open", _) = $0 { return true } else { return false }
        }
        assertProblem(try SafeTensorsFile(path: directory.path), directory.lastPathComponent, "not a regular file")
    }

    // MARK: - Failed writes

    func temporaryFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".facetwin-tmp-") }
    }

    func testInvalidTensorsAreRejectedBeforeTouchingTheDestination() throws {
        let path = url("model.safetensors")
        try SafeTensorsWriter.write([.float32("w", shape: [1], [42])], to: path)
        let original = try Data(contentsOf: path)
        let cases: [(SafeTensorsWriter.Tensor, String)] = [
            (.float32("w", shape: [2, 3], [1, 2, 3]), #"tensor "w": 12 bytes of data given but dtype and shape need 24"#),
            (.float32("w", shape: [-1], []), "invalid shape [-1]"),
            (.float32("w", shape: [Int.max, 2], []), "invalid shape"),
            (.float32("", shape: [0], []), #"invalid tensor name """#),
            (.float32("__metadata__", shape: [0], []), "invalid tensor name"),
            (
                SafeTensorsWriter.Tensor(name: "h", dtype: .float16, shape: [1], elements: .floats([1])),
                #"tensor "h": Float data cannot be stored as F16"#
            ),
            (
                SafeTensorsWriter.Tensor(name: "i", dtype: .int32, shape: [1], elements: .int64s([1])),
                "Int64 data cannot be stored as I32"
            ),
            (
                SafeTensorsWriter.Tensor(name: "b", dtype: .float16, shape: [2], elements: .bytes(Data([1, 2, 3]))),
                "3 bytes of data"
            )
        ]
        for (tensor, phrase) in cases {
            assertProblem(try SafeTensorsWriter.write([tensor], to: path), "model.safetensors", phrase)
        }
        assertProblem(
            try SafeTensorsWriter.write([.float32("w", shape: [1], [1]), .float32("w", shape: [1], [2])], to: path),
            "model.safetensors", #"tensor "w" given twice"#
        ) { $0 == .duplicateTensor("w") }
        XCTAssertEqual(try Data(contentsOf: path), original)
        XCTAssertEqual(try temporaryFiles(), [])
    }

    func testWriteIntoMissingDirectoryFailsCleanly() throws {
        let path = directory.appendingPathComponent("no/such/dir/model.safetensors")
        assertProblem(
            try SafeTensorsWriter.write([.float32("w", shape: [1], [1])], to: path), "model.safetensors",
            "cannot create a temporary file in")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path.path))
        XCTAssertEqual(try temporaryFiles(), [])
    }

    /// The destination is a non-empty directory: refused before anything is written, and
    /// left untouched.
    func testFailedRenameRemovesTheTemporaryFile() throws {
        let destination = url("model.safetensors")
        try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: false)
        try Data("keep".utf8).write(to: destination.appendingPathComponent("inside"))
        assertProblem(
            try SafeTensorsWriter.write([.float32("w", shape: [1000], [Float](repeating: 1, count: 1000))], to: destination),
            "model.safetensors", "is a directory, not a regular file")
        XCTAssertEqual(try temporaryFiles(), [])
        XCTAssertEqual(try Data(contentsOf: destination.appendingPathComponent("inside")), Data("keep".utf8))
    }

    func testFailureMidWriteLeavesExistingModelIntact() throws {
        let path = url("model.safetensors")
        try SafeTensorsWriter.write([.float32("w", shape: [2], [1, 2])], to: path, injectingFailureAt: nil)
        let original = try Data(contentsOf: path)
        let writer = SafeTensorsWriter(tensors: [.float32("w", shape: [3], [7, 8, 9])], metadata: ["k": "v"])
        for stage in [SafeTensorsWriter.InjectedFailure.afterHeader, .beforeRename] {
            assertProblem(try writer.write(to: path, injectingFailureAt: stage), "model.safetensors", "injected failure")
            XCTAssertEqual(try Data(contentsOf: path), original, "after a failure at \(stage)")
            XCTAssertEqual(try temporaryFiles(), [], "after a failure at \(stage)")
        }
        try writer.write(to: path)
        XCTAssertEqual(try SafeTensorsFile(contentsOf: path).floats("w"), [7, 8, 9])
        XCTAssertEqual(try temporaryFiles(), [])
    }

    func testReadOnlyDirectoryFailsCleanly() throws {
        guard getuid() != 0 else { throw XCTSkip("root ignores directory permissions") }
        let readOnly = url("ro")
        try FileManager.default.createDirectory(at: readOnly, withIntermediateDirectories: false)
        let path = readOnly.appendingPathComponent("model.safetensors")
        try SafeTensorsWriter.write([.float32("w", shape: [1], [1])], to: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: readOnly.path)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: readOnly.path) }
        assertProblem(
            try SafeTensorsWriter.write([.float32("w", shape: [1], [2])], to: path), "model.safetensors",
            "create temporary file failed")
        XCTAssertEqual(try SafeTensorsFile(contentsOf: path).floats("w"), [1])
    }
}

extension SafeTensorsWriter {
    /// The static writer with the test hook.
    static func write(_ tensors: [Tensor], to url: URL, injectingFailureAt stage: InjectedFailure?) throws {
        try SafeTensorsWriter(tensors: tensors).write(to: url, injectingFailureAt: stage)
    }
}
