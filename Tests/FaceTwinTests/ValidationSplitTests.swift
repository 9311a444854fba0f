import Foundation
import XCTest

@testable import FaceTwin

/// The validation split carved from the training identities: never an evaluation identity,
/// seeded, the kept weights the best validation epoch's, and early stopping by patience.
final class ValidationSplitTests: XCTestCase {
    static let size = 16
    static let config = NetworkConfig(inputHeight: size, inputWidth: size, channels: [4, 8], hidden: [16])
    /// Identities evaluated on, kept out of the training folder as crossval and `--holdout` do.
    static let evaluation: Set<String> = ["s5", "s6", "s7"]

    func trainingFolder() throws -> ImageFolder {
        try ImageFolder(
            root: try orlDirectory(), width: Self.size, height: Self.size,
            only: Set((5...18).map { "s\($0)" }).subtracting(Self.evaluation))
    }

    func options(epochs: Int, patience: Int = 0) -> TrainingOptions {
        var o = TrainingOptions(epochs: epochs, batchSize: 8, seed: 5)
        o.validationShare = 0.2
        o.patience = patience
        return o
    }

    func testSplitIsSeededAndLeavesBothSidesTwoIdentities() throws {
        let train = try trainingFolder()
        let a = train.validationIdentities(share: 0.2, seed: 1)
        XCTAssertEqual(a.count, 2, "0.2 of 11 identities, rounded")
        XCTAssertEqual(a, train.validationIdentities(share: 0.2, seed: 1))
        XCTAssertTrue(Set(a).isSubset(of: train.identities))
        XCTAssertEqual(train.validationIdentities(share: 0.01, seed: 1).count, 2, "at least 2")
        XCTAssertEqual(train.validationIdentities(share: 0, seed: 1), [])
        let (rest, held) = train.splitting(off: Set(a))
        XCTAssertEqual(held.identities, a)
        XCTAssertEqual(rest.identities, train.identities.filter { !a.contains($0) })
        XCTAssertEqual(rest.count + held.count, train.count)
        // The images travel with their identity: held image k is the training folder's image of that path.
        for (k, path) in held.paths.enumerated() {
            let i = train.paths.firstIndex(of: path)!
            XCTAssertEqual(Array(held.image(at: k)), Array(train.image(at: i)))
            XCTAssertEqual(held.identities[held.labels[k]], train.identities[train.labels[i]])
        }
        // Four identities cannot give 2 to validation and keep 2 after a larger share.
        let four = try ImageFolder(root: try orlDirectory(), width: 8, height: 8, only: ["s1", "s2", "s3", "s4"])
        XCTAssertEqual(four.validationIdentities(share: 0.5, seed: 0).count, 2)
        let three = try ImageFolder(root: try orlDirectory(), width: 8, height: 8, only: ["s1", "s2", "s3"])
        XCTAssertEqual(three.validationIdentities(share: 0.5, seed: 0), [], "too few to carve: no validation")
    }

    func testCarvedValidationNeverHoldsEvaluationIdentitiesAndTheBestEpochIsKept() throws {
        let train = try trainingFolder()
        let trainer = try Trainer(config: Self.config, options: options(epochs: 5), training: train, validation: nil)
        let validation = try XCTUnwrap(trainer.validation?.folder)
        XCTAssertTrue(trainer.validationIsCarved)
        XCTAssertEqual(validation.identities.count, 2)
        XCTAssertTrue(Set(validation.identities).isDisjoint(with: Self.evaluation), "never an evaluation identity")
        XCTAssertTrue(Set(validation.identities).isDisjoint(with: trainer.training.folder!.identities), "never trained on")
        XCTAssertEqual(trainer.training.folder!.identities.count + validation.identities.count, train.identities.count)

        let result = try trainer.run()
        XCTAssertEqual(result.history.count, 5)
        let best = result.history.min { a, b in
            a.validation!.eer < b.validation!.eer
                || (a.validation!.eer == b.validation!.eer && a.validation!.auc >= b.validation!.auc)
        }!
        XCTAssertEqual(result.bestEpoch, best.epoch)
        XCTAssertLessThan(result.bestEpoch, 5, "with this seed a later epoch is worse, so the kept weights are not the last ones")
        // The kept weights are the best epoch's: re-scoring the validation set reproduces its metrics.
        let emb = result.model.network.embed(pixels: validation.pixels, count: validation.count)
        let pairs = try VerificationPairs.allPairs(
            embeddings: emb, dimension: Self.config.embeddingSize, labels: validation.labels)
        let again = try VerificationMetrics(distances: pairs.distances, genuine: pairs.genuine)
        XCTAssertEqual(again.eer, best.validation!.eer, accuracy: 1e-12)
        XCTAssertEqual(again.auc, best.validation!.auc, accuracy: 1e-12)
        let t = try XCTUnwrap(result.model.info.training)
        XCTAssertEqual(t.validation, validation.identities)
        XCTAssertEqual(t.bestEpoch, best.epoch)
        XCTAssertEqual(t.trainIdentities, train.identities.count - 2)
        XCTAssertEqual(t.epochsRun, 5)
    }

    /// Crossval's folds carve their validation identities from their own training identities.
    func testCrossvalValidationComesFromEachFoldsTrainingIdentities() throws {
        let orl = try orlDirectory()
        let root = try temporaryDirectory(self).appendingPathComponent("eight")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        for k in 1...8 {
            try FileManager.default.copyItem(atPath: "\(orl)/s\(k)", toPath: root.appendingPathComponent("s\(k)").path)
        }
        var o = TrainingOptions(epochs: 2, batchSize: 8, seed: 2)
        o.validationShare = 0.25
        let config = NetworkConfig(inputHeight: 12, inputWidth: 12, channels: [2, 4], hidden: [16])
        let result = try CrossValidation(root: root.path, config: config, options: o, folds: 2).run()
        for f in result.folds {
            let t = try XCTUnwrap(f.model?.info.training)
            let validation = try XCTUnwrap(t.validation)
            XCTAssertEqual(validation.count, 2)
            XCTAssertTrue(Set(validation).isSubset(of: f.fold.trainIdentities))
            XCTAssertTrue(Set(validation).isDisjoint(with: f.fold.testIdentities))
            XCTAssertEqual(t.trainIdentities, 2)
            XCTAssertEqual(TrainingIdentities(info: f.model!.info).overlap(with: f.fold.testIdentities), [])
            XCTAssertEqual(TrainingIdentities(info: f.model!.info).overlap(with: validation), [])
        }
    }

    func testPatienceStopsAfterEpochsWithoutABetterValidationEER() throws {
        let train = try trainingFolder()
        let result = try Trainer(
            config: Self.config, options: options(epochs: 12, patience: 1), training: train, validation: nil
        ).run()
        let last = result.history.last!.epoch
        let t = try XCTUnwrap(result.model.info.training)
        XCTAssertEqual(t.epochsRun, last)
        XCTAssertEqual(t.patience, 1)
        if last < 12 {
            XCTAssertEqual(last - result.bestEpoch, 1, "stops one epoch after the last improvement")
        }
        // Every epoch before the last improved on all before it, else the run would have stopped there.
        for r in result.history.dropLast() {
            XCTAssertTrue(r.isBest, "epoch \(r.epoch) without an improvement, yet training went on")
        }
    }
}
