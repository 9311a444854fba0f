import Foundation
import XCTest

@testable import FaceTwin

/// ImageDecoder: every Netpbm flavour becomes 8-bit gray; every bad file becomes
/// an ImageError that names it — and never ends the process.
final class DataDecodeTests: XCTestCase {
    private var dir = ""
    private var removeDir: () -> Void = {}

    override func setUpWithError() throws {
        (dir, removeDir) = try DataTestSupport.makeTemporaryDirectory()
    }

    override func tearDown() {
        removeDir()
    }

    private func write(_ bytes: [UInt8], _ name: String) throws -> String {
        try DataTestSupport.write(bytes, to: dir, name)
    }

    private func write(_ text: String, _ name: String) throws -> String {
        try DataTestSupport.write(text, to: dir, name)
    }

    // MARK: Valid images

    func testRawEightBitPGMIsReadAsIs() throws {
        let pixels: [UInt8] = [0, 1, 2, 127, 128, 255]
        let path = try write(DataTestSupport.p5(width: 3, height: 2, pixels: pixels), "raw.pgm")
        let image = try ImageDecoder.decode(path: path)
        XCTAssertEqual(image, GrayImage(width: 3, height: 2, pixels: pixels))
        XCTAssertEqual(image[2, 1], 255)
    }

    func testPlainPGMWithCommentsIsReadAsIs() throws {
        let path = try write("P2\n# a comment\n3 2\n# another\n255\n0 10 20\n30 40 255\n", "plain.pgm")
        XCTAssertEqual(try ImageDecoder.decode(path: path).pixels, [0, 10, 20, 30, 40, 255])
    }

    func testSixteenBitPGMIsScaledToEightBitsWithRounding() throws {
        // round(v * 255 / 65535): 32768 -> 127.50… -> 128, 25700 -> 100.
        let path = try write(
            DataTestSupport.p5Sixteen(
                width: 5, height: 1, maxval: 65535,
                samples: [0, 65535, 32768, 25700, 1]), "deep.pgm")
        XCTAssertEqual(try ImageDecoder.decode(path: path).pixels, [0, 255, 128, 100, 0])
    }

    func testPlainPGMWithOddMaxvalIsScaled() throws {
        // maxval 1000: round(v * 255 / 1000), halves up (500 -> 127.5 -> 128).
        let path = try write("P2 5 1 1000 0 1000 2 500 999\n", "odd.pgm")
        XCTAssertEqual(try ImageDecoder.decode(path: path).pixels, [0, 255, 1, 128, 255])
    }

    func testPPMBecomesGrayWithPILWeights() throws {
        // L = (R*19595 + G*38470 + B*7471 + 0x8000) >> 16, as PIL's convert("L").
        let rgb: [UInt8] = [10, 200, 30, 255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]
        let path = try write(Array("P6\n5 1\n255\n".utf8) + rgb, "colour.ppm")
        XCTAssertEqual(try ImageDecoder.decode(path: path).pixels, [124, 76, 150, 29, 255])
    }

    func testPlainPPMBecomesGray() throws {
        let path = try write("P3\n2 1\n255\n10 200 30  255 0 0\n", "colour.ppm")
        XCTAssertEqual(try ImageDecoder.decode(path: path).pixels, [124, 76])
    }

    func testPPMMatchesPillowConvertL() throws {
        // Fixture: a P6 with the 8 RGB-cube corners and pseudo-random colours, and
        // Pillow's Image.open(...).convert("L") of it.
        let path = DataTestSupport.fixtureDirectory.appendingPathComponent("rgb_16x8.ppm").path
        let image = try ImageDecoder.decode(path: path)
        XCTAssertEqual(image.width, 16)
        XCTAssertEqual(image.height, 8)
        XCTAssertEqual(image.pixels, try DataTestSupport.fixtureBytes("rgb_16x8.gray"))
    }

