import Foundation
import XCTest

@testable import FaceTwin

/// PNG (libpng) and JPEG (libjpeg-turbo) decoding against what Pillow gives for the same
/// files (Fixtures/photos, written by scripts/make-photo-fixtures.py), EXIF orientation,
/// format sniffing, and the EXIF parser on hostile bytes.
///
/// Tolerances: PNG is lossless and our conversions are Pillow's formulas, so PNG must match
/// Pillow exactly. JPEG goes through the same libjpeg API with Pillow's settings (ISLOW IDCT,
/// fancy upsampling), but our libjpeg-turbo (Debian's 2.1) need not be the one in Pillow's
/// wheel (3.x), and libjpeg-turbo's SIMD IDCT/upsampling/colour paths differ between CPUs and
/// versions by rounding: a sample may differ by up to 2 levels (the same bound libjpeg-turbo's own
/// tests allow between its SIMD and C paths), so JPEG is compared with max |diff| <= 2 and a
/// mean |diff| below 0.5 (a real decoding error, e.g. a wrong colour transform or orientation,
/// shows as tens of levels).
final class PhotoDecodeTests: XCTestCase {
    struct Case: Decodable {
        let file: String
        let width: Int
        let height: Int
        let color: Bool
        let orientation: Int
        let format: String
        let expect: String
    }

    static var directory: URL {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures/photos", isDirectory: true)
    }

    static func cases() throws -> [Case] {
        struct Manifest: Decodable { let cases: [Case] }
        let data = try Data(contentsOf: directory.appendingPathComponent("manifest.json"))
        return try JSONDecoder().decode(Manifest.self, from: data).cases
    }

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    static func expected(_ c: Case, _ ext: String) throws -> [UInt8] {
        let stem = (c.file as NSString).deletingPathExtension
        return [UInt8](try Data(contentsOf: directory.appendingPathComponent(stem + "." + ext)))
    }

    /// (max |a-b|, mean |a-b|)
    static func difference(_ a: [UInt8], _ b: [UInt8]) -> (max: Int, mean: Double) {
        precondition(a.count == b.count)
        var worst = 0, total = 0
        for (x, y) in zip(a, b) {
            let d = abs(Int(x) - Int(y))
            worst = max(worst, d)
            total += d
        }
        return (worst, Double(total) / Double(max(1, a.count)))
    }

    func testEveryFixtureMatchesPillow() throws {
        let cases = try Self.cases()
        XCTAssertGreaterThanOrEqual(cases.count, 17)
        var report: [String] = []
        for c in cases {
            let image = try ImageDecoder.decodeImage(path: Self.path(c.file))
            XCTAssertEqual(image.format.rawValue, c.format, c.file)
            XCTAssertEqual(image.width, c.width, c.file)
            XCTAssertEqual(image.height, c.height, c.file)
            XCTAssertEqual(image.isColor, c.color, c.file)
            XCTAssertEqual(image.orientation, c.orientation, c.file)
            let gray = Self.difference(image.gray.pixels, try Self.expected(c, "L"))
            var line = "\(c.file): L max \(gray.max) mean \(String(format: "%.4f", gray.mean))"
            if c.format == "PNG" {
                XCTAssertEqual(gray.max, 0, "\(c.file): PNG must match \(c.expect == "pillow" ? "Pillow" : "round(v*255/65535)") exactly")
            } else {
                XCTAssertLessThanOrEqual(gray.max, 2, c.file)
                XCTAssertLessThan(gray.mean, 0.5, c.file)
            }
            if c.color {
                let rgb = Self.difference(image.rgb.pixels, try Self.expected(c, "RGB"))
                line += ", RGB max \(rgb.max) mean \(String(format: "%.4f", rgb.mean))"
                if c.format == "PNG" {
                    XCTAssertEqual(rgb.max, 0, c.file)
                } else {
                    XCTAssertLessThanOrEqual(rgb.max, 2, c.file)
                    XCTAssertLessThan(rgb.mean, 0.5, c.file)
                }
                // decode(path:) is the RGB image through Pillow's convert("L"), sample for sample.
                XCTAssertEqual(try ImageDecoder.decode(path: Self.path(c.file)), image.rgb.gray, c.file)
            }
            report.append(line)
        }
        print("Pillow agreement:\n  " + report.joined(separator: "\n  "))
    }
}
