import Foundation
import XCTest

@testable import FaceTwin
@testable import FaceTwinPostgres
@testable import FaceTwinSupport

/// The gallery tests again on PostgreSQL (each test on a database of its own on the server
/// `FACETWIN_TEST_POSTGRES` names; skipped, saying so, without one), and what only a shared
/// server has: two processes on one gallery, a process killed inside its transaction, URLs,
/// and `gallery copy` between the two stores.
final class PostgresGalleryTests: GalleryTests {
    override class var backend: GalleryBackend { .postgres }

    // The parametrized tests of GalleryTests, on PostgreSQL.
    override func testGalleryOfAnotherModelIsRefused() throws { try super.testGalleryOfAnotherModelIsRefused() }
    override func testFingerprintCoversWeightsAndConfigButNotMetadata() throws {
        try super.testFingerprintCoversWeightsAndConfigButNotMetadata()
    }
    override func testEnrollStoresOneTemplatePerPhoto() throws { try super.testEnrollStoresOneTemplatePerPhoto() }
    override func testEnrollingTheSamePhotoTwiceIsADuplicate() throws { try super.testEnrollingTheSamePhotoTwiceIsADuplicate() }
    override func testEnrollHittingACorruptPhotoWritesNothing() throws { try super.testEnrollHittingACorruptPhotoWritesNothing() }
    override func testEnrollFolderIsOneTransactionWithImageFolderRules() throws {
        try super.testEnrollFolderIsOneTransactionWithImageFolderRules()
    }
    override func testListRemoveRename() throws { try super.testListRemoveRename() }
    override func testNamesAreValidated() throws { try super.testNamesAreValidated() }
    override func testVerifierThresholdsAndRanking() throws { try super.testVerifierThresholdsAndRanking() }
    override func testVerifierNeedsAThreshold() throws { try super.testVerifierNeedsAThreshold() }
    override func testIndexRanksAsTheExhaustiveScan() throws { try super.testIndexRanksAsTheExhaustiveScan() }
    override func testIndexFollowsChangesByAnotherConnection() throws { try super.testIndexFollowsChangesByAnotherConnection() }

    // The SQLite file's own tests (permissions, journal, files that are not galleries) do not
    // apply to a server; a subclass inherits them, so they say so.
    override func testNewGalleryRecordsTheModelAndIsOwnerOnly() throws { throw XCTSkip("an SQLite file's own test") }
    override func testRelativeModelPathIsStoredAbsolute() throws { throw XCTSkip("an SQLite file's own test") }
    override func testOpeningWhatIsNotAGallery() throws { throw XCTSkip("an SQLite file's own test") }

    // MARK: Opening

    func testMissingForeignAndNewerGalleriesAreRefused() throws {
        let fx = try GalleryFixture(self, backend: .postgres)
        let url = fx.gallery
        XCTAssertThrowsError(try GalleryStores.open(url)) { XCTAssertEqual($0 as? GalleryError, .notFound(path: url)) }
        XCTAssertThrowsError(try fx.open(mode: .openExisting)) { XCTAssertEqual($0 as? GalleryError, .notFound(path: url)) }

        // Someone's schema named facetwin, without the gallery's tables: refused, left as it is.
        try PostgresGallery.administer(server: url, sql: "CREATE SCHEMA facetwin")
        try PostgresGallery.administer(server: url, sql: "CREATE TABLE facetwin.other (x int)")
        XCTAssertThrowsError(try fx.open()) { error in
            guard case .notAGallery(let path, let reason)? = error as? GalleryError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, url)
            XCTAssertTrue(reason.contains("left as it is"), reason)
        }
        try PostgresGallery.administer(server: url, sql: "DROP SCHEMA facetwin CASCADE")

        // Created by the first enroll; a second open finds it.
        let g = try fx.open()
        XCTAssertTrue(g.isNew)
        XCTAssertEqual(g.info.modelFingerprint, fx.model.fingerprint)
        XCTAssertEqual(g.info.schemaVersion, PostgresGallery.schemaVersion)
        XCTAssertFalse(try fx.open().isNew)

