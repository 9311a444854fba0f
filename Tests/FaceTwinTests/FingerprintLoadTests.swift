import FaceTwin
import Foundation
import XCTest

/// `FaceModel.load` computes the fingerprint while it copies the weights in (a second thread
/// hashing each stretch once copied): the same value as hashing the loaded weights afterwards,
/// for tensors of many stretches, and a NaN anywhere is still refused, naming its element.
final class FingerprintLoadTests: XCTestCase {
    /// A network whose first linear layer spans several stretches (12 800 × 200 floats).
    let config = NetworkConfig(inputHeight: 40, inputWidth: 40, hidden: [200])

    func testLoadedFingerprintIsTheWeightsHash() throws {
        let dir = try temporaryDirectory(self)
        let path = dir.appendingPathComponent("m.safetensors").path
        let model = FaceModel(network: SiameseNetwork(config: config, seed: 5), info: ModelInfo(config: config))
        let expected = model.computeFingerprint()
        try model.save(to: path)
        let loaded = try FaceModel.load(path: path)
        XCTAssertEqual(loaded.fingerprint, expected)
        XCTAssertEqual(loaded.computeFingerprint(), expected)

        // The metadata's copy is only a hint: other weights under the same metadata give their own hash.
        let other = FaceModel(network: SiameseNetwork(config: config, seed: 6), info: ModelInfo(config: config))
        try other.save(to: path)
        XCTAssertNotEqual(try FaceModel.load(path: path).fingerprint, expected)
    }

    func testNonFiniteWeightInALaterStretchIsRefused() throws {
        let dir = try temporaryDirectory(self)
        let path = dir.appendingPathComponent("m.safetensors").path
        let model = FaceModel(network: SiameseNetwork(config: config, seed: 5), info: ModelInfo(config: config))
        let first = model.network.stateTensors.first { $0.name == "fc1.0.weight" }!.tensor
        first.pointer[1_000_003] = .infinity
        try model.save(to: path)
        XCTAssertThrowsError(try FaceModel.load(path: path)) { error in
            XCTAssertEqual(
                "\(error)", "\(path): tensor fc1.0.weight holds a value that is not finite (inf at element 1000003)")
        }
    }
}
