import Foundation
import XCTest

/// The page at `/` in headless Chromium (scripts/page-test.py, plain WebDriver through Debian's
/// chromium-driver) with the pretrained model: enroll from two photos, verify a match and a
/// non-match, identify, delete; a photo from the fake camera (getUserMedia) is refused: no face. Screenshots go to $FACETWIN_PAGE_SHOTS (a temporary folder
/// when unset).
final class PageTests: XCTestCase {
    func testPageEnrollsVerifiesIdentifiesAndDeletesInChromium() throws {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] where !FileManager.default.isExecutableFile(atPath: tool) {
            throw XCTSkip("\(tool) is missing: apt-get install chromium chromium-driver")
        }
        let env = ProcessInfo.processInfo.environment
        let modelsDir =
            env["FACETWIN_MODELS_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? packageRoot.appendingPathComponent("models").path
        let model = modelsDir + "/dlib-resnet.safetensors"
        guard FileManager.default.fileExists(atPath: model) else {
            throw XCTSkip("\(model) is missing: run scripts/fetch-models.sh")
        }
        let shots =
            env["FACETWIN_PAGE_SHOTS"]
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("facetwin-page-\(UUID().uuidString)").path
        let (status, out) = try runProgram(
            "/usr/bin/env",
            [
                "python3", packageRoot.appendingPathComponent("scripts/page-test.py").path, "--facetwin",
                facetwinExecutable().path, "--model", model, "--shots", shots
            ])
        print(out)
        XCTAssertEqual(status, 0, out)
        for step in ["1-enroll", "2-verify-match", "3-verify-no-match", "4-identify", "5-delete", "6-camera-no-face"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(shots)/\(step).png"), step)
        }
        XCTAssertTrue(out.contains("2-verify-match: MATCH"), out)
        XCTAssertTrue(out.contains("3-verify-no-match: NO MATCH"), out)
    }
}
