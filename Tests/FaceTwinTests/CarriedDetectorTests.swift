import FaceTwin
import Foundation
import XCTest

/// dlib's frontal face detector read from the bytes a ResNet model file carries
/// (`detector.frontal_face`, written by `import-dlib`) instead of built from libdlib's
/// compressed copy: the same faces, and bytes that are not a detector refused, never crashing.
final class CarriedDetectorTests: XCTestCase {
    private func photo(_ name: String) throws -> GrayImage {
        let path = packageRoot.appendingPathComponent("Tests/FaceTwinTests/Fixtures/\(name)").path
        return try ImageDecoder.decode(path: path)
    }

    func testTheCarriedDetectorFindsExactlyWhatLibdlibsFinds() throws {
        let bytes = try FaceDetector.exportDetector()
        XCTAssertGreaterThan(bytes.count, 100_000)
        let carried = try FaceDetector(landmarkModel: nil, detectorModel: bytes)
        let own = try FaceDetector(landmarkModel: nil)
        var found = 0
        for name in ["real-photos/astronaut.jpg", "photos/s37/one.ppm", "photos/multi/two.ppm"] {
            let image = try photo(name)
            let a = try carried.detect(image), b = try own.detect(image)
            XCTAssertEqual(a, b, name)
            found += a.count
        }
        XCTAssertGreaterThanOrEqual(found, 4)
        // Exporting twice gives the same bytes.
        XCTAssertEqual(try FaceDetector.exportDetector(), bytes)
    }

    func testBytesThatAreNotADetectorAreRefused() throws {
        let bytes = try FaceDetector.exportDetector()
        var rng = SystemRandomNumberGenerator()
        let cases: [(String, Data)] = [
            ("empty", Data()),
            ("one byte", Data([7])),
            ("random", Data((0..<4096).map { _ in UInt8.random(in: 0...255, using: &rng) })),
            ("first half", bytes.prefix(bytes.count / 2)),
            ("all but the last byte", bytes.prefix(bytes.count - 1)),
            ("first 100 bytes", bytes.prefix(100)),
            (
                "a version byte changed",
                {
                    var d = bytes; d[d.startIndex] ^= 0x55; return d
                }()
            )
        ]
        for (what, data) in cases {
            XCTAssertThrowsError(try FaceDetector(landmarkModel: nil, detectorModel: data, source: "t"), what) { error in
                guard case FaceDetectionError.detectorUnreadable(let source, let reason) = error else {
                    return XCTFail("\(what): \(error)")
                }
                XCTAssertEqual(source, "t")
                XCTAssertFalse(reason.contains("\n"), reason)
                XCTAssertTrue(
                    "\(error)".hasPrefix("t: cannot load the face detector: not a dlib frontal face detector"), "\(error)")
            }
        }
    }

    func testImportDlibCarriesTheDetectorAndAModelWithABadOneIsRefusedInOneLine() throws {
        let dir = try temporaryDirectory(self)
        let out = dir.appendingPathComponent("m.safetensors").path
        let run = try runFacetwin([
            "import-dlib", try DlibModels.path(DlibModels.resnet), "--landmarks", try DlibModels.path(DlibModels.landmarks),
            "--out", out
        ])
        XCTAssertEqual(run.status, 0, run.stderr)
        let model = try FaceModel.load(path: out)
        XCTAssertEqual(model.detectorModel, try FaceDetector.exportDetector())
        let astronaut = packageRoot.appendingPathComponent("Tests/FaceTwinTests/Fixtures/real-photos/astronaut.jpg").path
        let good = try runFacetwin(["embed", "--model", out, astronaut])
        XCTAssertEqual(good.status, 0, good.stderr)

        // The same model with its detector bytes cut short.
        model.detectorModel = model.detectorModel!.prefix(1000)
        let bad = dir.appendingPathComponent("bad.safetensors").path
        try model.save(to: bad)
        let refused = try runFacetwin(["embed", "--model", bad, astronaut])
        XCTAssertEqual(refused.status, 2, refused.stdout)
        XCTAssertEqual(refused.stderr.split(separator: "\n").count, 1, refused.stderr)
        XCTAssertTrue(
            refused.stderr.hasPrefix(
                "facetwin: error: detector.frontal_face: face detection failed: cannot load the face detector: not a dlib frontal face detector"
            ), refused.stderr)
    }
}
