import Foundation
import XCTest

@testable import FaceTwin
@testable import FaceTwinGallery

/// Replays every input scripts/fuzz.sh kept under Fixtures/fuzz/<target>/ (crashes it found)
/// through the same entry points as its fuzz target, so the regression set runs in every
/// `swift test` without the fuzzer: each must now end in a typed error or a result, not a crash.
final class FuzzRegressionTests: XCTestCase {
    func inputs(_ target: String) throws -> [URL] {
        let dir = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/fuzz/\(target)", isDirectory: true)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { dir.appendingPathComponent($0) }
    }

    func testNetpbmInputs() throws {
        for url in try inputs("netpbm") {
            if let image = try? ImageDecoder.decode(path: url.path) {
                XCTAssertEqual(image.pixels.count, image.width * image.height, url.lastPathComponent)
            }
        }
    }

    /// The photo decoders' inputs (scripts/fuzz.sh targets jpeg, png, webp), through the
    /// decoder that the file's first bytes choose.
    func testPhotoDecoderInputs() throws {
        for target in ["jpeg", "png", "webp"] {
            for url in try inputs(target) {
                do {
                    let image = try ImageDecoder.decodeImage(path: url.path)
                    XCTAssertEqual(image.rgb.pixels.count, image.width * image.height * 3, url.lastPathComponent)
                } catch {
                    XCTAssertFalse(error.description.contains("\n"), url.lastPathComponent)
                }
            }
        }
    }

    func testSafeTensorsInputs() throws {
        for url in try inputs("safetensors") {
            guard let file = try? SafeTensorsFile(path: url.path) else { continue }
            for name in file.tensorNames {
                guard let info = try? file.info(name) else { continue }
                if info.dtype.isFloatingPoint { _ = try? file.floats(name) } else { _ = try? file.int64s(name) }
            }
            _ = try? FaceModel.load(path: url.path)
        }
    }

    func testPairListInputs() throws {
        for url in try inputs("pairlist") {
            let text = String(decoding: try Data(contentsOf: url), as: UTF8.self)
            if let list = try? PairList(text: text, file: "fuzz.csv", root: "/r") { XCTAssertFalse(list.pairs.isEmpty) }
        }
    }

    func testGalleryRowInputs() throws {
        for url in try inputs("gallery-row") {
            let bytes = [UInt8](try Data(contentsOf: url))
            guard bytes.count >= 2 else { continue }
            let declared = Int(bytes[0]) << 8 | Int(bytes[1])
            let blob = Data(bytes.dropFirst(2))
            for s in [declared, declared - 65536, declared << 48] {
                if let values = try? TemplateCodec.decode(blob, size: s, path: "fuzz.sqlite") {
                    XCTAssertEqual(TemplateCodec.encode(values), blob)
                }
            }
        }
    }

    /// The targets' seeds decode as expected, so the replay above exercises real code paths.
    func testReplayReachesTheDecoders() throws {
        XCTAssertEqual(try TemplateCodec.decode(TemplateCodec.encode([1, -2.5]), size: 2, path: "g"), [1, -2.5])
        XCTAssertThrowsError(try TemplateCodec.decode(Data(count: 7), size: 2, path: "g"))
        XCTAssertThrowsError(try TemplateCodec.decode(Data(count: 8), size: 1 << 62, path: "g"))
    }
}
