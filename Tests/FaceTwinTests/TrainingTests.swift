import Foundation
import XCTest
@testable import FaceTwin

/// Training end to end on real faces at a small size: it learns, it is reproducible, and the
/// model file keeps everything.
final class TrainingTests: XCTestCase {
    static let size = 20
    static let config = NetworkConfig(inputHeight: size, inputWidth: size, hidden: [64, 32])

    func folders(_ orl: String) throws -> (ImageFolder, ImageFolder) {
        let train = try ImageFolder(root: orl, width: Self.size, height: Self.size, only: Set((8...20).map { "s\($0)" }))
        let held = try ImageFolder(root: orl, width: Self.size, height: Self.size, only: ["s5", "s6", "s7"])
        return (train, held)
    }

    func testTrainingLearnsAndKeepsTheBestEpoch() throws {
        let (train, held) = try folders(try orlDirectory())
        let options = TrainingOptions(epochs: 6, batchSize: 16, seed: 3)
        var seen: [EpochReport] = []
        let result = try Trainer(config: Self.config, options: options, training: train, validation: held).run { seen.append($0) }
        XCTAssertEqual(seen.count, 6)
        XCTAssertEqual(result.history.map(\.epoch), Array(1...6))
        XCTAssertEqual(result.history[0].steps, (train.count + 15) / 16)
        XCTAssertLessThan(result.history.last!.meanLoss, result.history.first!.meanLoss * 0.8, "the loss falls")
        let best = result.history.min { a, b in
            a.validation!.eer < b.validation!.eer || (a.validation!.eer == b.validation!.eer && a.validation!.auc >= b.validation!.auc)
        }!
        XCTAssertEqual(result.bestEpoch, best.epoch, "the kept epoch has the lowest held-out EER")
        XCTAssertGreaterThan(best.validation!.auc, 0.85, "unseen identities are separated better than chance")
        let info = result.model.info
        XCTAssertEqual(info.threshold, best.validation!.eerThreshold)
        XCTAssertEqual(info.training?.holdout, ["s5", "s6", "s7"])
        XCTAssertEqual(info.training?.bestEpoch, best.epoch)

        // The kept weights are the best epoch's: re-scoring the held-out set reproduces its EER.
        let emb = result.model.network.embed(pixels: held.pixels, count: held.count)
        let pairs = try VerificationPairs.allPairs(embeddings: emb, dimension: 5, labels: held.labels)
        XCTAssertEqual(try VerificationMetrics(distances: pairs.distances, genuine: pairs.genuine).eer, best.validation!.eer, accuracy: 1e-12)

        // The history CSV has a header and one row per epoch, the kept one marked.
        let rows = result.historyCSV.split(separator: "\n")
        XCTAssertEqual(rows.count, 7)
        XCTAssertTrue(rows[best.epoch].hasSuffix(",1"))
    }

    func testSameSeedSameRun() throws {
        let (train, _) = try folders(try orlDirectory())
        let options = TrainingOptions(epochs: 2, batchSize: 8, seed: 11)
        let a = try Trainer(config: Self.config, options: options, training: train, validation: nil).run()
        let b = try Trainer(config: Self.config, options: options, training: train, validation: nil).run()
        XCTAssertEqual(a.history.map(\.meanLoss), b.history.map(\.meanLoss))
        var other = options
        other.seed = 12
        let c = try Trainer(config: Self.config, options: other, training: train, validation: nil).run()
        XCTAssertNotEqual(a.history.map(\.meanLoss), c.history.map(\.meanLoss))
    }

    func testModelFileRoundTrip() throws {
        let (train, held) = try folders(try orlDirectory())
        let result = try Trainer(config: Self.config, options: TrainingOptions(epochs: 1, batchSize: 8), training: train, validation: held).run()
        let dir = try temporaryDirectory(self)
        let path = dir.appendingPathComponent("m.safetensors").path
        try result.model.save(to: path)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["m.safetensors"], "no temporary file left")

        let loaded = try FaceModel.load(path: path)
        XCTAssertEqual(loaded.info, result.model.info)
        XCTAssertEqual(loaded.network.batchNorms.map(\.layer.numBatchesTracked), result.model.network.batchNorms.map(\.layer.numBatchesTracked))
        XCTAssertEqual(loaded.network.batchNorms.first?.layer.numBatchesTracked, Int64(2 * result.history[0].steps))
        for ((name, a), (_, b)) in zip(loaded.network.stateTensors, result.model.network.stateTensors) {
            XCTAssertEqual(a.toArray(), b.toArray(), name)
        }
        let e1 = loaded.network.embed(pixels: held.pixels, count: held.count)
        let e2 = result.model.network.embed(pixels: held.pixels, count: held.count)
        XCTAssertEqual(e1, e2)

        // PyTorch's state-dict names and order.
        let file = try SafeTensorsFile(path: path)
        XCTAssertEqual(Array(file.tensorNames.prefix(7)), ["cnn1.1.weight", "cnn1.1.bias", "cnn1.3.weight", "cnn1.3.bias",
                                                          "cnn1.3.running_mean", "cnn1.3.running_var", "cnn1.3.num_batches_tracked"])
        XCTAssertEqual(file.tensorNames.last, "fc1.4.bias")
        XCTAssertEqual(try file.shape(of: "fc1.0.weight"), [64, 8 * 20 * 20])
        XCTAssertEqual(try file.dtype(of: "cnn1.3.num_batches_tracked"), .int64)
    }

    func testSaveFailureLeavesNothing() throws {
        let dir = try temporaryDirectory(self)
        let model = FaceModel(network: SiameseNetwork(config: Self.config), info: ModelInfo(config: Self.config))
        let target = dir.appendingPathComponent("missing-dir/m.safetensors").path
        XCTAssertThrowsError(try model.save(to: target)) { error in
            XCTAssertTrue("\(error)".hasPrefix(target), "\(error)")
        }
        // An existing model is not clobbered by a failed save.
        let existing = dir.appendingPathComponent("keep.safetensors").path
        try model.save(to: existing)
        let before = try Data(contentsOf: URL(fileURLWithPath: existing))
        try FileManager.default.setAttributes([.posixPermissions: 0o500], ofItemAtPath: dir.path)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: dir.path) }
        if getuid() != 0 {  // root ignores directory permissions
            XCTAssertThrowsError(try model.save(to: existing))
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: existing)), before)
    }

    func testTrainerRejectsBadOptions() throws {
        let (train, _) = try folders(try orlDirectory())
        XCTAssertThrowsError(try Trainer(config: Self.config, options: TrainingOptions(epochs: 0), training: train, validation: nil))
        XCTAssertThrowsError(try Trainer(config: Self.config, options: TrainingOptions(batchSize: 1), training: train, validation: nil))
        XCTAssertThrowsError(try Trainer(config: NetworkConfig(inputHeight: 30, inputWidth: 30), options: TrainingOptions(), training: train, validation: nil))
    }
}
