import Foundation
import XCTest

@testable import FaceTwin

/// How a model records the preparation of its training images, how `--detect auto` follows
/// it, and failures to acquire in training and evaluation (on the tiny composed photos of
/// Fixtures/photos).
final class FacePreparationTests: XCTestCase {
    /// An identity folder of the fixture photos: s37 (its photo, the same face again as PGM, the
    /// photo without a face) and s40 (its photo and the PGM copy): 5 images, 1 without a face.
    func photoFolder() throws -> URL {
        let root = try temporaryDirectory(self).appendingPathComponent("photos")
        let photos = FaceDetectionTests.photos
        for (id, extra) in [("s37", true), ("s40", false)] {
            let folder = root.appendingPathComponent(id)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let source = photos.appendingPathComponent("\(id)/one.ppm")
            try FileManager.default.copyItem(at: source, to: folder.appendingPathComponent("1.ppm"))
            try PGMEncoder.encode(try ImageDecoder.decode(path: source.path)).write(to: folder.appendingPathComponent("2.pgm"))
            if extra {
                try FileManager.default.copyItem(
                    at: photos.appendingPathComponent("none/empty.ppm"), to: folder.appendingPathComponent("3.ppm"))
            }
        }
        return root
    }

    func testAutoFollowsTheModelsRecord() throws {
        var info = ModelInfo(config: EvalFixture.config)
        XCTAssertNil(info.probePreparation(.auto), "no record: photos taken as they are")
        XCTAssertNil(info.probePreparation(.never))
        XCTAssertEqual(info.probePreparation(.always), ProbePreparation(aligner: FaceAligner(), passThroughSize: nil))

        // Trained on 92×112 crops: crops of that size pass, other photos are detected.
        info.preparation = FacePreparationRecord(detect: .never, cropSize: ImageSize(width: 92, height: 112))
        XCTAssertEqual(info.probePreparation(.auto)?.passThroughSize, ImageSize(width: 92, height: 112))
        XCTAssertEqual(info.probePreparation(.auto)?.aligner, FaceAligner())
        XCTAssertNil(info.probePreparation(.never))
        // Crops of several sizes: nothing tells crops from photos, so photos are taken as they are.
        info.preparation = FacePreparationRecord(detect: .never, cropSize: nil)
        XCTAssertNil(info.probePreparation(.auto))

        // Trained on detected faces: probes are detected and aligned with the recorded geometry.
        let aligner = FaceAligner(
            width: 64, height: 80, leftEye: ImagePoint(x: 0.3, y: 0.4), rightEye: ImagePoint(x: 0.7, y: 0.4))
        info.preparation = FacePreparationRecord(detect: .always, aligner: aligner, faces: .largest, failedToAcquire: 2)
        XCTAssertEqual(info.probePreparation(.auto), ProbePreparation(aligner: aligner, passThroughSize: nil))
        XCTAssertEqual(info.probePreparation(.always)?.aligner, aligner)
        XCTAssertEqual(info.detect, .always)

        // The record survives the model file's JSON.
        let decoded = try JSONDecoder().decode(ModelInfo.self, from: JSONEncoder().encode(info))
        XCTAssertEqual(decoded, info)
        XCTAssertEqual(decoded.preparation?.aligner, aligner)
    }

