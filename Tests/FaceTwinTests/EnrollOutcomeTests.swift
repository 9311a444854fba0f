import Foundation
import GRDB
import XCTest

@testable import FaceTwin

/// What an enroll reports and leaves: names in either Unicode form are one identity, folders
/// dropped for their names are listed, and an enroll that enrolls nothing is an error.
final class EnrollOutcomeTests: XCTestCase {
    func testNFCAndNFDFormsOfANameAreOneIdentity() throws {
        let fx = try GalleryFixture(self)
        let nfc = "Zo\u{EB}", nfd = "Zoe\u{308}"
        XCTAssertNotEqual(Array(nfc.utf8), Array(nfd.utf8))
        var r = try runFacetwin(["enroll", "--gallery", fx.gallery, "--model", fx.modelPath, "--name", nfc, fx.photo(1)])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try runFacetwin(["enroll", "--gallery", fx.gallery, "--name", nfd, fx.photo(2)])
        XCTAssertEqual(r.status, 0, r.stderr)
        let identities = try Gallery(path: fx.gallery).identities()
        XCTAssertEqual(identities.count, 1, "\(identities)")
        XCTAssertEqual(identities.first?.templateCount, 2)
        XCTAssertEqual(identities.first.map { Array($0.name.utf8) }, Array(nfc.utf8), "stored in NFC")
        r = try runFacetwin(["verify", "--gallery", fx.gallery, "--claim", nfd, fx.photo(1)])
        XCTAssertNotEqual(r.status, 2, r.stderr)
        r = try runFacetwin(["gallery", "rename", "--gallery", fx.gallery, nfd, "Zoe"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try Gallery(path: fx.gallery).identities().map(\.name), ["Zoe"])
    }

    func testSkipBadListsTheFoldersItDrops() throws {
        let fx = try GalleryFixture(self)
        let root = fx.dir.appendingPathComponent("people")
        for name in ["alice", " bob"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(name), withIntermediateDirectories: true)
            try FileManager.default.copyItem(
                atPath: fx.photo(name == "alice" ? 1 : 2), toPath: root.appendingPathComponent("\(name)/1.pgm").path)
        }
        let r = try runFacetwin([
            "enroll", "--gallery", fx.gallery, "--model", fx.modelPath, "--folder", root.path, "--skip-bad"
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("enrolled alice: 1 photo"), r.stdout)
        XCTAssertTrue(r.stdout.contains("skipped \(root.path)/ bob: "), r.stdout)
        XCTAssertTrue(r.stdout.contains("starts or ends with white space"), r.stdout)
    }

    func testAnEnrollThatEnrollsNothingFails() throws {
        let fx = try GalleryFixture(self)
        var r = try runFacetwin(["enroll", "--gallery", fx.gallery, "--model", fx.modelPath, "--name", "alice", fx.photo(1)])
        XCTAssertEqual(r.status, 0, r.stderr)
        let blank = fx.dir.appendingPathComponent("blank.pgm")
        try writePGM(blank, width: 24, height: 28) { _, _ in 0 }
        let corrupt = try fx.corruptPhoto("corrupt.pgm")
        for args in [[blank.path], ["--skip-bad", corrupt], ["--skip-bad", blank.path, corrupt]] {
            r = try runFacetwin(["enroll", "--gallery", fx.gallery, "--name", "bob"] + args)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stdout)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains("nothing enrolled: "), r.stderr)
        }
        XCTAssertEqual(try Gallery(path: fx.gallery).identities().map(\.name), ["alice"])
    }

    /// A first enroll that fails, or would enroll nothing, leaves no gallery bound to the model.
    func testAFailedFirstEnrollLeavesNoGallery() throws {
        let fx = try GalleryFixture(self)
        let blank = fx.dir.appendingPathComponent("blank.pgm")
        try writePGM(blank, width: 24, height: 28) { _, _ in 0 }
        let corrupt = try fx.corruptPhoto("corrupt.pgm")
        for args in [[blank.path], [corrupt], ["--skip-bad", corrupt], [fx.photo(1), corrupt]] {
            let r = try runFacetwin(["enroll", "--gallery", fx.gallery, "--model", fx.modelPath, "--name", "bob"] + args)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stdout)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: fx.gallery), "\(args): no gallery")
        }
        let r = try runFacetwin([
            "enroll", "--gallery", fx.gallery, "--model", fx.modelPath, "--name", "bob", "--skip-bad", fx.photo(1), corrupt
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try Gallery(path: fx.gallery).identities().map(\.templateCount), [1])
    }
}

/// SQLite files that are not FaceTwin galleries are left exactly as they are.
final class ForeignDatabaseTests: XCTestCase {
    func snapshot(_ path: String) throws -> (Data, [String]) {
        let companions = ["-wal", "-shm", "-journal"].filter { FileManager.default.fileExists(atPath: path + $0) }
        return (try Data(contentsOf: URL(fileURLWithPath: path)), companions)
    }

    /// A database carrying FaceTwin's application id but tables of its own is not an unfinished
    /// gallery: `enroll --model` refuses it instead of replacing it.
    func testForeignDatabaseWithFaceTwinsApplicationIDIsNotReplaced() throws {
        let fx = try GalleryFixture(self)
        let path = fx.dir.appendingPathComponent("notes.sqlite").path
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: "PRAGMA application_id = \(Gallery.applicationID)")
            try db.execute(sql: "CREATE TABLE notes (text TEXT)")
            try db.execute(sql: "INSERT INTO notes VALUES ('keep me')")
        }
        try queue.close()
        let before = try snapshot(path)
        let r = try runFacetwin(["enroll", "--gallery", path, "--model", fx.modelPath, "--name", "a", fx.photo(1)])
        XCTAssertEqual(r.status, 2, r.stdout)
        XCTAssertEqual(
            r.stderr,
            "facetwin: error: \(path): not a FaceTwin gallery (an SQLite database with FaceTwin's application id but other tables; left as it is)\n"
        )
        let after = try snapshot(path)
        XCTAssertEqual(after.0, before.0)
        XCTAssertEqual(after.1, [])
    }

    /// Read-only commands on someone's database in WAL mode leave no -wal or -shm beside it.
    func testReadOnlyCommandsLeaveNoCompanionFilesBesideAForeignWALDatabase() throws {
        let fx = try GalleryFixture(self)
        let path = fx.dir.appendingPathComponent("wal.sqlite").path
        let queue = try DatabaseQueue(path: path)
        try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = WAL") }
        try queue.write { db in try db.execute(sql: "CREATE TABLE t (x)") }
        try queue.close()
        let before = try snapshot(path)
        XCTAssertEqual(before.1, [])
        for args in [
            ["gallery", "list", "--gallery", path], ["verify", "--gallery", path, "--claim", "a", fx.photo(1)],
            ["identify", "--gallery", path, "--model", fx.modelPath, fx.photo(1)]
        ] {
            let r = try runFacetwin(args)
            XCTAssertEqual(r.status, 2, "\(args)")
            XCTAssertTrue(r.stderr.contains("not a FaceTwin gallery"), r.stderr)
            let after = try snapshot(path)
            XCTAssertEqual(after.1, [], "\(args)")
            XCTAssertEqual(after.0, before.0, "\(args)")
        }
    }
}
