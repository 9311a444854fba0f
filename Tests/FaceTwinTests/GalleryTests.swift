import Foundation
import GRDB
import XCTest

@testable import FaceTwin
@testable import FaceTwinGallery
@testable import FaceTwinPostgres
@testable import FaceTwinSupport

/// The gallery as a database: creation and permissions, all-or-nothing enrolls, duplicates,
/// the model binding, and editing. Untrained small models and synthetic photos: no ORL needed.
///
/// The tests that go through ``GalleryFixture/open(model:modelPath:mode:)`` run on every store:
/// here on SQLite, in ``PostgresGalleryTests`` on PostgreSQL.
class GalleryTests: XCTestCase {
    /// The store the parametrized tests open.
    class var backend: GalleryBackend { .sqlite }

    // MARK: Creating and opening

    func testNewGalleryRecordsTheModelAndIsOwnerOnly() throws {
        let fx = try GalleryFixture(self)
        let previous = umask(0)  // the most permissive umask: the gallery must still be 0600
        defer { umask(previous) }
        let g = try Gallery(path: fx.gallery, model: fx.model, modelPath: fx.modelPath)
        XCTAssertTrue(g.isNew)
        XCTAssertEqual(g.info.modelFingerprint, fx.model.fingerprint)
        XCTAssertEqual(g.info.modelPath, fx.modelPath)
        XCTAssertTrue(g.info.modelPath.hasPrefix("/"))
        XCTAssertEqual(g.info.embeddingSize, 5)
        XCTAssertEqual(g.info.schemaVersion, 1)
        _ = try g.enroll(name: "alice", images: [fx.photo(1)])

        // A rollback-journal database (no -wal/-shm beside it, even for readers), 0600, marked as FaceTwin's.
        let attributes = try FileManager.default.attributesOfItem(atPath: fx.gallery)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        let mode = try g.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        XCTAssertEqual(mode, "delete")
        XCTAssertEqual(try g.read { db in try Int32.fetchOne(db, sql: "PRAGMA application_id") }, Gallery.applicationID)
        for suffix in ["-wal", "-shm", "-journal"] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: fx.gallery + suffix), suffix)
        }

        let again = try Gallery(path: fx.gallery, model: fx.model, modelPath: fx.modelPath)
        XCTAssertFalse(again.isNew)
        XCTAssertEqual(again.info, g.info)
        XCTAssertEqual(try Gallery(path: fx.gallery).info, g.info, "opens without a model for management")
    }

    func testRelativeModelPathIsStoredAbsolute() throws {
        let fx = try GalleryFixture(self)
        let cwd = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(fx.dir.path))
        defer { FileManager.default.changeCurrentDirectoryPath(cwd) }
        let g = try Gallery(path: "g.sqlite", model: fx.model, modelPath: "./m.safetensors")
        XCTAssertEqual(g.info.modelPath, URL(fileURLWithPath: fx.modelPath).standardizedFileURL.path)
    }

    func testOpeningWhatIsNotAGallery() throws {
        let fx = try GalleryFixture(self)
        let missing = fx.dir.appendingPathComponent("missing.sqlite").path
        XCTAssertThrowsError(try Gallery(path: missing)) { XCTAssertEqual($0 as? GalleryError, .notFound(path: missing)) }
        XCTAssertThrowsError(try Gallery(path: missing, model: fx.model, modelPath: fx.modelPath, mode: .openExisting)) {
            XCTAssertEqual($0 as? GalleryError, .notFound(path: missing))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing), "verify/identify never create a gallery")

        // A text file is refused and left alone.
        let text = fx.dir.appendingPathComponent("notes.txt").path
        try Data("not a database, just some notes\n".utf8).write(to: URL(fileURLWithPath: text))
        XCTAssertThrowsError(try Gallery(path: text, model: fx.model, modelPath: fx.modelPath)) { error in
            guard case .notAGallery(let path, _)? = error as? GalleryError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, text)
            XCTAssertTrue("\(error)".hasPrefix(text), "\(error)")
        }
        XCTAssertEqual(try String(contentsOfFile: text, encoding: .utf8), "not a database, just some notes\n")

        // Someone else's SQLite database is refused without adding tables to it.
        let other = fx.dir.appendingPathComponent("other.sqlite").path
        try DatabaseQueue(path: other).write { db in try db.execute(sql: "CREATE TABLE t (x)") }
        XCTAssertThrowsError(try Gallery(path: other, model: fx.model, modelPath: fx.modelPath)) { error in
            guard case .notAGallery? = error as? GalleryError else { return XCTFail("\(error)") }
        }
        let tables = try DatabaseQueue(path: other).read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        XCTAssertEqual(tables, ["t"])

        // A directory.
        XCTAssertThrowsError(try Gallery(path: fx.dir.path, model: fx.model, modelPath: fx.modelPath)) { error in
            guard case .notAGallery? = error as? GalleryError else { return XCTFail("\(error)") }
        }
    }

    // MARK: The model binding

    func testGalleryOfAnotherModelIsRefused() throws {
        let fx = try GalleryFixture(self, backend: Self.backend)
        let g = try fx.open()
        _ = try g.enroll(name: "alice", images: [fx.photo(1), fx.photo(2)])

        let otherPath = fx.dir.appendingPathComponent("other.safetensors").path
        let other = galleryTestModel(seed: 99, threshold: 0.5)
        try other.save(to: otherPath)
        XCTAssertThrowsError(try fx.open(model: other, modelPath: otherPath)) { error in
            guard case .modelMismatch(let path, let gfp, _, let mfp, _)? = error as? GalleryError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(path, fx.gallery)
            XCTAssertEqual(gfp, fx.model.fingerprint)
            XCTAssertEqual(mfp, other.fingerprint)
            let text = "\(error)"
            XCTAssertTrue(text.contains("gallery \(fx.gallery) was made with model \(gfp.prefix(12)) (\(fx.modelPath))"), text)
            XCTAssertTrue(text.contains("not \(mfp.prefix(12)) (\(otherPath))"), text)
            XCTAssertTrue(text.contains("re-enroll or pass the model it was made with"), text)
            XCTAssertFalse(text.contains("\n"))
        }
        XCTAssertEqual(try fx.openPlain().identities().map(\.templateCount), [2], "nothing changed")
    }

    func testFingerprintCoversWeightsAndConfigButNotMetadata() throws {
        let fx = try GalleryFixture(self, backend: Self.backend)
        let fp = fx.model.fingerprint
        XCTAssertEqual(fp.count, 64)
        XCTAssertEqual(try FaceModel.load(path: fx.modelPath).fingerprint, fp, "stable across save and load")
        XCTAssertEqual(try FaceModel.load(path: fx.modelPath).recordedFingerprint, fp, "read from the file, not recomputed")
        XCTAssertEqual(try FaceModel.load(path: fx.modelPath).computeFingerprint(), fp, "and the recorded one is right")

        // A recalibrated threshold (metadata) keeps the fingerprint, and so the galleries.
        let recalibrated = try FaceModel.load(path: fx.modelPath)
        recalibrated.info.threshold = 1.25
        recalibrated.info.thresholdMethod = "target FAR 1%"
        XCTAssertEqual(recalibrated.fingerprint, fp)
        let g = try fx.open()
        _ = try g.enroll(name: "alice", images: [fx.photo(1)])
        try recalibrated.save(to: fx.modelPath)
        XCTAssertNoThrow(try fx.open(model: FaceModel.load(path: fx.modelPath), modelPath: fx.modelPath))

        // One weight nudged, or one BatchNorm statistic, or the input preparation: another model.
        let nudged = try FaceModel.load(path: fx.modelPath)
        nudged.network.stateTensors.last!.tensor.pointer[0] += 1e-6
        XCTAssertNotEqual(nudged.computeFingerprint(), fp)
        let stats = try FaceModel.load(path: fx.modelPath)
        let runningVar = stats.network.stateTensors.first { $0.name.hasSuffix("running_var") }!.tensor
        runningVar.pointer[0] = 2
        XCTAssertNotEqual(stats.computeFingerprint(), fp)
        var inverted = galleryTestConfig
        inverted.invert = true
        let invertedModel = FaceModel(network: SiameseNetwork(config: inverted, seed: 1), info: ModelInfo(config: inverted))
        XCTAssertNotEqual(invertedModel.fingerprint, fp)
    }

    // MARK: Enrolling

    func testEnrollStoresOneTemplatePerPhoto() throws {
        let fx = try GalleryFixture(self, backend: Self.backend)
        let g = try fx.open()
        let photos = [fx.photo(1), fx.photo(2), fx.photo(3)]
        let report = try g.enroll(name: "alice", images: photos)
        XCTAssertEqual(report.identity, "alice")
        XCTAssertTrue(report.isNewIdentity)
        XCTAssertEqual(report.enrolled, photos)
        XCTAssertEqual(report.templateCount, 3)
        XCTAssertEqual(report.duplicates, [])
        XCTAssertEqual(report.skipped, [])

        let templates = try g.templates(of: "alice")
        XCTAssertEqual(templates.map(\.imagePath), photos)
        XCTAssertEqual(
            templates.map(\.embedding), try fx.model.embed(imagesAt: photos), "the embeddings, exactly (little-endian Float32)")
        XCTAssertEqual(templates[0].imageSHA256, SHA256.hexDigest(of: try Data(contentsOf: URL(fileURLWithPath: photos[0]))))

        // Adding to an existing identity.
        let more = try g.enroll(name: "alice", images: [fx.photo(4)])
        XCTAssertFalse(more.isNewIdentity)
        XCTAssertEqual(more.templateCount, 4)

        // Distances: min and mean over the identity's templates; an enrolled photo is at 0
        // (up to rounding: BLAS sums in another order for a batch of 3 than for 1 image).
        let probe = try fx.model.embed(imagesAt: [fx.photo(2)])[0]
        let d = try g.distances(probe: probe, to: "alice")
        XCTAssertEqual(d.minDistance, 0, accuracy: 1e-5)
        XCTAssertEqual(d.templateCount, 4)
        let all = try fx.model.embed(imagesAt: [fx.photo(1), fx.photo(2), fx.photo(3), fx.photo(4)]).map { e in
            zip(e, probe).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }.squareRoot()
        }
        XCTAssertEqual(Double(d.meanDistance), all.reduce(0, +) / 4, accuracy: 1e-5)
        XCTAssertThrowsError(try g.distances(probe: [1, 2], to: "alice")) {
            XCTAssertEqual($0 as? GalleryError, .embeddingSize(path: fx.gallery, expected: 5, got: 2))
        }
    }

    func testEnrollingTheSamePhotoTwiceIsADuplicate() throws {
        let fx = try GalleryFixture(self, backend: Self.backend)
        let g = try fx.open()
        _ = try g.enroll(name: "alice", images: [fx.photo(1)])
        // The same bytes under another name count as the same photo.
        let copy = fx.dir.appendingPathComponent("copy-of-1.pgm").path
        try FileManager.default.copyItem(atPath: fx.photo(1), toPath: copy)
        let report = try g.enroll(name: "alice", images: [copy, fx.photo(2), fx.photo(2)])
        XCTAssertEqual(report.enrolled, [fx.photo(2)])
        XCTAssertEqual(report.duplicates.map(\.path), [fx.photo(2), copy])
        XCTAssertTrue(report.duplicates[0].reason.contains("same photo as \(fx.photo(2))"), report.duplicates[0].reason)
        XCTAssertTrue(report.duplicates[1].reason.contains("already enrolled for \"alice\""), report.duplicates[1].reason)
        XCTAssertEqual(report.templateCount, 2)
        // Another person may have the same photo (e.g. a shared picture): not a duplicate.
        XCTAssertEqual(try g.enroll(name: "bob", images: [fx.photo(1)]).enrolled, [fx.photo(1)])
    }

    func testEnrollHittingACorruptPhotoWritesNothing() throws {
        let fx = try GalleryFixture(self, backend: Self.backend)
        let g = try fx.open()
        _ = try g.enroll(name: "alice", images: [fx.photo(1), fx.photo(2)])
        let before = try gallerySnapshot(g)
        let fileBefore = Self.backend == .sqlite ? try galleryContentDump(fx.gallery) : ""

        let corrupt = try fx.corruptPhoto("bob-2.pgm")
        XCTAssertThrowsError(try g.enroll(name: "bob", images: [fx.photo(3), corrupt, fx.photo(4)])) { error in
            guard case .badPhoto(let gallery, let identity, let imageError)? = error as? GalleryError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(gallery, fx.gallery)
            XCTAssertEqual(identity, "bob")
            XCTAssertEqual(imageError.path, corrupt)
            XCTAssertTrue("\(error)".hasPrefix(corrupt + ": "), "the message starts with the photo: \(error)")
            XCTAssertTrue("\(error)".contains("nothing was written"), "\(error)")
        }
        // Adding to an existing identity fails the same way.
        XCTAssertThrowsError(try g.enroll(name: "alice", images: [fx.photo(5), corrupt]))
        // A missing photo, too.
        XCTAssertThrowsError(try g.enroll(name: "alice", images: [fx.photo(5), fx.dir.appendingPathComponent("nope.pgm").path]))
        XCTAssertEqual(try gallerySnapshot(g), before)
        XCTAssertEqual(try gallerySnapshot(fx.openPlain()), before, "seen from a new connection too")
        if Self.backend == .sqlite { XCTAssertEqual(try galleryContentDump(fx.gallery), fileBefore) }

        // With skipBad the rest is enrolled and the bad photo reported.
        let report = try g.enroll(name: "bob", images: [fx.photo(3), corrupt, fx.photo(4)], skipBad: true)
        XCTAssertEqual(report.enrolled, [fx.photo(3), fx.photo(4)])
        XCTAssertEqual(report.skipped.map(\.path), [corrupt])
        XCTAssertTrue(report.skipped[0].reason.hasPrefix("truncated"), report.skipped[0].reason)
        XCTAssertEqual(try g.identities().map(\.name), ["alice", "bob"])
        XCTAssertEqual(try g.templates(of: "bob").count, 2)

        // Only bad photos: nothing enrolled, no empty identity created.
        let none = try g.enroll(name: "carol", images: [corrupt], skipBad: true)
        XCTAssertEqual(none.enrolled, [])
        XCTAssertFalse(none.isNewIdentity)
        XCTAssertEqual(try g.identities().map(\.name), ["alice", "bob"])
    }

    func testEnrollFolderIsOneTransactionWithImageFolderRules() throws {
        let fx = try GalleryFixture(self, backend: Self.backend)
        let root = fx.dir.appendingPathComponent("people")
        var n = 10
        func person(_ name: String, _ files: [String]) throws {
            let folder = root.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for f in files {
                n += 1
                try FileManager.default.copyItem(atPath: fx.photo(n), toPath: folder.appendingPathComponent(f).path)
            }
        }
        try person("s10", ["1.pgm", "2.PGM"])
        try person("s2", ["10.pgm", "2.pgm", ".hidden.pgm"])
        try person("s1", ["a.pgm"])  // one photo is enough to enroll
        try person(".git", ["x.pgm"])  // hidden folder: ignored
        try Data("notes".utf8).write(to: root.appendingPathComponent("s1/README.txt"))
        try Data("notes".utf8).write(to: root.appendingPathComponent("README.txt"))
        try FileManager.default.createDirectory(at: root.appendingPathComponent("s1/sub"), withIntermediateDirectories: true)

        let g = try fx.open()
        let reports = try g.enrollFolder(root: root.path)
        XCTAssertEqual(reports.map(\.identity), ["s1", "s2", "s10"], "natural order")
        XCTAssertEqual(reports.map(\.enrolled.count), [1, 2, 2])
        XCTAssertEqual(reports[1].enrolled.map { URL(fileURLWithPath: $0).lastPathComponent }, ["2.pgm", "10.pgm"])
        XCTAssertEqual(try g.identities().map(\.name), ["s1", "s2", "s10"])

        // A corrupt photo in one identity: no identity of the folder is enrolled.
        let before = try gallerySnapshot(g)
        try person("s3", ["1.pgm"])
        try person("s4", ["1.pgm"])
        try FileManager.default.copyItem(
            atPath: try fx.corruptPhoto("bad.pgm"), toPath: root.appendingPathComponent("s3/2.pgm").path)
        XCTAssertThrowsError(try g.enrollFolder(root: root.path)) { error in
            XCTAssertTrue("\(error)".hasPrefix(root.appendingPathComponent("s3/2.pgm").path), "\(error)")
        }
        XCTAssertEqual(try gallerySnapshot(g), before)

        // An identity folder with no photos fails it as well, or is skipped with skipBad.
        try FileManager.default.createDirectory(at: root.appendingPathComponent("s5"), withIntermediateDirectories: true)
        let skipping = try g.enrollFolder(root: root.path, skipBad: true)
        XCTAssertEqual(skipping.map(\.identity), ["s1", "s2", "s3", "s4", "s5", "s10"])
        XCTAssertEqual(skipping.map(\.enrolled.count), [0, 0, 1, 1, 0, 0])
        XCTAssertEqual(skipping.map(\.duplicates.count), [1, 2, 0, 0, 0, 2], "already enrolled photos are duplicates")
        XCTAssertEqual(skipping[2].skipped.map(\.path), [root.appendingPathComponent("s3/2.pgm").path])
        XCTAssertEqual(skipping[4].skipped.map(\.path), [root.appendingPathComponent("s5").path])
        XCTAssertEqual(try g.identities().map(\.name), ["s1", "s2", "s3", "s4", "s10"])

        XCTAssertThrowsError(try g.enrollFolder(root: fx.dir.appendingPathComponent("nowhere").path)) { error in
            guard case .folder? = error as? GalleryError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try g.enrollFolder(root: root.appendingPathComponent("s5").path)) { error in
            guard case .nothingToEnroll? = error as? GalleryError else { return XCTFail("\(error)") }
        }
    }

    // MARK: Listing and editing

    func testListRemoveRename() throws {
        let fx = try GalleryFixture(self, backend: Self.backend)
        let g = try fx.open()
        XCTAssertEqual(try g.identities(), [])
        _ = try g.enroll(name: "s10", images: [fx.photo(1), fx.photo(2)])
        _ = try g.enroll(name: "s2", images: [fx.photo(3)])
        _ = try g.enroll(name: "zoë ångström", images: [fx.photo(4), fx.photo(5), fx.photo(6)])
        let list = try g.identities()
        XCTAssertEqual(list.map(\.name), ["s2", "s10", "zoë ångström"])
        XCTAssertEqual(list.map(\.templateCount), [1, 2, 3])
        XCTAssertTrue(list.allSatisfy { abs($0.enrolledAt.timeIntervalSinceNow) < 600 })

        try g.rename(old: "s10", new: "alice")
        XCTAssertEqual(try g.identities().map(\.name), ["alice", "s2", "zoë ångström"])
        XCTAssertEqual(try g.templates(of: "alice").count, 2, "templates follow the rename")
        try g.rename(old: "alice", new: "alice")  // a no-op, not an error
        XCTAssertThrowsError(try g.rename(old: "alice", new: "s2")) {
            XCTAssertEqual($0 as? GalleryError, .duplicateIdentity(path: fx.gallery, name: "s2"))
        }
        XCTAssertThrowsError(try g.rename(old: "nobody", new: "x")) {
            XCTAssertEqual($0 as? GalleryError, .unknownIdentity(path: fx.gallery, name: "nobody"))
            XCTAssertEqual("\($0)", "\(fx.gallery): no identity named \"nobody\" in the gallery")
        }
        XCTAssertThrowsError(try g.rename(old: "alice", new: " alice"))
        XCTAssertThrowsError(try g.rename(old: "alice", new: ""))

        XCTAssertEqual(try g.remove(name: "alice"), 2)
        XCTAssertEqual(try g.identities().map(\.name), ["s2", "zoë ångström"])
        XCTAssertThrowsError(try g.templates(of: "alice")) {
            XCTAssertEqual($0 as? GalleryError, .unknownIdentity(path: fx.gallery, name: "alice"))
        }
        XCTAssertThrowsError(try g.remove(name: "alice")) {
            XCTAssertEqual($0 as? GalleryError, .unknownIdentity(path: fx.gallery, name: "alice"))
        }
        XCTAssertEqual(
            try storedTemplateCount(g), 4, "removing an identity removes its templates (ON DELETE CASCADE)")

        // Management without a model; enrolling and matching need one.
        let plain = try fx.openPlain()
        XCTAssertEqual(try plain.identities().map(\.name), ["s2", "zoë ångström"])
        XCTAssertThrowsError(try plain.enroll(name: "x", images: [fx.photo(1)])) {
            XCTAssertEqual($0 as? GalleryError, .noModel(path: fx.gallery))
        }
        XCTAssertThrowsError(try Verifier(gallery: plain, threshold: 1)) {
            XCTAssertEqual($0 as? GalleryError, .noModel(path: fx.gallery))
        }
    }

    func testNamesAreValidated() throws {
        XCTAssertNoThrow(try Gallery.validate(name: "Jean-Luc Picard"))
        XCTAssertNoThrow(try Gallery.validate(name: "s1"))
        for bad in ["", " alice", "alice ", "al\nice", "tab\there", String(repeating: "x", count: 201)] {
            XCTAssertThrowsError(try Gallery.validate(name: bad), bad) { error in
                guard case .invalidName? = error as? GalleryError else { return XCTFail("\(error)") }
                XCTAssertFalse("\(error)".contains("\n"))
            }
        }
        let fx = try GalleryFixture(self, backend: Self.backend)
        let g = try fx.open()
        XCTAssertThrowsError(try g.enroll(name: "bad\u{7}", images: [fx.photo(1)]))
        XCTAssertThrowsError(try g.enroll(name: "alice", images: [])) { error in
            guard case .nothingToEnroll? = error as? GalleryError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try g.identities(), [])
    }

    // MARK: Verifier on synthetic data

    func testVerifierThresholdsAndRanking() throws {
        let fx = try GalleryFixture(self, backend: Self.backend)
        let g = try fx.open()
        _ = try g.enroll(name: "alice", images: [fx.photo(1), fx.photo(2)])
        _ = try g.enroll(name: "bob", images: [fx.photo(3)])

        let v = try Verifier(gallery: g)
        XCTAssertEqual(v.threshold, 0.5, "the model's stored threshold")
        let same = try v.verify(probe: fx.photo(1), claim: "alice")
        XCTAssertEqual(same.distance, 0, accuracy: 1e-5)
        XCTAssertTrue(same.isMatch)
        XCTAssertEqual(same.templatesCompared, 2)
        let mean = try v.verify(probe: fx.photo(1), claim: "alice", score: .mean)
        XCTAssertEqual(mean.distance, try g.distances(probe: v.embed(probe: fx.photo(1)), to: "alice").meanDistance)

        // At exactly the threshold it is a match; just above, not.
        let d = try v.verify(probe: fx.photo(3), claim: "alice").distance
        XCTAssertGreaterThan(d, 0)
        XCTAssertTrue(try Verifier(gallery: g, threshold: d).verify(probe: fx.photo(3), claim: "alice").isMatch)
        XCTAssertFalse(try Verifier(gallery: g, threshold: d.nextDown).verify(probe: fx.photo(3), claim: "alice").isMatch)

        XCTAssertThrowsError(try v.verify(probe: fx.photo(1), claim: "carol")) {
            XCTAssertEqual($0 as? GalleryError, .unknownIdentity(path: fx.gallery, name: "carol"))
        }
        let corrupt = try fx.corruptPhoto("probe.pgm")
        XCTAssertThrowsError(try v.verify(probe: corrupt, claim: "alice")) { error in
            guard case .badProbe? = error as? GalleryError else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".hasPrefix(corrupt), "\(error)")
        }

        // Identification: ranked, open set.
        let found = try v.identify(probe: fx.photo(3), top: 5)
        XCTAssertEqual(found.identity, "bob")
        XCTAssertEqual(found.candidates.map(\.name), ["bob", "alice"])
        XCTAssertEqual(found.candidates[0].distance, 0, accuracy: 1e-5)
        XCTAssertEqual(found.identitiesCompared, 2)
        XCTAssertEqual(try v.identify(probe: fx.photo(3), top: 1).candidates.count, 1)
        let stranger = try Verifier(gallery: g, threshold: 0).identify(probe: fx.photo(7))
        XCTAssertNil(stranger.identity, "above the threshold for everyone: unknown")
        XCTAssertEqual(stranger.candidates.count, 2, "the ranking is still shown")

        _ = try g.remove(name: "alice")
        _ = try g.remove(name: "bob")
        XCTAssertThrowsError(try v.identify(probe: fx.photo(1))) { XCTAssertEqual($0 as? GalleryError, .empty(path: fx.gallery)) }
    }

    // MARK: The template index

    /// Identification through the matrix index gives exactly what the exhaustive scan of every
    /// template gives: the same identities, distances, counts, tie order and skipped templates.
    func testIndexRanksAsTheExhaustiveScan() throws {
        let fx = try GalleryFixture(self, backend: Self.backend)
        let g = try fx.open()
        var rng = RandomSource(seed: 7)
        func value() -> Float { Float(Double(rng.next() >> 11) / Double(1 << 53) * 2 - 1) }
        var rows: [TemplateExport.Row] = []
        var stored: [[Float]] = []
        for person in 0..<60 {
            for t in 0..<(person % 4 + 1) {
                var e = (0..<5).map { _ in value() }
                if person == 13, t == 0 { e = stored[0] }  // a tie with the first template
                if person == 21, t == 1 { e[2] = .nan }  // skipped, counted
                stored.append(e)
                let sha = String(repeating: String(format: "%02x", person), count: 31) + String(format: "%02x", t)
                rows.append(
                    TemplateExport.Row(
                        identity: "s\(person)", imagePath: "p\(person)-\(t)", imageSHA256: sha, embedding: e, line: 0))
            }
        }
        _ = try g.importTemplates(
            TemplateExport(path: "synthetic", modelFingerprint: fx.model.fingerprint, dimension: 5, rows: rows))
        let v = try Verifier(gallery: g, threshold: 0.5)
        var probes = (0..<25).map { _ in (0..<5).map { _ in value() } }
        probes.append(stored[0])  // at distance 0 from two identities
        for probe in probes {
            let exhaustive = try g.distances(probe: probe).filter { $0.templateCount > 0 }
            for score in MatchScore.allCases {
                let key: (IdentityDistance) -> Float = { score == .min ? $0.minDistance : $0.meanDistance }
                let expected = exhaustive.enumerated().sorted { (key($0.element), $0.offset) < (key($1.element), $1.offset) }
                    .map(\.element)
                for top in [1, 3, 100] {
                    let r = try v.identify(embedding: probe, probe: "p", top: top, score: score)
                    let want = Array(expected.prefix(top))
                    XCTAssertEqual(r.candidates.map(\.name), want.map(\.name), "\(score) top \(top)")
                    XCTAssertEqual(r.candidates.map(\.distance), want.map(key))
                    XCTAssertEqual(r.candidates.map(\.minDistance), want.map(\.minDistance))
                    XCTAssertEqual(r.candidates.map(\.meanDistance), want.map(\.meanDistance))
                    XCTAssertEqual(r.candidates.map(\.templateCount), want.map(\.templateCount))
                    XCTAssertEqual(r.identitiesCompared, 60)
                    XCTAssertEqual(r.skippedTemplates, 1)
                    XCTAssertEqual(r.identitiesWithSkippedTemplates, ["s21"])
                }
            }
        }
        let zero = try v.identify(embedding: stored[0], probe: "p", top: 2)
        XCTAssertEqual(zero.candidates.map(\.name), ["s0", "s13"], "a tie in natural name order")
        XCTAssertEqual(try v.index().templateCount, stored.count - 1)
    }

    /// The index is read again when another connection (another process) changes the gallery, and only then.
    func testIndexFollowsChangesByAnotherConnection() throws {
        let fx = try GalleryFixture(self, backend: Self.backend)
        let reader = try fx.open()
        _ = try reader.enroll(name: "alice", images: [fx.photo(1)])
        let v = try Verifier(gallery: reader, threshold: 0.5)
        XCTAssertEqual(try v.identify(probe: fx.photo(3)).candidates.map(\.name), ["alice"])
        let first = try v.index()
        XCTAssertTrue(try v.index() === first, "unchanged gallery: the same index")
        let generation = try reader.generation()
        _ = try reader.identities()
        XCTAssertEqual(try reader.generation(), generation, "reads change nothing")

        let writer = try fx.open()
        _ = try writer.enroll(name: "bob", images: [fx.photo(3)])
        XCTAssertNotEqual(try reader.generation(), generation)
        XCTAssertEqual(try v.identify(probe: fx.photo(3)).identity, "bob")
        try writer.rename(old: "bob", new: "robert")
        XCTAssertEqual(try v.identify(probe: fx.photo(3)).identity, "robert")
        _ = try writer.remove(name: "robert")
        XCTAssertEqual(try v.identify(probe: fx.photo(3)).candidates.map(\.name), ["alice"])
        _ = try writer.remove(name: "alice")
        XCTAssertThrowsError(try v.identify(probe: fx.photo(3))) { XCTAssertEqual($0 as? GalleryError, .empty(path: fx.gallery)) }
    }

    func testVerifierNeedsAThreshold() throws {
        let fx = try GalleryFixture(self, threshold: nil, backend: Self.backend)
        let g = try fx.open()
        XCTAssertThrowsError(try Verifier(gallery: g)) { error in
            XCTAssertEqual(error as? GalleryError, .noThreshold(modelPath: fx.modelPath))
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix(fx.modelPath), text)
            XCTAssertTrue(text.contains("held-out identities") && text.contains("calibrate the model"), text)
        }
        XCTAssertEqual(try Verifier(gallery: g, threshold: 0.7).threshold, 0.7, "a given threshold is enough")
        XCTAssertThrowsError(try Verifier(gallery: g, threshold: -1))
        XCTAssertThrowsError(try Verifier(gallery: g, threshold: .nan))
    }
}

