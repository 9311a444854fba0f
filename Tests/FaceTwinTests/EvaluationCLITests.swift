import Foundation
import XCTest

@testable import FaceTwin

/// `facetwin evaluate`, `compare` and `verify --pairs` from the outside: output, exit status.
final class EvaluationCLITests: XCTestCase {
    func testCompareExitStatus() throws {
        let orl = try orlDirectory()
        let model = try EvalFixture.modelPath()
        let a = "\(orl)/s5/1.pgm", b = "\(orl)/s5/2.pgm"

        let same = try runFacetwin(["compare", a, b, "--model", model, "--threshold", "1000"])
        XCTAssertEqual(same.status, 0, same.stderr)
        XCTAssertTrue(same.stdout.hasPrefix("MATCH  distance "), same.stdout)

        let different = try runFacetwin(["compare", a, b, "--model", model, "--threshold", "0"])
        XCTAssertEqual(different.status, 1, different.stderr)
        XCTAssertTrue(different.stdout.hasPrefix("NO MATCH  distance "), different.stdout)
        XCTAssertEqual(different.stderr, "")

        let stored = try runFacetwin(["compare", a, a, "--model", model, "--json"])
        XCTAssertEqual(stored.status, 0, "an image matches itself at the stored threshold")
        let object = try JSONSerialization.jsonObject(with: Data(stored.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(object?["distance"] as? Double, 0)
        XCTAssertEqual(object?["match"] as? Bool, true)
        XCTAssertEqual(object?["thresholdMethod"] as? String, "EER on held-out s5,s6,s7")

        let missing = try runFacetwin(["compare", a, "/nonexistent/x.pgm", "--model", model])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.hasPrefix("facetwin: error: /nonexistent/x.pgm: cannot open"), missing.stderr)
        XCTAssertEqual(missing.stderr.split(separator: "\n").count, 1)

        // A model without a threshold needs --threshold.
        let dir = try temporaryDirectory(self)
        let bare = try FaceModel.load(path: model)
        bare.info.threshold = nil
        bare.info.thresholdMethod = nil
        let barePath = dir.appendingPathComponent("bare.safetensors").path
        try bare.save(to: barePath)
        let none = try runFacetwin(["compare", a, b, "--model", barePath])
        XCTAssertEqual(none.status, 2)
        XCTAssertTrue(none.stderr.contains("no stored threshold"), none.stderr)
    }

    func testEvaluateTextJSONAndReport() throws {
        let orl = try orlDirectory()
        let model = try EvalFixture.modelPath()
        let dir = try temporaryDirectory(self)
        let report = dir.appendingPathComponent("report").path
        let r = try runFacetwin(["evaluate", "--model", model, "--data", orl, "--identities", "s5,s6,s7", "--report", report])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "", "held-out identities: no warning")
        for needle in [
            "pairs: 135 genuine (same person), 300 impostor (different people)", "EER: ", "ROC AUC: ",
            "TAR at FMR 1 %: ", "TAR at FMR 0.1 %: not supported by 300 impostor pairs (needs ≥ 3000)",
            "accuracy at the model's threshold ", "(EER on held-out s5,s6,s7)", "(95 % interval ",
            "95 % intervals: percentile bootstrap over identities, 1000 resamples, seed 0 (3 identities to draw from; 101 resamples without both kinds of pair skipped)",
            "best accuracy: ", "report: \(report)/index.html"
        ] {
            XCTAssertTrue(r.stdout.contains(needle), "missing \(needle) in:\n\(r.stdout)")
        }
        for file in EvaluationReport.files {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(report)/\(file)"), file)
        }

        // All identities by default: most were trained on, and the tool says so.
        let all = try runFacetwin(["evaluate", "--model", model, "--data", orl, "--json"])
        XCTAssertEqual(all.status, 0, all.stderr)
        XCTAssertTrue(
            all.stderr.contains("facetwin: warning: the model trained on 37 of the 40 evaluated identities"), all.stderr)
        let summary = try JSONDecoder().decode(EvaluationSummary.self, from: Data(all.stdout.utf8))
        XCTAssertEqual(summary.images, 400)
        XCTAssertEqual(summary.genuinePairs, 40 * 45)
        XCTAssertEqual(summary.trainingIdentitiesIncluded?.count, 37)
        XCTAssertEqual(summary.warnings.count, 1)
        XCTAssertEqual(summary.intervals?.unit, .identities)
        XCTAssertEqual(summary.intervals?.units, 40)
        XCTAssertTrue(summary.intervals!.eer.contains(summary.eer), "\(summary.intervals!.eer) around \(summary.eer)")
        XCTAssertNotNil(summary.tarAtFMR0_1Percent.tar, "15 600 impostor pairs support FMR 0.1 %")
        XCTAssertNotNil(summary.intervals?.tarAtFMR0_1Percent)
        let object = try JSONSerialization.jsonObject(with: Data(all.stdout.utf8)) as! [String: Any]
        XCTAssertNotNil((object["tarAtFMR1Percent"] as? [String: Any])?["tar"] as? Double)
        XCTAssertNil(object["tarAtFAR1"], "the old FAR keys are gone")

        // A pair list, relative to --root.
        let csv = dir.appendingPathComponent("pairs.csv")
        try "image1,image2,same\ns5/1.pgm,s5/2.pgm,1\ns5/1.pgm,s6/1.pgm,0\ns6/3.pgm,s6/4.pgm,1\n".write(
            to: csv, atomically: true, encoding: .utf8)
        let p = try runFacetwin(["evaluate", "--model", model, "--pairs", csv.path, "--root", orl])
        XCTAssertEqual(p.status, 0, p.stderr)
        XCTAssertTrue(p.stdout.contains("pairs: 2 genuine (same person), 1 impostor"), p.stdout)

        // Bad input: one line naming the file and line.
        try "image1,image2,same\ns5/1.pgm,s5/2.pgm,yes\ns5/1.pgm,s5/99.pgm,0\n".write(to: csv, atomically: true, encoding: .utf8)
        let bad = try runFacetwin(["evaluate", "--model", model, "--pairs", csv.path, "--root", orl])
        XCTAssertEqual(bad.status, 2)
        XCTAssertEqual(bad.stderr, "facetwin: error: \(csv.path):3: image s5/99.pgm (\(orl)/s5/99.pgm) not found\n")

        let usage = try runFacetwin(["evaluate", "--model", model, "--data", orl, "--identities", "s5", "--pairs", csv.path])
        XCTAssertEqual(usage.status, 2)
        XCTAssertTrue(usage.stderr.contains("not both"), usage.stderr)
    }

