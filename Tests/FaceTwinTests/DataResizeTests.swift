import Foundation
import XCTest

@testable import FaceTwin

/// Resize.bilinear must reproduce Pillow's Image.resize(..., BILINEAR) for mode
/// "L" byte for byte; the expected bytes come from Pillow itself
/// (scripts/make-resize-fixture.py).
final class DataResizeTests: XCTestCase {
    func testMatchesPillowOnSyntheticImagesAtOddSizes() throws {
        // Upscaling, downscaling (with Pillow's antialiasing), non-uniform
        // scaling, one unchanged dimension, and 1-pixel outputs.
        let cases = try DataTestSupport.fixtureCases().filter { $0.source == "fixture" }
        XCTAssertGreaterThanOrEqual(cases.count, 10)
        for c in cases {
            let source = try ImageDecoder.decode(path: DataTestSupport.fixtureDirectory.appendingPathComponent(c.image).path)
            let resized = Resize.bilinear(source, width: c.width, height: c.height, matching: c.pillowVersion)
            XCTAssertEqual(resized.width, c.width)
            XCTAssertEqual(resized.height, c.height)
            DataTestSupport.assertSamePixels(resized.pixels, try DataTestSupport.fixtureBytes(c.file), c.file)
        }
    }

    func testPillow13RunsTheVerticalPassFirstWhenHeightShrinksMuchMore() throws {
        // 92x112 -> 100x100 (ORL's case): the height shrinks by 12, the width
        // grows, so Pillow 13 resamples vertically first; older Pillow did not.
        // The intermediate rounding differs, so the two orders disagree.
        let path = DataTestSupport.fixtureDirectory.appendingPathComponent("synthetic_92x112.pgm").path
        let source = try ImageDecoder.decode(path: path)
        let new = Resize.bilinear(source, width: 100, height: 100)
        let old = Resize.bilinear(source, width: 100, height: 100, matching: .beforePillow13)
        XCTAssertNotEqual(new, old)
        // When the width shrinks at least half as much, both orders are horizontal first.
        XCTAssertEqual(
            Resize.bilinear(source, width: 46, height: 56),
            Resize.bilinear(source, width: 46, height: 56, matching: .beforePillow13))
    }

    func testMatchesPillowOnORLAt100x100() throws {
        let orl = try DataTestSupport.orlDirectory()
        let cases = try DataTestSupport.fixtureCases().filter { $0.source == "orl" }
        XCTAssertFalse(cases.isEmpty)
        for c in cases {
            let source = try ImageDecoder.decode(path: orl + "/" + c.image)
            XCTAssertEqual(source.width, 92)
            XCTAssertEqual(source.height, 112)
            DataTestSupport.assertSamePixels(
                Resize.bilinear(source, width: c.width, height: c.height).pixels,
                try DataTestSupport.fixtureBytes(c.file), c.image)
        }
    }

    /// Opt-in: every ORL image against Pillow. Generate the reference with
    /// `scripts/make-resize-fixture.py --all-orl FILE` and run with
    /// `FACETWIN_ORL_PILLOW=FILE`.
    func testMatchesPillowOnAllORLImagesWhenReferenceIsGiven() throws {
        guard let reference = ProcessInfo.processInfo.environment["FACETWIN_ORL_PILLOW"] else {
            throw XCTSkip("set FACETWIN_ORL_PILLOW to the output of make-resize-fixture.py --all-orl")
        }
        let orl = try DataTestSupport.orlDirectory()
        let expected = [UInt8](try Data(contentsOf: URL(fileURLWithPath: reference)))
        let dataset = try ImageFolder(root: orl)
        XCTAssertEqual(expected.count, dataset.count * 100 * 100)
        var mismatched: [String] = []
        for (i, path) in dataset.paths.enumerated() {
            let image = Resize.bilinear(try ImageDecoder.decode(path: path), width: 100, height: 100)
            if image.pixels[...] != expected[i * 10_000..<(i + 1) * 10_000] { mismatched.append(path) }
        }
        XCTAssertEqual(mismatched, [], "\(mismatched.count) of \(dataset.count) images differ from Pillow")
    }

    func testSameSizeReturnsTheImageUnchanged() {
        let image = GrayImage(width: 3, height: 2, pixels: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(Resize.bilinear(image, width: 3, height: 2), image)
    }

    func testUniformImageStaysUniformAtAnySize() {
        let image = GrayImage(width: 7, height: 5, pixels: .init(repeating: 77, count: 35))
        for (w, h) in [(1, 1), (3, 9), (7, 2), (20, 5), (100, 100)] {
            XCTAssertEqual(Resize.bilinear(image, width: w, height: h).pixels, .init(repeating: 77, count: w * h), "\(w)x\(h)")
        }
    }

    func testShrinkingAveragesLikePillowsAntialiasing() {
        // Halving a 4x1 row: Pillow's support widens to 2 input pixels, so each
        // output pixel is a weighted mean over a neighbourhood, not a 2-tap lerp.
        let image = GrayImage(width: 4, height: 1, pixels: [0, 100, 200, 255])
        XCTAssertEqual(Resize.bilinear(image, width: 2, height: 1).pixels, [71, 209])  // Pillow: [71, 209]
    }

    func testNetworkInputIsPixelOver255() {
        let image = GrayImage(width: 2, height: 2, pixels: [0, 51, 255, 102])
        XCTAssertEqual(Resize.networkInput(image, width: 2, height: 2), [0, 0.2, 1, 0.4])
        XCTAssertEqual(
            Resize.networkInput(image, width: 2, height: 2, invert: true),
            [1, 1 - Float(51) / 255, 0, 1 - Float(102) / 255])
        XCTAssertEqual(Resize.networkInput(image, width: 5, height: 3).count, 15)
    }
}
