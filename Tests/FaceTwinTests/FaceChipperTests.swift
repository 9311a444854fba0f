import FaceTwin
import Foundation
import XCTest

/// dlib's 5-point face chips through FaceChipper (Sources/CDlibNet), against the chips dlib's
/// Python wheel made of the same photos and rectangles (Fixtures/dlib-chips, made by
/// scripts/make-dlib-chip-fixture.py): landmarks equal, chips equal pixel for pixel.
final class FaceChipperTests: XCTestCase {
    struct Fixture: Decodable {
        struct Record: Decodable {
            let photo: String
            let pixels_sha256: String
            let rectangle: [Int]
            let landmarks: [[Int]]
            let chip: String
        }
        let size: Int
        let padding: Double
        let chips: [Record]
    }

    static var fixtureDir: URL { packageRoot.appendingPathComponent("Tests/FaceTwinTests/Fixtures") }

    func testChipsEqualDlibsPixelForPixel() throws {
        let chipper = try FaceChipper(path: DlibModels.path(DlibModels.landmarks))
        let dir = Self.fixtureDir.appendingPathComponent("dlib-chips")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: dir.appendingPathComponent("chips.json")))
        XCTAssertEqual(fixture.chips.count, 3)
        for record in fixture.chips {
            let photo = try ImageDecoder.decodeRGB(path: Self.fixtureDir.appendingPathComponent(record.photo).path)
            XCTAssertEqual(
                SHA256.hexDigest(of: photo.pixels), record.pixels_sha256, "\(record.photo) decodes as Pillow decoded it")
            let r = record.rectangle
            let chip = try chipper.chip(
                photo, rectangle: .init(left: r[0], top: r[1], right: r[2], bottom: r[3]), size: fixture.size,
                padding: fixture.padding)
            XCTAssertEqual(chip.dlibLandmarks.map { [$0.x, $0.y] }, record.landmarks, record.chip)
            XCTAssertEqual(chip.landmarks.map(\.x), record.landmarks.map { Double($0[0]) + 0.5 })
            let expected = try ImageDecoder.decodeRGB(path: dir.appendingPathComponent(record.chip).path)
            XCTAssertEqual(chip.image.width, 150)
            XCTAssertEqual(chip.image.height, 150)
            let differing = zip(chip.image.pixels, expected.pixels).filter { $0 != $1 }.count
            XCTAssertEqual(differing, 0, "\(record.chip): samples differing from dlib's chip")
        }
    }

    func testFaceTwinsDetectorBoxGivesDlibsLandmarksAndChip() throws {
        // FaceTwin's detector runs on the grey image (dlib's Python detector on the colour one),
        // so its box may differ by a pixel or two; the landmarks and chip must still be dlib's.
        let chipper = try FaceChipper(path: DlibModels.path(DlibModels.landmarks))
        let dir = Self.fixtureDir.appendingPathComponent("dlib-chips")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: dir.appendingPathComponent("chips.json")))
        let record = fixture.chips[0]
        XCTAssertEqual(record.chip, "astronaut.png")
        let photo = try ImageDecoder.decodeRGB(path: Self.fixtureDir.appendingPathComponent(record.photo).path)
        let faces = try FaceDetector(landmarkModel: nil).detect(photo.gray)
        XCTAssertEqual(faces.count, 1)
        let face = try XCTUnwrap(faces.first)
        // Here 177,77-266,166 against dlib's Python 175,76-265,166, and the same landmarks and chip.
        let rect = FaceChipper.Rectangle(face.box)
        XCTAssertLessThanOrEqual(
            zip([rect.left, rect.top, rect.right, rect.bottom], record.rectangle).map { abs($0 - $1) }.max()!, 4)
        let chip = try chipper.chip(photo, face: face)
        for (got, want) in zip(chip.dlibLandmarks, record.landmarks) {
            XCTAssertLessThanOrEqual(abs(got.x - want[0]) + abs(got.y - want[1]), 2, "landmark \(got) against \(want)")
        }
        let expected = try ImageDecoder.decodeRGB(path: dir.appendingPathComponent(record.chip).path)
        let meanDifference =
            Double(zip(chip.image.pixels, expected.pixels).map { abs(Int($0) - Int($1)) }.reduce(0, +))
            / Double(expected.pixels.count)
        XCTAssertLessThan(meanDifference, 1)
    }

    func testADetectorBoxBecomesDlibsInclusiveRectangle() {
        // FaceDetector reports dlib's rectangle [l, r] x [t, b] as x = l, width = r - l + 1.
        let box = FaceBox(x: 175, y: 76, width: 91, height: 91)
        XCTAssertEqual(FaceChipper.Rectangle(box), .init(left: 175, top: 76, right: 265, bottom: 166))
    }

    func testChipsOfBoxesPartlyOutsideThePhotoAreFilled() throws {
        let chipper = try FaceChipper(path: DlibModels.path(DlibModels.landmarks))
        let photo = RGBImage(width: 40, height: 30, pixels: [UInt8](repeating: 128, count: 40 * 30 * 3))
        for r in [(-50, -50, 10, 10), (30, 20, 200, 300), (0, 0, 0, 0)] {
            let chip = try chipper.chip(photo, rectangle: .init(left: r.0, top: r.1, right: r.2, bottom: r.3))
            XCTAssertEqual(chip.image.pixels.count, 150 * 150 * 3)
            XCTAssertEqual(chip.landmarks.count, 5)
        }
    }

    // MARK: Hostile and wrong landmark models

    private func chipperError(_ bytes: Data) -> DlibModelError? {
        do {
            _ = try FaceChipper(landmarkModel: bytes, source: "model.dat")
            return nil
        } catch { return error }
    }

    func testWrongLandmarkModelsAreRefusedWithOneLine() throws {
        var rng = SeededGenerator(seed: 4)
        var cases: [(String, Data)] = [("empty", Data())]
        for size in [1, 4, 100, 10_000] {
            cases.append(("random \(size)", Data((0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) })))
        }
        let five = try Data(contentsOf: URL(fileURLWithPath: DlibModels.path(DlibModels.landmarks)))
        for cut in [4, 50, five.count / 2, five.count - 1] { cases.append(("cut at \(cut)", five.prefix(cut))) }
        let resnet = try Data(contentsOf: URL(fileURLWithPath: DlibModels.path(DlibModels.resnet)))
        cases.append(("the ResNet", resnet))
        for (what, bytes) in cases {
            guard case .notLandmarkModel(let source, let reason)? = chipperError(bytes) else {
                XCTFail("\(what) was taken for a landmark model")
                continue
            }
            XCTAssertEqual(source, "model.dat")
            XCTAssertFalse(reason.isEmpty || reason.contains("\n"), "\(what): \(reason)")
        }
    }

    func testTheSixtyEightPointModelIsRefused() throws {
        let debian68 = FaceDetector.defaultLandmarkModel
        guard FileManager.default.fileExists(atPath: debian68) else { throw XCTSkip("\(debian68) is not installed") }
        do {
            _ = try FaceChipper(path: debian68)
            XCTFail("the 68-point model was taken for the 5-point one")
        } catch {
            guard case .notLandmarkModel = error else { return XCTFail("\(error)") }
        }
    }

    func testFlippedBytesInTheLandmarkModelNeverCrash() throws {
        let five = try Data(contentsOf: URL(fileURLWithPath: DlibModels.path(DlibModels.landmarks)))
        let photo = try ImageDecoder.decodeRGB(path: Self.fixtureDir.appendingPathComponent("real-photos/astronaut.jpg").path)
        var rng = SeededGenerator(seed: 5)
        for i in 0..<24 {
            var copy = five
            let at = i < 8 ? i * 3 : Int.random(in: 0..<copy.count, using: &rng)
            copy[at] ^= UInt8.random(in: 1...255, using: &rng)
            // Refused, or (a flip in a threshold or leaf value) a usable predictor: either way a chip
            // of any box is safe to make.
            if let chipper = try? FaceChipper(landmarkModel: copy, source: "flipped") {
                _ = try chipper.chip(photo, rectangle: .init(left: 175, top: 76, right: 265, bottom: 166))
            }
        }
    }
}
