import Foundation
import XCTest

@testable import FaceTwin
@testable import FaceTwinEvaluation

/// The calibration's error-rate table: exact rates at its distances, interpolation and the ends,
/// intervals that contain the estimate and do not collapse at 0, the check of a table read from
/// a file; that the estimate holds on people it was not measured on; and the CLI lines.
final class ErrorRateTableTests: XCTestCase {
    func testRatesAtTheMeasuredDistancesAreTheSharesOfPairs() throws {
        // 4 genuine pairs, 6 impostor pairs.
        let d: [Float] = [0.1, 0.2, 0.3, 0.6, 0.4, 0.5, 0.7, 0.8, 0.9, 1.0]
        let g = [true, true, true, true, false, false, false, false, false, false]
        let r = try XCTUnwrap(
            ErrorRateTable.rates(
                sortedDistances: d.sorted(), genuine: d.indices.sorted { d[$0] < d[$1] }.map { g[$0] }, weights: nil,
                at: [0.05, 0.3, 0.5, 0.6, 1.0]))
        XCTAssertEqual(r.fmr, [0, 0, 2.0 / 6, 2.0 / 6, 1])
        XCTAssertEqual(r.fnmr, [1, 0.25, 0.25, 0, 0])
    }

    func testEstimateInterpolatesAndHandlesTheEnds() {
        var t = Self.table()
        t.distances = [1, 2]
        t.fmr = [0.1, 0.3]
        t.fmrLower = [0.05, 0.2]
        t.fmrUpper = [0.2, 0.4]
        t.fnmr = [0.5, 0.1]
        t.fnmrLower = [0.4, 0.05]
        t.fnmrUpper = [0.6, 0.2]
        XCTAssertTrue(t.isValid)
        let mid = t.estimate(atDistance: 1.5)
        XCTAssertEqual(mid.fmr, 0.2, accuracy: 1e-12)
        XCTAssertEqual(mid.fnmr, 0.3, accuracy: 1e-12)
        XCTAssertEqual(mid.fmrInterval.lower, 0.125, accuracy: 1e-12)
        XCTAssertEqual(mid.fnmrInterval.upper, 0.4, accuracy: 1e-12)
        let below = t.estimate(atDistance: 0.5)
        XCTAssertEqual(below.fmr, 0)
        XCTAssertEqual(below.fmrInterval.upper, 0.2, "below the smallest distance: up to its upper bound")
        XCTAssertEqual(below.fnmr, 1)
        let above = t.estimate(atDistance: 9)
        XCTAssertEqual(above.fmr, 1)
        XCTAssertEqual(above.fnmr, 0)
        XCTAssertEqual(t.estimate(atDistance: .nan).fmr, 1, "a non-finite distance is never reassuring")

        var bad = t
        bad.distances = [2, 1]
        XCTAssertFalse(bad.isValid, "distances must ascend")
        bad = t
        bad.fmr = [0.1, 1.5]
        XCTAssertFalse(bad.isValid, "rates within 0…1")
        bad = t
        bad.fnmr = [0.1]
        XCTAssertFalse(bad.isValid, "a value for every distance")
        bad = t
        bad.distances = [1, .infinity]
        XCTAssertFalse(bad.isValid)
        var info = ModelInfo(config: NetworkConfig(inputHeight: 8, inputWidth: 8, hidden: [4]))
        info.errorRates = bad
        XCTAssertNil(info.errorEstimate(atDistance: 1), "a malformed table gives no estimate")
    }

    func testIntervalsContainTheEstimateAndAreNotEmptyAtZero() throws {
        let orl = try orlDirectory()
        let model = try FaceModel.load(path: try EvalFixture.modelPath())
        let evaluation = try Evaluation(model: model, root: orl, identities: ["s5", "s6", "s7"])
        let t = ErrorRateTable(evaluation: evaluation, calibrationSet: "x", resamples: 200)
        XCTAssertTrue(t.isValid)
        XCTAssertEqual(t.unit, "identities")
        XCTAssertEqual(t.units, 3)
        XCTAssertEqual(t.impostorPairs, 300)
        XCTAssertEqual(t.genuinePairs, 135)
        XCTAssertLessThanOrEqual(t.distances.count, ErrorRateTable.maximumPoints)
        for i in t.distances.indices {
            XCTAssertTrue(t.fmrLower[i] <= t.fmr[i] && t.fmr[i] <= t.fmrUpper[i])
            XCTAssertTrue(t.fnmrLower[i] <= t.fnmr[i] && t.fnmr[i] <= t.fnmrUpper[i])
            if t.fmr[i] == 0 { XCTAssertGreaterThan(t.fmrUpper[i], 0.005, "no false match among 300 does not mean FMR 0") }
        }
        // At every measured distance the point estimate is the share of pairs, exactly.
        for (i, dist) in t.distances.enumerated() {
            let imp = zip(evaluation.distances, evaluation.genuine).filter { !$0.1 }
            XCTAssertEqual(t.fmr[i], Double(imp.filter { $0.0 <= dist }.count) / Double(imp.count), accuracy: 1e-12)
        }
    }

