import Foundation
import XCTest

@testable import FaceTwin

/// The bounds of `train`'s options are NetworkLimits', the ones the model loader applies: the
/// CLI refuses just past each bound, and the library refuses the same value in a configuration.
final class NetworkLimitsTests: XCTestCase {
    func testTrainOptionsRefuseJustPastTheLibrarysBounds() throws {
        let l = NetworkConfig.limits
        let past: [(option: String, value: String)] = [
            ("--inset", "\(l.inset.upperBound + 0.01)"), ("--pool", "\(l.pool.upperBound + 1)"),
            ("--embedding-scale", "\(l.embeddingScale.upperBound + 1)"),
            ("--hard-share", "\(l.hardShare.upperBound + 0.01)"),
            ("--validation-share", "\(l.validationShare.upperBound + 0.01)")
        ]
        for (option, value) in past {
            let r = try runFacetwin(["train", "--data", "/nonexistent", option, value, "--out", "/tmp/never.safetensors"])
            XCTAssertEqual(r.status, 2, "\(option) \(value)")
            XCTAssertTrue(r.stderr.contains("\(option) must be between"), r.stderr)
        }
        var config = NetworkConfig.default
        config.inputInset = l.inset.upperBound
        XCTAssertNil(config.problem(), "the largest inset is a valid configuration")
        config.inputInset = l.inset.upperBound + 0.01
        XCTAssertNotNil(config.problem())
        config = NetworkConfig.default
        config.pool = l.pool.upperBound + 1
        XCTAssertNotNil(config.problem())
    }
}
