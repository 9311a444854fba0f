import Foundation
import XCTest

@testable import FaceTwin
@testable import FaceTwinEvaluation
@testable import FaceTwinReport

#if canImport(FoundationXML)
import FoundationXML
#endif

/// Open-set identification: the CMC and FNIR-at-FPIR arithmetic on hand-worked searches, the
/// searches an ORL evaluation makes, and `evaluate --identification` from the outside.
final class IdentificationTests: XCTestCase {
    func testCMCCountsSearchesFoundWithinEachRank() throws {
        // Ranks of the mate: 1, 1, 2, 4 → rank 1: 2/4, rank 2: 3/4, rank 3: 3/4.
        XCTAssertEqual(IdentificationEvaluation.cmc(ranks: [1, 1, 2, 4], weights: nil, maxRank: 3), [0.5, 0.75, 0.75])
        // Weights repeat searches: the second search twice, the fourth not at all.
        XCTAssertEqual(IdentificationEvaluation.cmc(ranks: [1, 1, 2, 4], weights: [1, 2, 1, 0], maxRank: 2), [0.75, 1])
        XCTAssertNil(IdentificationEvaluation.cmc(ranks: [1], weights: [0], maxRank: 1))
    }

    func testFNIRIsReadAtTheMostAcceptingThresholdWithinTheFPIR() throws {
        // 10 non-mated searches at 0.1…1.0; FPIR 10 % allows one of them: threshold just below 0.2.
        let non: [Float] = (1...10).map { Float($0) / 10 }
        // Mated: found first at 0.05, 0.15, 0.19 and 0.5; one not found first.
        let mated: [Float] = [0.05, 0.15, 0.19, 0.5, 0.01]
        let first = [true, true, true, true, false]
        let r = try XCTUnwrap(
            IdentificationEvaluation.fnir(
                atFPIR: 0.1, matedScore: mated, matedFirst: first, matedWeights: [1, 1, 1, 1, 1], nonMatedScore: non,
                nonMatedWeights: [Int](repeating: 1, count: 10)))
        XCTAssertEqual(r.threshold, Float(0.2).nextDown)
        XCTAssertEqual(r.fpir, 0.1)
        XCTAssertEqual(r.fnir, 2.0 / 5.0, "0.5 is beyond the threshold and the last was not first")
        // FPIR 0: nothing non-mated may pass, so the threshold is just below 0.1.
        let zero = try XCTUnwrap(
            IdentificationEvaluation.fnir(
                atFPIR: 0.0, matedScore: mated, matedFirst: first, matedWeights: [1, 1, 1, 1, 1], nonMatedScore: non,
                nonMatedWeights: [Int](repeating: 1, count: 10)))
        XCTAssertEqual(zero.threshold, Float(0.1).nextDown)
        XCTAssertEqual(zero.fnir, 4.0 / 5.0)
        // Tied non-mated scores are accepted together or not at all.
        let tied = try XCTUnwrap(
            IdentificationEvaluation.fnir(
                atFPIR: 0.1, matedScore: [0.3], matedFirst: [true], matedWeights: [1],
                nonMatedScore: [0.2, 0.2, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9],
                nonMatedWeights: [Int](repeating: 1, count: 10)))
        XCTAssertEqual(tied.fpir, 0)
        XCTAssertEqual(tied.fnir, 1)
    }

    func testORLSearchesAndTheirCounts() throws {
        let orl = try orlDirectory()
        let model = try FaceModel.load(path: try EvalFixture.modelPath())
        let names: Set<String> = ["s1", "s2", "s3", "s4", "s5", "s6", "s7"]
        let e = try Evaluation(model: model, root: orl, identities: names)
        let closed = try IdentificationEvaluation(evaluation: e, galleryImages: 3, resamples: 50)
        XCTAssertEqual(closed.galleryIdentities.count, 7)
        XCTAssertEqual(closed.matedSearches, 7 * 7)
        XCTAssertEqual(closed.nonMatedSearches, 7 * 7, "each mated search again without its own identity")
        XCTAssertEqual(closed.cmc.count, 7)
        XCTAssertEqual(closed.cmc.last, 1, "at the last rank every mate is found")
        XCTAssertLessThan(try XCTUnwrap(closed.cmcIntervals?.last).lower, 1, "49 of 49 found is not a certainty")
        XCTAssertEqual(zip(closed.cmc, closed.cmc.dropFirst()).filter { $0 > $1 }.count, 0, "the CMC never falls")
        let open = try IdentificationEvaluation(evaluation: e, galleryImages: 5, nonMated: ["s6", "s7"], resamples: 50)
        XCTAssertEqual(open.galleryIdentities, ["s1", "s2", "s3", "s4", "s5"])
        XCTAssertEqual(open.matedSearches, 5 * 5)
        XCTAssertEqual(open.nonMatedSearches, 20)
        XCTAssertNil(open.fnirAtFPIR[1].fnir, "20 non-mated searches cannot support FPIR 10 % (needs 30)")
        XCTAssertEqual(open.fnirAtFPIR[1].unsupportedReason, "not supported by 20 non-mated searches (needs ≥ 30)")
        // The curve ends accepting every non-mated search.
        XCTAssertEqual(open.curve.last?.fpir, 1)
        XCTAssertThrowsError(try IdentificationEvaluation(evaluation: e, galleryImages: 10)) {
            XCTAssertEqual($0 as? IdentificationError, .noMatedSearches(galleryImages: 10))
        }
        XCTAssertThrowsError(try IdentificationEvaluation(evaluation: e, galleryImages: 2, nonMated: ["s9"])) {
            XCTAssertEqual($0 as? IdentificationError, .unknownIdentity("s9"))
        }
    }

