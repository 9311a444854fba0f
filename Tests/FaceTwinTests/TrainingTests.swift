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
            a.validation!.eer < b.validation!.eer
                || (a.validation!.eer == b.validation!.eer && a.validation!.auc >= b.validation!.auc)
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
        XCTAssertEqual(
            try VerificationMetrics(distances: pairs.distances, genuine: pairs.genuine).eer, best.validation!.eer, accuracy: 1e-12
        )

        // The history CSV has a header and one row per epoch, the kept one marked.
        let rows = result.historyCSV.split(separator: "\n")
        XCTAssertEqual(rows.count, 7)
        let kept = rows[0].split(separator: ",").firstIndex(of: "kept")!
        for (i, row) in rows.dropFirst().enumerated() {
            XCTAssertEqual(row.split(separator: ",")[kept], i + 1 == best.epoch ? "1" : "0", "row \(i + 1)")
        }
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
        let result = try Trainer(
            config: Self.config, options: TrainingOptions(epochs: 1, batchSize: 8), training: train, validation: held
        ).run()
        let dir = try temporaryDirectory(self)
        let path = dir.appendingPathComponent("m.safetensors").path
        try result.model.save(to: path)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["m.safetensors"], "no temporary file left")

        let loaded = try FaceModel.load(path: path)
        XCTAssertEqual(loaded.info, result.model.info)
        XCTAssertEqual(
            loaded.siamese!.batchNorms.map(\.layer.numBatchesTracked),
            result.model.siamese!.batchNorms.map(\.layer.numBatchesTracked))
        XCTAssertEqual(loaded.siamese!.batchNorms.first?.layer.numBatchesTracked, Int64(2 * result.history[0].steps))
        for ((name, a), (_, b)) in zip(loaded.network.stateTensors, result.model.network.stateTensors) {
            XCTAssertEqual(a.toArray(), b.toArray(), name)
        }
        let e1 = loaded.network.embed(pixels: held.pixels, count: held.count)
        let e2 = result.model.network.embed(pixels: held.pixels, count: held.count)
        XCTAssertEqual(e1, e2)

        // PyTorch's state-dict names and order.
        let file = try SafeTensorsFile(path: path)
        XCTAssertEqual(
            Array(file.tensorNames.prefix(7)),
            [
                "cnn1.1.weight", "cnn1.1.bias", "cnn1.3.weight", "cnn1.3.bias",
                "cnn1.3.running_mean", "cnn1.3.running_var", "cnn1.3.num_batches_tracked"
            ])
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
        XCTAssertThrowsError(
            try Trainer(config: Self.config, options: TrainingOptions(epochs: 0), training: train, validation: nil))
        XCTAssertThrowsError(
            try Trainer(config: Self.config, options: TrainingOptions(batchSize: 1), training: train, validation: nil))
        XCTAssertThrowsError(
            try Trainer(
                config: NetworkConfig(inputHeight: 30, inputWidth: 30), options: TrainingOptions(), training: train,
                validation: nil))
    }
}

/// Collapse: every embedding pulled together. Weight decay of 1 / learning rate zeroes every
/// weight at each step, so the network's output no longer depends on its input, whatever it
/// learnt: the most direct way to provoke the collapse that a too high learning rate or dead
/// units cause by chance.
final class CollapseTests: XCTestCase {
    private func folders(_ orl: String) throws -> (ImageFolder, ImageFolder) {
        (
            try ImageFolder(
                root: orl, width: TrainingTests.size, height: TrainingTests.size, only: Set((8...20).map { "s\($0)" })),
            try ImageFolder(root: orl, width: TrainingTests.size, height: TrainingTests.size, only: ["s5", "s6", "s7"])
        )
    }

    private func options(restarts: Int) -> TrainingOptions {
        var o = TrainingOptions(epochs: 3, batchSize: 16, learningRate: 1e-3, seed: 5)
        o.weightDecay = 1000
        o.collapseRestarts = restarts
        return o
    }

