import Foundation
import XCTest

@testable import FaceTwin
@testable import FaceTwinEvaluation

/// The per-identity breakdown and the zoo: each row against the pairs counted directly, the
/// quartile labels, and the report's zoo.csv.
final class IdentityZooTests: XCTestCase {
    func testQuartilesAreLinearBetweenOrderStatistics() {
        XCTAssertEqual(IdentityZoo.quartile([4, 1, 3, 2], 0.75)!, 3.25, accuracy: 1e-12)
        XCTAssertEqual(IdentityZoo.quartile([4, 1, 3, 2], 0.25)!, 1.75, accuracy: 1e-12)
        XCTAssertNil(IdentityZoo.quartile([1, 2, 3], 0.75), "three identities have no quartiles")
    }

    func testRowsAreTheIdentitiesPairsAndTheLabelsTheQuartiles() throws {
        let orl = try orlDirectory()
        let model = try FaceModel.load(path: try EvalFixture.modelPath())
        let names: Set<String> = ["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8"]
        let e = try Evaluation(model: model, root: orl, identities: names)
        let t = e.metrics.eerThreshold
        let zoo = try XCTUnwrap(IdentityZoo(evaluation: e, threshold: t))
        XCTAssertEqual(zoo.rows.map(\.identity), ["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8"])
        func folder(_ i: Int32) -> String {
            URL(fileURLWithPath: e.imagePaths[Int(i)]).deletingLastPathComponent().lastPathComponent
        }
        for row in zoo.rows {
            let own = e.distances.indices.filter { e.genuine[$0] && folder(e.first[$0]) == row.identity }.map {
                Double(e.distances[$0])
            }
            let other = e.distances.indices.filter {
                !e.genuine[$0] && (folder(e.first[$0]) == row.identity || folder(e.second[$0]) == row.identity)
            }.map { Double(e.distances[$0]) }
            XCTAssertEqual(row.genuinePairs, 45)
            XCTAssertEqual(row.impostorPairs, 700)
            XCTAssertEqual(row.meanGenuineDistance!, own.reduce(0, +) / 45, accuracy: 1e-9)
            XCTAssertEqual(row.maxGenuineDistance!, own.max()!, accuracy: 1e-9)
            XCTAssertEqual(row.minImpostorDistance!, other.min()!, accuracy: 1e-9)
            XCTAssertEqual(row.fnmr!, Double(own.filter { $0 > Double(t) }.count) / 45, accuracy: 1e-12)
            XCTAssertEqual(row.fmr!, Double(other.filter { $0 <= Double(t) }.count) / 700, accuracy: 1e-12)
            XCTAssertEqual(row.goat, row.meanGenuineDistance! > zoo.goatAbove!)
            XCTAssertEqual(row.lamb, row.meanImpostorDistance! < zoo.lambBelow!)
        }
        XCTAssertEqual(zoo.goats.count, 2, "a quarter of 8 identities lies above the upper quartile")
        XCTAssertEqual(zoo.lambs.count, 2)
        XCTAssertEqual(zoo.wolves, zoo.lambs, "a symmetric distance makes the wolves the lambs")
    }

    func testEvaluatePrintsTheZooAndTheReportHasItsTable() throws {
        let orl = try orlDirectory()
        let model = try EvalFixture.modelPath()
        let report = try temporaryDirectory(self).appendingPathComponent("r").path
        let r = try runFacetwin([
            "evaluate", "--model", model, "--data", orl, "--identities", "s1,s2,s3,s4,s5,s6,s7,s8", "--bootstrap", "0",
            "--report", report
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("zoo (quartiles of the identities' mean distances): goats, hard to match"), r.stdout)
        let csv = try String(contentsOfFile: "\(report)/zoo.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.count, 9)
        XCTAssertTrue(csv[0].hasPrefix("identity,images,genuine_pairs,mean_genuine_distance"))
        let index = try String(contentsOfFile: "\(report)/index.html", encoding: .utf8)
        XCTAssertTrue(index.contains("Identities: goats, lambs and wolves"))
        // Pairs of a flat folder have no identities: no zoo.
        let j = try runFacetwin([
            "evaluate", "--model", model, "--data", orl, "--identities", "s1,s2,s3", "--bootstrap", "0", "--json"
        ])
        let o = try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any]
        XCTAssertNotNil(o?["zoo"] as? [String: Any], "identity folders give a zoo (without quartiles for 3)")
    }
}
