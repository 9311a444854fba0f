import Foundation
import GRDB
import XCTest

@testable import FaceTwin
@testable import FaceTwinPostgres

/// The API keys of `facetwin serve`, kept in the gallery: only hashes stored, roles, revoking,
/// the schema migration of a gallery made before keys, and the `facetwin keys` commands. The
/// tests that open ``GalleryFixture/open(model:modelPath:mode:)`` run on every store (here
/// SQLite; PostgreSQL in ``PostgresGalleryKeysTests``).
class GalleryKeysTests: XCTestCase {
    /// The store the parametrized tests open.
    class var backend: GalleryBackend { .sqlite }

    func testAddedKeyAuthenticatesWithItsRoleAndOnlyItsHashIsStored() throws {
        let fx = try GalleryFixture(self, backend: Self.backend)
        let g = try fx.open()
        let key = try g.addKey(name: "door", role: .verify)
        XCTAssertTrue(key.hasPrefix(Gallery.keyPrefix))
        XCTAssertEqual(key.count, Gallery.keyPrefix.count + 32)
        let other = try g.addKey(name: "office", role: .admin)
        XCTAssertNotEqual(key, other)

        XCTAssertEqual(try g.authenticate(key: key)?.name, "door")
        XCTAssertEqual(try g.authenticate(key: key)?.role, .verify)
        XCTAssertEqual(try g.authenticate(key: other)?.role, .admin)
        XCTAssertNil(try g.authenticate(key: key + "x"))
        XCTAssertNil(try g.authenticate(key: ""))
        XCTAssertEqual(try g.keys().map(\.name), ["door", "office"])

        // The gallery holds the hash, never the key.
        if let pg = g as? PostgresGallery {
            let stored = try pg.textRows("SELECT row_to_json(k)::text FROM facetwin.api_keys k").joined()
            XCTAssertFalse(stored.contains(key))
            XCTAssertTrue(stored.contains(Gallery.keyHash(key)))
        } else {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: fx.gallery))
            XCTAssertNil(bytes.range(of: Data(key.utf8)))
            XCTAssertNotNil(bytes.range(of: Data(Gallery.keyHash(key).utf8)))
        }
        // Another connection (a server reading a gallery the CLI writes) sees the key.
        XCTAssertEqual(try fx.openPlain().authenticate(key: key)?.name, "door")
    }

    func testRolesAllowWhatTheyShould() {
        XCTAssertTrue(KeyRole.admin.allows(.enroll))
        XCTAssertTrue(KeyRole.enroll.allows(.verify))
        XCTAssertFalse(KeyRole.verify.allows(.enroll))
        XCTAssertFalse(KeyRole.enroll.allows(.admin))
        XCTAssertTrue(KeyRole.verify.allows(.verify))
    }

    func testRevokedKeyNoLongerAuthenticatesAndNamesAreChecked() throws {
        let fx = try GalleryFixture(self, backend: Self.backend)
        let g = try fx.open()
        let key = try g.addKey(name: "door", role: .enroll)
        XCTAssertThrowsError(try g.addKey(name: "door", role: .admin)) {
            XCTAssertEqual($0 as? GalleryError, .duplicateKey(path: fx.gallery, name: "door"))
        }
        XCTAssertThrowsError(try g.addKey(name: " door", role: .admin)) {
            XCTAssertEqual($0 as? GalleryError, .invalidKeyName(name: " door", reason: "starts or ends with white space"))
        }
        try g.revokeKey(name: "door")
        XCTAssertNil(try g.authenticate(key: key))
        XCTAssertEqual(try g.keys(), [])
        XCTAssertThrowsError(try g.revokeKey(name: "door")) {
            XCTAssertEqual($0 as? GalleryError, .unknownKey(path: fx.gallery, name: "door"))
        }
    }

    /// A gallery made before keys existed (no `v2` migration): read-only use sees no keys and
    /// writes nothing; the first key added migrates it, keeping its identities.
    func testGalleryWithoutTheKeyTableIsMigratedOnFirstKey() throws {
        let fx = try GalleryFixture(self)
        do {
            let g = try Gallery(path: fx.gallery, model: fx.model, modelPath: fx.modelPath)
            _ = try g.enroll(name: "alice", images: [fx.photo(1)])
        }
        let queue = try DatabaseQueue(path: fx.gallery)
        try queue.write { db in
            try db.execute(sql: "DROP TABLE api_keys; DELETE FROM grdb_migrations WHERE identifier = 'v2'")
        }
        try queue.close()
        let before = try Data(contentsOf: URL(fileURLWithPath: fx.gallery))
        let reader = try Gallery(path: fx.gallery)
        XCTAssertEqual(try reader.keys(), [])
        XCTAssertNil(try reader.authenticate(key: Gallery.keyPrefix + String(repeating: "a", count: 32)))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: fx.gallery)), before, "reading writes nothing")

        let writer = try Gallery(path: fx.gallery, forWriting: true)
        let key = try writer.addKey(name: "admin", role: .admin)
        XCTAssertEqual(try writer.authenticate(key: key)?.role, .admin)
        XCTAssertEqual(try writer.identities().map(\.name), ["alice"])
    }

    func testKeysCommandsAddListAndRevoke() throws {
        let fx = try GalleryFixture(self, backend: Self.backend)
        let add = try runFacetwin(["keys", "add", "--gallery", fx.gallery, "--model", fx.modelPath, "--role", "verify", "door"])
        XCTAssertEqual(add.status, 0, add.stderr)
        let key = add.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(key.hasPrefix("ftk_"), add.stdout)
        XCTAssertTrue(add.stderr.contains("shown only this once"), add.stderr)
        XCTAssertEqual(try fx.openPlain().authenticate(key: key)?.role, .verify)

        let list = try runFacetwin(["keys", "list", "--gallery", fx.gallery])
        XCTAssertEqual(list.status, 0, list.stderr)
        XCTAssertTrue(list.stdout.contains("door"), list.stdout)
        XCTAssertTrue(list.stdout.contains("verify"), list.stdout)
        XCTAssertFalse(list.stdout.contains(key), "list never shows a key")

        let again = try runFacetwin(["keys", "add", "--gallery", fx.gallery, "--role", "admin", "door"])
        XCTAssertEqual(again.status, 2)
        XCTAssertEqual(
            again.stderr,
            "facetwin: error: \(fx.gallery): the gallery already has a key named \"door\" (revoke it first to replace it)\n")

        XCTAssertEqual(try runFacetwin(["keys", "revoke", "--gallery", fx.gallery, "door"]).status, 0)
        XCTAssertNil(try fx.openPlain().authenticate(key: key))
        let unknown = try runFacetwin(["keys", "revoke", "--gallery", fx.gallery, "door"])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertEqual(unknown.stderr, "facetwin: error: \(fx.gallery): no key named \"door\" in the gallery\n")
    }
}