// MARK: - Support shared by the gallery tests

let galleryTestConfig = NetworkConfig(inputHeight: 20, inputWidth: 20, hidden: [64, 32])

/// An untrained small model: its embeddings are deterministic and differ between images,
/// which is all the database tests need.
func galleryTestModel(seed: UInt64 = 1, threshold: Float? = 0.5) -> FaceModel {
    FaceModel(
        network: SiameseNetwork(config: galleryTestConfig, seed: seed),
        info: ModelInfo(config: galleryTestConfig, threshold: threshold, thresholdMethod: threshold == nil ? nil : "test"))
}

/// Where a test's gallery is kept.
enum GalleryBackend {
    case sqlite
    /// A fresh database on the server `FACETWIN_TEST_POSTGRES` names (scripts/test.sh starts one).
    case postgres
}

/// A temporary folder with a saved model, a gallery location and synthetic photos.
struct GalleryFixture {
    let dir: URL
    let model: FaceModel
    let modelPath: String
    /// An SQLite file path, or the URL of a database made for this test (dropped after it).
    let gallery: String

    init(_ test: XCTestCase, threshold: Float? = 0.5, backend: GalleryBackend = .sqlite) throws {
        dir = try temporaryDirectory(test)
        model = galleryTestModel(threshold: threshold)
        modelPath = dir.appendingPathComponent("m.safetensors").path
        try model.save(to: modelPath)
        switch backend {
        case .sqlite: gallery = dir.appendingPathComponent("gallery.sqlite").path
        case .postgres: gallery = try makeTestDatabase(test)
        }
    }

