import Foundation
import XCTest

@testable import FaceTwin

/// `--backbone MODEL [--freeze-backbone]`: the twin starts from a trained model; frozen, only
/// the score head learns and the backbone's layers never get gradient buffers.
final class BackboneTests: XCTestCase {
    static let config = NetworkConfig(inputHeight: 16, inputWidth: 16, channels: [4, 8], hidden: [16], inputChannels: 3)

    func backbone() throws -> FaceModel {
        let folder = try ImageFolder(root: try orlDirectory(), for: Self.config, only: Set((8...14).map { "s\($0)" }))
        return try Trainer(
            config: Self.config, options: TrainingOptions(epochs: 1, batchSize: 8, seed: 1), training: folder, validation: nil
        )
        .run().model
    }

    func pairs(_ dir: URL, _ config: NetworkConfig) throws -> (TrainingData, TrainingData) {
        try PairDataTests.makePairFolders(dir.appendingPathComponent("train"), count: 24, people: 15...30)
        try PairDataTests.makePairFolders(dir.appendingPathComponent("val"), count: 8, people: 1...7)
        let train = try PairImages(try PairList(pairFolders: dir.appendingPathComponent("train").path).labelledPairs, for: config)
        let val = try PairImages(try PairList(pairFolders: dir.appendingPathComponent("val").path).labelledPairs, for: config)
        return (.pairs(train), .pairs(val))
    }

    func testFrozenBackboneTrainsOnlyTheHead() throws {
        let base = try backbone()
        var config = Self.config
        config.head = .sigmoid
        let (train, val) = try pairs(try temporaryDirectory(self), config)
        var options = TrainingOptions(epochs: 2, batchSize: 8, margin: 1, seed: 3)
        options.freezeBackbone = true
        let trainer = try Trainer(config: config, options: options, data: train, validation: val)
        trainer.backbone = base.siamese!
        trainer.backbonePath = "base.safetensors"
        let result = try trainer.run()
        let net = result.model.siamese!
        // The library's model records where the backbone came from and that it was frozen.
        XCTAssertEqual(result.model.info.training?.backbone, "base.safetensors")
        XCTAssertEqual(result.model.info.training?.backboneFrozen, true)
        let before = Dictionary(uniqueKeysWithValues: base.siamese!.stateTensors.map { ($0.name, $0.tensor.toArray()) })
        for (name, tensor) in net.stateTensors where !name.hasPrefix("head.") {
            XCTAssertEqual(tensor.toArray(), before[name], "\(name) is the backbone's")
        }
        XCTAssertEqual(net.batchNorms.map(\.layer.numBatchesTracked), base.siamese!.batchNorms.map(\.layer.numBatchesTracked))
        for (name, p) in net.namedParameters where !name.hasPrefix("head.") {
            XCTAssertFalse(p.hasGradientBuffer, "\(name) has a gradient buffer")
        }
        XCTAssertTrue(net.head!.dense.weight.hasGradientBuffer)
        XCTAssertGreaterThan(net.head!.norm.numBatchesTracked, 0)

        // Without --freeze-backbone the backbone is fine-tuned.
        options.freezeBackbone = false
        let tuner = try Trainer(config: config, options: options, data: train, validation: val)
        tuner.backbone = base.siamese!
        let tunedModel = try tuner.run().model
        XCTAssertEqual(tunedModel.info.training?.backbone, "(not recorded)")
        XCTAssertEqual(tunedModel.info.training?.backboneFrozen, false)
        let tuned = tunedModel.siamese!
        XCTAssertNotEqual(tuned.stateTensors.first { $0.name == "cnn1.1.weight" }!.tensor.toArray(), before["cnn1.1.weight"])

        // A frozen backbone with the distance head has nothing to train.
        options.freezeBackbone = true
        XCTAssertThrowsError(try Trainer(config: Self.config, options: options, data: train, validation: val))
    }

    func testBackboneThroughTheCLI() throws {
        let dir = try temporaryDirectory(self)
        let base = dir.appendingPathComponent("base.safetensors").path
        try backbone().save(to: base)
        try PairDataTests.makePairFolders(dir.appendingPathComponent("train"), count: 24, people: 15...30)
        let model = dir.appendingPathComponent("m.safetensors").path
        let common = ["train", "--pair-folders", dir.appendingPathComponent("train").path, "--epochs", "1", "--batch", "8"]
        let r = try runFacetwin(
            common + ["--size", "16", "--color", "--head", "sigmoid", "--backbone", base, "--freeze-backbone", "--out", model])
        XCTAssertEqual(r.status, 0, r.stderr)
        let info = try runFacetwin(["info", "--model", model])
        XCTAssertTrue(info.stdout.contains("backbone: \(base) (frozen: only the head trained)"), info.stdout)
        XCTAssertTrue(info.stdout.contains("head: sigmoid"), info.stdout)

        let grey = try runFacetwin(common + ["--size", "16", "--head", "sigmoid", "--backbone", base, "--out", model + "2"])
        XCTAssertEqual(grey.status, 2)
        XCTAssertEqual(
            grey.stderr,
            "facetwin: error: \(base): the backbone takes 16x16 colour input, the options ask for 16x16 grey input (give --size and --color to match)\n"
        )
        let distance = try runFacetwin(
            common + ["--size", "16", "--color", "--backbone", base, "--freeze-backbone", "--out", model + "3"])
        XCTAssertEqual(distance.status, 2)
        XCTAssertTrue(distance.stderr.contains("leaves nothing to train"), distance.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: model + "2"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: model + "3"))
    }
}
