import Foundation
import GRDB
import XCTest

@testable import FaceTwin
@testable import FaceTwinGallery

/// `gallery export` and `gallery import`: the CSV round trip keeps every template bit for bit,
/// another model's templates and malformed files are refused naming the line, and an import is
/// all or nothing.
final class GalleryExportTests: XCTestCase {
    /// A gallery of three identities (one with a comma, one starting with a formula character,
    /// one typed in decomposed Unicode) and its export.
    func makeExport(_ fx: GalleryFixture) throws -> (gallery: Gallery, file: String) {
        let g = try Gallery(path: fx.gallery, model: fx.model, modelPath: fx.modelPath)
        _ = try g.enroll(name: "alice", images: [fx.photo(1), fx.photo(2)])
        _ = try g.enroll(name: "Smith, Bob", images: [fx.photo(3)])
        _ = try g.enroll(name: "=cafe\u{301}", images: [fx.photo(4)])
        let file = fx.dir.appendingPathComponent("templates.csv").path
        XCTAssertEqual(try g.export(to: file), 4)
        return (g, file)
    }

    func probeEmbedding(_ fx: GalleryFixture, _ index: Int) throws -> [Float] {
        try fx.model.embed(pixels: fx.model.prepareImage(at: fx.photo(index)), count: 1)[0]
    }

    func testExportThenImportGivesTheSameTemplatesAndDistances() throws {
        let fx = try GalleryFixture(self)
        let (g, file) = try makeExport(fx)
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines[0], "# facetwin gallery export, model fingerprint \(fx.model.fingerprint), dimension 5")
        XCTAssertEqual(lines[1], "identity,path,sha256,e0,e1,e2,e3,e4")
        XCTAssertEqual(lines.count, 6)
        XCTAssertTrue(lines.contains { $0.hasPrefix("'=café,") }, "formula character escaped: \(lines)")
        XCTAssertTrue(lines.contains { $0.hasPrefix("\"Smith, Bob\",") }, "\(lines)")

