import Foundation
import XCTest

@testable import FaceTwin

/// Images that are not faces (blank frames, noise, a landscape, a cat, a cup of coffee) are
/// refused as probes in every `--detect` mode, at a model's crop size and at photo size, while
/// every ORL crop still passes as it is.
final class NonFaceTests: XCTestCase {
    static func constant(_ value: UInt8, width: Int, height: Int) -> GrayImage {
        GrayImage(width: width, height: height, pixels: [UInt8](repeating: value, count: width * height))
    }

    /// Uniform noise, seeded.
    static func noise(width: Int, height: Int, seed: UInt64 = 1) -> GrayImage {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return GrayImage(
            width: width, height: height,
            pixels: (0..<width * height).map { _ in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return UInt8(truncatingIfNeeded: state >> 56)
            })
    }

    /// A synthetic landscape: a sky graded to the horizon, two ranges of hills, textured grass.
    static func landscape(width: Int, height: Int) -> GrayImage {
        let grain = noise(width: width, height: height, seed: 7)
        var px = [UInt8](repeating: 0, count: width * height)
        for y in 0..<height {
            for x in 0..<width {
                let u = Double(x) / Double(width), v = Double(y) / Double(height)
                let far = 0.45 + 0.08 * sin(u * 9 + 1) + 0.04 * sin(u * 23)
                let near = 0.62 + 0.06 * sin(u * 5 + 2) + 0.03 * sin(u * 17 + 1)
                var value: Double
                if v < far {
                    value = 200 + 40 * v
                } else if v < near {
                    value = 110 + 20 * sin(u * 40)
                } else {
                    value = 70 + 30 * v + (Double(grain.pixels[y * width + x]) - 128) * 0.25
                }
                px[y * width + x] = UInt8(min(max(value.rounded(), 0), 255))
            }
        }
        return GrayImage(width: width, height: height, pixels: px)
    }

    /// scikit-image's cat and coffee (Fixtures/real-photos), grey.
    static func realNonFace(_ name: String) throws -> GrayImage {
        try ImageDecoder.decode(path: RealPhotoDetectionTests.photos.appendingPathComponent(name).path)
    }

    func testBlankImagesAreBlankAndORLCropsAreNot() throws {
        XCTAssertTrue(FaceCheck.isBlank(Self.constant(0, width: 92, height: 112)))
        XCTAssertTrue(FaceCheck.isBlank(Self.constant(128, width: 92, height: 112)))
        // A frame one grey level with a few pixels off is still blank.
        var pixels = [UInt8](repeating: 30, count: 92 * 112)
        for i in stride(from: 0, to: pixels.count, by: 97) { pixels[i] = 40 }
        XCTAssertTrue(FaceCheck.isBlank(GrayImage(width: 92, height: 112, pixels: pixels)))
        XCTAssertFalse(FaceCheck.isBlank(Self.noise(width: 92, height: 112)))
        let orl = try orlDirectory()
        for id in 1...40 {
            for n in 1...10 {
                let crop = try ImageDecoder.decode(path: "\(orl)/s\(id)/\(n).pgm")
                XCTAssertGreaterThan(FaceCheck.deviation(crop), 30, "s\(id)/\(n).pgm")
            }
        }
    }

    /// The face check finds exactly one face in every one of ORL's 400 crops, so models trained
    /// on them keep their figures (none is refused as holding several faces).
    func testFaceCheckFindsOneFaceInEveryORLCrop() throws {
        let orl = try orlDirectory()
        let paths = (1...40).flatMap { id in (1...10).map { "\(orl)/s\(id)/\($0).pgm" } }
        let found = UnsafeMutableBufferPointer<Int>.allocate(capacity: paths.count)
        defer { found.deallocate() }
        found.initialize(repeating: -1)
        nonisolated(unsafe) let each = found  // each image writes only its own slot
        DispatchQueue.concurrentPerform(iterations: paths.count) { i in
            each[i] = (try? FaceCheck.facesInCrop(ImageDecoder.decode(path: paths[i]))) ?? -1
        }
        let other = paths.indices.filter { found[$0] != 1 }.map { "\(paths[$0]): \(found[$0])" }
        XCTAssertEqual(other, [], "ORL crops where the check finds other than one face")
    }

    /// An image taken as a crop in which the check finds several faces is refused as such under
    /// `--faces refuse` (the default), and its largest face's crop used under `--faces largest`.
    func testACropWithSeveralFacesFollowsTheFacesPolicy() throws {
        let dir = try temporaryDirectory(self)
        let model = try EvalFixture.copyModel(to: dir)
        let two = packageRoot.appendingPathComponent("Tests/FaceTwinTests/Fixtures/photos/multi/two.ppm").path
        let one = "\(try orlDirectory())/s1/1.pgm"
        XCTAssertGreaterThan(try FaceCheck.facesInCrop(ImageDecoder.decode(path: two)), 1)
        let refused = try runFacetwin(["compare", "--model", model, "--detect", "never", two, one])
        XCTAssertEqual(refused.status, 2, refused.stdout)
        XCTAssertTrue(refused.stderr.contains("\(two): "), refused.stderr)
        XCTAssertTrue(refused.stderr.contains(" faces found; refused"), refused.stderr)
        XCTAssertEqual(refused.stderr.split(separator: "\n").count, 1, refused.stderr)
        let kept = try runFacetwin(["compare", "--model", model, "--detect", "never", "--faces", "largest", two, one])
        // A verdict (0 match, 1 no match), not a refusal.
        XCTAssertTrue([0, 1].contains(kept.status), kept.stderr)
        XCTAssertTrue(kept.stdout.contains("distance"), kept.stdout)
    }