        // A newer schema is refused.
        try PostgresGallery.administer(server: url, sql: "UPDATE facetwin.gallery_meta SET schema_version = 99")
        XCTAssertThrowsError(try fx.openPlain()) { XCTAssertEqual($0 as? GalleryError, .newerSchema(path: url)) }
    }

    func testConcurrentCreatorsMakeOneGallery() throws {
        nonisolated(unsafe) let fx = try GalleryFixture(self, backend: .postgres)  // read-only in the workers
        let results = ConcurrentResults()
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            do {
                let g = try fx.open()
                results.add(g.isNew)
            } catch {
                results.fail("\(error)")
            }
        }
        XCTAssertEqual(results.failures, [])
        XCTAssertEqual(results.values.filter { $0 }.count, 1, "exactly one creator")
    }

    func testURLs() throws {
        let tcp = try PostgresLocation("postgres://ann:secret@db.example:6543/faces?sslmode=require")
        XCTAssertEqual(tcp.endpoint, .tcp(host: "db.example", port: 6543))
        XCTAssertEqual(tcp.user, "ann")
        XCTAssertEqual(tcp.password, "secret")
        XCTAssertEqual(tcp.database, "faces")
        XCTAssertTrue(tcp.requireTLS)
        XCTAssertEqual(tcp.display, "postgres://ann@db.example:6543/faces?sslmode=require", "no password in messages")

        let socket = try PostgresLocation("postgresql://bob@%2Ftmp%2Fpg/g")
        XCTAssertEqual(socket.endpoint, .socket("/tmp/pg/.s.PGSQL.5432"))
        XCTAssertEqual(socket.database, "g")
        let param = try PostgresLocation("postgres:///g?host=/run/pg&port=5433&user=cy")
        XCTAssertEqual(param.endpoint, .socket("/run/pg/.s.PGSQL.5433"))
        XCTAssertEqual(param.user, "cy")
        XCTAssertEqual(try PostgresLocation("postgres://[::1]:5000/x?user=u").endpoint, .tcp(host: "::1", port: 5000))

        for (bad, fragment) in [
            ("postgres://u@h:99999/x", "port \"99999\""), ("postgres://u@h/x?sslmode=maybe", "sslmode \"maybe\""),
            ("postgres://u@h/x?oops", "not key=value"), ("postgres://u@[::1/x", "closing ]")
        ] {
            XCTAssertThrowsError(try PostgresLocation(bad), bad) { error in
                guard case .invalidLocation? = error as? GalleryError else { return XCTFail("\(error)") }
                XCTAssertTrue("\(error)".contains(fragment), "\(error)")
                XCTAssertTrue("\(error)".hasPrefix("postgres://"), "\(error)")
            }
        }
        XCTAssertTrue(GalleryStores.isPostgres("POSTGRES://x"))
        XCTAssertFalse(GalleryStores.isPostgres("gallery.sqlite"))
    }

    func testUnreachableServerIsOneLine() throws {
        // A socket folder with no server: an error naming the URL, no hang.
        let dir = try temporaryDirectory(self)
        let url = "postgres://nobody@" + dir.path.replacingOccurrences(of: "/", with: "%2F") + "/x"
        XCTAssertThrowsError(try GalleryStores.open(url)) { error in
            guard case .database(let path, let message)? = error as? GalleryError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, url)
            XCTAssertTrue(message.hasPrefix("cannot connect"), message)
            XCTAssertFalse("\(error)".contains("\n"))
        }
    }

    func testCallsOnAnEventLoopThrowInsteadOfBlocking() throws {
        let fx = try GalleryFixture(self, backend: .postgres)
        nonisolated(unsafe) let g = try fx.open()  // used only to show the call is refused there
        let outcome = try PostgresGallery.onEventLoop { () -> String in
            do {
                _ = try g.identities()
                return "answered"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertTrue(outcome.contains("event loop"), outcome)
    }

    // MARK: Two processes on one gallery

    func testEnrollThroughOneProcessVerifyThroughAnother() throws {
        let fx = try GalleryFixture(self, backend: .postgres)
        let g = fx.gallery
        var r = try runFacetwin(["enroll", "--gallery", g, "--model", fx.modelPath, "--name", "alice", fx.photo(1), fx.photo(2)])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("enrolled alice: 2 photos (new identity)"), r.stdout)

        // Two enrolls at once, from two processes: both land, in one gallery.
        let a = try startFacetwin(["enroll", "--gallery", g, "--name", "bob", fx.photo(3)])
        let b = try startFacetwin(["enroll", "--gallery", g, "--name", "carol", fx.photo(4), fx.photo(5)])
        for p in [a, b] {
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0)
        }

        r = try runFacetwin(["verify", "--gallery", g, "--claim", "alice", fx.photo(1)])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("MATCH alice  distance 0.0000"), r.stdout)
        r = try runFacetwin(["identify", "--gallery", g, fx.photo(4)])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("IDENTIFIED carol  distance 0.0000"), r.stdout)
        r = try runFacetwin(["gallery", "list", "--gallery", g])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("3 identities, 5 templates"), r.stdout)
    }

    func testEnrollKilledInsideItsTransactionWritesNothing() throws {
        let fx = try GalleryFixture(self, backend: .postgres)
        let g = try fx.open()
        _ = try g.enroll(name: "alice", images: [fx.photo(1)])
        let before = try gallerySnapshot(g)
        let generation = try g.generation()

        // SIGKILL after every row of the enroll is sent, before COMMIT.
        let p = try startFacetwin(
            ["enroll", "--gallery", fx.gallery, "--name", "bob", fx.photo(2), fx.photo(3), fx.photo(4)],
            environment: [WritePoint.environmentVariable: "1"])
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .uncaughtSignal)
        XCTAssertEqual(p.terminationStatus, SIGKILL)
        XCTAssertEqual(try gallerySnapshot(g), before, "nothing of the killed enroll")
        XCTAssertEqual(try g.generation(), generation)
        XCTAssertEqual(try fx.openPlain().identities().map(\.name), ["alice"], "seen from a new connection too")

        // A kill from outside during an enroll of many photos: the gallery holds all of it or none.
        let photos = (10..<60).map { fx.photo($0) }
        let q = try startFacetwin(["enroll", "--gallery", fx.gallery, "--name", "carol"] + photos)
        usleep(300_000)
        kill(q.processIdentifier, SIGKILL)
        q.waitUntilExit()
        let carol = try fx.openPlain().identities().first { $0.name == "carol" }
        XCTAssertTrue(carol == nil || carol?.templateCount == photos.count, "\(String(describing: carol))")

        // The next enroll works.
        XCTAssertEqual(try g.enroll(name: "bob", images: [fx.photo(2)]).templateCount, 1)
    }

    // MARK: Copy

    func testGalleryCopyBothWays() throws {
        let fx = try GalleryFixture(self, backend: .postgres)
        let sqlite = fx.dir.appendingPathComponent("source.sqlite").path
        let source = try Gallery(path: sqlite, model: fx.model, modelPath: fx.modelPath)
        _ = try source.enroll(name: "alice", images: [fx.photo(1), fx.photo(2)])
        _ = try source.enroll(name: "zoë", images: [fx.photo(3)])

        var r = try runFacetwin(["gallery", "copy", sqlite, fx.gallery])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("copied 3 templates of 3 templates from \(sqlite) to \(fx.gallery)"), r.stdout)
        let pg = try fx.openPlain()
        XCTAssertEqual(pg.info.modelFingerprint, source.info.modelFingerprint, "the fingerprint is kept")
        func content(_ g: any GalleryStore) throws -> [String] {
            try g.allTemplates().map { "\($0.identity) \($0.imagePath) \($0.imageSHA256) \($0.embedding.map(\.bitPattern))" }
        }
        XCTAssertEqual(try content(pg), try content(source))

        // Again: every template is a duplicate, nothing added.
        r = try runFacetwin(["gallery", "copy", sqlite, fx.gallery])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("copied 0 templates of 3 templates"), r.stdout)

        // And back into a new SQLite gallery.
        let back = fx.dir.appendingPathComponent("back.sqlite").path
        r = try runFacetwin(["gallery", "copy", fx.gallery, back])
        XCTAssertEqual(r.status, 0, r.stderr)
        let copied = try Gallery(path: back)
        XCTAssertEqual(copied.info.modelFingerprint, source.info.modelFingerprint)
        XCTAssertEqual(try content(copied), try content(source))

        // Into a gallery of another model: refused, nothing written.
        let otherPath = fx.dir.appendingPathComponent("other.safetensors").path
        let other = galleryTestModel(seed: 7)
        try other.save(to: otherPath)
        let foreign = fx.dir.appendingPathComponent("foreign.sqlite").path
        _ = try Gallery(path: foreign, model: other, modelPath: otherPath).enroll(name: "x", images: [fx.photo(9)])
        r = try runFacetwin(["gallery", "copy", fx.gallery, foreign])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("was made with model"), r.stderr)
        XCTAssertEqual(try Gallery(path: foreign).identities().map(\.name), ["x"])
    }

    // MARK: Connections

    /// A read started while another call holds a connection (a 5 s `pg_sleep`) answers at once,
    /// on a second connection of the store's pool, and the writes still go one at a time.
    func testReadsDoNotWaitForAnotherCallsConnection() throws {
        let fx = try GalleryFixture(self, backend: .postgres)
        let g = try XCTUnwrap(try fx.open() as? PostgresGallery)
        _ = try g.enroll(name: "alice", images: [fx.photo(1)])
        let slow = DispatchGroup()
        let started = DispatchSemaphore(value: 0)
        slow.enter()
        DispatchQueue.global().async {
            started.signal()
            _ = try? g.textRows("SELECT pg_sleep(5)::text")
            slow.leave()
        }
        started.wait()
        usleep(300_000)  // the sleep is under way on the server
        XCTAssertEqual(try g.identities().map(\.name), ["alice"])
        XCTAssertEqual(try g.distances(probe: [Float](repeating: 0, count: g.info.embeddingSize)).count, 1)
        XCTAssertEqual(slow.wait(timeout: .now()), .timedOut, "the read waited for the other call's connection")
        slow.wait()

        // More callers than connections: every call is answered, each write whole.
        let callers = 3 * PostgresGallery.maxConnections
        let photos = (0..<callers).map { fx.photo(10 + $0) }
        let generation = try g.generation()
        let results = ConcurrentResults()
        DispatchQueue.concurrentPerform(iterations: callers) { i in
            do {
                if i % 3 == 0 {
                    _ = try g.enroll(name: "p\(i)", images: [photos[i]])
                } else {
                    _ = try g.identities()
                }
                results.add(true)
            } catch {
                results.fail("\(error)")
            }
        }
        XCTAssertEqual(results.failures, [])
        XCTAssertEqual(results.values.count, callers)
        XCTAssertEqual(try g.identities().count, 1 + PostgresGallery.maxConnections)
        let bumps = Int(try g.generation().token.dropFirst(3))! - Int(generation.token.dropFirst(3))!
        XCTAssertEqual(bumps, PostgresGallery.maxConnections, "one generation a write")
    }

    /// An import larger than one INSERT's batch, with new identities in two forms of one name,
    /// a row twice and rows already there: the same report and templates as SQLite's.
    func testBatchedImportReportsAsSQLite() throws {
        let fx = try GalleryFixture(self, backend: .postgres)
        let size = fx.model.config.embeddingSize
        var rows: [TemplateExport.Row] = []
        // Two rows an identity: more new identities than one INSERT takes, too.
        let count = 4 * PostgresWrites.importBatch + 200
        for r in 0..<count {
            let name = r % 3 == 0 ? "Zoe\u{0308} \(r / 2)" : "Zo\u{00EB} \(r / 2)"  // NFD and NFC
            let photo = r % 50 == 1 ? r - 1 : r  // every 50th row repeats its identity's other photo
            rows.append(
                TemplateExport.Row(
                    identity: name, imagePath: "p/\(r).jpg", imageSHA256: String(format: "%064x", photo),
                    embedding: (0..<size).map { Float(($0 * 31 + r * 7) % 101) / 101 }, line: r + 3))
        }
        let export = TemplateExport(path: "rows.csv", modelFingerprint: fx.model.fingerprint, dimension: size, rows: rows)
        let sqlite = try Gallery(
            path: fx.dir.appendingPathComponent("same.sqlite").path, model: fx.model, modelPath: fx.modelPath)
        let pg = try fx.open()
        for g in [sqlite as any GalleryStore, pg] {
            _ = try g.enroll(name: "Zo\u{00EB} 4", images: [fx.photo(1)])
        }
        // A first part, then the whole: the second import finds the first's rows.
        let part = TemplateExport(
            path: "rows.csv", modelFingerprint: fx.model.fingerprint, dimension: size, rows: Array(rows.prefix(150)))
        XCTAssertEqual(try pg.importTemplates(part), try sqlite.importTemplates(part))
        let expected = try sqlite.importTemplates(export)
        XCTAssertEqual(try pg.importTemplates(export), expected)
        XCTAssertGreaterThan(expected.duplicates, 150)
        XCTAssertGreaterThan(expected.newIdentities.count, PostgresWrites.importBatch)
        func content(_ g: any GalleryStore) throws -> [String] {
            try g.allTemplates().map { "\($0.identity) \($0.imagePath) \($0.imageSHA256) \($0.embedding.map(\.bitPattern))" }
        }
        XCTAssertEqual(try content(pg), try content(sqlite))
    }

    // MARK: Support

    func startFacetwin(_ arguments: [String], environment: [String: String] = [:]) throws -> Process {
        let process = Process()
        process.executableURL = facetwinExecutable()
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }
}

