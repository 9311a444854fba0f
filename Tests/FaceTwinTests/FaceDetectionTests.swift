import Foundation
import XCTest

@testable import FaceTwin
@testable import FaceTwinDetection

/// Face detection (dlib through CFaceDetect), alignment geometry, and `facetwin detect`, on the
/// tiny composed photos in Fixtures/photos (see its README; ORL faces on colour backgrounds).
final class FaceDetectionTests: XCTestCase {
    static let photos = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/photos", isDirectory: true)
    static func photo(_ name: String) throws -> GrayImage {
        try ImageDecoder.decode(path: photos.appendingPathComponent(name).path)
    }
    /// One detector for the whole class: loading the landmark model takes a moment.
    nonisolated(unsafe) static var shared: FaceDetector?
    static func detector() throws -> FaceDetector {
        if let shared { return shared }
        let d = try FaceDetector()
        shared = d
        return d
    }

    /// `p` inside the convex quadrilateral `q` (corners in order).
    func inside(_ p: ImagePoint, _ q: [(Double, Double)]) -> Bool {
        var sign = 0.0
        for i in 0..<q.count {
            let (x1, y1) = q[i], (x2, y2) = q[(i + 1) % q.count]
            let c = (x2 - x1) * (p.y - y1) - (y2 - y1) * (p.x - x1)
            if sign == 0 { sign = c } else if sign * c < 0 { return false }
        }
        return true
    }

    func center(_ b: FaceBox) -> ImagePoint { ImagePoint(x: b.x + b.width / 2, y: b.y + b.height / 2) }

    func testFindsTheFaceInComposedPhotos() throws {
        let d = try Self.detector()
        // Where compose-photos.py put each face's 92×112 crop (its manifest's corners).
        let cases: [(String, [(Double, Double)])] = [
            ("s37/one.ppm", [(42, 20), (121, 20), (121, 116), (42, 116)]),
            ("s40/one.ppm", [(64, 31), (135, 17), (153, 104), (82, 118)])
        ]
        for (name, quad) in cases {
            let faces = try d.detect(try Self.photo(name))
            XCTAssertEqual(faces.count, 1, name)
            guard let f = faces.first else { continue }
            XCTAssertTrue(inside(center(f.box), quad), "\(name): box \(f.box) not on the face")
            XCTAssertGreaterThan(f.confidence, 0)
            // Eyes from the landmarks, inside the crop, image-left eye on the left, upper half of the box.
            let l = try XCTUnwrap(f.leftEye), r = try XCTUnwrap(f.rightEye)
            XCTAssertTrue(inside(l, quad) && inside(r, quad), name)
            XCTAssertLessThan(l.x, r.x, name)
            XCTAssertLessThan(l.y, f.box.y + f.box.height / 2, name)
        }
        let two = try d.detect(try Self.photo("multi/two.ppm"))
        XCTAssertEqual(two.count, 2, "two small (0.5×) faces: \(two)")
    }

    func testFindsNoFaceInAnEmptyPhoto() throws {
        XCTAssertEqual(try Self.detector().detect(try Self.photo("none/empty.ppm")), [])
        // A flat image too.
        XCTAssertEqual(
            try Self.detector().detect(GrayImage(width: 64, height: 48, pixels: .init(repeating: 128, count: 64 * 48))), [])
    }

    func testMissingLandmarkModelIsATypedError() {
        XCTAssertThrowsError(try FaceDetector(landmarkModel: "/nonexistent/landmarks.dat")) { error in
            guard case FaceDetectionError.landmarkModelUnreadable(let path, _)? = error as? FaceDetectionError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(path, "/nonexistent/landmarks.dat")
            XCTAssertTrue("\(error)".hasPrefix("/nonexistent/landmarks.dat: "), "\(error)")
        }
        // A file that is not a landmark model.
        let bad = FaceDetectionTests.photos.appendingPathComponent("README.md").path
        XCTAssertThrowsError(try FaceDetector(landmarkModel: bad)) { error in
            XCTAssertTrue("\(error)".hasPrefix(bad + ": cannot load the face landmark model"), "\(error)")
        }
    }

    // MARK: - Alignment geometry

    func testSimilarityTransformMapsBothPointsExactly() {
        let p1 = ImagePoint(x: 10, y: 20), p2 = ImagePoint(x: 40, y: 25)
        let q1 = ImagePoint(x: 100.5, y: 80.25), q2 = ImagePoint(x: 130, y: 140)
        let t = SimilarityTransform(mapping: p1, to: q1, and: p2, to: q2)
        for (p, q) in [(p1, q1), (p2, q2)] {
            XCTAssertEqual(t.apply(p).x, q.x, accuracy: 1e-9)
            XCTAssertEqual(t.apply(p).y, q.y, accuracy: 1e-9)
        }
        // Scale = ratio of the distances; angles kept (a similarity).
        XCTAssertEqual(t.scale, hypot(29.5, 59.75) / hypot(30, 5), accuracy: 1e-9)
    }

