import Foundation
import XCTest

@testable import FaceTwin

/// `facetwin enroll | gallery | verify | identify` through the built executable: output,
/// and the exit statuses scripts rely on (verify: 0 match, 1 no match, 2 error).
final class GalleryCLITests: XCTestCase {
    func testVerifyExitStatuses() throws {
        let fx = try GalleryFixture(self)
        let g = fx.gallery
        var r = try runFacetwin(["enroll", "--gallery", g, "--model", fx.modelPath, "--name", "alice", fx.photo(1), fx.photo(2)])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("created gallery \(g)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("enrolled alice: 2 photos (new identity)"), r.stdout)
        // An existing gallery finds its own model.
        r = try runFacetwin(["enroll", "--gallery", g, "--name", "bob", fx.photo(3)])
        XCTAssertEqual(r.status, 0, r.stderr)

        // 0: a match.
        r = try runFacetwin(["verify", "--gallery", g, "--claim", "alice", fx.photo(1)])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("MATCH alice  distance 0.0000  threshold 0.5000  (min over 2 templates)"), r.stdout)

        // 1: no match (bob's photo is not exactly alice's, and the threshold is tiny).
        r = try runFacetwin(["verify", "--gallery", g, "--claim", "alice", "--threshold", "0.000001", fx.photo(3)])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("NO MATCH alice  distance "), r.stdout)
        XCTAssertEqual(r.stderr, "")

        // --json, --score mean.
        r = try runFacetwin(["verify", "--gallery", g, "--claim", "alice", "--score", "mean", "--json", fx.photo(1)])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(json?["isMatch"] as? Bool, true)
        XCTAssertEqual(json?["score"] as? String, "mean")
        XCTAssertEqual(json?["templatesCompared"] as? Int, 2)