    func testCollapseIsReportedAndNoModelIsMadeWithoutRestarts() throws {
        let (train, held) = try folders(try orlDirectory())
        var seen: [EpochReport] = []
        let trainer = try Trainer(config: TrainingTests.config, options: options(restarts: 0), training: train, validation: held)
        var failure: TrainingError?
        do {
            _ = try trainer.run { seen.append($0) }
        } catch {
            failure = error
        }
        guard let failure, case .collapsed(let epoch, let restarts, let rate) = failure else {
            return XCTFail("no collapse: \(String(describing: failure))")
        }
        XCTAssertEqual(epoch, 1)
        XCTAssertEqual(restarts, 0)
        XCTAssertEqual(rate, trainer.options.learningRate)
        XCTAssertTrue(failure.description.contains("training collapsed at epoch 1"), failure.description)
        XCTAssertTrue(failure.description.contains("no model was written"), failure.description)
        // The library names the learning rate's value, not a command-line option.
        XCTAssertTrue(failure.description.contains("(learning rate \(rate): try a smaller one)"), failure.description)
        XCTAssertFalse(failure.description.contains("--"), failure.description)
        XCTAssertEqual(seen.count, 1)
        XCTAssertTrue(seen[0].collapsed)
        XCTAssertLessThan(seen[0].bands.impostorP90, 0.2, "the impostors' distances are near zero")
    }

    func testCollapseRestartsFromTheLastHealthyStateAtALowerLearningRate() throws {
        let (train, held) = try folders(try orlDirectory())
        var seen: [EpochReport] = []
        let trainer = try Trainer(config: TrainingTests.config, options: options(restarts: 2), training: train, validation: held)
        do {
            let result = try trainer.run { seen.append($0) }
            // Recovered: the kept epoch is a healthy one, and the model says it restarted.
            let kept = result.history.last { $0.epoch == result.bestEpoch }!
            XCTAssertFalse(kept.collapsed)
            XCTAssertGreaterThan(result.model.info.training?.collapseRestarts ?? 0, 0)
        } catch {
            guard case .collapsed(_, let restarts, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(restarts, 2, "it gives up only after its restarts")
        }
        let collapses = seen.filter(\.collapsed)
        XCTAssertGreaterThanOrEqual(collapses.count, 1)
        XCTAssertEqual(collapses[0].epoch, 1)
        XCTAssertEqual(collapses[0].restartsFrom, 0, "no healthy epoch yet: back to the initial weights")
        // Each restart runs at a tenth of the rate before it.
        let rates = seen.map(\.learningRate)
        if collapses.count >= 2 { XCTAssertLessThan(rates[1], rates[0] / 5) }
    }
}

final class TrainingBandsTests: XCTestCase {
    func testBandsAreReadFromARealHistoryAndDrawn() throws {
        let orl = try orlDirectory()
        let train = try ImageFolder(root: orl, width: 20, height: 20, only: Set((8...16).map { "s\($0)" }))
        let result = try Trainer(
            config: TrainingTests.config, options: TrainingOptions(epochs: 3, batchSize: 16, seed: 2),
            training: train, validation: nil
        ).run()
        let bands = try XCTUnwrap(TrainingBands(historyCSV: result.historyCSV))
        XCTAssertEqual(bands.rows.map(\.epoch), [1, 2, 3])
        for (row, report) in zip(bands.rows, result.history) {
            XCTAssertEqual(row.impostor.mean, report.bands.impostorMean, accuracy: 1e-4)
            XCTAssertEqual(row.genuine.p90, report.bands.genuineP90, accuracy: 1e-4)
            XCTAssertFalse(row.collapsed)
            XCTAssertLessThanOrEqual(row.genuine.p10, row.genuine.p90)
        }
        let svg = bands.svg()
        XCTAssertTrue(svg.hasPrefix("<svg") || svg.contains("<svg"))
        XCTAssertFalse(svg.contains(">collapse<"))
    }

    func testCollapsedEpochsAreMarkedAndOldHistoriesHaveNoBands() throws {
        let csv = """
            epoch,steps,mean_loss,val_eer,val_auc,val_tar_at_fmr1,seconds,pairs_per_second,kept,learning_rate,genuine_mean,genuine_p10,genuine_p90,impostor_mean,impostor_p10,impostor_p90,collapsed,model_fingerprint
            1,10,0.9,,,,1.0,100.0,0,0.001,0.2,0.1,0.3,0.9,0.5,1.4,0,abc
            2,10,1.8,,,,1.0,100.0,0,0.001,0.001,0.0,0.002,0.001,0.0,0.002,1,abc
            2,10,0.7,,,,1.0,100.0,1,0.0001,0.2,0.1,0.3,1.0,0.6,1.5,0,abc
            """
        let bands = try XCTUnwrap(TrainingBands(historyCSV: csv))
        XCTAssertEqual(bands.rows.map(\.collapsed), [false, true, false])
        XCTAssertTrue(bands.svg().contains("collapse"))
        XCTAssertNil(TrainingBands(historyCSV: "epoch,steps,mean_loss\n1,10,0.5\n"), "a history without distance columns")
    }
}
