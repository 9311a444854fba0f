import Foundation
import XCTest

@testable import FaceTwin

/// Pair evaluations (`evaluate --pairs`, `verify --pairs`, `predict`) over a list naming an
/// image that cannot be decoded: a failure to acquire, listed with its reason, and the other
/// pairs scored; `--strict` stops at it. A WebP named .jpg decodes and is scored.
final class PairAcquisitionTests: XCTestCase {
    /// ORL photos of s1, s5, s6, a truncated JPEG in s6 and a WebP named .jpg in s1, and a
    /// labelled pair list over them: 7 pairs of 8 images, 2 pairs with the broken image.
    func pairFolder() throws -> (root: URL, csv: String, broken: String) {
        let root = try temporaryDirectory(self)
        let orl = try orlDirectory()
        let fm = FileManager.default
        for (id, photos) in [("s1", [1]), ("s5", [1, 2, 3]), ("s6", [1, 2])] {
            try fm.createDirectory(at: root.appendingPathComponent(id), withIntermediateDirectories: true)
            for p in photos {
                try fm.copyItem(atPath: "\(orl)/\(id)/\(p).pgm", toPath: root.appendingPathComponent("\(id)/\(p).pgm").path)
            }
        }
        let jpeg = try PhotoHostileTests.fixture("face_s1_1_q95.jpg")
        let broken = root.appendingPathComponent("s6/broken.jpg")
        try Data(jpeg[0..<(jpeg.count / 2)]).write(to: broken)
        try Data(try PhotoHostileTests.fixture("face_s1_1_q90.webp")).write(to: root.appendingPathComponent("s1/webp.jpg"))
        let csv = root.appendingPathComponent("pairs.csv")
        try """
        image1,image2,same
        s5/1.pgm,s5/2.pgm,1
        s5/1.pgm,s6/1.pgm,0
        s6/1.pgm,s6/2.pgm,1
        s6/2.pgm,s6/broken.jpg,1
        s5/2.pgm,s6/broken.jpg,0
        s1/1.pgm,s1/webp.jpg,1
        s1/1.pgm,s5/3.pgm,0

        """.write(to: csv, atomically: true, encoding: .utf8)
        return (root, csv.path, broken.path)
    }

    static let reason = "truncated: premature end of JPEG file"

    func testLibraryCountsTheUndecodableImageAndScoresTheRest() throws {
        let (_, csv, broken) = try pairFolder()
        let list = try PairList(contentsOf: csv)
        let model = try FaceModel.load(path: try EvalFixture.modelPath())
        let r = try PairVerification(model: model, pairList: list, threshold: 1, countUnusableImages: true)
        XCTAssertEqual(r.count, 5)
        XCTAssertEqual(r.notScored.map(\.pair.line), [5, 6])
        XCTAssertEqual(r.failuresToAcquire.map(\.description), ["\(broken): \(Self.reason)"])
        XCTAssertEqual(r.attemptedImages, 8)
        XCTAssertEqual(r.failureToAcquireRate, 1.0 / 8.0)
        XCTAssertThrowsError(try PairVerification(model: model, pairList: list, threshold: 1)) { error in
            XCTAssertEqual("\(error)", "\(broken): \(Self.reason)")
        }
        let e = try Evaluation(model: model, pairList: list, countUnusableImages: true)
        XCTAssertEqual(e.acquisition?.failures.map(\.path), [broken])
        XCTAssertEqual(e.acquisition?.genuinePairsNotScored, 1)
        XCTAssertEqual(e.acquisition?.impostorPairsNotScored, 1)
        XCTAssertEqual(e.pairCount, 5)
        XCTAssertThrowsError(try Evaluation(model: model, pairList: list))
    }

    func testEvaluatePairsCountsAFailureToAcquireAndGoesOn() throws {
        let (root, csv, broken) = try pairFolder()
        let model = try EvalFixture.copyModel(to: root)
        let base = ["evaluate", "--model", model, "--pairs", csv, "--bootstrap", "0"]
        var r = try runFacetwin(base)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("pairs: 3 genuine (same person), 2 impostor (different people)"), r.stdout)
        XCTAssertTrue(
            r.stdout.contains(
                "failures to acquire (no usable face, or not decodable): 1 of 8 images (FTA 12.50 %); pairs not scored: 1 genuine, 1 impostor"
            ), r.stdout)
        XCTAssertTrue(r.stdout.contains("\n  \(broken): \(Self.reason)\n"), r.stdout)

        r = try runFacetwin(base + ["--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(json["failuresToAcquire"] as? [String], [broken])
        XCTAssertEqual(json["failureToAcquireReasons"] as? [String], ["\(broken): \(Self.reason)"])
        XCTAssertEqual(json["attemptedImages"] as? Int, 8)
        XCTAssertEqual(json["failureToAcquireRate"] as? Double, 0.125)

        r = try runFacetwin(base + ["--strict"])
        XCTAssertEqual(r.status, 2)
        XCTAssertEqual(r.stderr, "facetwin: error: \(broken): \(Self.reason)\n")
    }

    func testVerifyPairsAndPredictListTheFailureAndGoOn() throws {
        let (root, csv, broken) = try pairFolder()
        let model = try EvalFixture.copyModel(to: root)
        let out = root.appendingPathComponent("results.csv").path
        let verify = ["verify", "--pairs", csv, "--model", model, "--threshold", "1"]
        var r = try runFacetwin(verify + ["--out", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        let failure = "failures to acquire (no usable face, or not decodable): 1 of 8 images (FTA 12.50 %); 2 pairs not scored"
        XCTAssertTrue(r.stdout.hasPrefix("5 pairs: "), r.stdout)
        XCTAssertTrue(r.stdout.contains("\n\(failure)\n  \(broken): \(Self.reason)\n"), r.stdout)
        let rows = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.count, 1 + 7)
        XCTAssertEqual(
            Array(rows.suffix(2)),
            ["s6/2.pgm,s6/broken.jpg,1,,failure_to_acquire", "s5/2.pgm,s6/broken.jpg,0,,failure_to_acquire"])
        XCTAssertTrue(rows.contains { $0.hasPrefix("s1/1.pgm,s1/webp.jpg,1,") && !$0.hasSuffix("failure_to_acquire") })

        r = try runFacetwin(verify + ["--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(json["pairs"] as? Int, 5)
        let failures = try XCTUnwrap(json["failuresToAcquire"] as? [[String: String]])
        XCTAssertEqual(failures, [["path": broken, "reason": "\(broken): \(Self.reason)"]])
        XCTAssertEqual((json["pairsNotScored"] as? [Any])?.count, 2)

        let result = root.appendingPathComponent("result.csv").path
        r = try runFacetwin(["predict", "--pairs", csv, "--model", model, "--threshold", "1", "--out", result])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("\n\(failure)\n  \(broken): \(Self.reason)\n"), r.stdout)
        XCTAssertEqual(try String(contentsOfFile: result, encoding: .utf8).split(separator: "\n").count, 1 + 5)

        for args in [
            verify + ["--strict"], ["predict", "--pairs", csv, "--model", model, "--threshold", "1", "--out", result, "--strict"]
        ] {
            r = try runFacetwin(args)
            XCTAssertEqual(r.status, 2, "\(args)")
            XCTAssertEqual(r.stderr, "facetwin: error: \(broken): \(Self.reason)\n", "\(args)")
        }
    }
}