    /// The gallery, bound to `model` (the fixture's by default), through the store its location names.
    func open(model: FaceModel? = nil, modelPath: String? = nil, mode: Gallery.OpenMode = .openOrCreate) throws
        -> any GalleryStore
    {
        try GalleryStores.open(gallery, model: model ?? self.model, modelPath: modelPath ?? self.modelPath, mode: mode)
    }

    /// The gallery without a model (management).
    func openPlain() throws -> any GalleryStore { try GalleryStores.open(gallery) }

    /// A distinct synthetic 24×28 face-sized PGM for each index, written on first use.
    func photo(_ index: Int) -> String {
        let url = dir.appendingPathComponent("photo-\(index).pgm")
        if !FileManager.default.fileExists(atPath: url.path) {
            var state = UInt64(index) &* 0x9E37_79B9_7F4A_7C15 | 1
            try! writePGM(url, width: 24, height: 28) { x, y in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let wave = (x * (index % 5 + 1) + y * (index % 3 + 2)) * 7 % 200
                return UInt8(truncatingIfNeeded: wave + Int(state >> 59))
            }
        }
        return url.path
    }

    /// A PGM whose header promises more pixels than the file holds.
    func corruptPhoto(_ name: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        var data = Data("P5\n24 28\n255\n".utf8)
        data.append(contentsOf: [UInt8](repeating: 128, count: 100))
        try data.write(to: url)
        return url.path
    }
}

