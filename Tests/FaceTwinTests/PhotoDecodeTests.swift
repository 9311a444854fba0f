import Foundation
import XCTest

@testable import FaceTwin
@testable import FaceTwinData

/// PNG (libpng), JPEG (libjpeg-turbo) and WebP (libwebp) decoding against what Pillow gives
/// for the same files (Fixtures/codecs, written by scripts/make-photo-fixtures.py), EXIF
/// orientation (JPEG's APP1, PNG's eXIf, WebP's EXIF), format sniffing, and the EXIF parser on
/// hostile bytes.
///
/// Tolerances: PNG and lossless WebP are lossless and our conversions are Pillow's formulas, so
/// they must match Pillow exactly. Lossy WebP is held to JPEG's bound below (Debian's libwebp
/// 1.2 against the 1.6 in Pillow's wheel; measured: 0 everywhere, every sample equal). JPEG goes through the same libjpeg API with Pillow's settings (ISLOW IDCT,
/// fancy upsampling), but our libjpeg-turbo (Debian's 2.1) need not be the one in Pillow's
/// wheel (3.x), and libjpeg-turbo's SIMD IDCT/upsampling/colour paths differ between CPUs and
/// versions by rounding: a sample may differ by up to 2 levels (the same bound libjpeg-turbo's own
/// tests allow between its SIMD and C paths), so JPEG is compared with max |diff| <= 2 and a
/// mean |diff| below 0.5 (a real decoding error, e.g. a wrong colour transform or orientation,
/// shows as tens of levels). Measured on this machine (Debian libjpeg-turbo 2.1.5 against
/// Pillow 13's wheel): 0 everywhere, every JPEG fixture matches Pillow exactly.
final class PhotoDecodeTests: XCTestCase {
    struct Case: Decodable {
        let file: String
        let width: Int
        let height: Int
        let color: Bool
        let orientation: Int
        let format: String
        let expect: String
        let lossless: Bool
    }

