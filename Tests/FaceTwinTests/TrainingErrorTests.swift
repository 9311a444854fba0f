import Foundation
import XCTest

@testable import FaceTwin
@testable import FaceTwinTraining

/// What a caller gives the training library and it cannot use is a thrown, typed error whose
/// message names values (never a command-line option); the CLI words the same errors with its
/// options, one line, exit status 2.
final class TrainingErrorTests: XCTestCase {
    static let config = NetworkConfig(inputHeight: 8, inputWidth: 8, channels: [4], hidden: [8], embeddingSize: 4)

    func testAStepOfAFrozenBackboneWithoutAHeadIsRefused() throws {
        let network = SiameseNetwork(config: Self.config, seed: 1)
        XCTAssertThrowsError(try TrainingStep(network: network, loss: ContrastiveLoss(), trainsBackbone: false)) {
            guard case TrainingError.backbone(.nothingToTrain) = $0 else { return XCTFail("\($0)") }
        }
        var headed = Self.config
        headed.head = .sigmoid
        XCTAssertNoThrow(
            try TrainingStep(network: SiameseNetwork(config: headed, seed: 1), loss: ContrastiveLoss(), trainsBackbone: false))

        let resnet = try DlibResNet(architecture: .reduced(widthDivisor: 32), seed: 1)
        XCTAssertThrowsError(
            try ResNetTrainingStep(network: resnet, margin: 1, learningRate: 1e-3, backboneScale: 0.01, trainsBackbone: false)
        ) {
            guard case TrainingError.backbone(.nothingToTrain) = $0 else { return XCTFail("\($0)") }
        }
    }

    func testAnImplausibleResNetArchitectureIsRefused() {
        var architecture = DlibResNetArchitecture.reduced(widthDivisor: 32)
        architecture.input.size = 4
        XCTAssertThrowsError(try DlibResNet(architecture: architecture, seed: 1)) {
            XCTAssertEqual($0 as? DlibResNetError, .implausibleArchitecture("input size 4 outside 8–1024"))
            XCTAssertEqual("\($0)", "implausible network architecture: input size 4 outside 8–1024")
        }
    }

    func testASummaryOfNoFoldsIsRefused() {
        XCTAssertThrowsError(try CrossValidationSummary(runs: [])) {
            guard case CrossValidationError.noFolds = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual("\($0)", "cross-validation: no fold to sum up")
        }
    }

    /// Every training error the library makes from the options names their values, not the
    /// CLI's options.
    func testLibraryMessagesNameValues() throws {
        let data = try ImageFolder(root: try Self.identities(self, count: 6).path, for: Self.config)
        func refusal(_ change: (inout TrainingOptions) -> Void) -> TrainingError? {
            var options = TrainingOptions(epochs: 1, batchSize: 4)
            change(&options)
            do {
                _ = try Trainer(config: Self.config, options: options, training: data, validation: nil)
                return nil
            } catch {
                return error
            }
        }
        var errors: [TrainingError] = [
            .diverged(epoch: 2, loss: .infinity, reference: 4, learningRate: 0.05),
            .diverged(epoch: 2, loss: 5e6, reference: 4, learningRate: 0.05),
            .collapsed(epoch: 3, restarts: 2, learningRate: 0.05)
        ]
        for e in errors { XCTAssertTrue(e.description.contains("(learning rate 0.05: try a smaller one)"), e.description) }
        let bestLoss = try XCTUnwrap(refusal { $0.keep = .bestLoss })
        guard case .validationLossNeeded(nil, .bestLoss) = bestLoss else { return XCTFail("\(bestLoss)") }
        let plateau = try XCTUnwrap(refusal { $0.reduceOnPlateau = PlateauReduction(factor: 0.5, patience: 2) })
        XCTAssertTrue(plateau.description.contains("factor 0.5, patience 2"), plateau.description)
        let frozen = try XCTUnwrap(refusal { $0.freezeBackbone = true })
        guard case .backbone(.nothingToTrain) = frozen else { return XCTFail("\(frozen)") }
        let learningRate = try XCTUnwrap(refusal { $0.learningRate = 50 })
        XCTAssertTrue(learningRate.description.hasPrefix("learning rate 50.0 is outside"), learningRate.description)
        errors += [bestLoss, plateau, frozen, learningRate]
        for e in errors {
            XCTAssertFalse(e.description.contains("--"), e.description)
            let fold = CrossValidationError.training(fold: 0, count: 2, e)
            XCTAssertFalse(fold.description.contains("--"), fold.description)
        }
    }