/// Everything a gallery holds, as comparable text: metadata, identities, templates (and, in
/// SQLite, its sequences; PostgreSQL's sequences are not transactional, by design).
func gallerySnapshot(_ store: any GalleryStore) throws -> [String] {
    if let pg = store as? PostgresGallery {
        var lines: [String] = []
        for table in ["gallery_meta", "identities", "templates"] {
            for row in try pg.textRows("SELECT row_to_json(t)::text FROM facetwin.\(table) t ORDER BY id") {
                lines.append(table + ": " + row)
            }
        }
        return lines
    }
    let g = store as! Gallery
    return try g.read { db in
        var lines: [String] = []
        for table in ["gallery_meta", "identities", "templates"] {
            for row in try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY id") {
                lines.append(table + ": " + row.description)
            }
        }
        lines.append("sequence: " + (try Row.fetchAll(db, sql: "SELECT * FROM sqlite_sequence ORDER BY name")).description)
        return lines
    }
}

/// How many template rows the store holds, counted by SQL.
func storedTemplateCount(_ store: any GalleryStore) throws -> Int {
    if let pg = store as? PostgresGallery {
        return Int(try pg.textRows("SELECT count(*)::text FROM facetwin.templates")[0])!
    }
    return try (store as! Gallery).read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM templates") ?? 0 }
}