    /// Two bright Gaussian dots ("eyes") at arbitrary, rotated positions in a synthetic image:
    /// after alignment their centroids sit at the requested fractions of the crop.
    func testAlignmentPutsSyntheticEyesWhereAsked() {
        let w = 240, h = 200
        let eyeA = ImagePoint(x: 90.3, y: 120.7), eyeB = ImagePoint(x: 141.9, y: 104.2)  // ~18° tilt, 54 px apart
        var px = [UInt8](repeating: 0, count: w * h)
        for y in 0..<h {
            for x in 0..<w {
                let cx = Double(x) + 0.5, cy = Double(y) + 0.5
                var v = 0.0
                for e in [eyeA, eyeB] { v += 250 * exp(-((cx - e.x) * (cx - e.x) + (cy - e.y) * (cy - e.y)) / (2 * 2.5 * 2.5)) }
                px[y * w + x] = UInt8(min(255, v.rounded()))
            }
        }
        let image = GrayImage(width: w, height: h, pixels: px)
        let aligner = FaceAligner(
            width: 92, height: 112, leftEye: ImagePoint(x: 0.3, y: 0.45), rightEye: ImagePoint(x: 0.7, y: 0.45))
        let face = DetectedFace(box: FaceBox(x: 60, y: 60, width: 120, height: 120), confidence: 1, leftEye: eyeA, rightEye: eyeB)
        let crop = aligner.align(image, face: face)
        XCTAssertEqual(crop.width, 92)
        XCTAssertEqual(crop.height, 112)
        // The transform sends the targets to the eyes exactly.
        let t = aligner.transform(left: eyeA, right: eyeB)
        XCTAssertEqual(t.apply(aligner.targets.left).x, eyeA.x, accuracy: 1e-9)
        XCTAssertEqual(t.apply(aligner.targets.right).y, eyeB.y, accuracy: 1e-9)
        // Centroids of each half of the crop.
        func centroid(_ xs: Range<Int>) -> ImagePoint {
            var sx = 0.0, sy = 0.0, s = 0.0
            for y in 0..<crop.height {
                for x in xs { let v = Double(crop[x, y]); sx += v * (Double(x) + 0.5); sy += v * (Double(y) + 0.5); s += v }
            }
            return ImagePoint(x: sx / s, y: sy / s)
        }
        let a = centroid(0..<46), b = centroid(46..<92)
        XCTAssertEqual(a.x, 0.3 * 92, accuracy: 0.15)
        XCTAssertEqual(a.y, 0.45 * 112, accuracy: 0.15)
        XCTAssertEqual(b.x, 0.7 * 92, accuracy: 0.15)
        XCTAssertEqual(b.y, 0.45 * 112, accuracy: 0.15)
    }

    /// With identity geometry (eyes already at the targets) the crop is the image itself.
    func testAlignmentIdentityIsExact() {
        let img = GrayImage(width: 92, height: 112, pixels: (0..<92 * 112).map { UInt8(($0 * 7) % 256) })
        let aligner = FaceAligner()
        let t = aligner.targets
        XCTAssertEqual(aligner.align(img, left: t.left, right: t.right), img)
    }

    func testBoxFallbackWhenNoLandmarks() {
        let face = DetectedFace(box: FaceBox(x: 100, y: 50, width: 80, height: 80), confidence: 1)
        let e = FaceAligner.eyes(of: face)
        XCTAssertEqual(e.left.x, 100 + FaceAligner.boxLeftEye.x * 80, accuracy: 1e-9)
        XCTAssertEqual(e.right.y, 50 + FaceAligner.boxRightEye.y * 80, accuracy: 1e-9)
    }

    // MARK: - facetwin detect