    /// Training options out of ``NetworkLimits`` are refused by the library, naming the field
    /// and its value (a negative hard share or images per identity would trap in the sampler),
    /// and by the CLI's options, naming the option, at the same bounds.
    func testTrainingOptionsAreHeldToNetworkLimits() throws {
        let l = NetworkConfig.limits
        let data = try ImageFolder(root: try Self.identities(self, count: 6).path, for: Self.config)
        let cases: [(String, (inout TrainingOptions) -> Void)] = [
            ("hard share -0.5", { $0.pairing = .identityBatches(imagesPerIdentity: 4, hardShare: -0.5) }),
            (
                "hard share \(l.hardShare.upperBound + 0.5)",
                { $0.pairing = .identityBatches(imagesPerIdentity: 4, hardShare: 1.5) }
            ),
            ("images per identity 0", { $0.pairing = .identityBatches(imagesPerIdentity: 0, hardShare: 0.5) }),
            ("weight decay 3000.0 is outside 0…1/learning rate", { $0.weightDecay = 3000 }),
            ("validation share 0.75", { $0.validationShare = 0.75 }),
            ("patience \(l.patience.upperBound + 1)", { $0.patience = l.patience.upperBound + 1 })
        ]
        for (expected, change) in cases {
            var options = TrainingOptions(epochs: 1, batchSize: 4)
            change(&options)
            XCTAssertThrowsError(try Trainer(config: Self.config, options: options, training: data, validation: nil)) {
                guard case TrainingError.invalidOption(let message) = $0 else { return XCTFail("\(expected): \($0)") }
                XCTAssertTrue(message.hasPrefix(expected), message)
                XCTAssertFalse(message.contains("--"), message)
            }
        }
        let train = ["train", "--data", "/nonexistent", "--out", "/tmp/never.safetensors"]
        let patience = try runFacetwin(train + ["--patience", "\(l.patience.upperBound + 1)"])
        XCTAssertEqual(patience.status, 2)
        XCTAssertTrue(patience.stderr.contains("--patience must be between 0 and \(l.patience.upperBound)"), patience.stderr)
        let plateau = try runFacetwin(train + ["--reduce-lr-on-plateau", "0.5,\(l.patience.upperBound + 1)"])
        XCTAssertEqual(plateau.status, 2)
        XCTAssertTrue(plateau.stderr.contains("--reduce-lr-on-plateau takes FACTOR,PATIENCE"), plateau.stderr)
        XCTAssertTrue(PlateauReduction(factor: 0.5, patience: l.patience.upperBound).isValid)
        XCTAssertFalse(PlateauReduction(factor: 1, patience: 1).isValid)
    }

    /// A plateau reduction out of its bounds, given with validation data.
    func testAPlateauReductionOutOfBoundsIsRefused() throws {
        let root = try Self.identities(self, count: 6)
        let data = try ImageFolder(root: root.path, for: Self.config, excluding: ["p0", "p1"])
        let held = try ImageFolder(root: root.path, for: Self.config, only: ["p0", "p1"])
        var options = TrainingOptions(epochs: 1, batchSize: 4)
        options.reduceOnPlateau = PlateauReduction(factor: 1.5, patience: 0)
        XCTAssertThrowsError(try Trainer(config: Self.config, options: options, training: data, validation: held)) {
            guard case TrainingError.invalidPlateauReduction(let p) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(p, PlateauReduction(factor: 1.5, patience: 0))
            XCTAssertEqual(
                "\($0)",
                "plateau reduction factor 1.5, patience 0: the factor must be in (0, 1) and the patience from 1 to 100000 epochs")
        }
    }

    /// Validation identities carved by `validationShare` are validation data: the best-loss
    /// epoch and the plateau reduction follow their loss.
    func testCarvedValidationGivesTheValidationLoss() throws {
        let data = try ImageFolder(root: try Self.identities(self, count: 8).path, for: Self.config)
        var options = TrainingOptions(epochs: 2, batchSize: 4)
        options.validationShare = 0.5
        options.keep = .bestLoss
        options.reduceOnPlateau = PlateauReduction(factor: 0.5, patience: 1)
        let trainer = try Trainer(config: Self.config, options: options, training: data, validation: nil)
        XCTAssertTrue(trainer.validationIsCarved)
        let result = try trainer.run()
        XCTAssertTrue(result.history.allSatisfy { $0.validationLoss != nil })
    }

    /// The CLI names its options for the same errors: one line, exit status 2.
    func testTheCommandLineNamesItsOptions() throws {
        let data = try Self.identities(self, count: 8).path
        let train = [
            "train", "--recipe", "reference", "--data", data, "--epochs", "1", "--size", "8", "--hidden", "8", "--batch", "2"
        ]
        let out = try temporaryDirectory(self).appendingPathComponent("m.safetensors").path
        for (given, option) in [
            (["--keep", "best-loss"], "--keep best-loss"), (["--reduce-lr-on-plateau", "0.5,2"], "--reduce-lr-on-plateau")
        ] {
            let r = try runFacetwin(train + given + ["--out", out])
            XCTAssertEqual(r.status, 2, r.stderr)
            XCTAssertEqual(
                r.stderr,
                "facetwin: error: \(option) needs validation data (the validation loss): give --holdout, --validation-share or --validation-pairs\n"
            )
        }
        let carved = try runFacetwin(train + ["--keep", "best-loss", "--validation-share", "0.5", "--quiet", "--out", out])
        XCTAssertEqual(carved.status, 0, carved.stderr)
    }

    /// `count` identities of three tiny images each (p0, p1, …).
    static func identities(_ test: XCTestCase, count: Int) throws -> URL {
        let root = try temporaryDirectory(test).appendingPathComponent("data")
        for p in 0..<count {
            let folder = root.appendingPathComponent("p\(p)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for i in 1...3 {
                try writePGM(folder.appendingPathComponent("\(i).pgm"), width: 12, height: 14) { x, y in
                    UInt8((x * (p + 3) + y * 11 + i * 40 + p * 29) % 256)
                }
            }
        }
        return root
    }
}