/// A new, empty database on the test server for one test (dropped after it), as a gallery URL;
/// skips the test when no server is given.
func makeTestDatabase(_ test: XCTestCase) throws -> String {
    guard let server = ProcessInfo.processInfo.environment["FACETWIN_TEST_POSTGRES"], !server.isEmpty else {
        throw XCTSkip("no PostgreSQL server: FACETWIN_TEST_POSTGRES is not set (scripts/test.sh starts one)")
    }
    let name = "ft_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
    try PostgresGallery.administer(server: server, sql: "CREATE DATABASE \(name)")
    test.addTeardownBlock {
        try? PostgresGallery.administer(server: server, sql: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }
    return PostgresGallery.url(server, database: String(name))
}

/// The gallery's content as SQL text, read through a separate plain connection.
func galleryContentDump(_ path: String) throws -> String {
    try DatabaseQueue(path: path).read { db in
        var text = ""
        for table in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name") {
            text += table + "\n"
            for row in try Row.fetchAll(db, sql: "SELECT * FROM \"\(table)\"") { text += row.description + "\n" }
        }
        return text
    }
}

extension GalleryTests {
    /// A library caller (a server, not the CLI) shows the library's messages: they name values,
    /// never a facetwin option or command (the CLI names those: docs/ERRORS.md).
    func testThresholdAndMissingGalleryErrorsNameNoCommandLineOption() {
        let errors: [GalleryError] = [
            .notFound(path: "g.db"), .noThreshold(modelPath: "m.safetensors"),
            .invalidThreshold(-1, modelPath: "m.safetensors"), .invalidThreshold(.nan, modelPath: nil)
        ]
        for error in errors {
            XCTAssertFalse(error.description.contains("--"), error.description)
            XCTAssertFalse(error.description.contains("facetwin "), error.description)
        }
        XCTAssertEqual(
            GalleryError.noThreshold(modelPath: "m.safetensors").description,
            "m.safetensors: the model has no verification threshold; give one, train with held-out identities, or calibrate the model"
        )
    }
}
