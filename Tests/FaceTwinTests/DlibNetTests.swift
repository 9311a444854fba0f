import FaceTwin
import Foundation
import XCTest

/// Where the tests find dlib's models: `$FACETWIN_MODELS_DIR`, else `<repo>/models`, as
/// scripts/fetch-models.sh leaves them.
enum DlibModels {
    static var directory: URL {
        let env = ProcessInfo.processInfo.environment["FACETWIN_MODELS_DIR"] ?? ""
        return env.isEmpty ? packageRoot.appendingPathComponent("models") : URL(fileURLWithPath: env)
    }
    static let resnet = "dlib_face_recognition_resnet_model_v1.dat"
    static let landmarks = "shape_predictor_5_face_landmarks.dat"

    /// The path of `name` in ``directory``, or XCTSkip naming scripts/fetch-models.sh.
    static func path(_ name: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkip("\(url.path) is missing: run scripts/fetch-models.sh")
        }
        return url.path
    }
}

/// SplitMix64: the hostile-file tests corrupt the same bytes on every run.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// dlib's face-recognition ResNet as dlib deserialises it (Sources/CDlibNet): the exported
/// tensors, the architecture read from the file, dlib's own forward, and hostile files.
final class DlibNetTests: XCTestCase {
    static let expectedArchitecture =
        #"{"name":"dlib_resnet_v1","input":{"size":150,"channels":3,"mean_rgb":[122.782,117.001,104.298],"scale":0.00390625},"#
        + #""stem":{"kernel":7,"stride":2,"padding":0,"out":32,"pool":{"kernel":3,"stride":2,"padding":0}},"blocks":["#
        + #"{"out":32,"stride":1},{"out":32,"stride":1},{"out":32,"stride":1},{"out":64,"stride":2},{"out":64,"stride":1},"#
        + #"{"out":64,"stride":1},{"out":64,"stride":1},{"out":128,"stride":2},{"out":128,"stride":1},{"out":128,"stride":1},"#
        + #"{"out":256,"stride":2},{"out":256,"stride":1},{"out":256,"stride":1},{"out":256,"stride":2}],"#
        + #""embedding":128,"chip":{"size":150,"padding":0.25,"landmarks":5}}"#

    /// A deterministic 150×150 test chip (not a face; dlib's forward does not care).
    static func patternChip(seed: Int) -> RGBImage {
        let side = DlibNetwork.chipSize
        let pixels = (0..<(side * side * 3)).map { UInt8(truncatingIfNeeded: ($0 &* (7 + seed)) ^ ($0 >> 5) &+ seed * 31) }
        return RGBImage(width: side, height: side, pixels: pixels)
    }

    func testExportsEveryTensorWithTheContractNamesAndShapes() throws {
        let net = try DlibNetwork(path: DlibModels.path(DlibModels.resnet))
        XCTAssertEqual(net.parameterCount, 117)
        XCTAssertEqual(net.architectureJSON, Self.expectedArchitecture)
        let params = net.parameters
        var expected: [(String, [Int])] = [
            ("conv1.weight", [32, 3, 7, 7]), ("conv1.bias", [32]), ("affine1.weight", [32]), ("affine1.bias", [32])
        ]
        let blocks = [32, 32, 32, 64, 64, 64, 64, 128, 128, 128, 256, 256, 256, 256]
        var channels = 32
        for (i, n) in blocks.enumerated() {
            let p = "blocks.\(i)."
            expected += [
                (p + "conv1.weight", [n, channels, 3, 3]), (p + "conv1.bias", [n]), (p + "affine1.weight", [n]),
                (p + "affine1.bias", [n]), (p + "conv2.weight", [n, n, 3, 3]), (p + "conv2.bias", [n]),
                (p + "affine2.weight", [n]), (p + "affine2.bias", [n])
            ]
            channels = n
        }
        expected.append(("fc.weight", [128, 256]))
        XCTAssertEqual(params.map(\.name), expected.map(\.0))
        XCTAssertEqual(params.map(\.shape), expected.map(\.1))
        var total = 0
        for p in params {
            XCTAssertEqual(p.values.count, p.shape.reduce(1, *), p.name)
            XCTAssertTrue(p.values.allSatisfy(\.isFinite), p.name)
            XCTAssertTrue(p.values.contains { $0 != 0 }, "\(p.name) is all zeros")
            total += p.values.count
        }
        // The ResNet v1 has 5,614,592 parameters (the count of the shapes above).
        XCTAssertEqual(total, 5_614_592)
    }

