import Foundation
import XCTest

@testable import FaceTwin

/// Choosing a threshold on held-out identities and storing it without touching the weights.
final class CalibrationTests: XCTestCase {
    func testEERAndFMRThresholds() throws {
        let orl = try orlDirectory()
        let model = try FaceModel.load(path: try EvalFixture.modelPath())
        let e = try Evaluation(model: model, root: orl, identities: EvalFixture.heldOut)

        let eer = try Calibration(evaluation: e, target: .eer)
        XCTAssertEqual(eer.threshold, e.metrics.eerThreshold)
        XCTAssertEqual(eer.method, "EER on s5,s6,s7 (30 images, 435 pairs)")
        XCTAssertEqual(eer.point.halfTotalErrorRate, e.metrics.eer, accuracy: 1e-12)

        let fmr = try Calibration(evaluation: e, target: .fmr(0.01))
        XCTAssertEqual(fmr.method, "FMR 1 % on s5,s6,s7 (30 images, 435 pairs)")
        XCTAssertEqual(fmr.threshold, e.metrics.tarAtFMR1Percent.measuredThreshold)
        let rates = e.errorRates(atThreshold: fmr.threshold)
        XCTAssertLessThanOrEqual(rates.fmr, 0.01, "the threshold keeps the FMR at or below the target")
        XCTAssertEqual(1 - rates.fnmr, e.metrics.tarAtFMR1Percent.measuredTAR, accuracy: 1e-12)
        XCTAssertFalse(fmr.targetBelowResolution)
        XCTAssertTrue(
            try Calibration(evaluation: e, target: .fmr(0.001)).targetBelowResolution, "300 impostor pairs cannot measure 0.1 %")
        XCTAssertThrowsError(try Calibration(evaluation: e, target: .fmr(1.5)))
        XCTAssertEqual(Calibration.percent(0.001), "0.1 %")
        XCTAssertEqual(Calibration.percent(0.025), "2.5 %")
    }