    func testImageFolderLeavesOutAndCountsFailuresToAcquire() throws {
        let root = try photoFolder()
        let cropper = FaceCropper(detector: try FaceDetectionTests.detector(), policy: .refuse)
        let folder = try ImageFolder(root: root.path, width: 16, height: 16, preparer: FacePreparer(cropper: cropper))
        XCTAssertEqual(folder.count, 4)
        XCTAssertEqual(folder.failedToAcquire, [.noFace(path: root.appendingPathComponent("s37/3.ppm").path)])
        XCTAssertEqual(folder.attemptedByLabel, [3, 2])
        XCTAssertEqual(folder.imagesByLabel, [[0, 1], [2, 3]])
        XCTAssertEqual(folder.labels, [0, 0, 1, 1])
        XCTAssertEqual(folder.sourceSize, ImageSize(width: 160, height: 120))
        // The face crop, not the photo: it differs from the plain resize of the photo.
        let plain = try ImageFolder(root: root.path, width: 16, height: 16)
        XCTAssertEqual(plain.count, 5)
        XCTAssertNotEqual(Array(folder.image(at: 0)), Array(plain.image(at: 0)))
        // Images of the pass-through size are used as they are once a face is found in them; the
        // photo without a face is still left out.
        let passing = try ImageFolder(
            root: root.path, width: 16, height: 16,
            preparer: FacePreparer(cropper: cropper, passThroughSize: ImageSize(width: 160, height: 120)))
        XCTAssertEqual(passing.failedToAcquire, [.noFace(path: root.appendingPathComponent("s37/3.ppm").path)])
        let size = 16 * 16
        let kept = [0, 1, 3, 4].flatMap { Array(plain.pixels[$0 * size..<($0 + 1) * size]) }
        XCTAssertEqual(passing.pixels, kept)
    }