    func testDlibForwardGivesAFinite128VectorAndBatchesAgreeWithSingles() throws {
        let net = try DlibNetwork(path: DlibModels.path(DlibModels.resnet))
        let a = Self.patternChip(seed: 1)
        let b = Self.patternChip(seed: 2)
        let both = try net.embed([a, b])
        XCTAssertEqual(both.count, 2)
        let single = try net.embed([a])[0]
        XCTAssertEqual(single.count, 128)
        XCTAssertTrue(single.allSatisfy(\.isFinite))
        XCTAssertGreaterThan(single.map { $0 * $0 }.reduce(0, +), 0.01)
        for j in 0..<128 { XCTAssertEqual(both[0][j], single[j], accuracy: 1e-5) }
        let distance = zip(both[0], both[1]).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        XCTAssertGreaterThan(distance, 1e-3, "two different chips give two different descriptors")
    }

    func testDlibForwardOfRealChipsEqualsThePythonWheelsDescriptors() throws {
        // Fixtures/dlib-chips: chips and descriptors dlib's PyPI wheel computed
        // (scripts/make-dlib-chip-fixture.py); here Debian's libdlib through CDlibNet, one batch.
        struct Fixture: Decodable {
            struct Record: Decodable {
                let chip: String
                let descriptor: [Float]
            }
            let chips: [Record]
        }
        let net = try DlibNetwork(path: DlibModels.path(DlibModels.resnet))
        let dir = packageRoot.appendingPathComponent("Tests/FaceTwinTests/Fixtures/dlib-chips")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: dir.appendingPathComponent("chips.json")))
        let chips = try fixture.chips.map { try ImageDecoder.decodeRGB(path: dir.appendingPathComponent($0.chip).path) }
        let descriptors = try net.embed(chips)
        var worst: Float = 0
        for (got, record) in zip(descriptors, fixture.chips) {
            XCTAssertEqual(got.count, record.descriptor.count)
            for (a, b) in zip(got, record.descriptor) { worst = max(worst, abs(a - b)) }
        }
        XCTAssertLessThanOrEqual(worst, 1e-4, "largest difference from the wheel's descriptors")
    }

    // MARK: Hostile and wrong files

    private func loadError(_ path: String) -> DlibModelError? {
        do {
            _ = try DlibNetwork(path: path)
            return nil
        } catch { return error }
    }

    private func temporaryFile(_ name: String, _ bytes: Data) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dlibnet-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent(name)
        try bytes.write(to: url)
        return url.path
    }

    func testMissingEmptyAndDirectoryAreRefusedWithOneLine() throws {
        let empty = try temporaryFile("empty.dat", Data())
        let dir = URL(fileURLWithPath: empty).deletingLastPathComponent().path
        let missing = dir + "/missing.dat"
        for (path, what) in [(missing, "No such file"), (dir, "directory"), (empty, "0 bytes")] {
            guard let error = loadError(path) else { return XCTFail("\(path) loaded") }
            let text = error.description
            XCTAssertTrue(text.hasPrefix(path + ": "), text)
            XCTAssertTrue(text.contains(what), text)
            XCTAssertFalse(text.contains("\n"), text)
        }
        if case .notResNet = loadError(empty) {} else { XCTFail("an empty file is not a model") }
        if case .unreadable = loadError(missing) {} else { XCTFail("a missing file is unreadable") }
    }

    func testRandomBytesAreRefused() throws {
        var generator = SeededGenerator(seed: 1)
        for size in [1, 7, 100, 5000, 1 << 20] {
            let bytes = Data((0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) })
            let path = try temporaryFile("random-\(size).dat", bytes)
            guard case .notResNet(let p, let reason)? = loadError(path) else { return XCTFail("random \(size) bytes") }
            XCTAssertEqual(p, path)
            XCTAssertFalse(reason.isEmpty || reason.contains("\n"), reason)
        }
    }

    func testTruncatedModelIsRefusedAtEveryCut() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: DlibModels.path(DlibModels.resnet)))
        for cut in [1, 16, 100, 1000, bytes.count / 3, bytes.count / 2, bytes.count - 100, bytes.count - 1] {
            let path = try temporaryFile("cut-\(cut).dat", bytes.prefix(cut))
            guard case .notResNet(_, let reason)? = loadError(path) else { return XCTFail("cut at \(cut) loaded") }
            XCTAssertFalse(reason.contains("\n"), reason)
        }
    }

    func testHeaderBytesFlippedNeverCrash() throws {
        // Sizes and versions in dlib's headers, corrupted: refused or (if the flip lands in a
        // weight) loaded; never a crash and never a multi-line message.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: DlibModels.path(DlibModels.resnet)))
        var rng = SeededGenerator(seed: 2)
        for i in 0..<24 {
            var copy = bytes
            let at = i < 12 ? i * 13 : Int.random(in: 0..<4096, using: &rng)
            copy[at] ^= 0xFF
            let path = try temporaryFile("flip-\(at).dat", copy)
            if let error = loadError(path) { XCTAssertFalse(error.description.contains("\n"), error.description) }
        }
    }

    func testCorruptedLayerHeadersAreRefusedOrLoadedNeverACrash() throws {
        // Right after each convolution's and affine layer's version string come its parameter
        // tensor's sizes, filter count, kernel, strides and paddings: corrupt one byte there, in
        // every such layer (58), and dlib's deserialisation or the layer check must refuse it in
        // one line, or the file loads with the architecture intact.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: DlibModels.path(DlibModels.resnet)))
        var starts: [Int] = []
        for tag in ["con_4", "affine_"] {
            let needle = Data(tag.utf8)
            var from = bytes.startIndex
            while let r = bytes.range(of: needle, in: from..<bytes.endIndex) {
                starts.append(r.upperBound)
                from = r.upperBound
            }
        }
        XCTAssertEqual(starts.count, 58)
        var rng = SeededGenerator(seed: 3)
        var refused = 0
        for (n, start) in starts.enumerated() {
            var copy = bytes
            let at = start + n % 24
            copy[at] = n % 3 == 0 ? 0xFF : copy[at] ^ UInt8.random(in: 1...255, using: &rng)
            let path = try temporaryFile("layer-\(n).dat", copy)
            if let error = loadError(path) {
                refused += 1
                XCTAssertFalse(error.description.contains("\n"), error.description)
            } else {
                XCTAssertEqual(try DlibNetwork(path: path).architectureJSON, Self.expectedArchitecture)
            }
        }
        XCTAssertGreaterThanOrEqual(refused, 25, "corrupted headers refused (31 of 58 with this seed)")
    }

    func testOtherDlibModelsAreRefused() throws {
        let landmarks = try DlibModels.path(DlibModels.landmarks)
        guard case .notResNet(_, let reason)? = loadError(landmarks) else { return XCTFail("the 5-point model loaded") }
        XCTAssertFalse(reason.contains("\n"), reason)
        let debian68 = "/usr/share/dlib/shape_predictor_68_face_landmarks.dat"
        if FileManager.default.fileExists(atPath: debian68) {
            guard case .notResNet? = loadError(debian68) else { return XCTFail("the 68-point model loaded") }
        }
        let mmod = "/usr/share/dlib/mmod_human_face_detector.dat"
        if FileManager.default.fileExists(atPath: mmod) {
            guard case .notResNet(_, let r)? = loadError(mmod) else { return XCTFail("the MMOD detector loaded") }
            XCTAssertTrue(r.contains("loss_mmod"), r)
        }
    }
}