        let copy = fx.dir.appendingPathComponent("copy.sqlite").path
        let r = try Gallery(path: copy, model: fx.model, modelPath: fx.modelPath).importTemplates(
            try TemplateExport.read(path: file))
        XCTAssertEqual(r, ImportReport(imported: 4, duplicates: 0, newIdentities: ["=café", "Smith, Bob", "alice"]))
        let h = try Gallery(path: copy, model: fx.model, modelPath: fx.modelPath, mode: .openExisting)
        func strip(_ ts: [GalleryTemplate]) -> [String] {
            ts.map { "\($0.identity) \($0.imagePath) \($0.imageSHA256) \($0.embedding.map(\.bitPattern))" }
        }
        XCTAssertEqual(strip(try h.allTemplates()), strip(try g.allTemplates()))
        XCTAssertEqual(try h.identities().map(\.name), try g.identities().map(\.name))
        for probe in [1, 5, 6] {
            let e = try probeEmbedding(fx, probe)
            XCTAssertEqual(try h.distances(probe: e), try g.distances(probe: e), "probe \(probe)")
        }
        // The copy exports to the same file (enrollment dates are not in it).
        let again = fx.dir.appendingPathComponent("again.csv").path
        try h.export(to: again)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: again)), try Data(contentsOf: URL(fileURLWithPath: file)))

        // Importing again adds nothing: every row is a duplicate.
        let twice = try h.importTemplates(try TemplateExport.read(path: file))
        XCTAssertEqual(twice, ImportReport(imported: 0, duplicates: 4, newIdentities: []))
        XCTAssertEqual(try h.allTemplates().count, 4)
    }

    func testAnotherModelsTemplatesAreRefusedAndNothingIsWritten() throws {
        let fx = try GalleryFixture(self)
        let (_, file) = try makeExport(fx)
        let otherPath = fx.dir.appendingPathComponent("other.safetensors").path
        let other = galleryTestModel(seed: 42)
        try other.save(to: otherPath)
        let otherGallery = fx.dir.appendingPathComponent("other.sqlite").path
        let h = try Gallery(path: otherGallery, model: other, modelPath: otherPath)
        _ = try h.enroll(name: "zed", images: [fx.photo(7)])
        let before = try gallerySnapshot(h)
        let export = try TemplateExport.read(path: file)
        XCTAssertThrowsError(try h.importTemplates(export)) { error in
            XCTAssertEqual(
                error as? GalleryError,
                .exportModelMismatch(
                    file: file, fileFingerprint: fx.model.fingerprint, target: "gallery \(otherGallery)",
                    targetFingerprint: other.fingerprint))
            let text = "\(error)"
            XCTAssertTrue(text.contains(GalleryError.short(fx.model.fingerprint)), text)
            XCTAssertTrue(text.contains(GalleryError.short(other.fingerprint)), text)
        }
        XCTAssertEqual(try gallerySnapshot(h), before)

        // From the command line: into the existing gallery, and into a new one with the other model.
        var r = try runFacetwin(["gallery", "import", "--gallery", otherGallery, file])
        XCTAssertEqual(r.status, 2, r.stdout)
        XCTAssertTrue(r.stderr.hasPrefix("facetwin: error: \(file): the templates were made with model"), r.stderr)
        XCTAssertEqual(try gallerySnapshot(try Gallery(path: otherGallery)), before)
        let fresh = fx.dir.appendingPathComponent("fresh.sqlite").path
        r = try runFacetwin(["gallery", "import", "--gallery", fresh, "--model", otherPath, file])
        XCTAssertEqual(r.status, 2, r.stdout)
        XCTAssertTrue(r.stderr.contains("model \(otherPath) has model \(GalleryError.short(other.fingerprint))"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: fresh), "no gallery is created for refused templates")
    }

    func testMalformedFilesAreRefusedWithTheirLine() throws {
        let fx = try GalleryFixture(self)
        let (g, file) = try makeExport(fx)
        let good = try String(contentsOfFile: file, encoding: .utf8)
        var lines = good.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let sha = String(repeating: "ab", count: 32)
        let cases: [(String, Int, String)] = [
            ("", 1, "empty file"),
            ("identity,path\n", 1, "not a facetwin gallery export"),
            (lines[0] + "\nidentity,path,sha256,e0\n", 2, "the header is not identity,path,sha256,e0,…,e4"),
            (lines[0].replacingOccurrences(of: "dimension 5", with: "dimension 0") + "\n", 1, "not a possible embedding size"),
            (lines[0] + "\n" + lines[1] + "\nx,p.pgm,\(sha),1,2,3,4\n", 3, "7 columns, expected 8"),
            (lines[0] + "\n" + lines[1] + "\nx,p.pgm,\(sha),1,2,3,4,nan\n", 3, "e4 is not finite"),
            (lines[0] + "\n" + lines[1] + "\nx,p.pgm,\(sha),1,2,3,4,1e39\n", 3, "e4 is not finite"),
            (lines[0] + "\n" + lines[1] + "\nx,p.pgm,\(sha),1,2,three,4,5\n", 3, "e2 is not a number"),
            (lines[0] + "\n" + lines[1] + "\nx,p.pgm,abc,1,2,3,4,5\n", 3, "not 64 hexadecimal digits"),
            (lines[0] + "\n" + lines[1] + "\n\" x\",p.pgm,\(sha),1,2,3,4,5\n", 3, "invalid identity name"),
            (lines[0] + "\n" + lines[1] + "\n\"x\ny\",p.pgm,\(sha),1,2,3,4,5\n", 3, "invalid identity name"),
            (lines[0] + "\n" + lines[1] + "\n\"x,p.pgm,\(sha),1,2,3,4,5\n", 3, "unterminated quote")
        ]
        let copy = fx.dir.appendingPathComponent("copy.sqlite").path
        for (i, (text, line, problem)) in cases.enumerated() {
            let bad = fx.dir.appendingPathComponent("bad-\(i).csv").path
            try Data(text.utf8).write(to: URL(fileURLWithPath: bad))
            XCTAssertThrowsError(try TemplateExport.read(path: bad), "case \(i)") { error in
                let text = "\(error)"
                XCTAssertTrue(text.hasPrefix("\(bad):\(line): "), "case \(i): \(text)")
                XCTAssertTrue(text.contains(problem), "case \(i): \(text)")
            }
            let r = try runFacetwin(["gallery", "import", "--gallery", copy, "--model", fx.modelPath, bad])
            XCTAssertEqual(r.status, 2, "case \(i): \(r.stdout)")
            XCTAssertTrue(r.stderr.hasPrefix("facetwin: error: \(bad):\(line): "), "case \(i): \(r.stderr)")
            XCTAssertEqual(r.stderr.filter { $0 == "\n" }.count, 1, "one line: \(r.stderr)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: copy))

        // A malformed last row: nothing of the rows before it is imported.
        let before = try gallerySnapshot(g)
        let last = lines[lines.count - 2]
        lines[lines.count - 2] = String(last[..<last.lastIndex(of: ",")!])
        let truncated = fx.dir.appendingPathComponent("truncated.csv").path
        try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: truncated))
        let other = try Gallery(path: copy, model: fx.model, modelPath: fx.modelPath)
        XCTAssertTrue(try TemplateExport.read(path: file).rows.count == 4)
        let r = try runFacetwin(["gallery", "import", "--gallery", copy, truncated])
        XCTAssertEqual(r.status, 2, r.stdout)
        XCTAssertTrue(r.stderr.hasPrefix("facetwin: error: \(truncated):6: "), r.stderr)
        XCTAssertEqual(try other.identities(), [])
        XCTAssertEqual(try gallerySnapshot(g), before)

        // Larger than allowed: refused before it is read.
        XCTAssertThrowsError(try TemplateExport.read(path: file, maxBytes: 100)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(file): \(good.utf8.count) bytes, more than the 100 bytes allowed"), "\(error)")
        }
    }

    func testAFailureInsideTheImportLeavesTheGalleryUnchanged() throws {
        let fx = try GalleryFixture(self)
        let (_, file) = try makeExport(fx)
        let copy = fx.dir.appendingPathComponent("copy.sqlite").path
        let h = try Gallery(path: copy, model: fx.model, modelPath: fx.modelPath)
        _ = try h.enroll(name: "zed", images: [fx.photo(7)])
        let export = try TemplateExport.read(path: file)
        // The last row's insert fails after the others were written in the same transaction.
        let last = export.rows.last!.imageSHA256
        try DatabaseQueue(path: copy).write { db in
            try db.execute(
                sql: """
                    CREATE TRIGGER refuse BEFORE INSERT ON templates WHEN NEW.image_sha256 = '\(last)'
                    BEGIN SELECT RAISE(ABORT, 'refused by the test'); END
                    """)
        }
        let before = try gallerySnapshot(h)
        XCTAssertThrowsError(try h.importTemplates(export)) { error in
            XCTAssertTrue("\(error)".contains("refused by the test"), "\(error)")
        }
        XCTAssertEqual(try gallerySnapshot(h), before)
        XCTAssertEqual(try h.identities().map(\.name), ["zed"])
    }

    func testAKilledImportLeavesTheGalleryUnchanged() throws {
        let fx = try GalleryFixture(self)
        let (_, file) = try makeExport(fx)
        let copy = fx.dir.appendingPathComponent("copy.sqlite").path
        _ = try Gallery(path: copy, model: fx.model, modelPath: fx.modelPath).enroll(name: "zed", images: [fx.photo(7)])
        let before = try gallerySnapshot(try Gallery(path: copy))
        var killed = 0
        for point in 1...6 {
            let process = Process()
            process.executableURL = facetwinExecutable()
            process.arguments = ["gallery", "import", "--gallery", copy, file]
            process.environment = ProcessInfo.processInfo.environment.merging([
                "FACETWIN_TEST_SIGKILL_AT_WRITE_POINT": String(point)
            ]) { $1 }
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            if process.terminationReason == .uncaughtSignal {
                killed += 1
                // The next writing command rolls the killed transaction back.
                XCTAssertEqual(try gallerySnapshot(try Gallery(path: copy, forWriting: true)), before, "killed at \(point)")
            } else {
                XCTAssertEqual(process.terminationStatus, 0, "point \(point)")
                XCTAssertEqual(try Gallery(path: copy).allTemplates().count, 5)
                break
            }
        }
        XCTAssertGreaterThan(killed, 0, "the import reaches a write point before its commit")
    }

    func testCommandLineRoundTrip() throws {
        let fx = try GalleryFixture(self)
        let g = fx.gallery
        XCTAssertEqual(
            try runFacetwin(["enroll", "--gallery", g, "--model", fx.modelPath, "--name", "alice", fx.photo(1), fx.photo(2)])
                .status, 0)
        let file = fx.dir.appendingPathComponent("t.csv").path
        var r = try runFacetwin(["gallery", "export", "--gallery", g, "--out", file])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "exported 2 templates to \(file)\n")
        let copy = fx.dir.appendingPathComponent("copy.sqlite").path
        r = try runFacetwin(["gallery", "import", "--gallery", copy, file])
        XCTAssertEqual(r.status, 2)
        XCTAssertEqual(r.stderr, "facetwin: error: \(copy): no gallery here; give --model to create one\n")
        r = try runFacetwin(["gallery", "import", "--gallery", copy, "--model", fx.modelPath, file])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "imported 2 templates into \(copy) (1 new identity, 0 duplicates left out)\n")
        r = try runFacetwin(["verify", "--gallery", copy, "--claim", "alice", fx.photo(1)])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("MATCH alice  distance 0.0000"), r.stdout)
        // The export is written through OutputFile: a directory is refused and left alone.
        r = try runFacetwin(["gallery", "export", "--gallery", g, "--out", fx.dir.path])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("is a directory, not a regular file; refusing to write it"), r.stderr)
    }
}