    func testDetectCommandEndToEnd() throws {
        let out = try temporaryDirectory(self).appendingPathComponent("crops").path
        var r = try runFacetwin(["detect", "--in", Self.photos.path, "--out", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("none/empty.ppm: no face found (failure to acquire)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("multi/two.ppm: 2 faces, kept 1 (--faces largest)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("photos 4, faces found 4, crops written 3, no face 1, multi-face 1"), r.stdout)
        for p in ["s37/one.pgm", "s40/one.pgm", "multi/two.pgm"] {
            let crop = try ImageDecoder.decode(path: out + "/" + p)
            XCTAssertEqual([crop.width, crop.height], [92, 112], p)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/none"))
        let sheet = try Data(contentsOf: URL(fileURLWithPath: out + "/contact-sheet.png"))
        XCTAssertEqual(Array(sheet.prefix(4)), [0x89, 0x50, 0x4E, 0x47])

        // --faces all writes both faces of the two-face photo; --faces refuse none; --size; --json.
        let all = out + "-all"
        r = try runFacetwin(["detect", "--in", Self.photos.path, "--out", all, "--faces", "all", "--size", "46x56"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try ImageDecoder.decode(path: all + "/multi/two-2.pgm").width, 46)
        r = try runFacetwin(["detect", "--in", Self.photos.path, "--out", out + "-refuse", "--faces", "refuse", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let summary = try XCTUnwrap(json["summary"] as? [String: Any])
        XCTAssertEqual(summary["refused"] as? Int, 1)
        XCTAssertEqual(summary["cropsWritten"] as? Int, 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "-refuse/multi/two.pgm"))

        // Nothing readable: one line naming the folder and the first bad file, exit 2.
        let bad = try temporaryDirectory(self)
        try Data("P6\n10 10\n255\n".utf8).write(to: bad.appendingPathComponent("broken.ppm"))
        r = try runFacetwin(["detect", "--in", bad.path, "--out", bad.appendingPathComponent("o").path])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(
            r.stderr.hasPrefix(
                "facetwin: error: \(bad.path): every photo failed (1); the first: \(bad.path)/broken.ppm: truncated"),
            r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
    }
}

/// Enrolling whole photos with detection: a photo without a face is a failure to enroll (FTE),
/// reported, and the rest of the photos are enrolled.
final class DetectionEnrollTests: XCTestCase {
    func testNoFacePhotoIsAFailureToEnrollAndTheRestEnroll() throws {
        let dir = try temporaryDirectory(self)
        let model = try EvalFixture.copyModel(to: dir)
        let gallery = dir.appendingPathComponent("g.sqlite").path
        let photos = FaceDetectionTests.photos
        let face = photos.appendingPathComponent("s37/one.ppm").path, empty = photos.appendingPathComponent("none/empty.ppm").path
        let r = try runFacetwin([
            "enroll", "--gallery", gallery, "--model", model, "--name", "s37", "--detect", "always", face, empty
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let output = r.stdout + r.stderr
        XCTAssertTrue(output.contains("empty.ppm"), output)
        XCTAssertTrue(output.contains("FTE"), "the no-face photo is reported as a failure to enroll: \(output)")
        let list = try runFacetwin(["gallery", "show", "s37", "--gallery", gallery])
        XCTAssertEqual(list.status, 0, list.stderr)
        XCTAssertTrue(list.stdout.contains("one.ppm"), list.stdout)
        XCTAssertFalse(list.stdout.contains("empty.ppm"), "no template from the photo without a face: \(list.stdout)")
    }
}

/// Detection on real colour photographs (scikit-image's sample data; Fixtures/real-photos/README.md).
final class RealPhotoDetectionTests: XCTestCase {
    static let photos = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/real-photos", isDirectory: true)
    func faces(_ name: String) throws -> [DetectedFace] {
        try FaceDetectionTests.detector().detect(try ImageDecoder.decode(path: Self.photos.appendingPathComponent(name).path))
    }

    func testFindsTheAstronautsFaceAndHerEyes() throws {
        let found = try faces("astronaut.jpg")
        XCTAssertEqual(found.count, 1, "\(found)")
        let f = try XCTUnwrap(found.first)
        // Her face: about x 175-265, y 75-170 of the 512×512 portrait.
        XCTAssertEqual(f.box.x + f.box.width / 2, 221, accuracy: 20)
        XCTAssertEqual(f.box.y + f.box.height / 2, 122, accuracy: 20)
        XCTAssertEqual(f.box.width, 90, accuracy: 25)
        let l = try XCTUnwrap(f.leftEye), r = try XCTUnwrap(f.rightEye)
        XCTAssertEqual(l.x, 204, accuracy: 8)
        XCTAssertEqual(r.x, 247, accuracy: 8)
        XCTAssertEqual((l.y + r.y) / 2, 103, accuracy: 8)
        // The aligned crop puts those eyes where ORL has them.
        let crop = FaceAligner().align(
            try ImageDecoder.decode(path: Self.photos.appendingPathComponent("astronaut.jpg").path), face: f)
        XCTAssertEqual([crop.width, crop.height], [92, 112])
    }

    func testNoHumanFaceInTheCatOrTheCoffee() throws {
        XCTAssertEqual(try faces("chelsea.jpg"), [])
        XCTAssertEqual(try faces("coffee.jpg"), [])
    }

    func testAFaceInProfileIsNotFoundByTheFrontalDetector() throws {
        // dlib's HOG detector is for frontal faces: a profile is a failure to acquire.
        XCTAssertEqual(try faces("camera.jpg"), [])
    }
}
