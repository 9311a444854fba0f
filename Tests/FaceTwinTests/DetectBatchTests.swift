import Foundation
import XCTest

@testable import FaceTwin

/// `facetwin detect` over a batch: crop names never collide, one bad photo does not stop the
/// rest, its own output is not read back, one photo can be given, colour is kept on request.
final class DetectBatchTests: XCTestCase {
    static var photos: URL { FaceDetectionTests.photos }

    func copy(_ fixture: String, to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.photos.appendingPathComponent(fixture), to: url)
    }

    func detect(_ arguments: [String]) throws -> (RunResult, [String: Any]) {
        let r = try runFacetwin(["detect"] + arguments + ["--json"])
        let json = (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]) ?? [:]
        return (r, json)
    }

    func files(in dir: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
    }

    func testCropNamesNeverCollide() throws {
        let dir = try temporaryDirectory(self)
        let input = dir.appendingPathComponent("in")
        // a.pgm and a.ppm share a stem; two.ppm's second face and the photo two-2.ppm share a name.
        try copy("s37/one.ppm", to: input.appendingPathComponent("a.ppm"))
        try PGMEncoder.encode(try ImageDecoder.decode(path: Self.photos.appendingPathComponent("s40/one.ppm").path))
            .write(to: input.appendingPathComponent("a.pgm"))
        try copy("multi/two.ppm", to: input.appendingPathComponent("two.ppm"))
        try copy("s40/one.ppm", to: input.appendingPathComponent("two-2.ppm"))
        let out = dir.appendingPathComponent("out")
        let (r, json) = try detect(["--in", input.path, "--out", out.path, "--faces", "all"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let summary = try XCTUnwrap(json["summary"] as? [String: Any])
        XCTAssertEqual(summary["cropsWritten"] as? Int, 5)
        let crops = try files(in: out).filter { $0.hasSuffix(".pgm") }
        XCTAssertEqual(crops.count, 5, "\(crops)")
        // Natural order reads two-2.ppm before two.ppm, whose second face then takes two.ppm-2.pgm.
        XCTAssertEqual(Set(crops), ["a.pgm", "a.ppm.pgm", "two-2.pgm", "two.pgm", "two.ppm-2.pgm"])
    }

    func testOneBadPhotoDoesNotStopTheBatch() throws {
        let dir = try temporaryDirectory(self)
        let input = dir.appendingPathComponent("in")
        try copy("s37/one.ppm", to: input.appendingPathComponent("1-good.ppm"))
        try Data("P5\n92 112\n255\n".utf8).write(to: input.appendingPathComponent("2-truncated.pgm"))
        // A 250-byte stem: the photo's name fits (254 bytes), its second face's crop name (256) does not.
        let long = String(repeating: "x", count: 250)
        try copy("multi/two.ppm", to: input.appendingPathComponent("3-\(long.dropFirst(2)).ppm"))
        try copy("s40/one.ppm", to: input.appendingPathComponent("4-good.ppm"))
        let out = dir.appendingPathComponent("out")
        let (r, json) = try detect(["--in", input.path, "--out", out.path, "--faces", "all"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let summary = try XCTUnwrap(json["summary"] as? [String: Any])
        XCTAssertEqual(summary["photos"] as? Int, 4)
        XCTAssertEqual(summary["failed"] as? Int, 2)
        XCTAssertEqual(summary["cropsWritten"] as? Int, 3)
        let photos = try XCTUnwrap(json["photos"] as? [[String: Any]])
        XCTAssertEqual(photos.map { $0["status"] as? String }, ["ok", "failed", "failed", "ok"])
        XCTAssertTrue((photos[1]["error"] as? String ?? "").contains("2-truncated.pgm: truncated"), "\(photos[1])")
        XCTAssertNotNil(photos[2]["error"] as? String)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("4-good.pgm").path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("contact-sheet.png").path))
        // In text, each failure is one line naming the photo, and the summary counts them.
        let text = try runFacetwin(["detect", "--in", input.path, "--out", out.path, "--faces", "all"])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("2-truncated.pgm: truncated"), text.stdout)
        XCTAssertTrue(text.stdout.contains(", failed 2\n"), text.stdout)
    }

    func testOutputInsideInputIsNotReadBack() throws {
        let dir = try temporaryDirectory(self)
        let input = dir.appendingPathComponent("in")
        try copy("s37/one.ppm", to: input.appendingPathComponent("s37/one.ppm"))
        try copy("s40/one.ppm", to: input.appendingPathComponent("loose.ppm"))
        for _ in 0..<2 {
            let (r, json) = try detect(["--in", input.path, "--out", input.appendingPathComponent("crops").path])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual((json["summary"] as? [String: Any])?["photos"] as? Int, 2, r.stdout)
        }
        // A sheet written into --in is not read back either.
        try FileManager.default.removeItem(at: input.appendingPathComponent("crops"))
        for _ in 0..<2 {
            let (r, json) = try detect([
                "--in", input.path, "--out", dir.appendingPathComponent("out").path, "--sheet",
                input.appendingPathComponent("sheet.png").path
            ])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual((json["summary"] as? [String: Any])?["photos"] as? Int, 2, r.stdout)
        }
    }

    func testDetectTakesOnePhoto() throws {
        let dir = try temporaryDirectory(self)
        let out = dir.appendingPathComponent("out")
        let (r, json) = try detect(["--in", Self.photos.appendingPathComponent("s37/one.ppm").path, "--out", out.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual((json["summary"] as? [String: Any])?["cropsWritten"] as? Int, 1)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("one.pgm").path))
    }

    func testColourPhotosGiveColourCropsWithColorAndAColourSheet() throws {
        let dir = try temporaryDirectory(self)
        let photo = Self.photos.appendingPathComponent("s37/one.ppm").path
        XCTAssertTrue(try ImageDecoder.decodeImage(path: photo).isColor)
        var (r, _) = try detect(["--in", photo, "--out", dir.appendingPathComponent("grey").path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let grey = try ImageDecoder.decodeImage(path: dir.appendingPathComponent("grey/one.pgm").path)
        XCTAssertFalse(grey.isColor)
        (r, _) = try detect(["--in", photo, "--out", dir.appendingPathComponent("colour").path, "--color"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let colour = try ImageDecoder.decodeImage(path: dir.appendingPathComponent("colour/one.ppm").path)
        XCTAssertTrue(colour.isColor)
        XCTAssertEqual([colour.width, colour.height], [92, 112])
        // Its grey is the grey crop, to rounding.
        let diff = zip(colour.gray.pixels, grey.gray.pixels).map { abs(Int($0) - Int($1)) }
        XCTAssertLessThanOrEqual(diff.max() ?? 0, 2)
        // The sheet shows the photo in colour, with or without --color: far more coloured pixels
        // than its boxes and eye marks alone have (a 192×144 thumbnail; the boxes are ~10³ pixels).
        for sub in ["grey", "colour"] {
            let sheet = try ImageDecoder.decodeImage(path: dir.appendingPathComponent("\(sub)/contact-sheet.png").path).rgb
            var coloured = 0
            for i in stride(from: 0, to: sheet.pixels.count, by: 3) {
                let r = Int(sheet.pixels[i]), g = Int(sheet.pixels[i + 1]), b = Int(sheet.pixels[i + 2])
                if abs(r - g) > 12 || abs(g - b) > 12 { coloured += 1 }
            }
            XCTAssertGreaterThan(coloured, 5000, sub)
        }
    }

    /// A pair list over one flat folder says nothing of identities: no "its folders say
    /// otherwise" note on a different-people pair.
    func testPairListOverAFlatFolderIsNotReadAsIdentityFolders() throws {
        let dir = try temporaryDirectory(self)
        let orl = try orlDirectory()
        var lines = "image1,image2,same\n"
        for (id, n) in [("s5", 1), ("s5", 2), ("s6", 1), ("s6", 2), ("s7", 1), ("s7", 2)] {
            try FileManager.default.copyItem(
                atPath: "\(orl)/\(id)/\(n).pgm", toPath: dir.appendingPathComponent("\(id)-\(n).pgm").path)
        }
        lines += "s5-1.pgm,s5-2.pgm,1\ns6-1.pgm,s6-2.pgm,1\ns7-1.pgm,s7-2.pgm,1\n"
        lines += "s5-1.pgm,s6-1.pgm,0\ns6-2.pgm,s7-1.pgm,0\ns5-2.pgm,s7-2.pgm,0\n"
        let csv = dir.appendingPathComponent("pairs.csv")
        try lines.write(to: csv, atomically: true, encoding: .utf8)
        let model = try EvalFixture.copyModel(to: dir)
        let r = try runFacetwin(["evaluate", "--model", model, "--pairs", csv.path, "--bootstrap", "50"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(r.stdout.contains("folders say otherwise"), r.stdout)
        XCTAssertTrue(r.stdout.contains("identities unknown: the images are not in identity folders"), r.stdout)
        // Identity folders that disagree with a label are still named.
        for id in ["s5", "s6"] {
            try FileManager.default.createDirectory(at: dir.appendingPathComponent(id), withIntermediateDirectories: true)
            for n in 1...2 {
                try FileManager.default.copyItem(
                    atPath: "\(orl)/\(id)/\(n).pgm", toPath: dir.appendingPathComponent("\(id)/\(n).pgm").path)
            }
        }
        try "image1,image2,same\ns5/1.pgm,s5/2.pgm,1\ns6/1.pgm,s6/2.pgm,0\ns5/1.pgm,s6/1.pgm,0\n"
            .write(to: csv, atomically: true, encoding: .utf8)
        let wrong = try runFacetwin(["evaluate", "--model", model, "--pairs", csv.path, "--bootstrap", "50"])
        XCTAssertEqual(wrong.status, 0, wrong.stderr)
        XCTAssertTrue(wrong.stdout.contains("is labelled different people but its folders say otherwise"), wrong.stdout)
    }

    /// `train` checks that its model can be written before it trains.
    func testTrainRefusesAnUnwritableOutputBeforeTraining() throws {
        let dir = try temporaryDirectory(self)
        let orl = try orlDirectory()
        let data = dir.appendingPathComponent("data")
        for id in ["s1", "s2"] {
            try FileManager.default.createDirectory(at: data.appendingPathComponent(id), withIntermediateDirectories: true)
            for n in 1...3 {
                try FileManager.default.copyItem(
                    atPath: "\(orl)/\(id)/\(n).pgm", toPath: data.appendingPathComponent("\(id)/\(n).pgm").path)
            }
        }
        let blocker = dir.appendingPathComponent("file")
        try Data("x".utf8).write(to: blocker)
        let r = try runFacetwin([
            "train", "--recipe", "reference", "--data", data.path, "--epochs", "1", "--size", "8", "--hidden", "8",
            "--batch", "2", "--out", blocker.appendingPathComponent("m.safetensors").path
        ])
        XCTAssertEqual(r.status, 2)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "no epoch was run: \(r.stderr)")
        XCTAssertTrue(r.stderr.contains(blocker.appendingPathComponent("m.safetensors").path), r.stderr)
    }
}
