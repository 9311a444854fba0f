import Foundation
import GRDB
import XCTest

@testable import FaceTwin

/// Values read back from files that cannot be trusted to be printable or finite: a gallery
/// template holding NaN, and model metadata carrying terminal escape sequences. Each is
/// skipped and reported, or printed escaped; never a raw encoding error or a recoloured line.
final class DamagedValuesTests: XCTestCase {
    /// A template row of NaNs is skipped and reported: identify (text and --json) still answers
    /// from the other templates, and an identity with no usable template is an error naming it.
    func testNaNTemplateRowsAreSkippedAndReported() throws {
        let fx = try GalleryFixture(self)
        for (name, photos) in [("alice", [fx.photo(1), fx.photo(2)]), ("bob", [fx.photo(3)])] {
            let r = try runFacetwin(["enroll", "--gallery", fx.gallery, "--model", fx.modelPath, "--name", name] + photos)
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let nan = Data(
            [Float](repeating: .nan, count: galleryTestConfig.embeddingSize).flatMap { v in
                withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) }
            })
        try DatabaseQueue(path: fx.gallery).write { db in
            try db.execute(
                sql: """
                    UPDATE templates SET embedding = ? WHERE id = (SELECT MIN(t.id) FROM templates t
                    JOIN identities i ON i.id = t.identity_id WHERE i.name = 'alice')
                    """, arguments: [nan])
        }
        let json = try runFacetwin(["identify", "--gallery", fx.gallery, fx.photo(2), "--json"])
        XCTAssertTrue(json.status == 0 || json.status == 1, json.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["skippedTemplates"] as? Int, 1)
        XCTAssertEqual(object["identitiesWithSkippedTemplates"] as? [String], ["alice"])
        XCTAssertEqual(object["identitiesCompared"] as? Int, 2)
        let alice = try XCTUnwrap((object["candidates"] as? [[String: Any]])?.first { $0["name"] as? String == "alice" })
        XCTAssertEqual(alice["templateCount"] as? Int, 1, "the NaN row is not counted as compared")
        XCTAssertTrue(json.stderr.contains("skipped 1 stored template holding NaN or infinity"), json.stderr)

        let claim = try runFacetwin(["verify", "--gallery", fx.gallery, "--claim", "alice", fx.photo(2), "--json"])
        XCTAssertTrue(claim.status == 0 || claim.status == 1, claim.stderr)
        let verdict = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(claim.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(verdict["templatesCompared"] as? Int, 1)
        XCTAssertEqual(verdict["skippedTemplates"] as? Int, 1)
        XCTAssertTrue(claim.stderr.contains("skipped 1 stored template of \"alice\""), claim.stderr)

        let text = try runFacetwin(["identify", "--gallery", fx.gallery, fx.photo(2)])
        XCTAssertTrue(text.status == 0 || text.status == 1, text.stderr)
        XCTAssertFalse(text.stdout.lowercased().contains("nan"), text.stdout)

        try DatabaseQueue(path: fx.gallery).write { db in
            try db.execute(
                sql: """
                    UPDATE templates SET embedding = ? WHERE identity_id = (SELECT id FROM identities WHERE name = 'bob')
                    """, arguments: [nan])
        }
        let verify = try runFacetwin(["verify", "--gallery", fx.gallery, "--claim", "bob", fx.photo(3)])
        XCTAssertEqual(verify.status, 2, verify.stdout)
        XCTAssertEqual(verify.stderr.split(separator: "\n").count, 1, verify.stderr)
        XCTAssertTrue(verify.stderr.contains("identity \"bob\" has no usable template"), verify.stderr)
    }

    /// Model metadata with an escape sequence (a green "MATCH") and a line feed is printed
    /// escaped by info and compare, and an error carrying a file's name stays one line.
    func testControlCharactersFromFilesAreEscapedInOutput() throws {
        let dir = try temporaryDirectory(self)
        let model = galleryTestModel()
        let green = "\u{1B}[32mMATCH\u{1B}[0m\nforged line"
        model.info.thresholdMethod = green
        let path = dir.appendingPathComponent("m.safetensors").path
        try model.save(to: path)
        let fx = try GalleryFixture(self)
        for arguments in [["info", "--model", path], ["compare", fx.photo(1), fx.photo(2), "--model", path]] {
            let r = try runFacetwin(arguments)
            XCTAssertNotEqual(r.status, 2, r.stderr)
            XCTAssertFalse(r.stdout.contains("\u{1B}"), "\(arguments[0]): raw escape in: \(r.stdout)")
            XCTAssertTrue(r.stdout.contains("\\u{1b}[32mMATCH"), "\(arguments[0]): \(r.stdout)")
        }
        let odd = dir.appendingPathComponent("bad\u{1B}[31m\nname.pgm").path
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: odd))
        let r = try runFacetwin(["embed", odd, "--model", path])
        XCTAssertEqual(r.status, 2)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertFalse(r.stderr.contains("\u{1B}"), r.stderr)
    }
}
