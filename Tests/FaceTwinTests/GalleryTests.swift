import Foundation
import GRDB
import XCTest

@testable import FaceTwin
@testable import FaceTwinGallery
@testable import FaceTwinSupport

/// The gallery as a database: creation and permissions, all-or-nothing enrolls, duplicates,
/// the model binding, and editing. Untrained small models and synthetic photos: no ORL needed.
final class GalleryTests: XCTestCase {
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
        let fx = try GalleryFixture(self)
        let g = try Gallery(path: fx.gallery, model: fx.model, modelPath: fx.modelPath)
        _ = try g.enroll(name: "alice", images: [fx.photo(1), fx.photo(2)])

        let otherPath = fx.dir.appendingPathComponent("other.safetensors").path
        let other = galleryTestModel(seed: 99, threshold: 0.5)
        try other.save(to: otherPath)
        XCTAssertThrowsError(try Gallery(path: fx.gallery, model: other, modelPath: otherPath)) { error in
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
        XCTAssertEqual(try Gallery(path: fx.gallery).identities().map(\.templateCount), [2], "nothing changed")
    }

    func testFingerprintCoversWeightsAndConfigButNotMetadata() throws {
        let fx = try GalleryFixture(self)
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
        let g = try Gallery(path: fx.gallery, model: fx.model, modelPath: fx.modelPath)
        _ = try g.enroll(name: "alice", images: [fx.photo(1)])
        try recalibrated.save(to: fx.modelPath)
        XCTAssertNoThrow(try Gallery(path: fx.gallery, model: FaceModel.load(path: fx.modelPath), modelPath: fx.modelPath))

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
        let fx = try GalleryFixture(self)
        let g = try Gallery(path: fx.gallery, model: fx.model, modelPath: fx.modelPath)
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
        let fx = try GalleryFixture(self)
        let g = try Gallery(path: fx.gallery, model: fx.model, modelPath: fx.modelPath)
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
        let fx = try GalleryFixture(self)
        let g = try Gallery(path: fx.gallery, model: fx.model, modelPath: fx.modelPath)
        _ = try g.enroll(name: "alice", images: [fx.photo(1), fx.photo(2)])
        let before = try gallerySnapshot(g)
        let fileBefore = try galleryContentDump(fx.gallery)

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
        XCTAssertEqual(try gallerySnapshot(Gallery(path: fx.gallery)), before, "seen from a new connection too")
        XCTAssertEqual(try galleryContentDump(fx.gallery), fileBefore)

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
        let fx = try GalleryFixture(self)
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

        let g = try Gallery(path: fx.gallery, model: fx.model, modelPath: fx.modelPath)
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
        let fx = try GalleryFixture(self)
        let g = try Gallery(path: fx.gallery, model: fx.model, modelPath: fx.modelPath)
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
        let templates = try g.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM templates") }
        XCTAssertEqual(templates, 4, "removing an identity removes its templates (ON DELETE CASCADE)")

        // Management without a model; enrolling and matching need one.
        let plain = try Gallery(path: fx.gallery)
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
        let fx = try GalleryFixture(self)
        let g = try Gallery(path: fx.gallery, model: fx.model, modelPath: fx.modelPath)
        XCTAssertThrowsError(try g.enroll(name: "bad\u{7}", images: [fx.photo(1)]))
        XCTAssertThrowsError(try g.enroll(name: "alice", images: [])) { error in
            guard case .nothingToEnroll? = error as? GalleryError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try g.identities(), [])
    }

    // MARK: Verifier on synthetic data

    func testVerifierThresholdsAndRanking() throws {
        let fx = try GalleryFixture(self)
        let g = try Gallery(path: fx.gallery, model: fx.model, modelPath: fx.modelPath)
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

    func testVerifierNeedsAThreshold() throws {
        let fx = try GalleryFixture(self, threshold: nil)
        let g = try Gallery(path: fx.gallery, model: fx.model, modelPath: fx.modelPath)
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

/// A temporary folder with a saved model, a gallery path and synthetic photos.
struct GalleryFixture {
    let dir: URL
    let model: FaceModel
    let modelPath: String
    let gallery: String

    init(_ test: XCTestCase, threshold: Float? = 0.5) throws {
        dir = try temporaryDirectory(test)
        model = galleryTestModel(threshold: threshold)
        modelPath = dir.appendingPathComponent("m.safetensors").path
        try model.save(to: modelPath)
        gallery = dir.appendingPathComponent("gallery.sqlite").path
    }

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

/// Everything a gallery holds, as comparable text: metadata, identities, templates.
func gallerySnapshot(_ g: Gallery) throws -> [String] {
    try g.read { db in
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
