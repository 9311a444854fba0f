import Foundation
import XCTest

@testable import FaceTwin

#if canImport(Glibc)
import Glibc
#endif

/// What the PNG and WebP readers do with the parts of a file that are not pixels: PNG
/// ancillary chunks (text and ICC are skipped unbuffered, whatever length they declare; tRNS
/// and eXIf are read), and WebP hidden behind another file name.
final class ImageCodecLimitTests: XCTestCase {
    static func fixture(_ name: String) throws -> [UInt8] { try PhotoHostileTests.fixture(name) }

    static func chunk(_ kind: String, _ data: [UInt8], declaring length: UInt32? = nil) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 4)
        PhotoHostileTests.put32(length ?? UInt32(data.count), into: &b, at: 0)
        let body = Array(kind.utf8) + data
        var crc = [UInt8](repeating: 0, count: 4)
        PhotoHostileTests.put32(PhotoHostileTests.crc32(body[...]), into: &crc, at: 0)
        return b + body + crc
    }

    /// The 8-byte signature, then the chunks of a PNG as (type, whole chunk bytes).
    static func chunks(_ png: [UInt8]) -> [(String, [UInt8])] {
        var out: [(String, [UInt8])] = []
        var at = 8
        while at + 12 <= png.count {
            let length = png[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) }
            let kind = String(decoding: png[(at + 4)..<(at + 8)], as: UTF8.self)
            out.append((kind, Array(png[at..<(at + 12 + length)])))
            at += 12 + length
        }
        return out
    }

    /// face_s1_1.png with `extra` inserted right after IHDR (the first chunk).
    static func pngInserting(_ extra: [UInt8]) throws -> [UInt8] {
        let png = try fixture("face_s1_1.png")
        let ihdrEnd = 8 + 12 + 13
        return Array(png[0..<ihdrEnd]) + extra + Array(png[ihdrEnd...])
    }

    /// A 9 KB PNG (the face fixture and 2,500 bytes of text) whose `kind` chunk declares `declaring` bytes.
    static func pngWithChunk(_ kind: String, declaring: UInt32) throws -> [UInt8] {
        let body =
            Array("Comment".utf8) + [0] + (kind == "zTXt" || kind == "iCCP" ? [0] : []) + [UInt8](repeating: 0x78, count: 2500)
        return try pngInserting(chunk(kind, body, declaring: declaring))
    }

    /// A WebP whose VP8X header says it is animated (46 x 56 canvas), with an empty ANIM chunk.
    static func animatedWebP() -> [UInt8] {
        func le(_ v: Int, _ n: Int) -> [UInt8] { (0..<n).map { UInt8((v >> (8 * $0)) & 0xFF) } }
        let vp8x = Array("VP8X".utf8) + le(10, 4) + [0x02, 0, 0, 0] + le(45, 3) + le(55, 3)
        let anim = Array("ANIM".utf8) + le(6, 4) + [UInt8](repeating: 0, count: 6)
        let body = Array("WEBP".utf8) + vp8x + anim
        return Array("RIFF".utf8) + le(body.count, 4) + body
    }

    /// The process's peak resident set so far, in bytes (Linux reports ru_maxrss in KiB).
    static func peakRSS() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) * 1024
    }

    func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let path = try temporaryDirectory(self).appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A text or ICC chunk that declares 2 GB in a 9 KB file is skipped as it streams past
    /// (the file then ends early: a one-line truncation error), never buffered: the peak
    /// resident memory of the test process grows by far less than the declared size.
    func testChunksDeclaringGigabytesAreNotAllocated() throws {
        for kind in ["tEXt", "zTXt", "iTXt", "iCCP"] {
            let bytes = try Self.pngWithChunk(kind, declaring: 0x7FFF_FFF0)
            XCTAssertLessThan(bytes.count, 10_000)
            let path = try write(bytes, "\(kind).png")
            let before = Self.peakRSS()
            XCTAssertThrowsError(try ImageDecoder.decodeImage(path: path)) { error in
                XCTAssertEqual(
                    (error as? ImageError)?.description, "\(path): truncated: premature end of PNG file", kind)
            }
            let grown = Self.peakRSS() - before
            XCTAssertLessThan(grown, 256 << 20, "\(kind): peak RSS grew by \(grown >> 20) MiB")
        }
    }

    /// Well-formed large metadata costs nothing either: a complete 3 MiB iTXt (XMP-sized) is
    /// skipped, and the image decodes as without it.
    func testLargeTextChunksAreSkippedAndTheImageDecodes() throws {
        let plain = try ImageDecoder.decodeImage(path: PhotoDecodeTests.path("face_s1_1.png"))
        let xmp = Self.chunk("iTXt", Array("XML:com.adobe.xmp".utf8) + [0, 0, 0, 0, 0] + [UInt8](repeating: 0x78, count: 3 << 20))
        let path = try write(try Self.pngInserting(xmp), "xmp.png")
        XCTAssertEqual(try ImageDecoder.decodeImage(path: path).pixels, plain.pixels)
    }

    /// A palette PNG with a tRNS chunk (transparent palette entries) decodes as Pillow's
    /// convert("RGB")/convert("L") do: the palette colours, transparency dropped.
    func testPalettePNGWithTransparencyMatchesPillow() throws {
        let name = "colour_palette_trns.png"
        let bytes = try Self.fixture(name)
        XCTAssertEqual(Self.chunks(bytes).map(\.0).filter { ["PLTE", "tRNS"].contains($0) }, ["PLTE", "tRNS"])
        let image = try ImageDecoder.decodeImage(path: PhotoDecodeTests.path(name))
        let stem = PhotoDecodeTests.directory.appendingPathComponent("colour_palette_trns")
        XCTAssertEqual(image.rgb.pixels, [UInt8](try Data(contentsOf: stem.appendingPathExtension("RGB"))))
        XCTAssertEqual(image.gray.pixels, [UInt8](try Data(contentsOf: stem.appendingPathExtension("L"))))
        // Grey and RGB PNGs with a tRNS colour key: the key is dropped, the samples kept.
        let key = Self.chunk("tRNS", [0, 0])  // gray level 0 transparent (PNG grey tRNS: 2 bytes)
        let path = try write(try Self.pngInserting(key), "gray-trns.png")
        XCTAssertEqual(
            try ImageDecoder.decodeImage(path: path).pixels,
            try ImageDecoder.decodeImage(path: PhotoDecodeTests.path("face_s1_1.png")).pixels)
    }

    /// PNG's eXIf orientation is applied as JPEG's is (Pillow's exif_transpose honours both),
    /// whether the chunk comes before the image data (as Pillow writes it) or after.
    func testPNGExifOrientationIsHonouredBeforeOrAfterTheImageData() throws {
        let plain = try ImageDecoder.decodeImage(path: PhotoDecodeTests.path("colour.png")).rgb
        // Orientation 6: the stored image turned 90° clockwise.
        var turned = [UInt8](repeating: 0, count: plain.pixels.count)
        let w = plain.width, h = plain.height
        for y in 0..<w {
            for x in 0..<h {
                for c in 0..<3 { turned[(y * h + x) * 3 + c] = plain.pixels[((h - 1 - x) * w + y) * 3 + c] }
            }
        }
        let before = try Self.fixture("colour_exif6_png.png")
        let chunks = Self.chunks(before)
        XCTAssertEqual(chunks.map(\.0).firstIndex(of: "eXIf").map { $0 < chunks.map(\.0).firstIndex(of: "IDAT")! }, true)
        let moved = chunks.filter { $0.0 != "eXIf" }
        var after = Array(before[0..<8])
        for (kind, bytes) in moved {
            if kind == "IEND" { after += chunks.first { $0.0 == "eXIf" }!.1 }
            after += bytes
        }
        for (label, path) in [
            ("before IDAT", PhotoDecodeTests.path("colour_exif6_png.png")), ("after IDAT", try write(after, "after.png"))
        ] {
            let image = try ImageDecoder.decodeImage(path: path)
            XCTAssertEqual(image.orientation, 6, label)
            XCTAssertEqual([image.width, image.height], [h, w], label)
            XCTAssertEqual(image.rgb.pixels, turned, label)
        }
    }

    /// A WebP file is read whole only when it is no larger than its header's image can be (4
    /// bytes a pixel and 16 MiB of metadata): a small image trailed by 16 MiB of junk is refused.
    func testWebPLargerThanItsImageCanBeIsRefusedBeforeItIsRead() throws {
        let webp = try Self.fixture("colour_lossless.webp")
        let bound = 4 * 46 * 56 + (16 << 20)
        let path = try write(webp + [UInt8](repeating: 0, count: bound + 1 - webp.count), "padded.webp")
        XCTAssertThrowsError(try ImageDecoder.decodeImage(path: path)) { error in
            XCTAssertEqual(
                (error as? ImageError)?.description,
                "\(path): malformed WebP image: file of \(bound + 1) bytes is larger than a 46 x 56 WebP can be (\(bound) bytes)")
        }
        let fits = try write(webp + [UInt8](repeating: 0, count: bound - webp.count), "fits.webp")
        XCTAssertEqual(try ImageDecoder.decodeImage(path: fits).width, 46)
    }

    /// A WebP is decoded by its first bytes whatever its name, as a PNG or JPEG is: lossless
    /// WebP of the colour fixture gives the colour PNG's pixels exactly.
    func testWebPIsDecodedByItsBytesEvenNamedJpg() throws {
        let path = try write(try Self.fixture("colour_lossless.webp"), "really-a-webp.jpg")
        let image = try ImageDecoder.decodeImage(path: path)
        XCTAssertEqual(image.format, .webp)
        XCTAssertTrue(image.isColor)
        XCTAssertEqual(image.rgb, try ImageDecoder.decodeImage(path: PhotoDecodeTests.path("colour.png")).rgb)
        XCTAssertEqual(ImageFormat.detect(Array("RIFF\u{0}\u{0}\u{0}\u{0}WEBP".utf8)), .webp)
        XCTAssertNil(ImageFormat.detect(Array("RIFF\u{0}\u{0}\u{0}\u{0}WAVE".utf8)))
    }
}