    func testPAMGrayscale() throws {
        let header = "P7\nWIDTH 2\nHEIGHT 2\nDEPTH 1\nMAXVAL 255\nTUPLTYPE GRAYSCALE\nENDHDR\n"
        let path = try write(Array(header.utf8) + [9, 8, 7, 6], "gray.pam")
        XCTAssertEqual(try ImageDecoder.decode(path: path), GrayImage(width: 2, height: 2, pixels: [9, 8, 7, 6]))
    }

    func testPAMGrayscaleAlphaDropsAlpha() throws {
        let header = "P7\nWIDTH 2\nHEIGHT 1\nDEPTH 2\nMAXVAL 255\nTUPLTYPE GRAYSCALE_ALPHA\nENDHDR\n"
        let path = try write(Array(header.utf8) + [50, 0, 60, 255], "graya.pam")
        XCTAssertEqual(try ImageDecoder.decode(path: path).pixels, [50, 60])
    }

    func testPAMRGBAlphaDropsAlphaAndConverts() throws {
        let header = "P7\nWIDTH 2\nHEIGHT 1\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n"
        let path = try write(Array(header.utf8) + [10, 200, 30, 0, 255, 0, 0, 128], "rgba.pam")
        XCTAssertEqual(try ImageDecoder.decode(path: path).pixels, [124, 76])
    }

    func testSixteenBitPAMRGBIsScaledThenConverted() throws {
        // Each channel is scaled to 8 bits first: 65535 -> 255, so pure red -> 76.
        let header = "P7\nWIDTH 1\nHEIGHT 1\nDEPTH 3\nMAXVAL 65535\nTUPLTYPE RGB\nENDHDR\n"
        let path = try write(Array(header.utf8) + [0xFF, 0xFF, 0, 0, 0, 0], "deep.pam")
        XCTAssertEqual(try ImageDecoder.decode(path: path).pixels, [76])
    }

    func testPBMIsBlackAndWhite() throws {
        let path = try write("P1\n3 1\n1 0 1\n", "bits.pbm")  // 1 is black in PBM
        XCTAssertEqual(try ImageDecoder.decode(path: path).pixels, [0, 255, 0])
    }

    // MARK: Bad files

    func testTruncatedRawPGMIsAnErrorNotZeroFill() throws {
        let path = try write(Array("P5\n4 4\n255\n".utf8) + [1, 2, 3, 4, 5], "photo.pgm")
        let error = DataTestSupport.expectImageError { () throws(ImageError) in try ImageDecoder.decode(path: path) }
        guard case .truncated(let errorPath, _)? = error else {
            return XCTFail("expected .truncated, got \(String(describing: error))")
        }
        XCTAssertEqual(errorPath, path)
        let text = error!.description
        XCTAssertTrue(text.hasPrefix("\(path): truncated: "), text)
        // libnetpbm's own words, e.g. "End of file encountered when trying to read a row …".
        let lower = text.lowercased()
        XCTAssertTrue(lower.contains("end of file") || lower.contains("eof"), text)
    }

    func testTruncatedPlainPGMIsAnError() throws {
        let path = try write("P2\n3 2\n255\n1 2 3\n4", "short.pgm")
        let error = DataTestSupport.expectImageError { () throws(ImageError) in try ImageDecoder.decode(path: path) }
        guard case .truncated? = error else { return XCTFail("expected .truncated, got \(String(describing: error))") }
    }

    func testTruncatedHeaderIsAnError() throws {
        let path = try write("P5\n92", "header.pgm")
        let error = DataTestSupport.expectImageError { () throws(ImageError) in try ImageDecoder.decode(path: path) }
        guard case .truncated? = error else { return XCTFail("expected .truncated, got \(String(describing: error))") }
        XCTAssertTrue(error!.description.hasPrefix(path + ": "))
    }

