import Foundation
import XCTest

@testable import FaceTwin

/// `--reduce-lr-on-plateau FACTOR,PATIENCE` and `--keep best-loss|best-eer|last`.
final class ScheduleTests: XCTestCase {
    static let config = NetworkConfig(inputHeight: 16, inputWidth: 16, channels: [4, 8], hidden: [16], head: .sigmoid)

    func data() throws -> (TrainingData, TrainingData) {
        let dir = try temporaryDirectory(self)
        try PairDataTests.makePairFolders(dir.appendingPathComponent("train"), count: 24, people: 8...20)
        try PairDataTests.makePairFolders(dir.appendingPathComponent("val"), count: 10, people: 1...7)
        let train = try PairImages(
            try PairList(pairFolders: dir.appendingPathComponent("train").path).labelledPairs, for: Self.config)
        let val = try PairImages(
            try PairList(pairFolders: dir.appendingPathComponent("val").path).labelledPairs, for: Self.config)
        return (.pairs(train), .pairs(val))
    }

    func testPlateauReducesTheRateAndKeepPicksTheEpoch() throws {
        let (train, val) = try data()
        var options = TrainingOptions(epochs: 5, batchSize: 8, learningRate: 1e-3, margin: 1, seed: 4)
        options.reduceOnPlateau = PlateauReduction(factor: 0.5, patience: 1)
        options.keep = .bestLoss
        let result = try Trainer(config: Self.config, options: options, data: train, validation: val).run()
        let losses = result.history.map { $0.validationLoss! }
        // The rule, replayed: the rate halves after every epoch whose loss is not 1e-4 below the best.
        var best = Float.infinity, rate: Float = 1e-3
        for (k, report) in result.history.enumerated() {
            XCTAssertEqual(report.learningRate, rate, accuracy: 1e-9, "epoch \(k + 1)")
            if losses[k] < best - PlateauReduction.minimumImprovement { best = losses[k] } else { rate *= 0.5 }
        }
        XCTAssertEqual(result.bestEpoch, losses.firstIndex(of: losses.min()!)! + 1, "the lowest validation loss is kept")

        options.reduceOnPlateau = nil
        options.keep = .last
        let last = try Trainer(config: Self.config, options: options, data: train, validation: val).run()
        XCTAssertEqual(last.bestEpoch, 5)
        XCTAssertTrue(last.history.allSatisfy { $0.learningRate == 1e-3 })
    }

    func testBestLossAndPlateauNeedValidation() throws {
        let (train, _) = try data()
        var options = TrainingOptions(epochs: 2, batchSize: 8, margin: 1)
        options.keep = .bestLoss
        XCTAssertThrowsError(try Trainer(config: Self.config, options: options, data: train, validation: nil)) {
            guard case TrainingError.validationLossNeeded(let plateau, let keep) = $0 else { return XCTFail("\($0)") }
            XCTAssertNil(plateau)
            XCTAssertEqual(keep, .bestLoss)
            XCTAssertEqual(
                "\($0)",
                "keeping the epoch of best-loss (the lowest validation loss) needs validation data: it follows the validation loss"
            )
        }
        options.keep = .bestEER
        options.reduceOnPlateau = PlateauReduction(factor: 0.1, patience: 10)
        XCTAssertThrowsError(try Trainer(config: Self.config, options: options, data: train, validation: nil)) {
            guard case TrainingError.validationLossNeeded(let plateau, _) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(plateau, PlateauReduction(factor: 0.1, patience: 10))
            XCTAssertEqual(
                "\($0)",
                "the plateau reduction of the learning rate (factor 0.1, patience 10) needs validation data: it follows the validation loss"
            )
        }
        let bad = try runFacetwin(["train", "--data", "x", "--reduce-lr-on-plateau", "1.5,3"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("--reduce-lr-on-plateau takes FACTOR,PATIENCE"), bad.stderr)
    }
}