    func testCalibrateStoresThresholdAndLeavesWeights() throws {
        let orl = try orlDirectory()
        let dir = try temporaryDirectory(self)
        let path = try EvalFixture.copyModel(to: dir)
        let before = try FaceModel.load(path: path)
        let beforeFile = try SafeTensorsFile(path: path)

        let model = try FaceModel.load(path: path)
        let calibration = try Calibration(
            evaluation: try Evaluation(model: model, root: orl, identities: ["s5", "s6"]), target: .fmr(0.05))
        calibration.apply(to: model)
        try model.save(to: path)
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: dir.path), ["model.safetensors"], "no temporary file left")

        let after = try FaceModel.load(path: path)
        XCTAssertEqual(after.info.threshold, calibration.threshold)
        XCTAssertEqual(after.info.thresholdMethod, "FMR 5 % on s5,s6 (20 images, 190 pairs)")
        XCTAssertNotEqual(after.info.threshold, before.info.threshold)
        var expected = before.info
        expected.threshold = calibration.threshold
        expected.thresholdMethod = calibration.method
        XCTAssertEqual(after.info, expected, "only the threshold and its method change")
        // Every tensor of the file, byte for byte the same values.
        let afterFile = try SafeTensorsFile(path: path)
        XCTAssertEqual(afterFile.tensorNames, beforeFile.tensorNames)
        for ((name, a), (_, b)) in zip(after.network.stateTensors, before.network.stateTensors) {
            XCTAssertEqual(a.toArray(), b.toArray(), name)
        }
        XCTAssertEqual(
            after.siamese!.batchNorms.map(\.layer.numBatchesTracked), before.siamese!.batchNorms.map(\.layer.numBatchesTracked))
        XCTAssertEqual(after.fingerprint, before.fingerprint, "galleries made with the model stay valid")
    }

    /// `facetwin calibrate` refuses identities the model trained on and rewrites the model.
    func testCalibrateCommand() throws {
        let orl = try orlDirectory()
        let dir = try temporaryDirectory(self)
        let path = try EvalFixture.copyModel(to: dir)
        let original = try Data(contentsOf: URL(fileURLWithPath: path))

        let refused = try runFacetwin(["calibrate", "--model", path, "--data", orl, "--identities", "s1,s5", "--eer"])
        XCTAssertEqual(refused.status, 2, refused.stderr)
        XCTAssertTrue(refused.stderr.hasPrefix("facetwin: error: \(path): the model trained on s1"), refused.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), original, "a refused calibration leaves the model alone")

        let ok = try runFacetwin(["calibrate", "--model", path, "--data", orl, "--identities", "s5,s6,s7", "--target-fmr", "0.01"]
        )
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stdout.contains("(FMR 1 % on s5,s6,s7 (30 images, 435 pairs))"), ok.stdout)
        XCTAssertEqual(try FaceModel.load(path: path).info.thresholdMethod, "FMR 1 % on s5,s6,s7 (30 images, 435 pairs)")

        let forced = try runFacetwin([
            "calibrate", "--model", path, "--data", orl, "--identities", "s1,s2", "--eer",
            "--allow-training-identities", "--out", dir.appendingPathComponent("m2.safetensors").path
        ])
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertTrue(forced.stderr.contains("WARNING"), forced.stderr)

        let usage = try runFacetwin(["calibrate", "--model", path, "--data", orl, "--identities", "s5,s6"])
        XCTAssertEqual(usage.status, 2)
        XCTAssertTrue(usage.stderr.contains("--eer or --target-fmr"), usage.stderr)
    }

    /// The trained identities are checked by the names the model records, wherever calibrate
    /// runs; a model that records neither names nor a readable folder is refused unless
    /// --allow-training-identities.
    func testCalibrateChecksTrainedIdentitiesByNameAndRefusesWhenItCannotCheck() throws {
        let orl = try orlDirectory()
        let dir = try temporaryDirectory(self)
        let path = try EvalFixture.copyModel(to: dir)
        let m = try FaceModel.load(path: path)
        m.info.training!.data = "data/no-such-folder"
        m.info.training!.trainedIdentities = ["s1", "s2", "s3", "s4"]
        let named = dir.appendingPathComponent("named.safetensors").path
        try m.save(to: named)
        let refused = try runFacetwin(["calibrate", "--model", named, "--data", orl, "--identities", "s1,s5", "--eer"])
        XCTAssertEqual(refused.status, 2, refused.stderr)
        XCTAssertTrue(refused.stderr.hasPrefix("facetwin: error: \(named): the model trained on s1"), refused.stderr)
        let held = try runFacetwin(["calibrate", "--model", named, "--data", orl, "--identities", "s5,s6,s7", "--eer"])
        XCTAssertEqual(held.status, 0, held.stderr)
        XCTAssertEqual(held.stderr, "", "checked by name: nothing to warn about")

        m.info.training!.trainedIdentities = nil
        let unnamed = dir.appendingPathComponent("unnamed.safetensors").path
        try m.save(to: unnamed)
        let cannot = try runFacetwin(["calibrate", "--model", unnamed, "--data", orl, "--identities", "s5,s6,s7", "--eer"])
        XCTAssertEqual(cannot.status, 2, cannot.stderr)
        XCTAssertEqual(cannot.stderr.split(separator: "\n").count, 1, cannot.stderr)
        XCTAssertTrue(cannot.stderr.contains("cannot check whether the model trained on these identities"), cannot.stderr)
        XCTAssertTrue(cannot.stderr.contains("--allow-training-identities"), cannot.stderr)
        let forced = try runFacetwin([
            "calibrate", "--model", unnamed, "--data", orl, "--identities", "s5,s6,s7", "--eer", "--allow-training-identities"
        ])
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertTrue(forced.stderr.contains("calibrating anyway"), forced.stderr)
    }
}
