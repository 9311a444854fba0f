import Foundation
import XCTest

@testable import FaceTwin

/// A dlib ResNet model (``DlibResNet``) as a ``FaceModel``: its file (format
/// `facetwin.dlib-resnet`) saved and loaded, its threshold's default and calibration, its
/// fingerprint, and the commands that take a model. Random weights of a narrow instance of the
/// architecture (widths divided by 16): the numbers, not the faces, are under test here
/// (`DlibParityTests` checks the pretrained weights against dlib).
final class DlibResNetModelTests: XCTestCase {
    static func narrowModel(seed: UInt64 = 1) throws -> FaceModel {
        let net = try DlibResNet(architecture: .reduced(widthDivisor: 16), seed: seed)
        for (i, (_, p)) in net.namedParameters.enumerated() where p.value.shape.count == 1 {
            var rng = RandomSource(seed: seed * 1000 + UInt64(i))
            for j in 0..<p.value.count { p.value.pointer[j] = Float.random(in: 0.5...1.5, using: &rng) }
        }
        return FaceModel(resnet: net)
    }

    static func pixels(_ count: Int, seed: UInt64) -> [Float] {
        var rng = RandomSource(seed: seed)
        return (0..<(count * 3 * 150 * 150)).map { _ in Float(Int.random(in: 0...255, using: &rng)) / 255 }
    }

    func testSaveAndLoadKeepWeightsThresholdLandmarksAndSource() throws {
        let dir = try temporaryDirectory(self)
        let path = dir.appendingPathComponent("r.safetensors").path
        let model = try Self.narrowModel()
        XCTAssertEqual(model.info.threshold, 0.6)
        XCTAssertEqual(model.info.thresholdMethod, "dlib default (0.6)")
        model.landmarkModel = Data([9, 8, 7])
        model.source = "test weights"
        try model.save(to: path)

        let loaded = try FaceModel.load(path: path)
        XCTAssertNotNil(loaded.resnet)
        XCTAssertNil(loaded.siamese)
        XCTAssertEqual(loaded.network.stateTensors.map(\.name), model.network.stateTensors.map(\.name))
        for ((name, a), (_, b)) in zip(loaded.network.stateTensors, model.network.stateTensors) {
            XCTAssertEqual(a.toArray(), b.toArray(), name)
        }
        XCTAssertEqual(loaded.fingerprint, model.computeFingerprint())
        XCTAssertEqual(loaded.recordedFingerprint, loaded.fingerprint)
        XCTAssertEqual(loaded.landmarkModel, Data([9, 8, 7]))
        XCTAssertEqual(loaded.source, "test weights")
        XCTAssertEqual(loaded.info, model.info)
        XCTAssertEqual(loaded.config.inputWidth, 150)
        XCTAssertEqual(loaded.config.inputChannels, 3)
        XCTAssertEqual(loaded.config.embeddingSize, 128)
        let x = Self.pixels(3, seed: 5)
        XCTAssertEqual(loaded.embed(pixels: x, count: 3), model.embed(pixels: x, count: 3))

        // A calibrated threshold is saved and loaded; the fingerprint does not change with it.
        loaded.info.threshold = 0.42
        loaded.info.thresholdMethod = "EER on test identities"
        try loaded.save(to: path)
        let calibrated = try FaceModel.load(path: path)
        XCTAssertEqual(calibrated.info.threshold, 0.42)
        XCTAssertEqual(calibrated.info.thresholdMethod, "EER on test identities")
        XCTAssertEqual(calibrated.fingerprint, model.computeFingerprint())
        XCTAssertNotEqual(try Self.narrowModel(seed: 2).computeFingerprint(), model.computeFingerprint())
    }

