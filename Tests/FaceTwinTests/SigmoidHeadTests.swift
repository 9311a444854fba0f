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
        options.recipe = .reference
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

    /// The score rises with the distance whatever the signs of the head's stored parameters.
    func testScoreRisesWithDistanceWhateverTheParameterSigns() {
        let distances: [Float] = [0.05, 0.2, 0.5, 0.9, 1.4, 2.5]
        for (gamma, weight) in [(Float(1), Float(0.7)), (1, -0.7), (-1.3, 0.4), (-1.3, -0.64), (0.2, -3)] {
            let head = SiameseNetwork(config: Self.config, seed: 3).head!
            head.norm.weight.value.pointer[0] = gamma
            head.dense.weight.value.pointer[0] = weight
            head.norm.runningMean.pointer[0] = 0.8
            head.norm.runningVar.pointer[0] = 0.1
            let s = head.scores(distances)
            for k in 1..<s.count {
                XCTAssertGreaterThan(s[k], s[k - 1], "γ parameter \(gamma), w parameter \(weight): scores \(s)")
            }
        }
    }

    /// A head started with a negative Dense weight parameter (the draw that left the scorer
    /// inverted) learns to score similar pairs low: held-out accuracy at 0.5 over 90 %.
    func testHeadStartedWithANegativeWeightLearnsTheRightWay() {
        let head = SiameseNetwork(config: Self.config, seed: 0).head!
        head.dense.weight.value.pointer[0] = -0.64
        let adam = Adam(parameters: head.parameters.map(\.parameter), learningRate: 0.01)
        var rng = RandomSource(seed: 5)
        func batch(_ n: Int) -> (distances: [Float], labels: [Float]) {
            var d: [Float] = [], y: [Float] = []
            for k in 0..<n {
                let different = k % 2 == 1
                d.append(different ? Float.random(in: 0.8...1.4, using: &rng) : Float.random(in: 0.1...0.7, using: &rng))
                y.append(different ? 1 : 0)
            }
            return (d, y)
        }
        for _ in 0..<300 {
            let (d, y) = batch(32)
            adam.zeroGradients(fuseIntoBackward: false)
            let s = head.trainingScores(d)
            var grad = [Float](repeating: 0, count: d.count)
            for k in 0..<d.count {
                let similar: Float = (1 - y[k]) * 2 * s[k]
                let different: Float = y[k] * 2 * max(0, 1 - s[k])
                grad[k] = (similar - different) / Float(d.count)
            }
            _ = head.backward(grad)
            adam.update()
        }
        let (d, y) = batch(400)
        let s = head.scores(d)
        let correct = zip(s, y).filter { ($0.0 > SigmoidHead.decision) == ($0.1 == 1) }.count
        XCTAssertGreaterThan(Double(correct) / Double(d.count), 0.9, "scores \(s.prefix(8)) for \(d.prefix(8))")
    }

    /// A run whose kept epoch ranks held-out impostors as more alike than genuine pairs (here
    /// validation pairs labelled the wrong way round) writes no model.
    func testTrainingRefusesAHeldOutAUCBelowOneHalf() throws {
        let dir = try temporaryDirectory(self)
        try PairDataTests.makePairFolders(dir.appendingPathComponent("train"), count: 32, people: 8...20)
        try PairDataTests.makePairFolders(dir.appendingPathComponent("val"), count: 12, people: 1...7) { lines in
            lines = lines.enumerated().map { i, line in
                i == 0 ? line : line.hasSuffix(",1") ? String(line.dropLast()) + "0" : String(line.dropLast()) + "1"
            }
        }
        let train = try PairImages(
            try PairList(pairFolders: dir.appendingPathComponent("train").path).labelledPairs, for: Self.config)
        let val = try PairImages(
            try PairList(pairFolders: dir.appendingPathComponent("val").path).labelledPairs, for: Self.config)
        var options = TrainingOptions(epochs: 2, batchSize: 8, margin: 1, seed: 2)
        options.recipe = .reference
        XCTAssertThrowsError(
            try Trainer(config: Self.config, options: options, data: .pairs(train), validation: .pairs(val)).run()
        ) { error in
            guard case TrainingError.inverted(_, let auc) = error else { return XCTFail("\(error)") }
            XCTAssertLessThan(auc, 0.5)
        }
    }

    /// A plain PyTorch head (no recorded parameterisation) is used as stored, and refused when
    /// its score falls with the distance.
    func testPlainHeadLoadsAsStoredAndIsRefusedWhenInverted() throws {
        let dir = try temporaryDirectory(self)
        let net = SiameseNetwork(config: Self.config, seed: 4)
        func write(_ weight: Float) throws -> String {
            net.head!.dense.weight.value.pointer[0] = weight
            var writer = SafeTensorsWriter()
            for (name, tensor) in net.stateTensors { writer.add(name, floats: tensor.toArray(), shape: tensor.shape) }
            let path = dir.appendingPathComponent("w\(weight).safetensors").path
            try writer.write(to: URL(fileURLWithPath: path))
            return path
        }
        let plain = try FaceModel.load(path: try write(0.8))
        XCTAssertFalse(plain.config.monotoneHead)
        let s = plain.network.head!.scores([0.5])[0]
        let bn = net.head!.norm
        let normalized: Float = (0.5 - bn.runningMean.pointer[0]) / (bn.runningVar.pointer[0] + bn.eps).squareRoot()
        let y: Float = normalized * bn.weight.value.pointer[0] + bn.bias.value.pointer[0]
        let z: Float = 0.8 * y + net.head!.dense.bias.value.pointer[0]
        XCTAssertEqual(s, 1 / (1 + exp(-z)), accuracy: 1e-6)
        XCTAssertThrowsError(try FaceModel.load(path: try write(-0.8))) { error in
            XCTAssertTrue("\(error)".contains("inverted scorer"), "\(error)")
        }
    }
}