        // 2: errors, each one line naming what is wrong.
        func expectError(_ arguments: [String], _ fragment: String, file: StaticString = #filePath, line: UInt = #line) throws {
            let r = try runFacetwin(arguments)
            XCTAssertEqual(r.status, 2, "\(arguments): \(r.stdout)", file: file, line: line)
            let first = r.stderr.split(separator: "\n").first.map(String.init) ?? ""
            XCTAssertTrue(first.hasPrefix("facetwin: error: "), r.stderr, file: file, line: line)
            XCTAssertTrue(first.contains(fragment), "\(fragment) not in: \(r.stderr)", file: file, line: line)
        }
        try expectError(["verify", "--gallery", g, "--claim", "carol", fx.photo(1)], "no identity named \"carol\"")
        let missing = fx.dir.appendingPathComponent("missing.sqlite").path
        try expectError(["verify", "--gallery", missing, "--claim", "alice", fx.photo(1)], "\(missing): no gallery here")
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing))
        try expectError(
            ["verify", "--gallery", g, "--claim", "alice", fx.dir.appendingPathComponent("nope.pgm").path], "nope.pgm")
        try expectError(["verify", "--gallery", g, fx.photo(1)], "--claim")
        try expectError(["verify", "--gallery", g, "--claim", "alice", "--threshold", "-1", fx.photo(1)], "--threshold")
        try expectError(["verify", "--pairs", "pairs.csv"], "--pairs needs --model")

        // Another model: refused, naming the gallery.
        let other = fx.dir.appendingPathComponent("other.safetensors").path
        try galleryTestModel(seed: 42).save(to: other)
        try expectError(
            ["verify", "--gallery", g, "--claim", "alice", "--model", other, fx.photo(1)], "gallery \(g) was made with model")
        try expectError(
            ["enroll", "--gallery", g, "--model", other, "--name", "carol", fx.photo(5)],
            "re-enroll or pass the model it was made with")

        // A model without a threshold: say how to get one.
        let bare = fx.dir.appendingPathComponent("bare.safetensors").path
        let bareModel = galleryTestModel(threshold: nil)
        try bareModel.save(to: bare)
        try expectError(["verify", "--gallery", g, "--claim", "alice", "--model", bare, fx.photo(1)], "facetwin calibrate")
        r = try runFacetwin(["verify", "--gallery", g, "--claim", "alice", "--model", bare, "--threshold", "0.5", fx.photo(1)])
        XCTAssertEqual(r.status, 0, "same weights, so the same fingerprint: \(r.stderr)")
    }

    func testIdentifyAndGalleryCommands() throws {
        let fx = try GalleryFixture(self)
        let g = fx.gallery
        XCTAssertEqual(
            try runFacetwin(["enroll", "--gallery", g, "--model", fx.modelPath, "--name", "s10", fx.photo(1), fx.photo(2)])
                .status, 0)
        XCTAssertEqual(try runFacetwin(["enroll", "--gallery", g, "--name", "s2", fx.photo(3)]).status, 0)

        var r = try runFacetwin(["identify", "--gallery", g, fx.photo(3)])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[0].hasPrefix("IDENTIFIED s2  distance 0.0000  threshold 0.5000"), r.stdout)
        XCTAssertTrue(lines[1].hasPrefix("  error rates: unknown (the model has no calibration table"), r.stdout)
        XCTAssertTrue(lines[2].hasPrefix("  1. s2 "), r.stdout)
        XCTAssertTrue(lines[3].hasPrefix("  2. s10"), r.stdout)
        r = try runFacetwin(["identify", "--gallery", g, "--threshold", "0", "--top", "1", "--json", fx.photo(4)])
        XCTAssertEqual(r.status, 1, "unknown: \(r.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        XCTAssertNil(json?["identity"] as? String)
        XCTAssertEqual((json?["candidates"] as? [Any])?.count, 1)
        r = try runFacetwin(["identify", "--gallery", g, "--threshold", "0", fx.photo(4)])
        XCTAssertTrue(r.stdout.hasPrefix("UNKNOWN  nearest "), r.stdout)

        r = try runFacetwin(["gallery", "list", "--gallery", g])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("gallery \(g): 2 identities, 3 templates\n"), r.stdout)
        let rows = r.stdout.split(separator: "\n").dropFirst(3).map { $0.split(separator: " ").prefix(2).joined(separator: " ") }
        XCTAssertEqual(rows, ["s2 1", "s10 2"])

        r = try runFacetwin(["gallery", "show", "s10", "--gallery", g])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains(fx.photo(2)), r.stdout)

        XCTAssertEqual(try runFacetwin(["gallery", "rename", "s10", "alice", "--gallery", g]).stdout, "renamed s10 to alice\n")
        r = try runFacetwin(["gallery", "rename", "alice", "s2", "--gallery", g])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("already has an identity named \"s2\""), r.stderr)
        XCTAssertEqual(try runFacetwin(["gallery", "remove", "alice", "--gallery", g]).stdout, "removed alice (2 templates)\n")
        r = try runFacetwin(["gallery", "remove", "alice", "--gallery", g])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("no identity named \"alice\""), r.stderr)
    }

    func testEnrollIsAllOrNothingFromTheCommandLine() throws {
        let fx = try GalleryFixture(self)
        let g = fx.gallery
        XCTAssertEqual(
            try runFacetwin(["enroll", "--gallery", g, "--model", fx.modelPath, "--name", "alice", fx.photo(1)]).status, 0)
        let corrupt = try fx.corruptPhoto("bad.pgm")
        var r = try runFacetwin(["enroll", "--gallery", g, "--name", "bob", fx.photo(2), corrupt, fx.photo(3)])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.hasPrefix("facetwin: error: \(corrupt): truncated"), r.stderr)
        XCTAssertTrue(r.stderr.contains("--skip-bad enrolls the rest"), r.stderr)
        XCTAssertEqual(try Gallery(path: g).identities().map(\.name), ["alice"])

        r = try runFacetwin([
            "enroll", "--gallery", g, "--name", "bob", "--skip-bad", fx.photo(2), corrupt, fx.photo(3), fx.photo(2)
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("enrolled bob: 2 photos (new identity)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("  skipped \(corrupt): truncated"), r.stdout)
        XCTAssertTrue(r.stdout.contains("  duplicate \(fx.photo(2)): same photo as \(fx.photo(2))"), r.stdout)

        // Usage errors.
        r = try runFacetwin(["enroll", "--gallery", g, fx.photo(1)])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--name"), r.stderr)
        let fresh = fx.dir.appendingPathComponent("fresh.sqlite").path
        r = try runFacetwin(["enroll", "--gallery", fresh, "--name", "x", fx.photo(1)])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("give --model to create one"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: fresh))
    }
}
