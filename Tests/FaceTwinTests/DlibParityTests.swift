import Foundation
import XCTest

@testable import FaceTwin

/// FaceTwin's own forward of dlib's ResNet (``DlibResNet``, loaded from the model file
/// `scripts/fetch-models.sh` converts) against dlib's forward of the same .dat (``DlibNetwork``,
/// through Sources/CDlibNet), chip for chip: ORL faces resized to 150×150 (grey as RGB), the
/// real-photo fixtures (whole, and a centre square, resized), and dlib's own face chips of
/// them. Skipped when models/ lacks the files.
final class DlibParityTests: XCTestCase {
    /// The largest difference allowed between an embedding element of FaceTwin's and of dlib's.
    static let tolerance: Float = 1e-4

    /// The chips: ORL s1–s40 image 1 and s1–s10 image 5, four photos two ways, three dlib chips.
    static func chips() throws -> [(name: String, chip: RGBImage)] {
        let side = DlibNetwork.chipSize
        var out: [(String, RGBImage)] = []
        let orl = URL(fileURLWithPath: try orlDirectory())
        for (subject, image) in (1...40).map({ ($0, 1) }) + (1...10).map({ ($0, 5) }) {
            let path = orl.appendingPathComponent("s\(subject)/\(image).pgm").path
            let gray = try ImageDecoder.decode(path: path)
            out.append(("orl s\(subject)/\(image)", RGBImage(Resize.bilinear(gray, width: side, height: side))))
        }
        let photos = packageRoot.appendingPathComponent("Tests/FaceTwinTests/Fixtures/real-photos")
        for name in ["astronaut", "camera", "chelsea", "coffee"] {
            let rgb = try ImageDecoder.decodeRGB(path: photos.appendingPathComponent("\(name).jpg").path)
            func resized(_ image: RGBImage) -> RGBImage {
                RGBImage(planes: (0..<3).map { Resize.bilinear(image.channel($0), width: side, height: side) })
            }
            let square = min(rgb.width, rgb.height), left = (rgb.width - square) / 2, top = (rgb.height - square) / 2
            var crop = [UInt8]()
            for y in top..<(top + square) {
                crop += rgb.pixels[(3 * (y * rgb.width + left))..<(3 * (y * rgb.width + left + square))]
            }
            out.append(("\(name).jpg", resized(rgb)))
            out.append(("\(name).jpg centre", resized(RGBImage(width: square, height: square, pixels: crop))))
        }
        let dlibChips = packageRoot.appendingPathComponent("Tests/FaceTwinTests/Fixtures/dlib-chips")
        for name in ["astronaut", "astronaut-shifted", "s40"] {
            out.append(
                ("dlib chip \(name)", try ImageDecoder.decodeRGB(path: dlibChips.appendingPathComponent("\(name).png").path)))
        }
        return out
    }

    func testEmbeddingsMatchDlibsOwnForward() throws {
        let model = try FaceModel.load(path: try DlibModels.path("dlib-resnet.safetensors"))
        let dlib = try DlibNetwork(path: try DlibModels.path(DlibModels.resnet))
        XCTAssertNotNil(model.resnet)
        XCTAssertEqual(model.info.threshold, 0.6)
        let chips = try Self.chips()
        XCTAssertGreaterThanOrEqual(chips.count, 50)
        let side = DlibNetwork.chipSize
        let pixels = chips.flatMap { Resize.networkInput($0.chip, width: side, height: side) }
        let ours = model.embed(pixels: pixels, count: chips.count)
        var theirs: [[Float]] = []
        for start in stride(from: 0, to: chips.count, by: 16) {
            theirs += try dlib.embed(chips[start..<min(start + 16, chips.count)].map(\.chip))
        }
        var worst: (difference: Float, chip: String) = (0, "")
        for ((name, _), (a, b)) in zip(chips, zip(ours, theirs)) {
            XCTAssertEqual(a.count, 128)
            for (x, y) in zip(a, b) where !(abs(x - y) <= worst.difference) { worst = (abs(x - y), name) }
        }
        print("DlibParityTests: \(chips.count) chips, max |FaceTwin − dlib| = \(worst.difference) (\(worst.chip))")
        XCTAssertLessThanOrEqual(worst.difference, Self.tolerance, "largest difference at \(worst.chip)")

        // One chip at a time (the single-image path of every layer) gives the same embeddings.
        for i in [0, 45, chips.count - 1] {
            let one = model.embed(pixels: Array(pixels[(i * 3 * side * side)..<((i + 1) * 3 * side * side)]), count: 1)[0]
            for (x, y) in zip(one, theirs[i]) { XCTAssertEqual(x, y, accuracy: Self.tolerance, chips[i].name) }
        }
    }

    /// A 150×150 chip given by path to a model loaded without preparation goes through
    /// `prepareImage` unchanged (no resize), so a chip file's embedding is dlib's embedding of
    /// its pixels.
    func testChipFileEmbedsAsDlibDoes() throws {
        let model = try FaceModel.load(path: try DlibModels.path("dlib-resnet.safetensors"), preparation: .none)
        let dlib = try DlibNetwork(path: try DlibModels.path(DlibModels.resnet))
        let path = packageRoot.appendingPathComponent("Tests/FaceTwinTests/Fixtures/dlib-chips/astronaut.png").path
        let ours = try model.embed(imagesAt: [path])[0]
        let theirs = try dlib.embed([try ImageDecoder.decodeRGB(path: path)])[0]
        for (x, y) in zip(ours, theirs) { XCTAssertEqual(x, y, accuracy: Self.tolerance) }
    }
}