    /// Calibrated on some people, the estimate holds on others: at the EER threshold of one
    /// group of 10 identities, the FMR measured on 10 other identities falls within the 95 %
    /// interval for most of 6 splits. (The fixture model trained on these 37 identities, so
    /// their distances are smaller than new people's; both groups are alike in that, which is
    /// what the estimate assumes.)
    func testTheEstimateHoldsOnPeopleItWasNotMeasuredOn() throws {
        let orl = try orlDirectory()
        let model = try FaceModel.load(path: try EvalFixture.modelPath())
        let people = (1...40).map { "s\($0)" }.filter { !EvalFixture.heldOut.contains($0) }
        var inside = 0
        var report: [String] = []
        for seed in 0..<6 {
            var rng = RandomSource(seed: UInt64(seed))
            var shuffled = people
            for i in stride(from: shuffled.count - 1, to: 0, by: -1) {
                shuffled.swapAt(i, Int(rng.next() % UInt64(i + 1)))
            }
            let calibrationPeople = Set(shuffled.prefix(10)), testPeople = Set(shuffled.dropFirst(10).prefix(10))
            let calibration = try Evaluation(model: model, root: orl, identities: calibrationPeople)
            let table = ErrorRateTable(evaluation: calibration, calibrationSet: "x", resamples: 300, seed: UInt64(seed))
            let threshold = calibration.curve.equalErrorPoint().threshold
            let estimate = table.estimate(atDistance: threshold)
            let test = try Evaluation(model: model, root: orl, identities: testPeople)
            let measured = test.errorRates(atThreshold: threshold).fmr
            let ok = estimate.fmrInterval.lower <= measured && measured <= estimate.fmrInterval.upper
            if ok { inside += 1 }
            report.append(
                String(
                    format: "seed %d: estimated FMR %.4f [%.4f, %.4f], measured %.4f", seed, estimate.fmr,
                    estimate.fmrInterval.lower, estimate.fmrInterval.upper, measured))
        }
        XCTAssertGreaterThanOrEqual(inside, 4, report.joined(separator: "\n"))
    }

    func testCalibrateStoresTheTableAndCommandsReportIt() throws {
        let orl = try orlDirectory()
        let dir = try temporaryDirectory(self)
        let model = dir.appendingPathComponent("m.safetensors").path
        try FileManager.default.copyItem(atPath: try EvalFixture.modelPath(), toPath: model)
        let a = "\(orl)/s5/1.pgm", b = "\(orl)/s5/2.pgm"

        let before = try runFacetwin(["compare", a, b, "--model", model])
        XCTAssertTrue(before.stdout.contains("error rates: unknown (the model has no calibration table"), before.stdout)

        let c = try runFacetwin(["calibrate", "--model", model, "--data", orl, "--identities", "s5,s6,s7", "--eer"])
        XCTAssertEqual(c.status, 0, c.stderr)
        let stored = try XCTUnwrap(try FaceModel.load(path: model).info.errorRates)
        XCTAssertTrue(stored.isValid)
        XCTAssertEqual(stored.impostorPairs, 300)
        var expectedHash = SHA256()
        var hashes: [String] = []
        for s in ["s5", "s6", "s7"] {
            for k in 1...10 { hashes.append(try ImageFileHashes.sha256(ofFile: "\(orl)/\(s)/\(k).pgm")) }
        }
        for h in hashes.sorted() { expectedHash.update(Array((h + "\n").utf8)) }
        XCTAssertEqual(stored.calibrationSet, expectedHash.hexDigest())

        let after = try runFacetwin(["compare", a, b, "--model", model])
        XCTAssertTrue(after.stdout.contains("on the calibration set s5,s6,s7"), after.stdout)
        XCTAssertTrue(after.stdout.contains("FMR ") && after.stdout.contains("(95 % interval "), after.stdout)

        let j = try runFacetwin(["compare", a, b, "--model", model, "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any]
        let e = try XCTUnwrap(object?["errorEstimate"] as? [String: Any])
        let fmr = try XCTUnwrap(e["fmr"] as? Double)
        let interval = try XCTUnwrap(e["fmrInterval"] as? [String: Any])
        XCTAssertLessThanOrEqual(interval["lower"] as? Double ?? 2, fmr)
        XCTAssertGreaterThanOrEqual(interval["upper"] as? Double ?? -1, fmr)

        // verify and identify through a gallery.
        let g = dir.appendingPathComponent("g.sqlite").path
        for s in ["s5", "s6"] {
            let r = try runFacetwin([
                "enroll", "--gallery", g, "--model", model, "--name", s, "\(orl)/\(s)/1.pgm", "\(orl)/\(s)/2.pgm"
            ])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let v = try runFacetwin(["verify", "--gallery", g, "--claim", "s5", "\(orl)/s5/3.pgm", "--json"])
        let vo = try JSONSerialization.jsonObject(with: Data(v.stdout.utf8)) as? [String: Any]
        XCTAssertNotNil(vo?["errorEstimate"] as? [String: Any], v.stdout)
        XCTAssertNotNil(vo?["claim"], "the result's own fields are kept")
        let i = try runFacetwin(["identify", "--gallery", g, "\(orl)/s6/3.pgm"])
        XCTAssertTrue(i.stdout.contains("over the 4 templates compared, some impostor's this close"), i.stdout)
    }

    static func table() -> ErrorRateTable {
        var t = ErrorRateTable(
            evaluation: try! Evaluation(
                model: FaceModel.load(path: try! EvalFixture.modelPath()), root: try! orlDirectory(), identities: ["s5", "s6"]),
            calibrationSet: "x", resamples: 10)
        t.description = "test"
        return t
    }
}
