import Foundation
import XCTest

@testable import FaceTwin

/// The sigmoid score head: state-dict names, training on pairs, the file round trip, and the
/// score and match probability the commands report.
final class SigmoidHeadTests: XCTestCase {
    static let config = NetworkConfig(inputHeight: 16, inputWidth: 16, channels: [4, 8], hidden: [16], head: .sigmoid)

    func testStateDictNamesAreTorchs() {
        let net = SiameseNetwork(config: Self.config, seed: 1)
        let names = net.stateDict.map(\.name).filter { $0.hasPrefix("head.") }
        XCTAssertEqual(
            names,
            [
                "head.0.weight", "head.0.bias", "head.0.running_mean", "head.0.running_var", "head.0.num_batches_tracked",
                "head.1.weight", "head.1.bias"
            ])
        XCTAssertEqual(
            Self.config.stateShapes.filter { $0.name.hasPrefix("head.") }.map(\.shape), [[1], [1], [1], [1], [1, 1], [1]])
        var distance = Self.config
        distance.head = .distance
        XCTAssertNil(SiameseNetwork(config: distance, seed: 1).head)
    }

    func testSigmoidModelTrainsOnPairsAndRoundTrips() throws {
        let dir = try temporaryDirectory(self)
        try PairDataTests.makePairFolders(dir.appendingPathComponent("train"), count: 32, people: 8...20)
        try PairDataTests.makePairFolders(dir.appendingPathComponent("val"), count: 12, people: 1...7)
        let train = try PairImages(
            try PairList(pairFolders: dir.appendingPathComponent("train").path).labelledPairs, for: Self.config)
        let valList = try PairList(pairFolders: dir.appendingPathComponent("val").path)
        let val = try PairImages(valList.labelledPairs, for: Self.config)
        var options = TrainingOptions(epochs: 2, batchSize: 8, margin: 1, seed: 2)
        options.recipe = "reference"
        let result = try Trainer(config: Self.config, options: options, data: .pairs(train), validation: .pairs(val)).run()
        let model = result.model
        XCTAssertEqual(model.info.threshold, 0.5)
        XCTAssertEqual(model.info.thresholdMethod, SigmoidHead.decisionMethod)
        XCTAssertEqual(
            model.network.head!.norm.numBatchesTracked, Int64(4 * result.bestEpoch), "one update a step to the kept epoch")

        let path = dir.appendingPathComponent("m.safetensors").path
        try model.save(to: path)
        let loaded = try FaceModel.load(path: path)
        XCTAssertEqual(loaded.config.head, .sigmoid)
        XCTAssertEqual(loaded.network.head!.norm.numBatchesTracked, Int64(4 * result.bestEpoch))
        let evaluation = try Evaluation(model: loaded, pairList: valList)
        XCTAssertTrue(evaluation.distances.allSatisfy { $0 > 0 && $0 < 1 }, "scores in (0, 1)")
        XCTAssertEqual(evaluation.metrics.eer, model.info.training!.validationEER!, accuracy: 1e-12)
        let verdicts = try PairVerification(model: loaded, pairList: valList, threshold: 0.5)
        for (v, s) in zip(verdicts.verdicts, evaluation.distances) {
            XCTAssertEqual(v.headScore, s)
            XCTAssertEqual(v.matchProbability!, 1 - s, accuracy: 1e-7)
            XCTAssertEqual(v.isMatch, s <= 0.5)
        }
        XCTAssertEqual(verdicts.accuracy!, evaluation.accuracyAtStoredThreshold!, accuracy: 1e-12)

        // Its bare state dict still reads as a sigmoid-head network.
        let bare = dir.appendingPathComponent("bare.safetensors").path
        var writer = SafeTensorsWriter()
        for (name, tensor) in model.network.stateTensors {
            writer.add(name, floats: tensor.toArray(), shape: tensor.shape)
        }
        try writer.write(to: URL(fileURLWithPath: bare))
        XCTAssertEqual(try FaceModel.load(path: bare).config.head, .sigmoid)

        // compare and info through the CLI.
        let a = dir.appendingPathComponent("val/p00/a.pgm").path, b = dir.appendingPathComponent("val/p00/b.pgm").path
        let compare = try runFacetwin(["compare", a, b, "--model", path, "--json"])
        XCTAssertNotEqual(compare.status, 2, compare.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(compare.stdout.utf8)) as? [String: Any]
        let score = try XCTUnwrap(object?["score"] as? Double),
            probability = try XCTUnwrap(object?["matchProbability"] as? Double)
        XCTAssertEqual(score + probability, 1, accuracy: 1e-6)
        XCTAssertEqual(object?["match"] as? Bool, score <= 0.5)
        let info = try runFacetwin(["info", "--model", path])
        XCTAssertTrue(info.stdout.contains("head: sigmoid"), info.stdout)
        let text = try runFacetwin(["compare", a, b, "--model", path])
        XCTAssertTrue(text.stdout.contains("  score "), text.stdout)
        XCTAssertTrue(text.stdout.contains("  match probability "), text.stdout)
    }
}