    /// A file as `import-dlib` writes it (no `info` metadata) gets dlib's threshold.
    func testFileWithoutInfoGetsDlibsThreshold() throws {
        let dir = try temporaryDirectory(self)
        let path = dir.appendingPathComponent("r.safetensors").path
        let model = try Self.narrowModel()
        var writer = SafeTensorsWriter()
        for (name, t) in model.network.stateTensors { writer.add(name, floats: t.toArray(), shape: t.shape) }
        writer.metadata = [
            "format": "facetwin.dlib-resnet", "format_version": "1", "architecture": model.resnet!.architecture.json
        ]
        try writer.write(to: URL(fileURLWithPath: path))
        let loaded = try FaceModel.load(path: path)
        XCTAssertEqual(loaded.info.threshold, 0.6)
        XCTAssertEqual(loaded.info.thresholdMethod, "dlib default (0.6)")
        XCTAssertNil(loaded.landmarkModel)
        XCTAssertEqual(loaded.fingerprint, model.computeFingerprint())
    }

    func testHostileArchitecturesAreRefusedBeforeAllocation() {
        var wide = DlibResNetArchitecture.v1
        wide.input.size = 1024
        wide.stem.out = 4096
        XCTAssertNotNil(wide.problem(), "4096 channels of 509×509 maps")
        var noBlocks = DlibResNetArchitecture.v1
        noBlocks.blocks = []
        XCTAssertNotNil(noBlocks.problem())
        var pooledPadding = DlibResNetArchitecture.v1
        pooledPadding.stem.pool.padding = 1
        XCTAssertNotNil(pooledPadding.problem())
        var mean = DlibResNetArchitecture.v1
        mean.input.meanRGB = [1, .nan, 3]
        XCTAssertNotNil(mean.problem())
    }

    /// embed, compare, enroll, verify, identify, evaluate and calibrate take a ResNet model
    /// file like any other (with --detect never, images resized to its 150×150 colour input:
    /// this model file carries no landmark model to cut chips with).
    func testCommandsTakeTheResNetModel() throws {
        let orl = try orlDirectory()
        let dir = try temporaryDirectory(self)
        let model = dir.appendingPathComponent("r.safetensors").path
        try Self.narrowModel().save(to: model)
        let (a, b) = ("\(orl)/s5/1.pgm", "\(orl)/s5/2.pgm")

        var r = try runFacetwin(["embed", "--model", model, a, b, "--detect", "never"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout.split(separator: "\n").count, 2)
        XCTAssertEqual(r.stdout.split(separator: "\n")[0].split(separator: " ").count, 129)

        r = try runFacetwin(["compare", a, b, "--model", model])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("carries no landmark model"), r.stderr)
        r = try runFacetwin(["compare", a, b, "--model", model, "--detect", "never"])
        XCTAssertEqual(r.status, 0, r.stderr)

        let gallery = dir.appendingPathComponent("g.sqlite").path
        r = try runFacetwin(["enroll", "--gallery", gallery, "--model", model, "--name", "s5", a, "--detect", "never"])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try runFacetwin(["verify", "--gallery", gallery, "--claim", "s5", b, "--detect", "never"])
        XCTAssertTrue(r.status == 0 || r.status == 1, r.stderr)
        r = try runFacetwin(["identify", "--gallery", gallery, b, "--detect", "never"])
        XCTAssertTrue(r.status == 0 || r.status == 1, r.stderr)

        r = try runFacetwin([
            "evaluate", "--model", model, "--data", orl, "--identities", "s5,s6,s7", "--bootstrap", "0", "--detect", "never"
        ])
        XCTAssertEqual(r.status, 0, r.stderr)

        r = try runFacetwin([
            "calibrate", "--model", model, "--data", orl, "--identities", "s5,s6,s7", "--eer", "--detect", "never"
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let calibrated = try FaceModel.load(path: model)
        XCTAssertNotNil(calibrated.resnet)
        XCTAssertEqual(calibrated.info.thresholdMethod?.hasPrefix("EER on s5,s6,s7"), true, calibrated.info.thresholdMethod ?? "")
        r = try runFacetwin(["info", "--model", model])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("threshold: \(calibrated.info.threshold!) (EER on s5,s6,s7"), r.stdout)
        // The gallery's templates stay valid: calibration does not change the fingerprint.
        r = try runFacetwin(["verify", "--gallery", gallery, "--claim", "s5", "--model", model, b, "--detect", "never"])
        XCTAssertTrue(r.status == 0 || r.status == 1, r.stderr)
    }
}
