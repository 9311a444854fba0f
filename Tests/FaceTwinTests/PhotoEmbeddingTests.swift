import Foundation
import XCTest

@testable import FaceTwin

/// PNG and JPEG photos used the way every command uses them: the same face as PGM, PNG and
/// JPEG gives (nearly) the same embedding; identity folders and enroll/identify take them.
final class PhotoEmbeddingTests: XCTestCase {
    /// Tolerance, stated as a fraction of how far apart two photos of the *same* person are
    /// (s1/1 vs s1/2) under the same model: a JPEG q95 re-encode is a far smaller change than
    /// another photo of the same person. For the trained model (what users run) the JPEG copy
    /// must move less than 5% of that (measured: 0.39%, 0.0031 vs 0.81 — the stored threshold
    /// is of the order of the same-person distance, so this cannot flip a verdict except at
    /// the very edge). An untrained network at full resolution is the worst case (no learned
    /// invariance, no downscaling to average JPEG noise): bound 15% (measured: 9.3%).
    /// PNG is lossless and decodes to the PGM's exact samples, so its embedding must be identical.
    func checkSameFaceThreeWays(_ model: FaceModel, _ label: String, fraction: Float) throws {
        let orl = try orlDirectory()
        let paths = [
            orl + "/s1/1.pgm", PhotoDecodeTests.path("face_s1_1.png"),
            PhotoDecodeTests.path("face_s1_1_q95.jpg"), orl + "/s1/2.pgm"
        ]
        let e = try model.embed(imagesAt: paths)
        let png = Evaluation.distance(e[0], e[1])
        let jpeg = Evaluation.distance(e[0], e[2])
        let samePerson = Evaluation.distance(e[0], e[3])
        print("\(label): distance PGM-PNG \(png), PGM-JPEG(q95) \(jpeg), s1/1-s1/2 \(samePerson) (ratio \(jpeg / samePerson))")
        XCTAssertEqual(png, 0, "\(label): PNG decodes to the PGM's samples")
        XCTAssertEqual(e[0], e[1], label)
        XCTAssertGreaterThan(samePerson, 0, label)
        XCTAssertLessThan(jpeg, fraction * samePerson, label)
    }

    func testSameFaceAsPGMPNGAndJPEGGivesTheSameEmbeddingWithinTolerance() throws {
        // The shared 16x16 model trained on ORL, and an untrained full-resolution (92x112)
        // network, where JPEG's pixel noise is not averaged away by downscaling.
        let trained = try FaceModel.load(path: try EvalFixture.modelPath())
        try checkSameFaceThreeWays(trained, "trained 16x16", fraction: 0.05)
        let config = NetworkConfig(inputHeight: 112, inputWidth: 92, hidden: [32])
        let full = FaceModel(network: SiameseNetwork(config: config, seed: 3), info: ModelInfo(config: config))
        try checkSameFaceThreeWays(full, "untrained 92x112", fraction: 0.15)
    }

    /// An identity folder mixing PGM, PNG and JPEG (any case of extension) loads them all;
    /// the PNG copy of a PGM stores the same floats.
    func testImageFolderLoadsPNGAndJPEG() throws {
        let root = try temporaryDirectory(self).path
        let orl = try orlDirectory()
        let copies: [(String, String)] = [
            (orl + "/s1/1.pgm", "a/1.pgm"), (PhotoDecodeTests.path("face_s1_1.png"), "a/2.png"),
            (PhotoDecodeTests.path("face_s1_1_q95.jpg"), "b/1.jpg"), (PhotoDecodeTests.path("colour_q90.jpg"), "b/2.JPEG"),
            (PhotoDecodeTests.path("colour_exif6.jpg"), "b/3.jpeg")
        ]
        for (from, to) in copies {
            try FileManager.default.createDirectory(
                atPath: (root + "/" + to as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: from, toPath: root + "/" + to)
        }
        try Data("notes".utf8).write(to: URL(fileURLWithPath: root + "/b/notes.txt"))
        let data = try ImageFolder(root: root, width: 20, height: 24)
        XCTAssertEqual(data.count, 5)
        XCTAssertEqual(data.skippedFiles, 1)
        XCTAssertEqual(Array(data.image(at: 0)), Array(data.image(at: 1)))
        let rotated = try ImageDecoder.decode(path: root + "/b/3.jpeg")
        XCTAssertEqual(Array(data.image(at: 4)), Resize.networkInput(rotated, width: 20, height: 24))
    }

    /// enroll --folder takes PNG/JPEG photos; identify and verify take a JPEG probe.
    func testEnrollIdentifyAndVerifyTakePhotos() throws {
        let dir = try temporaryDirectory(self)
        let model = try EvalFixture.copyModel(to: dir)
        let orl = try orlDirectory()
        let folder = dir.appendingPathComponent("people").path
        for (from, to) in [
            (PhotoDecodeTests.path("face_s1_1.png"), "s1/1.png"), (orl + "/s2/1.pgm", "s2/1.pgm"),
            (PhotoDecodeTests.path("colour_q95_444.jpg"), "s3/1.jpg")
        ] {
            try FileManager.default.createDirectory(
                atPath: folder + "/" + (to as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: from, toPath: folder + "/" + to)
        }
        let gallery = dir.appendingPathComponent("g.sqlite").path
        let enroll = try runFacetwin(["enroll", "--gallery", gallery, "--model", model, "--folder", folder])
        XCTAssertEqual(enroll.status, 0, enroll.stderr)
        let probe = PhotoDecodeTests.path("face_s1_1_q95.jpg")
        let identify = try runFacetwin(["identify", "--gallery", gallery, probe, "--json"])
        XCTAssertNotEqual(identify.status, 2, identify.stderr)
        XCTAssertTrue(identify.stdout.contains("\"s1\""), identify.stdout)
        let embed = try runFacetwin([
            "embed", "--model", model, probe, PhotoDecodeTests.path("colour_cmyk.jpg"),
            PhotoDecodeTests.path("gray16.png")
        ])
        XCTAssertEqual(embed.status, 0, embed.stderr)
        XCTAssertEqual(embed.stdout.split(separator: "\n").count, 3)
    }
}
