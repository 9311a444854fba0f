import Foundation
import XCTest

@testable import FaceTwin

/// Broken and hostile PNG, JPEG and WebP files, each through the library (the right ``ImageError``)
/// and through the CLI (`facetwin embed`: exit 2, one line "facetwin: error: <path>: …").
/// The files are made here by damaging the committed fixtures.
final class PhotoHostileTests: XCTestCase {
    static func fixture(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: PhotoDecodeTests.directory.appendingPathComponent(name)))
    }

    /// The offset of the first `FF <marker>` in a JPEG.
    static func marker(_ bytes: [UInt8], _ marker: UInt8) -> Int {
        (0..<(bytes.count - 1)).first { bytes[$0] == 0xFF && bytes[$0 + 1] == marker }!
    }

    static func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = (crc >> 1) ^ (crc & 1 == 1 ? 0xEDB8_8320 : 0) }
        }
        return ~crc
    }

    static func put32(_ v: UInt32, into b: inout [UInt8], at i: Int) {
        for k in 0..<4 { b[i + k] = UInt8((v >> (24 - 8 * k)) & 0xFF) }
    }

    /// The PNG fixture with IHDR's width and height replaced (CRC recomputed so libpng reads them).
    static func pngWithSize(width: UInt32, height: UInt32) throws -> [UInt8] {
        var b = try fixture("face_s1_1.png")
        put32(width, into: &b, at: 16)
        put32(height, into: &b, at: 20)
        put32(crc32(b[12..<29]), into: &b, at: 29)  // over "IHDR" + 13 data bytes
        return b
    }

    /// The JPEG fixture with SOF0's height and width replaced.
    static func jpegWithSize(width: UInt16, height: UInt16) throws -> [UInt8] {
        var b = try fixture("face_s1_1_q95.jpg")
        let sof = marker(b, 0xC0)
        b[sof + 5] = UInt8(height >> 8); b[sof + 6] = UInt8(height & 0xFF)
        b[sof + 7] = UInt8(width >> 8); b[sof + 8] = UInt8(width & 0xFF)
        return b
    }

    /// name, bytes (nil: a FIFO), the expected message after "<path>: ".
    static func hostileFiles() throws -> [(String, [UInt8]?, String)] {
        let jpg = try fixture("face_s1_1_q95.jpg")
        let png = try fixture("face_s1_1.png")
        var badHuffman = jpg
        let dht = marker(jpg, 0xC4)
        for i in 0..<16 { badHuffman[dht + 5 + i] = 0xFF }  // 16 code counts summing past 256
        var corruptScan = jpg
        let sos = marker(jpg, 0xDA)
        for i in (sos + 40)..<(sos + 400) { corruptScan[i] = 0xFF }  // fill bytes where entropy data was
        corruptScan[sos + 400] = 0xD3  // ...then a stray RST marker
        let idat = (0..<(png.count - 4)).first { Array(png[$0..<($0 + 4)]) == Array("IDAT".utf8) }!
        let idatLength = png[(idat - 4)..<idat].reduce(0) { $0 << 8 | Int($1) }
        var badCRC = png
        badCRC[idat + 4 + idatLength] ^= 0x55  // the CRC itself: data intact
        var corruptIDAT = png
        corruptIDAT[idat + 100] ^= 0x55  // the data: zlib/filters fail first
        var badPNGSignature = png
        badPNGSignature[5] = 0x00
        var noSOF = Array(jpg[0..<2])
        noSOF += [0xFF, 0xD9]  // SOI then EOI
        // A progressive JPEG's first scan repeated 600 times (the shape of a "scan bomb": many
        // passes over the image from a small file). libjpeg only warns about the inconsistent
        // progression; we take that warning as an error, at the second scan. (A consistent
        // progression of more than 500 scans is stopped by the decoder's scan limit.)
        let progressive = try fixture("colour_progressive.jpg")
        let firstSOS = marker(progressive, 0xDA)
        var scanEnd = firstSOS + 2
        while !(progressive[scanEnd] == 0xFF && progressive[scanEnd + 1] != 0
            && !(0xD0...0xD7).contains(progressive[scanEnd + 1]))
        {
            scanEnd += 1
        }
        var scanBomb = Array(progressive[0..<firstSOS])
        for _ in 0..<600 { scanBomb += progressive[firstSOS..<scanEnd] }
        scanBomb += [0xFF, 0xD9]
        let webp = try fixture("face_s1_1_q90.webp")
        var hugeWebP = try fixture("colour_lossless.webp")
        // VP8L's 14-bit width-1 and height-1 (after "VP8L", its size and the 0x2F signature) all ones.
        hugeWebP[21] = 0xFF; hugeWebP[22] = 0xFF; hugeWebP[23] = 0xFF; hugeWebP[24] |= 0x0F
        var corruptWebP = try fixture("colour_lossless.webp")
        for i in 60..<400 { corruptWebP[i] ^= 0x5A }
        let tooLarge = "image too large: "
        return [
            ("truncated.webp", Array(webp[0..<(webp.count / 2)]), "truncated: premature end of WebP file"),
            ("header-only.webp", Array(webp[0..<20]), "truncated: premature end of WebP file (header)"),
            (
                "huge.webp", hugeWebP,
                tooLarge + "16384x16384 = 268435456 pixels exceeds the limit of \(ImageDecoder.defaultMaxPixels) pixels"
            ),
            ("corrupt-lossless.webp", corruptWebP, "malformed WebP image: bitstream error"),
            ("animated.webp", ImageCodecLimitTests.animatedWebP(), "unsupported image: animated WebP is not a photo (46 x 56)"),
            (
                "text-declares-2GB.png", try ImageCodecLimitTests.pngWithChunk("tEXt", declaring: 0x7FFF_FFF0),
                "truncated: premature end of PNG file"
            ),
            ("truncated.jpg", Array(jpg[0..<(jpg.count / 2)]), "truncated: premature end of JPEG file"),
            ("header-only.jpg", Array(jpg[0..<(dht + 10)]), "truncated: premature end of JPEG file"),
            ("truncated.png", Array(png[0..<(png.count / 2)]), "truncated: premature end of PNG file"),
            ("signature-only.png", Array(png[0..<6]), "truncated: premature end of PNG file (6-byte signature)"),
            (
                "gif.jpg", Array("GIF89a".utf8) + [1, 0, 1, 0, 0, 0, 0],
                "not a PGM/PPM/PAM, PNG, JPEG or WebP image (bad magic number \"GIF8\")"
            ),
            (
                "zeros.png", [UInt8](repeating: 0, count: 64),
                "not a PGM/PPM/PAM, PNG, JPEG or WebP image (bad magic number 0x00000000)"
            ),
            ("bad-signature.png", badPNGSignature, "not a PGM/PPM/PAM, PNG, JPEG or WebP image (not a PNG file (bad signature))"),
            ("empty.jpg", [], "empty file (0 bytes)"),
            (
                "huge.jpg", try jpegWithSize(width: 65000, height: 65000),
                tooLarge + "65000x65000 = 4225000000 pixels exceeds the limit of \(ImageDecoder.defaultMaxPixels) pixels"
            ),
            (
                "huge.png", try pngWithSize(width: 0x7FFF_FFFF, height: 0x7FFF_FFFF),
                tooLarge
                    + "2147483647x2147483647 = 4611686014132420609 pixels exceeds the limit of \(ImageDecoder.defaultMaxPixels) pixels"
            ),
            (
                "wide.png", try pngWithSize(width: 3_000_000, height: 30),
                tooLarge + "3000000x30 = 90000000 pixels exceeds the limit of \(ImageDecoder.defaultMaxPixels) pixels"
            ),
            (
                "zero-width.png", try pngWithSize(width: 0, height: 112),
                "malformed PNG image: Invalid IHDR data (Image width is zero in IHDR)"
            ),
            (
                "zero-width.jpg", try jpegWithSize(width: 0, height: 112),
                "malformed JPEG image: Empty JPEG image (DNL not supported)"
            ),
            (
                "zero-height.jpg", try jpegWithSize(width: 92, height: 0),
                "malformed JPEG image: Empty JPEG image (DNL not supported)"
            ),
            ("bad-huffman.jpg", badHuffman, "malformed JPEG image: Bogus Huffman table definition"),
            ("corrupt-scan.jpg", corruptScan, "malformed JPEG image: Corrupt JPEG data: "),
            ("no-frame.jpg", noSOF, "malformed JPEG image: "),
            ("scan-bomb.jpg", scanBomb, "malformed JPEG image: Inconsistent progression sequence for component 0 coefficient 0"),
            ("bad-crc.png", badCRC, "malformed PNG image: IDAT: CRC error"),
            ("corrupt-idat.png", corruptIDAT, "malformed PNG image: "),
            ("fifo.jpg", nil, "cannot open: is a named pipe (FIFO), not a regular file")
        ]
    }

    /// Writes the hostile files into `dir`; returns (path, expected message) pairs.
    func writeHostileFiles(in dir: URL) throws -> [(String, String)] {
        try Self.hostileFiles().map { name, bytes, message in
            let path = dir.appendingPathComponent(name).path
            if let bytes {
                try Data(bytes).write(to: URL(fileURLWithPath: path))
            } else {
                XCTAssertEqual(mkfifo(path, 0o644), 0)
            }
            return (path, path + ": " + message)
        }
    }

    func testEveryHostileFileIsAOneLineErrorFromTheLibrary() throws {
        let dir = try temporaryDirectory(self)
        for (path, expected) in try writeHostileFiles(in: dir) {
            do {
                let image = try ImageDecoder.decodeImage(path: path)
                XCTFail("\(path) decoded as \(image.width)x\(image.height)")
            } catch {
                let text = error.description
                XCTAssertTrue(text.hasPrefix(expected), "\(path):\n got      \(text)\n expected \(expected)…")
                XCTAssertFalse(text.contains("\n"), text)
                XCTAssertEqual(error.path, path)
            }
        }
    }

    func testEveryHostileFileExitsTwoWithOneLineFromTheCLI() throws {
        let dir = try temporaryDirectory(self)
        let model = try EvalFixture.copyModel(to: dir)
        let good = PhotoDecodeTests.path("face_s1_1_q95.jpg")
        for (path, expected) in try writeHostileFiles(in: dir) {
            // embed: the hostile file alone; compare: beside a good photo.
            for arguments in [["embed", "--model", model, path], ["compare", "--model", model, good, path]] {
                let run = try runFacetwin(arguments)
                XCTAssertEqual(run.status, 2, "\(arguments): \(run.stderr)")
                XCTAssertEqual(run.stdout, "", "\(arguments)")
                let lines = run.stderr.split(separator: "\n", omittingEmptySubsequences: false)
                XCTAssertEqual(lines.count, 2, "one line then the end: \(run.stderr)")
                XCTAssertTrue(
                    run.stderr.hasPrefix("facetwin: error: " + expected),
                    "\(arguments):\n got      \(run.stderr)\n expected \(expected)…")
            }
        }
    }

    /// A pixel limit the caller passes is honoured by the PNG, JPEG and WebP readers too.
    func testPixelLimitAppliesToPNGAndJPEG() throws {
        for name in ["face_s1_1.png", "face_s1_1_q95.jpg", "face_s1_1_q90.webp"] {
            let path = PhotoDecodeTests.path(name)
            XCTAssertNoThrow(try ImageDecoder.decode(path: path, maxPixels: 92 * 112))
            do {
                _ = try ImageDecoder.decode(path: path, maxPixels: 92 * 112 - 1)
                XCTFail("\(name) passed a limit below its size")
            } catch {
                XCTAssertEqual(error, .tooLarge(path: path, width: 92, height: 112, limit: 92 * 112 - 1))
            }
        }
    }

    /// Decoders keep working (no leaked state, no stuck lock) after many failures, across threads.
    func testConcurrentGoodAndHostileDecodes() throws {
        let dir = try temporaryDirectory(self)
        let bad = try writeHostileFiles(in: dir).map(\.0).filter { !$0.hasSuffix("fifo.jpg") }
        let goodPaths = ["face_s1_1.png", "face_s1_1_q95.jpg", "colour_cmyk.jpg", "colour_exif6.jpg", "face_s1_1_q90.webp"].map(
            PhotoDecodeTests.path)
        let expected = try goodPaths.map { try ImageDecoder.decode(path: $0) }
        let failures = UnsafeMutableBufferPointer<Int>.allocate(capacity: 64)
        defer { failures.deallocate() }
        failures.initialize(repeating: 0)
        nonisolated(unsafe) let slots = failures  // each call writes only its own slot
        DispatchQueue.concurrentPerform(iterations: 64) { i in
            let g = i % goodPaths.count
            if (try? ImageDecoder.decode(path: goodPaths[g])) != expected[g] { slots[i] += 1 }
            if (try? ImageDecoder.decode(path: bad[i % bad.count])) != nil { slots[i] += 1 }
        }
        XCTAssertEqual(failures.reduce(0, +), 0)
    }
}
