import Foundation
import XCTest

@testable import FaceTwin
@testable import FaceTwinReport

#if canImport(FoundationXML)
import FoundationXML
#endif

/// The evaluation report: every file written, SVGs well-formed XML with the expected parts,
/// PNGs that decode (chunk CRCs, zlib, filters) to the right size and pixels.
final class ReportTests: XCTestCase {
    // MARK: PNG decoding, written independently of the encoder

    struct DecodedPNG {
        var width: Int, height: Int, colorType: UInt8, pixels: [UInt8]
    }

    enum PNGTestError: Error { case bad(String) }

    static func bigEndian(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
    }

    static func crc(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = (c & 1) == 1 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
        }
        return ~c
    }

    /// Inflates a zlib stream made of stored and fixed-Huffman blocks (what the encoder writes).
    static func inflate(_ z: [UInt8]) throws -> [UInt8] {
        guard z.count >= 6, z[0] & 0x0F == 8, (UInt16(z[0]) << 8 | UInt16(z[1])) % 31 == 0 else {
            throw PNGTestError.bad("zlib header")
        }
        var pos = 2, bit = 0
        func bits(_ n: Int) throws -> Int {
            var v = 0
            for k in 0..<n {
                guard pos < z.count else { throw PNGTestError.bad("out of data") }
                v |= Int((z[pos] >> UInt8(bit)) & 1) << k
                bit += 1
                if bit == 8 { bit = 0; pos += 1 }
            }
            return v
        }
        func huffman(_ n: Int) throws -> Int {  // n bits, most significant first
            var v = 0
            for _ in 0..<n { v = v << 1 | (try bits(1)) }
            return v
        }
        func literalLength() throws -> Int {
            var code = try huffman(7)
            if code <= 0b0010111 { return 256 + code }
            code = code << 1 | (try bits(1))
            if (0x30...0xBF).contains(code) { return code - 0x30 }
            if (0xC0...0xC7).contains(code) { return 280 + code - 0xC0 }
            code = code << 1 | (try bits(1))
            return 144 + code - 0x190
        }
        let lengthBase = [
            3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258
        ]
        let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
        let distBase = [
            1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
            8193, 12289, 16385, 24577
        ]
        let distExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
        var out: [UInt8] = []
        var final = 0
        repeat {
            final = try bits(1)
            let type = try bits(2)
            if type == 0 {
                if bit != 0 { bit = 0; pos += 1 }
                let len = Int(z[pos]) | Int(z[pos + 1]) << 8, nlen = Int(z[pos + 2]) | Int(z[pos + 3]) << 8
                guard len == (~nlen & 0xFFFF) else { throw PNGTestError.bad("stored length check") }
                out += z[(pos + 4)..<(pos + 4 + len)]
                pos += 4 + len
            } else if type == 1 {
                while true {
                    let sym = try literalLength()
                    if sym < 256 { out.append(UInt8(sym)); continue }
                    if sym == 256 { break }
                    let li = sym - 257
                    let length = lengthBase[li] + (try bits(lengthExtra[li]))
                    let di = try huffman(5)
                    let distance = distBase[di] + (try bits(distExtra[di]))
                    guard distance <= out.count else { throw PNGTestError.bad("distance too far") }
                    for _ in 0..<length { out.append(out[out.count - distance]) }
                }
            } else {
                throw PNGTestError.bad("block type \(type)")
            }
        } while final == 0
        if bit != 0 { pos += 1 }
        guard pos + 4 <= z.count else { throw PNGTestError.bad("no Adler-32") }
        var a: UInt32 = 1, b: UInt32 = 0
        for x in out { a = (a + UInt32(x)) % 65521; b = (b + a) % 65521 }
        guard bigEndian(z, pos) == (b << 16 | a) else { throw PNGTestError.bad("Adler-32 mismatch") }
        return out
    }

    static func decodePNG(_ data: [UInt8]) throws -> DecodedPNG {
        guard data.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else { throw PNGTestError.bad("signature") }
        var pos = 8
        var chunks: [(String, [UInt8])] = []
        while pos + 12 <= data.count {
            let length = Int(bigEndian(data, pos))
            let type = String(decoding: data[(pos + 4)..<(pos + 8)], as: UTF8.self)
            let body = Array(data[(pos + 8)..<(pos + 8 + length)])
            guard bigEndian(data, pos + 8 + length) == crc(data[(pos + 4)..<(pos + 8 + length)]) else {
                throw PNGTestError.bad("CRC of \(type)")
            }
            chunks.append((type, body))
            pos += 12 + length
        }
        guard pos == data.count, chunks.first?.0 == "IHDR", chunks.last?.0 == "IEND" else {
            throw PNGTestError.bad("chunk layout")
        }
        let ihdr = chunks[0].1
        guard ihdr.count == 13, ihdr[8] == 8, ihdr[10] == 0, ihdr[11] == 0, ihdr[12] == 0 else { throw PNGTestError.bad("IHDR") }
        let width = Int(bigEndian(ihdr, 0)), height = Int(bigEndian(ihdr, 4)), colorType = ihdr[9]
        let channels = colorType == 2 ? 3 : 1
        let raw = try inflate(chunks.filter { $0.0 == "IDAT" }.flatMap(\.1))
        let stride = width * channels
        guard raw.count == height * (stride + 1) else { throw PNGTestError.bad("raw size \(raw.count)") }
        var pixels = [UInt8](repeating: 0, count: height * stride)
        var previous = [UInt8](repeating: 0, count: stride)
        for y in 0..<height {
            let filter = raw[y * (stride + 1)]
            var row = Array(raw[(y * (stride + 1) + 1)..<((y + 1) * (stride + 1))])
            for x in 0..<stride {
                let left = x >= channels ? Int(row[x - channels]) : 0, up = Int(previous[x])
                let upLeft = x >= channels ? Int(previous[x - channels]) : 0
                switch filter {
                case 0: break
                case 1: row[x] = row[x] &+ UInt8(left)
                case 2: row[x] = row[x] &+ UInt8(up)
                case 3: row[x] = row[x] &+ UInt8((left + up) / 2)
                case 4:
                    let p = left + up - upLeft, pa = abs(p - left), pb = abs(p - up), pc = abs(p - upLeft)
                    row[x] = row[x] &+ UInt8(pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft)
                default: throw PNGTestError.bad("filter \(filter)")
                }
            }
            pixels.replaceSubrange((y * stride)..<((y + 1) * stride), with: row)
            previous = row
        }
        return DecodedPNG(width: width, height: height, colorType: colorType, pixels: pixels)
    }

    // MARK: Tests

    func testPNGRoundTripBothCompressions() throws {
        var rng = RandomSource(seed: 5)
        let width = 37, height = 23
        // Noise, flat runs and a repeated pattern: literals, long and short matches.
        var pixels = [UInt8](repeating: 255, count: width * height * 3)
        for i in 0..<pixels.count where i % 97 < 40 { pixels[i] = UInt8(truncatingIfNeeded: rng.next()) }
        for i in stride(from: 0, to: pixels.count, by: 7) { pixels[i] = UInt8(i % 5) }
        for compression in [PNGEncoder.Compression.stored, .fixedHuffman] {
            let png = PNGEncoder.encode(width: width, height: height, channels: 3, pixels: pixels, compression: compression)
            let decoded = try Self.decodePNG(png)
            XCTAssertEqual(decoded.width, width)
            XCTAssertEqual(decoded.height, height)
            XCTAssertEqual(decoded.colorType, 2)
            XCTAssertEqual(decoded.pixels, pixels, "\(compression)")
        }
        // Stored blocks split at 65 535 bytes; gray images.
        let big = (0..<300 * 300).map { UInt8(truncatingIfNeeded: $0 * 7 + $0 / 300) }
        for compression in [PNGEncoder.Compression.stored, .fixedHuffman] {
            let decoded = try Self.decodePNG(
                PNGEncoder.encode(width: 300, height: 300, channels: 1, pixels: big, compression: compression))
            XCTAssertEqual(decoded.pixels, big)
        }
        XCTAssertEqual(PNGEncoder.crc32(Array("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(PNGEncoder.adler32(Array("Wikipedia".utf8)), 0x11E6_0398)
    }

    func testCanvasText() throws {
        var canvas = PNGCanvas(width: 40, height: 12)
        canvas.text("A1", x: 1, y: 1, scale: 1, .red)
        XCTAssertEqual(canvas.pixel(x: 1, y: 1), .white, "A's top-left corner is blank")
        XCTAssertEqual(canvas.pixel(x: 2, y: 1), .red)
        XCTAssertEqual(canvas.pixel(x: 1, y: 4), .red, "A's bar")
        XCTAssertEqual(PNGCanvas.textWidth("A1", scale: 2), 22)
        let decoded = try Self.decodePNG(canvas.png())
        XCTAssertEqual(decoded.pixels, canvas.pixels)
    }

    /// Parses XML and collects the element names and all text.
    final class XMLCollector: NSObject, XMLParserDelegate {
        var elements: [String] = []
        var text = ""
        func parser(
            _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            elements.append(name)
            text += " "
        }
        func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }
    }

    func parseXML(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws -> XMLCollector {
        let parser = XMLParser(data: try Data(contentsOf: URL(fileURLWithPath: path)))
        let collector = XMLCollector()
        parser.delegate = collector
        XCTAssertTrue(
            parser.parse(), "\(path): \(parser.parserError.map { "\($0)" } ?? "not well-formed")", file: file, line: line)
        return collector
    }

    func testReportFiles() throws {
        let orl = try orlDirectory()
        let model = try FaceModel.load(path: try EvalFixture.modelPath())
        let e = try Evaluation(model: model, root: orl, identities: EvalFixture.heldOut)
        let dir = try temporaryDirectory(self).appendingPathComponent("report")
        let summary = EvaluationSummary(e, model: "model.safetensors", warnings: ["a <warning> & more"])
        let written = try EvaluationReport.write(e, summary: summary, to: dir.path)
        // Identity folders add the zoo's table, before index.html.
        let expected = EvaluationReport.files.dropLast() + ["zoo.csv", "index.html"]
        XCTAssertEqual(written.map { URL(fileURLWithPath: $0).lastPathComponent }, Array(expected))
        XCTAssertEqual(
            Set(try FileManager.default.contentsOfDirectory(atPath: dir.path)), Set(expected),
            "no temporary files left")

        let roc = try parseXML(dir.appendingPathComponent("roc.svg").path)
        XCTAssertEqual(roc.elements.first, "svg")
        XCTAssertTrue(roc.elements.contains("polyline"))
        for needle in ["ROC curve", "False match rate", "True accept rate", "AUC", "equal error rate", "log scale", "50%"] {
            XCTAssertTrue(roc.text.contains(needle), "roc.svg lacks \(needle)")
        }
        let det = try parseXML(dir.appendingPathComponent("det.svg").path)
        for needle in ["DET curve", "normal-deviate", "False non-match rate", "1%", "40%"] {
            XCTAssertTrue(det.text.contains(needle), "det.svg lacks \(needle)")
        }
        let hist = try parseXML(dir.appendingPathComponent("distances.svg").path)
        XCTAssertGreaterThan(hist.elements.filter { $0 == "rect" }.count, 10, "histogram bars")
        for needle in [
            "genuine pairs (same person): 135", "impostor pairs (different people): 300", "EER threshold", "model's threshold"
        ] {
            XCTAssertTrue(hist.text.contains(needle), "distances.svg lacks \(needle)")
        }

        let csv = try String(contentsOf: dir.appendingPathComponent("roc.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.first, "threshold,fmr,tar,false_matches,true_matches")
        XCTAssertEqual(csv.count, e.curve.points.count + 1)
        XCTAssertTrue(csv[1].hasPrefix("-inf,0.0,0.0,0,0"), String(csv[1]))
        XCTAssertTrue(csv.last!.hasSuffix(",1.0,1.0,300,135"), String(csv.last!))

        let png = try Self.decodePNG(Array(try Data(contentsOf: dir.appendingPathComponent("pairs.png"))))
        XCTAssertEqual(png.colorType, 2)
        XCTAssertGreaterThan(png.width, 3 * 2 * 92)
        XCTAssertGreaterThan(png.height, 4 * 112)
        let chosen = EvaluationReport.choosePairs(e, threshold: model.info.threshold!)
        XCTAssertEqual(chosen.count, 12)
        XCTAssertEqual(chosen.map(\.distance), chosen.map(\.distance).sorted())
        XCTAssertTrue(chosen.contains { $0.genuine } && chosen.contains { !$0.genuine })
        let worstGenuine = zip(e.distances, e.genuine).filter { $0.1 }.map(\.0).max()!
        let closestImpostor = zip(e.distances, e.genuine).filter { !$0.1 }.map(\.0).min()!
        XCTAssertTrue(chosen.contains { $0.genuine && $0.distance == worstGenuine }, "the hardest genuine pair is shown")
        XCTAssertTrue(chosen.contains { !$0.genuine && $0.distance == closestImpostor }, "the hardest impostor pair is shown")

        let html = try String(contentsOf: dir.appendingPathComponent("index.html"), encoding: .utf8)
        for needle in [
            "roc.svg", "det.svg", "distances.svg", "pairs.png", "roc.csv", "a &lt;warning&gt; &amp; more", "Equal error rate"
        ] {
            XCTAssertTrue(html.contains(needle), "index.html lacks \(needle)")
        }
        let json = try JSONDecoder().decode(
            EvaluationSummary.self, from: Data(contentsOf: dir.appendingPathComponent("summary.json")))
        XCTAssertEqual(json, summary)
    }

    func testProbitAndTicks() {
        XCTAssertEqual(SVGPlot.probit(0.5), 0, accuracy: 1e-9)
        XCTAssertEqual(SVGPlot.probit(0.975), 1.959964, accuracy: 1e-5)
        XCTAssertEqual(SVGPlot.probit(0.001), -3.090232, accuracy: 1e-5)
        assertClose(SVGPlot.niceTicks(0...1.7, count: 8), [0, 0.5, 1, 1.5], accuracy: 1e-9)
        assertClose(SVGPlot.niceTicks(0...1.7, count: 5), [0, 0.5, 1, 1.5], accuracy: 1e-9)
        assertClose(SVGPlot.niceTicks(0...23, count: 6), [0, 5, 10, 15, 20], accuracy: 1e-9)
        XCTAssertEqual(SVGPlot.escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;")
    }
}

private func assertClose(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
