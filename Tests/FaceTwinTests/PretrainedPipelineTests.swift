import Foundation
import XCTest

@testable import FaceTwin

/// dlib's ResNet through the commands as a user runs them: photos cut into dlib's chips in every
/// `--detect` mode, real faces matched, non-faces refused whatever their size. Skipped when
/// models/ lacks the converted model (scripts/fetch-models.sh).
final class PretrainedPipelineTests: XCTestCase {
    func model() throws -> String { try DlibModels.path("dlib-resnet.safetensors") }

    static func pgm(_ url: URL, width: Int, height: Int, seed: UInt64, constant: UInt8? = nil) throws {
        var rng = RandomSource(seed: seed)
        try writePGM(url, width: width, height: height) { _, _ in constant ?? UInt8(truncatingIfNeeded: rng.next()) }
    }

    func testNonFacesOfEverySizeAreRefusedInEveryMode() throws {
        let m = try model()
        let orl = try orlDirectory()
        let dir = try temporaryDirectory(self)
        let probes: [(String, Int, Int, UInt8?)] = [
            ("tiny-noise", 10, 12, nil), ("wide-noise", 4000, 3, nil), ("crop-noise", 92, 112, nil),
            ("photo-noise", 640, 480, nil), ("black", 640, 480, 0), ("grey", 92, 112, 128)
        ]
        for (k, (name, w, h, c)) in probes.enumerated() {
            let url = dir.appendingPathComponent("\(name).pgm")
            try Self.pgm(url, width: w, height: h, seed: UInt64(k), constant: c)
            for mode in ["auto", "always", "never"] {
                let r = try runFacetwin(["compare", url.path, "\(orl)/s1/1.pgm", "--model", m, "--detect", mode])
                XCTAssertEqual(r.status, 2, "\(name) --detect \(mode): \(r.stdout)")
                XCTAssertTrue(
                    r.stderr.hasPrefix("facetwin: error: \(url.path): ") && r.stderr.split(separator: "\n").count == 1,
                    "\(name) --detect \(mode): \(r.stderr)")
            }
        }
    }

    func testORLCropsAndARealPhotoAreChippedAndMatched() throws {
        let m = try model()
        let orl = try orlDirectory()
        for mode in ["auto", "never"] {
            let same = try runFacetwin(["compare", "\(orl)/s5/1.pgm", "\(orl)/s5/2.pgm", "--model", m, "--detect", mode])
            XCTAssertEqual(same.status, 0, "\(mode): \(same.stdout)\(same.stderr)")
            let other = try runFacetwin(["compare", "\(orl)/s5/1.pgm", "\(orl)/s6/1.pgm", "--model", m, "--detect", mode])
            XCTAssertEqual(other.status, 1, "\(mode): \(other.stdout)\(other.stderr)")
        }
        // A whole photo: the face is found and chipped, and the photo matches itself (within the
        // rounding of two places in one batch).
        let photo = packageRoot.appendingPathComponent("Tests/FaceTwinTests/Fixtures/real-photos/astronaut.jpg").path
        let r = try runFacetwin(["compare", photo, photo, "--model", m, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(try XCTUnwrap(object?["distance"] as? Double), 0, accuracy: 1e-5)
        // The photo's face against ORL people: a stranger.
        let s = try runFacetwin(["compare", photo, "\(orl)/s1/1.pgm", "--model", m])
        XCTAssertEqual(s.status, 1, s.stdout)
    }

    func testZeroShotOnUnseenORLPeopleIsAccurate() throws {
        let m = try model()
        let orl = try orlDirectory()
        let r = try runFacetwin([
            "evaluate", "--model", m, "--data", orl, "--identities", "s1,s2,s3,s4,s5,s6,s7,s8,s9,s10", "--bootstrap", "0",
            "--json"
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertLessThan(try XCTUnwrap(o["eer"] as? Double), 0.03, "dlib's ResNet tells ORL people apart zero-shot")
        XCTAssertEqual(o["failuresToAcquire"] as? [String], [], "every ORL crop gives a chip")
    }
}