    func testBadMagicNumberIsNotNetpbm() throws {
        let path = try write("P9\n2 2\n255\nabcd", "weird.pgm")
        let error = DataTestSupport.expectImageError { () throws(ImageError) in try ImageDecoder.decode(path: path) }
        XCTAssertEqual(error?.description, "\(path): not a Netpbm image (bad magic number \"P9\")")
    }

    /// The format comes from the first bytes: a PNG signature named .pgm is read as PNG
    /// (here a signature and nothing else, so a truncated PNG); unknown bytes name the formats we read.
    func testOtherFormatsAreDispatchedByMagicBytes() throws {
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        let path = try write(png, "photo.pgm")
        let error = DataTestSupport.expectImageError { () throws(ImageError) in try ImageDecoder.decode(path: path) }
        XCTAssertEqual(error?.description, "\(path): truncated: premature end of PNG file")
        let tiff = try write([0x49, 0x49, 0x2A, 0x00, 8, 0, 0, 0], "photo.tif.pgm")
        let other = DataTestSupport.expectImageError { () throws(ImageError) in try ImageDecoder.decode(path: tiff) }
        XCTAssertEqual(other?.description, "\(tiff): not a PGM/PPM/PAM, PNG, JPEG or WebP image (bad magic number 0x49492A00)")
    }

    func testZeroByteFileIsEmpty() throws {
        let path = try write([], "empty.pgm")
        let error = DataTestSupport.expectImageError { () throws(ImageError) in try ImageDecoder.decode(path: path) }
        XCTAssertEqual(error, .empty(path: path))
        XCTAssertEqual(error?.description, "\(path): empty file (0 bytes)")
    }

    func testMissingFileCannotBeOpened() {
        let path = dir + "/nope.pgm"
        let error = DataTestSupport.expectImageError { () throws(ImageError) in try ImageDecoder.decode(path: path) }
        XCTAssertEqual(error, .cannotOpen(path: path, reason: "No such file or directory"))
        XCTAssertEqual(error?.description, "\(path): cannot open: No such file or directory")
    }

    func testDirectoryCannotBeDecoded() throws {
        let error = DataTestSupport.expectImageError { () throws(ImageError) in try ImageDecoder.decode(path: self.dir) }
        XCTAssertEqual(error, .cannotOpen(path: dir, reason: "is a directory, not a regular file"))
    }

    func testAbsurdDimensionsAreRejectedBeforeAllocating() throws {
        // 10^10 pixels declared, a few bytes present: must fail on the header
        // (tooLarge), not try to allocate 10 GB or read to EOF.
        let path = try write(Array("P5\n100000 100000\n255\n".utf8) + [0, 0, 0], "huge.pgm")
        let error = DataTestSupport.expectImageError { () throws(ImageError) in try ImageDecoder.decode(path: path) }
        XCTAssertEqual(error, .tooLarge(path: path, width: 100_000, height: 100_000, limit: ImageDecoder.defaultMaxPixels))
        XCTAssertEqual(
            error?.description,
            "\(path): image too large: 100000x100000 = 10000000000 pixels exceeds the limit of 67108864 pixels")
    }

    func testPixelLimitIsAParameter() throws {
        let path = try write(DataTestSupport.p5(width: 10, height: 10, pixels: .init(repeating: 7, count: 100)), "ten.pgm")
        XCTAssertEqual(try ImageDecoder.decode(path: path, maxPixels: 100).pixels.count, 100)
        let error = DataTestSupport.expectImageError { () throws(ImageError) in try ImageDecoder.decode(path: path, maxPixels: 99)
        }
        XCTAssertEqual(error, .tooLarge(path: path, width: 10, height: 10, limit: 99))
    }

    func testUnsupportedPAMDepthIsReported() throws {
        let header = "P7\nWIDTH 1\nHEIGHT 1\nDEPTH 5\nMAXVAL 255\nTUPLTYPE SPECTRAL\nENDHDR\n"
        let path = try write(Array(header.utf8) + [1, 2, 3, 4, 5], "five.pam")
        let error = DataTestSupport.expectImageError { () throws(ImageError) in try ImageDecoder.decode(path: path) }
        guard case .unsupported? = error else { return XCTFail("expected .unsupported, got \(String(describing: error))") }
    }