    func testVerifyPairsBatch() throws {
        let orl = try orlDirectory()
        let model = try EvalFixture.modelPath()
        let dir = try temporaryDirectory(self)
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("orl").path, withDestinationPath: orl)
        let csv = dir.appendingPathComponent("pairs.csv")
        try "image1,image2,same\norl/s5/1.pgm,orl/s5/2.pgm,1\norl/s5/1.pgm,orl/s6/1.pgm,0\norl/s7/1.pgm,orl/s7/1.pgm,1\n"
            .write(to: csv, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("results.csv")
        let r = try runFacetwin(["verify", "--pairs", csv.path, "--model", model, "--out", out.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("3 pairs: "), r.stdout)
        XCTAssertTrue(r.stdout.contains("accuracy "), r.stdout)
        let rows = try String(contentsOf: out, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.count, 4)
        XCTAssertEqual(rows[0], "image1,image2,same,distance,verdict")
        XCTAssertTrue(rows[1].hasPrefix("orl/s5/1.pgm,orl/s5/2.pgm,1,"), String(rows[1]))
        XCTAssertEqual(rows[3], "orl/s7/1.pgm,orl/s7/1.pgm,1,0.0,match")
        XCTAssertTrue(rows[2].hasSuffix(",match") || rows[2].hasSuffix(",no_match"))

        // Without --out: the CSV on stdout, the summary on stderr; without labels: no accuracy.
        try "orl/s5/1.pgm,orl/s5/1.pgm\n".write(to: csv, atomically: true, encoding: .utf8)
        let s = try runFacetwin(["verify", "--pairs", csv.path, "--model", model])
        XCTAssertEqual(s.status, 0, s.stderr)
        XCTAssertEqual(s.stdout, "image1,image2,distance,verdict\norl/s5/1.pgm,orl/s5/1.pgm,0.0,match\n")
        XCTAssertTrue(s.stderr.hasPrefix("1 pair: 1 match, 0 no match"), s.stderr)
        XCTAssertFalse(s.stderr.contains("accuracy"))
    }
}