    func testEvaluateCountsFailuresToAcquire() throws {
        let root = try photoFolder()
        let model = try EvalFixture.copyModel(to: try temporaryDirectory(self))
        var r = try runFacetwin(["evaluate", "--model", model, "--data", root.path, "--detect", "always", "--bootstrap", "0"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(
            r.stdout.contains(
                "failures to acquire (no usable face, or not decodable): 1 of 5 images (FTA 20.00 %); pairs not scored: 2 genuine, 2 impostor"
            ),
            r.stdout)
        XCTAssertTrue(r.stdout.contains("  \(root.path)/s37/3.ppm: no face found\n"), r.stdout)
        XCTAssertTrue(r.stdout.contains("with failures to acquire counted as rejections, at the EER threshold"), r.stdout)
        XCTAssertTrue(r.stdout.contains("pairs: 2 genuine (same person), 4 impostor"), r.stdout)

        r = try runFacetwin([
            "evaluate", "--model", model, "--data", root.path, "--detect", "always", "--bootstrap", "0", "--json"
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(json["failureToAcquireRate"] as? Double, 0.2)
        XCTAssertEqual(json["attemptedImages"] as? Int, 5)
        // Of 4 genuine pairs 2 are not scored: FRR counts them as rejections, so it is at least 50 %.
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(json["frrAtEERThreshold"] as? Double), 0.5)

        // A pair list: the pairs with the photo without a face are not scored, and counted.
        let csv = root.appendingPathComponent("pairs.csv")
        try "image1,image2,same\ns37/1.ppm,s37/2.pgm,1\ns37/1.ppm,s37/3.ppm,1\ns37/3.ppm,s40/1.ppm,0\ns37/1.ppm,s40/2.pgm,0\n"
            .write(to: csv, atomically: true, encoding: .utf8)
        r = try runFacetwin([
            "evaluate", "--model", model, "--pairs", csv.path, "--detect", "always", "--bootstrap", "0", "--json"
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let pairs = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(pairs["genuinePairs"] as? Int, 1)
        XCTAssertEqual(pairs["impostorPairs"] as? Int, 1)
        XCTAssertEqual(pairs["genuinePairsNotScored"] as? Int, 1)
        XCTAssertEqual(pairs["impostorPairsNotScored"] as? Int, 1)
        XCTAssertEqual(pairs["failuresToAcquire"] as? [String], [root.appendingPathComponent("s37/3.ppm").path])

        // Without detection the photos are taken as crops as they are, but the one without a
        // face is still refused.
        r = try runFacetwin(["evaluate", "--model", model, "--data", root.path, "--detect", "never", "--bootstrap", "0"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("failures to acquire (no usable face, or not decodable): 1 of 5 images"), r.stdout)
        XCTAssertTrue(r.stdout.contains("  \(root.path)/s37/3.ppm: no face found\n"), r.stdout)
    }

    /// The record is the library's: a program that trains with `Trainer` gets the same record as
    /// `facetwin train`, with no step of its own.
    func testTrainerRecordsHowItsImagesWerePrepared() throws {
        let root = try photoFolder()
        let config = NetworkConfig(inputHeight: 8, inputWidth: 8, channels: [4], hidden: [8])
        let options = TrainingOptions(epochs: 1, batchSize: 2, seed: 1)
        let preparer = FacePreparer(cropper: FaceCropper(detector: try FaceDetector(), policy: .largest))
        let detected = try ImageFolder(root: root.path, for: config, preparer: preparer)
        var info = try Trainer(config: config, options: options, training: detected, validation: nil).run().model.info
        XCTAssertEqual(info.preparation?.detect, .always)
        XCTAssertEqual(info.preparation?.faces, .largest)
        XCTAssertEqual(info.preparation?.failedToAcquire, 1)
        XCTAssertEqual(info.preparation?.aligner, FaceAligner())

        let crops = try ImageFolder(root: root.path, for: config)
        info = try Trainer(config: config, options: options, training: crops, validation: nil).run().model.info
        XCTAssertEqual(info.preparation?.detect, .never)
        XCTAssertEqual(info.preparation?.cropSize, ImageSize(width: 160, height: 120))
    }

    func testTrainRecordsHowItsImagesWerePrepared() throws {
        let root = try photoFolder()
        let dir = try temporaryDirectory(self)
        func train(_ detect: String) throws -> (RunResult, String) {
            let out = dir.appendingPathComponent("\(detect).safetensors").path
            let r = try runFacetwin([
                "train", "--recipe", "reference", "--data", root.path, "--epochs", "1", "--size", "8", "--hidden", "8",
                "--batch", "2", "--out", out, "--detect", detect
            ])
            return (r, out)
        }
        var (r, model) = try train("always")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("faces detected and aligned, 1 image(s) without a usable face left out"), r.stderr)
        XCTAssertTrue(r.stderr.contains("s37/3.ppm: no face found (failure to acquire)"), r.stderr)
        var info = try FaceModel.load(path: model).info
        XCTAssertEqual(info.preparation?.detect, .always)
        XCTAssertEqual(info.preparation?.failedToAcquire, 1)
        XCTAssertEqual(info.preparation?.aligner, FaceAligner())
        r = try runFacetwin(["info", "--model", model])
        XCTAssertTrue(
            r.stdout.contains("training images: faces detected and aligned to 92×112, eyes at (0.309, 0.472) and (0.674, 0.472)"),
            r.stdout)

        (r, model) = try train("auto")
        XCTAssertEqual(r.status, 0, r.stderr)
        info = try FaceModel.load(path: model).info
        XCTAssertEqual(info.preparation?.detect, .never)
        XCTAssertEqual(info.preparation?.cropSize, ImageSize(width: 160, height: 120))
        r = try runFacetwin(["info", "--model", model])
        XCTAssertTrue(r.stdout.contains("training images: crops of 160×120 as given"), r.stdout)
        // --detect auto: photos of the crops' size are taken as crops (the face check needs no
        // landmarks, so a missing landmark model does not matter; the photo without a face is
        // refused); --detect always needs it.
        let evaluate = ["evaluate", "--model", model, "--data", root.path, "--bootstrap", "0", "--landmarks", "/nonexistent.dat"]
        r = try runFacetwin(evaluate)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("failures to acquire (no usable face, or not decodable): 1 of 5 images"), r.stdout)
        r = try runFacetwin(evaluate + ["--detect", "always"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.hasPrefix("facetwin: error: /nonexistent.dat"), r.stderr)

        // Too few faces left for an identity: one line naming its folder, exit 2, no model.
        try FileManager.default.removeItem(at: root.appendingPathComponent("s40/2.pgm"))
        try FileManager.default.copyItem(
            at: FaceDetectionTests.photos.appendingPathComponent("none/empty.ppm"),
            to: root.appendingPathComponent("s40/2.ppm"))
        let out = dir.appendingPathComponent("few.safetensors").path
        r = try runFacetwin([
            "train", "--recipe", "reference", "--data", root.path, "--epochs", "1", "--size", "8", "--hidden", "8",
            "--batch", "2", "--out", out, "--detect", "always", "--quiet"
        ])
        XCTAssertEqual(r.status, 2)
        XCTAssertEqual(
            r.stderr, "facetwin: error: \(root.path)/s40: 1 of its 2 images have a usable face; at least 2 are needed\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }
}

/// `--inset`: the border of every image cut off before the resize, in training and for probes.
final class InputInsetTests: XCTestCase {
    func testInsetCutsWholePixelsOffEachSide() {
        let image = GrayImage(width: 10, height: 20, pixels: (0..<200).map { UInt8($0) })
        let cut = image.inset(0.1)  // 1 column each side, 2 rows top and bottom
        XCTAssertEqual([cut.width, cut.height], [8, 16])
        XCTAssertEqual(cut.pixels[0], 2 * 10 + 1)
        XCTAssertEqual(cut.pixels.last, 17 * 10 + 8)
        XCTAssertEqual(image.inset(0), image)
        XCTAssertEqual(GrayImage(width: 3, height: 3, pixels: Array(repeating: 7, count: 9)).inset(0.25).width, 1)
    }

    func testColourInsetCutsEachChannelAsTheGreyInsetDoes() {
        let rgb = RGBImage(width: 10, height: 20, pixels: (0..<600).map { UInt8(($0 * 7) % 256) })
        let cut = rgb.inset(0.1)
        XCTAssertEqual([cut.width, cut.height], [8, 16])
        for c in 0..<3 { XCTAssertEqual(cut.channel(c), rgb.channel(c).inset(0.1), "channel \(c)") }
        XCTAssertEqual(rgb.inset(0), rgb)
    }

    func testInsetIsRecordedAndAppliedTheSameWayInFoldersAndProbes() throws {
        var config = NetworkConfig(inputHeight: 12, inputWidth: 10, channels: [4], hidden: [], embeddingSize: 4)
        // No inset: the configuration's JSON has no key for it, as before.
        XCTAssertFalse(String(decoding: try JSONEncoder().encode(config), as: UTF8.self).contains("inputInset"))
        config.inputInset = 0.1
        XCTAssertEqual(try JSONDecoder().decode(NetworkConfig.self, from: JSONEncoder().encode(config)), config)
        config.inputInset = 0.3
        XCTAssertNotNil(config.problem())
        config.inputInset = 0.1

        let orl = try orlDirectory()
        let folder = try ImageFolder(root: orl, for: config, only: ["s1", "s2"])
        XCTAssertEqual(folder.inset, 0.1)
        let model = FaceModel(network: SiameseNetwork(config: config, seed: 1), info: ModelInfo(config: config))
        XCTAssertEqual(try model.prepareImage(at: folder.paths[3]), Array(folder.image(at: 3)))
        let image = try ImageDecoder.decode(path: folder.paths[3])
        XCTAssertEqual(Array(folder.image(at: 3)), Resize.networkInput(image.inset(0.1), width: 10, height: 12))
        XCTAssertNotEqual(Array(folder.image(at: 3)), Resize.networkInput(image, width: 10, height: 12))
    }

    func testTrainTakesInsetAndInfoShowsIt() throws {
        let dir = try temporaryDirectory(self)
        let data = dir.appendingPathComponent("data")
        for id in ["s1", "s2"] {
            try FileManager.default.createDirectory(at: data.appendingPathComponent(id), withIntermediateDirectories: true)
            for n in 1...2 {
                try FileManager.default.copyItem(
                    atPath: try orlDirectory() + "/\(id)/\(n).pgm", toPath: data.appendingPathComponent("\(id)/\(n).pgm").path)
            }
        }
        let out = dir.appendingPathComponent("m.safetensors").path
        let args = [
            "train", "--recipe", "reference", "--data", data.path, "--epochs", "1", "--size", "8", "--hidden", "8", "--batch",
            "2", "--out", out, "--quiet"
        ]
        var r = try runFacetwin(args + ["--inset", "0.3"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--inset must be between 0 and 0.25 (got 0.3)"), r.stderr)
        r = try runFacetwin(args + ["--inset", "0.1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try FaceModel.load(path: out).config.inputInset, 0.1)
        r = try runFacetwin(["info", "--model", out])
        XCTAssertTrue(r.stdout.contains("input: 8x8 grayscale, 10 % of each side cut off first"), r.stdout)
    }
}
