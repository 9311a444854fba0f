import Foundation
import XCTest

@testable import FaceTwin

/// How probes are prepared is part of what a gallery and a training history are bound to: the
/// model's fingerprint hashes its preparation record in, and `evaluate --report` draws the
/// training chart only from a history that records the model's fingerprint.
final class PreparationFingerprintTests: XCTestCase {
    static func model(_ preparation: FacePreparationRecord?) -> FaceModel {
        let m = galleryTestModel()
        m.info.preparation = preparation
        return m
    }

    func testGalleryRefusesTheSameWeightsPreparingProbesOtherwise() throws {
        let fx = try GalleryFixture(self)
        let crops = FacePreparationRecord(detect: .never, cropSize: ImageSize(width: 24, height: 28))
        let detected = FacePreparationRecord(detect: .always)
        let a = Self.model(crops), b = Self.model(detected)
        XCTAssertEqual(a.weightsFingerprint, b.weightsFingerprint, "the same weights")
        XCTAssertNotEqual(a.fingerprint, b.fingerprint)
        var counted = crops
        counted.failedToAcquire = 3
        XCTAssertEqual(Self.model(counted).fingerprint, a.fingerprint, "a training count does not change the probes")

        let g = try Gallery(path: fx.gallery, model: a, modelPath: fx.modelPath)
        try g.enroll(name: "alice", images: [fx.photo(1)])
        XCTAssertNoThrow(try Gallery(path: fx.gallery, model: Self.model(crops), modelPath: fx.modelPath, mode: .openExisting))
        XCTAssertThrowsError(try Gallery(path: fx.gallery, model: b, modelPath: fx.modelPath, mode: .openExisting)) { error in
            guard case GalleryError.modelMismatch = error else { return XCTFail("\(error)") }
        }
    }

    /// A gallery that recorded the weights' fingerprint alone still opens with its model.
    func testGalleryBoundToTheWeightsFingerprintStillOpens() throws {
        let fx = try GalleryFixture(self)
        let bare = Self.model(nil)
        let g = try Gallery(path: fx.gallery, model: bare, modelPath: fx.modelPath)
        try g.enroll(name: "alice", images: [fx.photo(1)])
        XCTAssertEqual(g.info.modelFingerprint, bare.weightsFingerprint)
        let recorded = Self.model(FacePreparationRecord(detect: .never, cropSize: ImageSize(width: 24, height: 28)))
        XCTAssertNoThrow(try Gallery(path: fx.gallery, model: recorded, modelPath: fx.modelPath, mode: .openExisting))
    }

    func testReportDrawsTrainingChartOnlyFromTheModelsHistory() throws {
        let orl = try orlDirectory()
        let dir = try temporaryDirectory(self)
        let path = try EvalFixture.copyModel(to: dir)
        let model = try FaceModel.load(path: path)
        let csv = """
            epoch,genuine_mean,genuine_p10,genuine_p90,impostor_mean,impostor_p10,impostor_p90,collapsed
            1,0.5,0.2,0.8,1.2,0.9,1.5,0
            2,0.4,0.2,0.7,1.3,1.0,1.6,0
            """
        let historyPath = TrainingFiles.historyPath(for: path)
        for (fingerprint, drawn) in [(model.fingerprint, true), (String(repeating: "0", count: 64), false)] {
            try TrainingFiles.history(csv, fingerprint: fingerprint).write(
                toFile: historyPath, atomically: true, encoding: .utf8)
            let report = dir.appendingPathComponent("report-\(drawn)").path
            let r = try runFacetwin([
                "evaluate", "--model", path, "--data", orl, "--identities", "s5,s6,s7", "--bootstrap", "0", "--report", report
            ])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(
                FileManager.default.fileExists(atPath: report + "/training.svg"), drawn, "fingerprint \(fingerprint): \(r.stderr)"
            )
            XCTAssertEqual(r.stderr.contains("training.svg not drawn"), !drawn, r.stderr)
        }
    }
}