    func testEvaluateIdentificationFromTheCommandLine() throws {
        let orl = try orlDirectory()
        let model = try EvalFixture.modelPath()
        let r = try runFacetwin([
            "evaluate", "--model", model, "--data", orl, "--identities", "s1,s2,s3,s4,s5", "--identification",
            "--gallery-images", "4", "--non-mated", "s6,s7,s8", "--bootstrap", "100", "--json"
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let i = try XCTUnwrap(object?["identification"] as? [String: Any])
        XCTAssertEqual(i["matedSearches"] as? Int, 30)
        XCTAssertEqual(i["nonMatedSearches"] as? Int, 30)
        XCTAssertEqual((i["cmc"] as? [Double])?.count, 5)
        let text = try runFacetwin([
            "evaluate", "--model", model, "--data", orl, "--identities", "s1,s2,s3,s4,s5", "--identification",
            "--gallery-images", "4", "--non-mated", "s6,s7,s8", "--bootstrap", "100"
        ])
        XCTAssertTrue(
            text.stdout.contains(
                "identification: 5 identities enrolled with their first 4 images; 30 mated searches; 30 non-mated searches (3 identities never enrolled (s6,s7,s8))"
            ), text.stdout)
        XCTAssertTrue(text.stdout.contains("FNIR at FPIR 1 %: not supported by 30 non-mated searches (needs ≥ 300)"), text.stdout)
        XCTAssertTrue(text.stdout.contains("FNIR at FPIR 10 %: "), text.stdout)
        let report = try temporaryDirectory(self).appendingPathComponent("report").path
        let drawn = try runFacetwin([
            "evaluate", "--model", model, "--data", orl, "--identities", "s1,s2,s3,s4,s5", "--identification",
            "--gallery-images", "4", "--bootstrap", "20", "--report", report
        ])
        XCTAssertEqual(drawn.status, 0, drawn.stderr)
        for chart in ["cmc.svg", "fnir.svg"] {
            let svg = try String(contentsOfFile: "\(report)/\(chart)", encoding: .utf8)
            XCTAssertTrue(svg.hasPrefix("<svg") || svg.hasPrefix("<?xml"), chart)
            XCTAssertNotNil(try? XMLDocument(xmlString: svg), "\(chart) is well-formed XML")
        }
        let index = try String(contentsOfFile: "\(report)/index.html", encoding: .utf8)
        XCTAssertTrue(index.contains("<img src=\"cmc.svg\"") && index.contains("<img src=\"fnir.svg\""))
        let bad = try runFacetwin(["evaluate", "--model", model, "--data", orl, "--gallery-images", "3"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(
            bad.stderr.hasPrefix("facetwin: error: --gallery-images and --non-mated go with --identification"), bad.stderr)
    }

    func testScoreMatrixHoldsEveryPairsDistance() throws {
        let orl = try orlDirectory()
        let model = try EvalFixture.modelPath()
        let out = try temporaryDirectory(self).appendingPathComponent("scores.csv").path
        let r = try runFacetwin([
            "evaluate", "--model", model, "--data", orl, "--identities", "s5,s6,s7", "--bootstrap", "0", "--scores", out
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").map {
            $0.split(separator: ",").map(String.init)
        }
        XCTAssertEqual(rows.count, 31)
        XCTAssertEqual(rows[0].count, 31)
        XCTAssertEqual(rows[0][0], "image")
        let e = try Evaluation(model: FaceModel.load(path: model), root: orl, identities: ["s5", "s6", "s7"])
        XCTAssertEqual(Array(rows[0].dropFirst()), e.imagePaths)
        for k in e.distances.indices {
            let i = Int(e.first[k]) + 1, j = Int(e.second[k]) + 1
            XCTAssertEqual(Float(rows[i][j])!, e.distances[k], accuracy: 1e-5 * max(1, e.distances[k]))
            XCTAssertEqual(rows[i][j], rows[j][i], "symmetric")
        }
        for i in 1...30 { XCTAssertEqual(rows[i][i], "0") }
    }
}