    func testMalformedHeaderIsReportedWithNetpbmsMessage() throws {
        let path = try write("P5\n4 x\n255\n", "garbled.pgm")
        let error = DataTestSupport.expectImageError { () throws(ImageError) in try ImageDecoder.decode(path: path) }
        guard case .malformed(_, let reason)? = error else {
            return XCTFail("expected .malformed, got \(String(describing: error))")
        }
        XCTAssertFalse(reason.isEmpty)
    }

    func testEveryErrorDescriptionIsOneLineStartingWithThePath() throws {
        let files: [(String, [UInt8])] = [
            ("a.pgm", []), ("b.pgm", Array("P9".utf8)), ("c.pgm", Array("P5\n4 4\n255\n".utf8)),
            ("d.pgm", Array("P5\n4 x\n255\n".utf8)), ("e.pgm", Array("P5\n99999 99999\n255\n".utf8))
        ]
        for (name, bytes) in files {
            let path = try write(bytes, name)
            let error = DataTestSupport.expectImageError { () throws(ImageError) in try ImageDecoder.decode(path: path) }
            let text = error?.description ?? ""
            XCTAssertTrue(text.hasPrefix(path + ": "), text)
            XCTAssertFalse(text.contains("\n"), text)
            XCTAssertEqual(error?.path, path)
        }
    }

    // MARK: Recovery and concurrency

    func testDecoderKeepsWorkingAfterManyErrors() throws {
        // Each failure longjmps out of libnetpbm; state must be restored every time.
        let bad = try write(Array("P5\n4 4\n255\n".utf8) + [1], "bad.pgm")
        let good = try write(DataTestSupport.p5(width: 2, height: 1, pixels: [3, 4]), "good.pgm")
        for _ in 0..<200 {
            XCTAssertNotNil(DataTestSupport.expectImageError { () throws(ImageError) in try ImageDecoder.decode(path: bad) })
            XCTAssertEqual(try ImageDecoder.decode(path: good).pixels, [3, 4])
        }
    }

    func testConcurrentDecodesOfGoodAndBadFilesEachGetTheirOwnResult() throws {
        var paths: [String] = []
        for i in 0..<64 {
            if i % 3 == 0 {
                paths.append(try write(Array("P5\n8 8\n255\n".utf8) + [UInt8(i)], "bad\(i).pgm"))
            } else {
                paths.append(
                    try write(
                        DataTestSupport.p5(width: 8, height: 8, pixels: .init(repeating: UInt8(i), count: 64)),
                        "good\(i).pgm"))
            }
        }
        let results = UnsafeMutableBufferPointer<Result<GrayImage, ImageError>?>.allocate(capacity: paths.count)
        results.initialize(repeating: nil)
        defer { results.deallocate() }
        // Each image writes only its own slot.
        nonisolated(unsafe) let (slots, images) = (results, paths)
        DispatchQueue.concurrentPerform(iterations: paths.count) { i in
            do throws(ImageError) {
                slots[i] = .success(try ImageDecoder.decode(path: images[i]))
            } catch {
                slots[i] = .failure(error)
            }
        }
        for (i, result) in results.enumerated() {
            switch result {
            case .success(let image)?:
                XCTAssertNotEqual(i % 3, 0, "bad\(i).pgm decoded")
                XCTAssertEqual(image.pixels, .init(repeating: UInt8(i), count: 64))
            case .failure(let error)?:
                XCTAssertEqual(i % 3, 0, "good\(i).pgm failed: \(error)")
                XCTAssertEqual(error.path, paths[i])
            case nil:
                XCTFail("no result for \(paths[i])")
            }
        }
    }
}