    static var directory: URL {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures/codecs", isDirectory: true)
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
        XCTAssertGreaterThanOrEqual(cases.count, 24)
        XCTAssertEqual(Set(cases.map(\.format)), ["PNG", "JPEG", "WebP"])
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
            if c.lossless {
                XCTAssertEqual(
                    gray.max, 0,
                    "\(c.file): \(c.format) must match \(c.expect == "pillow" ? "Pillow" : "round(v*255/65535)") exactly")
            } else {
                XCTAssertLessThanOrEqual(gray.max, 2, c.file)
                XCTAssertLessThan(gray.mean, 0.5, c.file)
            }
            if c.color {
                let rgb = Self.difference(image.rgb.pixels, try Self.expected(c, "RGB"))
                line += ", RGB max \(rgb.max) mean \(String(format: "%.4f", rgb.mean))"
                if c.lossless {
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

// MARK: - Orientation, sniffing, EXIF parsing

extension PhotoDecodeTests {
    /// The rotations themselves, pixel by pixel, on the colour fixture: orientation 3 is the
    /// plain image turned 180°, 6 is it turned 90° clockwise, 8 is 90° counter-clockwise.
    func testExifOrientationsRotateTheDecodedImageUpright() throws {
        let plain = try ImageDecoder.decodeImage(path: Self.path("colour_q95_444.jpg"))
        XCTAssertEqual(plain.orientation, 1)
        let g = plain.gray
        let w = g.width, h = g.height
        for o in [3, 6, 8] {
            let rotated = try ImageDecoder.decodeImage(path: Self.path("colour_exif\(o).jpg"))
            XCTAssertEqual(rotated.orientation, o)
            let r = rotated.gray
            XCTAssertEqual(o == 3 ? [w, h] : [h, w], [r.width, r.height], "orientation \(o)")
            // The exif fixtures are 4:2:0, the plain one 4:4:4: compare a coarse, clearly
            // asymmetric feature (which half is brighter) rather than exact samples.
            var mismatches = 0
            for y in 0..<r.height {
                for x in 0..<r.width {
                    let (sx, sy): (Int, Int)
                    switch o {
                    case 3: (sx, sy) = (w - 1 - x, h - 1 - y)
                    case 6: (sx, sy) = (y, h - 1 - x)
                    default: (sx, sy) = (w - 1 - y, x)
                    }
                    if abs(Int(r[x, y]) - Int(g[sx, sy])) > 24 { mismatches += 1 }
                }
            }
            XCTAssertLessThan(
                mismatches, r.pixels.count / 50, "orientation \(o): \(mismatches) pixels far from the rotated original")
        }
    }

    func testFormatIsChosenByMagicBytesNotTheName() throws {
        let dir = try temporaryDirectory(self)
        let png = try Data(contentsOf: URL(fileURLWithPath: Self.path("face_s1_1.png")))
        let jpg = try Data(contentsOf: URL(fileURLWithPath: Self.path("face_s1_1_q95.jpg")))
        let pngAsJpg = dir.appendingPathComponent("really-a-png.jpg")
        let jpgAsPgm = dir.appendingPathComponent("really-a-jpeg.pgm")
        let noName = dir.appendingPathComponent("photo")
        try png.write(to: pngAsJpg)
        try jpg.write(to: jpgAsPgm)
        try png.write(to: noName)
        XCTAssertEqual(try ImageDecoder.decodeImage(path: pngAsJpg.path).format, .png)
        XCTAssertEqual(try ImageDecoder.decodeImage(path: jpgAsPgm.path).format, .jpeg)
        XCTAssertEqual(try ImageDecoder.decode(path: noName.path), try ImageDecoder.decode(path: Self.path("face_s1_1.png")))
        XCTAssertEqual(
            try ImageDecoder.decode(path: Self.path("face_s1_1.png")),
            try ImageDecoder.decode(path: try orlDirectory() + "/s1/1.pgm"))
    }

    func testColourPPMKeepsItsColourAndGrayIsUnchanged() throws {
        let dir = try temporaryDirectory(self)
        let path = dir.appendingPathComponent("c.ppm").path
        try Data(Array("P6\n2 1\n255\n".utf8) + [200, 10, 30, 0, 255, 7]).write(to: URL(fileURLWithPath: path))
        let image = try ImageDecoder.decodeImage(path: path)
        XCTAssertEqual(image.rgb.pixels, [200, 10, 30, 0, 255, 7])
        XCTAssertEqual(image.gray.pixels, try ImageDecoder.decode(path: path).pixels)
        let first: Int = (200 * 19595 + 10 * 38470 + 30 * 7471 + 0x8000) >> 16
        let second: Int = (255 * 38470 + 7 * 7471 + 0x8000) >> 16
        XCTAssertEqual(image.gray.pixels, [UInt8(first), UInt8(second)])
        let gray = try ImageDecoder.decodeImage(path: try orlDirectory() + "/s1/1.pgm")
        XCTAssertFalse(gray.isColor)
        XCTAssertEqual(gray.rgb.channel(1), gray.gray)
    }

    func testColourNetworkInputIsThreeResizedPlanes() throws {
        let image = try ImageDecoder.decodeRGB(path: Self.path("colour.png"))
        let input = Resize.networkInput(image, width: 16, height: 16)
        XCTAssertEqual(input.count, 3 * 16 * 16)
        for c in 0..<3 {
            XCTAssertEqual(
                Array(input[(c * 256)..<((c + 1) * 256)]), Resize.networkInput(image.channel(c), width: 16, height: 16))
        }
    }

    /// A TIFF block with IFD0 holding `entries` (tag, type, count, value) in `order`.
    static func exif(
        littleEndian: Bool = true, ifdOffset: UInt32 = 8, entries: [(UInt16, UInt16, UInt32, UInt32)],
        declaredCount: UInt16? = nil
    ) -> [UInt8] {
        func u16(_ v: UInt16) -> [UInt8] { littleEndian ? [UInt8(v & 0xFF), UInt8(v >> 8)] : [UInt8(v >> 8), UInt8(v & 0xFF)] }
        func u32(_ v: UInt32) -> [UInt8] {
            let bytes: [UInt8] = [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)]
            return littleEndian ? bytes : bytes.reversed()
        }
        var b: [UInt8] = Array("Exif\0\0".utf8)
        b += littleEndian ? Array("II".utf8) : Array("MM".utf8)
        b += u16(42)
        b += u32(ifdOffset)
        b += u16(declaredCount ?? UInt16(entries.count))
        for (tag, type, count, value) in entries {
            b += u16(tag)
            b += u16(type)
            b += u32(count)
            b += type == 3 ? u16(UInt16(value)) + [0, 0] : u32(value)
        }
        b += [0, 0, 0, 0]
        return b
    }

    func testExifParserReadsOrientationInBothByteOrders() {
        XCTAssertEqual(ImageDecoder.exifOrientation(Self.exif(entries: [(0x010F, 2, 4, 0), (0x0112, 3, 1, 6)])), 6)
        XCTAssertEqual(ImageDecoder.exifOrientation(Self.exif(littleEndian: false, entries: [(0x0112, 3, 1, 8)])), 8)
        XCTAssertEqual(ImageDecoder.exifOrientation(Self.exif(entries: [(0x0112, 4, 1, 3)])), 3)
    }

    func testExifParserIgnoresHostileSegments() {
        let good = Self.exif(entries: [(0x0112, 3, 1, 6)])
        let hostile: [(String, [UInt8])] = [
            ("empty", []),
            ("no Exif header", Array("JFIF\0\0".utf8) + good.dropFirst(6)),
            ("header only", Array("Exif\0\0".utf8)),
            ("bad byte order", Array("Exif\0\0XX".utf8) + good.dropFirst(8)),
            ("bad magic 42", Array(good[0..<8]) + [43, 0] + good.dropFirst(10)),
            ("IFD offset past the end", Self.exif(ifdOffset: 0xFFFF_FFF0, entries: [(0x0112, 3, 1, 6)])),
            ("IFD offset inside the header", Self.exif(ifdOffset: 2, entries: [(0x0112, 3, 1, 6)])),
            ("entry count past the end", Self.exif(entries: [(0x0100, 3, 1, 5)], declaredCount: 0xFFFF)),
            ("orientation 0", Self.exif(entries: [(0x0112, 3, 1, 0)])),
            ("orientation 9", Self.exif(entries: [(0x0112, 3, 1, 9)])),
            ("orientation 65535", Self.exif(entries: [(0x0112, 3, 1, 65535)])),
            ("orientation as ASCII", Self.exif(entries: [(0x0112, 2, 4, 6)])),
            ("orientation with count 0", Self.exif(entries: [(0x0112, 3, 0, 6)]))
        ]
        for (what, bytes) in hostile {
            XCTAssertEqual(ImageDecoder.exifOrientation(bytes), 1, what)
        }
        // Every prefix of a good segment: never a crash, never an orientation read past the end.
        for n in 0..<good.count {
            let o = ImageDecoder.exifOrientation(Array(good[0..<n]))
            XCTAssertTrue(o == 1 || (o == 6 && n >= 6 + 8 + 2 + 12), "prefix \(n) gave \(o)")
        }
    }
}