/// Results gathered from several threads.
final class ConcurrentResults: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var values: [Bool] = []
    private(set) var failures: [String] = []
    func add(_ v: Bool) { lock.withLock { values.append(v) } }
    func fail(_ s: String) { lock.withLock { failures.append(s) } }
}

/// The API key tests on PostgreSQL.
final class PostgresGalleryKeysTests: GalleryKeysTests {
    override class var backend: GalleryBackend { .postgres }

    override func testAddedKeyAuthenticatesWithItsRoleAndOnlyItsHashIsStored() throws {
        try super.testAddedKeyAuthenticatesWithItsRoleAndOnlyItsHashIsStored()
    }
    override func testRevokedKeyNoLongerAuthenticatesAndNamesAreChecked() throws {
        try super.testRevokedKeyNoLongerAuthenticatesAndNamesAreChecked()
    }
    override func testKeysCommandsAddListAndRevoke() throws { try super.testKeysCommandsAddListAndRevoke() }
    /// Keys do not change the templates: no identification index is read again for them.
    func testKeysLeaveTheGenerationAlone() throws {
        let fx = try GalleryFixture(self, backend: .postgres)
        let g = try fx.open()
        let generation = try g.generation()
        let key = try g.addKey(name: "door", role: .admin)
        try g.revokeKey(name: "door")
        XCTAssertNil(try g.authenticate(key: key))
        XCTAssertEqual(try g.generation(), generation)
    }

    // SQLite's schema migration (a PostgreSQL gallery has the key table from its creation).
    override func testGalleryWithoutTheKeyTableIsMigratedOnFirstKey() throws { throw XCTSkip("an SQLite file's own test") }
}