    func testFaceCheckFindsNoFaceInNonFaces() throws {
        let crops: [(String, GrayImage)] = [
            ("noise", Self.noise(width: 92, height: 112)),
            ("landscape", Self.landscape(width: 92, height: 112)),
            ("cat", Resize.bilinear(try Self.realNonFace("chelsea.jpg"), width: 92, height: 112)),
            ("coffee", Resize.bilinear(try Self.realNonFace("coffee.jpg"), width: 92, height: 112))
        ]
        for (name, image) in crops {
            XCTAssertFalse(try FaceCheck.findsFace(inCrop: image), name)
        }
    }

    /// Writes the non-face probes, at 92×112 (the model's crop size) and at 640×480.
    func nonFaceProbes(in dir: URL) throws -> [String] {
        var paths: [String] = []
        for (w, h) in [(92, 112), (640, 480)] {
            let images: [(String, GrayImage)] = [
                ("black", Self.constant(0, width: w, height: h)),
                ("grey", Self.constant(128, width: w, height: h)),
                ("noise", Self.noise(width: w, height: h)),
                ("landscape", Self.landscape(width: w, height: h)),
                ("cat", Resize.bilinear(try Self.realNonFace("chelsea.jpg"), width: w, height: h))
            ]
            for (name, image) in images {
                let url = dir.appendingPathComponent("\(name)-\(w)x\(h).pgm")
                try PGMEncoder.encode(image).write(to: url)
                paths.append(url.path)
            }
        }
        return paths
    }

    /// A model trained on ORL's 92×112 crops as they are (so `--detect auto` takes probes of that
    /// size as crops), a gallery of s1 enrolled with it, and the non-face probes.
    func testNonFacesAreRefusedByEveryCommandInEveryDetectMode() throws {
        let dir = try temporaryDirectory(self)
        let orl = try orlDirectory()
        let model = try FaceModel.load(path: try EvalFixture.modelPath())
        model.info.preparation = FacePreparationRecord(detect: .never, cropSize: ImageSize(width: 92, height: 112))
        model.info.threshold = 100  // everything the model embeds would match
        model.info.thresholdMethod = "test"
        let modelPath = dir.appendingPathComponent("m.safetensors").path
        try model.save(to: modelPath)
        let gallery = dir.appendingPathComponent("g.sqlite").path
        let s1 = (1...3).map { "\(orl)/s1/\($0).pgm" }
        var r = try runFacetwin(["enroll", "--gallery", gallery, "--model", modelPath, "--name", "s1"] + s1)
        XCTAssertEqual(r.status, 0, r.stderr)

        for mode in ["auto", "never", "always"] {
            // A face is still accepted (`always` realigns the crop, so it is left out here).
            if mode != "always" {
                r = try runFacetwin(["verify", "--gallery", gallery, "--claim", "s1", "--detect", mode, "\(orl)/s1/4.pgm"])
                XCTAssertEqual(r.status, 0, "ORL face, --detect \(mode): \(r.stderr)")
            }
            for probe in try nonFaceProbes(in: dir) {
                let what = "\((probe as NSString).lastPathComponent), --detect \(mode)"
                var commands = [
                    ["verify", "--gallery", gallery, "--claim", "s1", probe],
                    ["enroll", "--gallery", gallery, "--name", "nobody", probe]
                ]
                // At the crop size (where --detect auto skipped detection) every command; photos
                // go through the same preparation in each.
                if probe.contains("92x112") {
                    commands += [["identify", "--gallery", gallery, probe], ["compare", "--model", modelPath, probe, s1[0]]]
                }
                for args in commands {
                    r = try runFacetwin(args + ["--detect", mode])
                    XCTAssertEqual(r.status, 2, "\(args[0]) \(what): \(r.stdout) \(r.stderr)")
                    XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(args[0]) \(what): \(r.stderr)")
                    XCTAssertTrue(r.stderr.contains(probe), "\(args[0]) \(what): \(r.stderr)")
                    XCTAssertTrue(
                        r.stderr.contains("no face found") || r.stderr.contains("blank image"),
                        "\(args[0]) \(what): \(r.stderr)")
                }
            }
        }
        // Nothing was enrolled as "nobody".
        r = try runFacetwin(["gallery", "list", "--gallery", gallery])
        XCTAssertFalse(r.stdout.contains("nobody"), r.stdout)
    }

    /// `evaluate` counts non-faces among the images as failures to acquire, in every mode.
    func testEvaluateCountsNonFacesAsFailuresToAcquire() throws {
        let dir = try temporaryDirectory(self)
        let orl = try orlDirectory()
        let root = dir.appendingPathComponent("data")
        for id in ["s5", "s6"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(id), withIntermediateDirectories: true)
            for n in 1...3 {
                try FileManager.default.copyItem(
                    atPath: "\(orl)/\(id)/\(n).pgm", toPath: root.appendingPathComponent("\(id)/\(n).pgm").path)
            }
        }
        try PGMEncoder.encode(Self.constant(0, width: 92, height: 112)).write(to: root.appendingPathComponent("s5/black.pgm"))
        try PGMEncoder.encode(Self.noise(width: 92, height: 112)).write(to: root.appendingPathComponent("s6/noise.pgm"))
        let model = try EvalFixture.copyModel(to: dir)
        for mode in ["auto", "never"] {
            let r = try runFacetwin(["evaluate", "--model", model, "--data", root.path, "--detect", mode, "--bootstrap", "0"])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(
                r.stdout.contains("failures to acquire (no usable face, or not decodable): 2 of 8 images"), "\(mode): \(r.stdout)"
            )
            XCTAssertTrue(r.stdout.contains("s5/black.pgm"), r.stdout)
            XCTAssertTrue(r.stdout.contains("s6/noise.pgm"), r.stdout)
        }
    }
}
