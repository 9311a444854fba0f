import Foundation
import XCTest

@testable import FaceTwin
@testable import FaceTwinTraining

/// `train --backbone` with dlib's ResNet (``ResNetFineTuner``): one fine-tuning step under a
/// sigmoid head against PyTorch, a frozen backbone left bit for bit as it was, the training loss
/// falling on a few ORL people, and the command line's refusals.
final class ResNetFineTuningTests: XCTestCase {
    /// scripts/make-golden.py --resnet-head (Fixtures/golden/resnet_head_step.safetensors): the
    /// narrow ResNet under a sigmoid head, a batch of 4 pairs, PyTorch's scores, loss, every
    /// gradient (the step run in float64) and every parameter after one Adam step with the backbone at 0.1 × the head's
    /// learning rate (`fine_tuning_optimizer` of scripts/facetwin_torch.py).
    func testFineTuningStepUnderAHeadMatchesPyTorch() throws {
        let path = packageRoot.appendingPathComponent("Tests/FaceTwinTests/Fixtures/golden/resnet_head_step.safetensors").path
        let file = try SafeTensorsFile(path: path)
        let architecture = try JSONDecoder().decode(
            DlibResNetArchitecture.self, from: Data(try XCTUnwrap(file.metadata["architecture"]).utf8))
        XCTAssertEqual(architecture.head, .sigmoid)
        let net = try DlibResNet(architecture: architecture, seed: nil)
        let state = net.stateTensors
        for (name, tensor) in state { tensor.copy(from: Tensor(shape: tensor.shape, values: try file.floats("init." + name))) }
        let lr = try file.floats("lr")[0], scale = try file.floats("backbone_scale")[0]
        let step = try ResNetTrainingStep(network: net, margin: 1, learningRate: lr, backboneScale: scale)
        XCTAssertEqual(step.backboneAdam?.learningRate, lr * scale)
        XCTAssertEqual(step.headAdam?.learningRate, lr)

        let side = architecture.input.size
        let images = Tensor(shape: [8, 3, side, side], values: try file.floats("x1") + file.floats("x2"))
        let labels = try file.floats("label")
        let pairs = labels.enumerated().map {
            IdentityBatchSampler.MinedPair(first: $0.offset, second: 4 + $0.offset, label: $0.element)
        }
        let loss = step.run(images: images) { _ in pairs }
        XCTAssertEqual(loss, try file.floats("loss")[0], accuracy: 1e-5 * max(1, abs(loss)))
        assertClose(try XCTUnwrap(net.head).lastScores, try file.floats("score"), "scores")

        let parameters = net.namedParameters + net.headParameters
        let expected = try parameters.map { try file.floats("grad." + $0.name) }
        let networkScale = expected.joined().reduce(Float(0)) { max($0, abs($1)) }
        // Within 1e-4 of each tensor's largest gradient: the head's BatchNorm over 4 distances
        // amplifies rounding (against the float64 step, PyTorch's own Float32 run is up to 4.4e-5
        // of the stem's scale off, FaceTwin's 3e-5).
        for ((name, p), e) in zip(parameters, expected) {
            assertClose(p.grad.toArray(), e, "gradient of \(name)", floor: 1e-6 * networkScale, share: 1)
        }
        // After the step: where the gradient is well above its rounding, Adam's first step is
        // ±(learning rate) exactly, the backbone's a tenth of the head's; where it cancels to
        // rounding, any step stays within the learning rate.
        let backboneNames = Set(net.namedParameters.map(\.name))
        for ((name, p), g) in zip(parameters, expected) {
            let rate = backboneNames.contains(name) ? lr * scale : lr
            let before = try file.floats("init." + name), after = try file.floats("after." + name)
            let gScale = g.reduce(Float(0)) { max($0, abs($1)) }
            for (i, w) in p.value.toArray().enumerated() {
                if abs(g[i]) > 1e-3 * gScale, abs(g[i]) > 1e-6 * networkScale {
                    XCTAssertEqual(w, after[i], accuracy: 1e-3 * rate + 1e-6 * abs(w), "\(name)[\(i)] after the step")
                } else {
                    XCTAssertLessThanOrEqual(abs(w - before[i]), rate * 1.001, "\(name)[\(i)] moved more than the learning rate")
                }
            }
        }
        let head = try XCTUnwrap(net.head)
        XCTAssertEqual(head.norm.runningMean.toArray()[0], try file.floats("after.head.0.running_mean")[0], accuracy: 1e-5)
        XCTAssertEqual(head.norm.runningVar.toArray()[0], try file.floats("after.head.0.running_var")[0], accuracy: 1e-4)
    }

    /// Identity folders of `identities` × `images` small grey images, distinct per identity.
    private func folder(identities: Int, images: Int, side: Int) throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ft-\(UUID().uuidString)")
        for id in 0..<identities {
            let dir = root.appendingPathComponent("p\(id)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            for i in 0..<images {
                try writePGM(dir.appendingPathComponent("\(i).pgm"), width: side, height: side) { x, y in
                    UInt8((x * (3 + id) + y * (5 + 2 * id) + i * 9 + id * 40) % 256)
                }
            }
        }
        addTeardownBlock { try? FileManager.default.removeItem(at: root) }
        return root
    }

    func testFrozenBackboneStaysBitIdenticalAndOnlyTheHeadLearns() throws {
        let architecture = DlibResNetArchitecture.reduced(widthDivisor: 16, embedding: 8)
        let backbone = try FaceModel(resnet: DlibResNet(architecture: architecture, seed: 5))
        let before = backbone.resnet!.namedParameters.map { $0.parameter.value.toArray() }
        let root = try folder(identities: 4, images: 3, side: 150)
        let data = try ImageFolder(root: root.path, for: backbone.config)
        var options = TrainingOptions.resNetFineTuning
        options.epochs = 3
        options.batchSize = 8
        options.freezeBackbone = true
        let tuner = try ResNetFineTuner(
            backbone: backbone, head: .sigmoid, options: options, data: .identities(data), validation: nil)
        let result = try tuner.run()
        let tuned = try XCTUnwrap(result.model.resnet)
        for ((name, p), b) in zip(tuned.namedParameters, before) {
            XCTAssertEqual(p.value.toArray().map(\.bitPattern), b.map(\.bitPattern), "\(name) changed under a frozen backbone")
        }
        // The backbone model itself is untouched too, and the head moved.
        for ((name, p), b) in zip(backbone.resnet!.namedParameters, before) {
            XCTAssertEqual(p.value.toArray().map(\.bitPattern), b.map(\.bitPattern), "the backbone's \(name) changed")
        }
        let head = try XCTUnwrap(tuned.head)
        XCTAssertNotEqual(head.dense.bias.value.toArray(), [0], "the head did not learn")
        XCTAssertEqual(result.model.info.training?.backboneFrozen, true)
        XCTAssertEqual(result.model.info.training?.backboneFingerprint, backbone.fingerprint)
        XCTAssertNil(result.model.info.training?.backboneLearningRateScale)

        // Written and read back: the head, its threshold, the training record.
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("ft-\(UUID().uuidString).safetensors").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: out) }
        try result.model.save(to: out)
        let loaded = try FaceModel.load(path: out)
        XCTAssertNotNil(loaded.resnet?.head)
        XCTAssertEqual(loaded.info.threshold, SigmoidHead.decision)
        XCTAssertEqual(loaded.fingerprint, result.model.fingerprint)
        XCTAssertEqual(loaded.info.training?.backboneFingerprint, backbone.fingerprint)
    }

    /// crossval of dlib's ResNet: subject-disjoint folds of its chips, each scored zero-shot (the
    /// backbone's own figure on the fold's people) or after fine-tuning on the other folds.
    func testCrossValidationZeroShotAndFineTuned() throws {
        let backbone = try FaceModel(resnet: DlibResNet(architecture: .reduced(widthDivisor: 16, embedding: 8), seed: 9))
        let chips = try ImageFolder(root: try folder(identities: 4, images: 3, side: 150).path, for: backbone.config)
        var options = TrainingOptions.resNetFineTuning
        options.epochs = 1
        options.batchSize = 4
        let zero = try CrossValidation(
            chips: chips, backbone: backbone, head: .distance, training: .zeroShot, options: options, folds: 2)
        zero.bootstrapResamples = 0
        let tuned = try CrossValidation(
            chips: chips, backbone: backbone, head: .distance, training: .fineTune, options: options, folds: 2)
        tuned.bootstrapResamples = 0
        let a = try zero.run(), b = try tuned.run()
        for (fz, ft) in zip(a.folds, b.folds) {
            XCTAssertEqual(fz.fold, ft.fold)
            XCTAssertTrue(Set(fz.fold.testIdentities).isDisjoint(with: fz.fold.trainIdentities))
            let alone = try Evaluation(model: backbone, root: chips.root, identities: Set(fz.fold.testIdentities))
            XCTAssertEqual(fz.metrics.eer, alone.metrics.eer, "zero-shot is the backbone's own figure")
            XCTAssertEqual(fz.trainImages, 0)
            XCTAssertTrue(fz.history.isEmpty)
            XCTAssertEqual(ft.trainImages, 6)
            XCTAssertEqual(ft.history.count, 1)
            XCTAssertEqual(ft.model?.info.training?.holdout, ft.fold.testIdentities)
            XCTAssertNotEqual(ft.model?.fingerprint, backbone.fingerprint, "the fold's model was fine-tuned")
        }
    }

    /// Labelled pairs instead of identity folders: each step takes the next listed pairs.
    func testFineTunesOnLabelledPairs() throws {
        let backbone = try FaceModel(resnet: DlibResNet(architecture: .reduced(widthDivisor: 16, embedding: 8), seed: 4))
        let root = try folder(identities: 3, images: 2, side: 150)
        func image(_ id: Int, _ i: Int) -> String { root.appendingPathComponent("p\(id)/\(i).pgm").path }
        let list = [
            (image(0, 0), image(0, 1), true), (image(0, 0), image(1, 0), false), (image(1, 0), image(1, 1), true),
            (image(2, 0), image(1, 1), false)
        ]
        let pairs = try PairImages(source: "pairs.csv", pairs: list.map { ($0.0, $0.1, $0.2) }, for: backbone.config)
        var options = TrainingOptions.resNetFineTuning
        options.epochs = 2
        options.batchSize = 2
        let tuner = try ResNetFineTuner(
            backbone: backbone, head: .distance, options: options, data: .pairs(pairs), validation: .pairs(pairs))
        let result = try tuner.run()
        XCTAssertEqual(result.history.map(\.steps), [2, 2])
        XCTAssertEqual(result.model.info.training?.trainPairs, 4)
        XCTAssertEqual(result.model.info.training?.recipe, "resnet-fine-tune", "the recipe's name, as model files record it")
        XCTAssertEqual(result.model.info.thresholdMethod, "EER on validation pairs pairs.csv")
        XCTAssertNotNil(result.history.last?.validation)
    }

    /// A score head whose running variance is negative computes NaN: the file is refused.
    func testHeadWithANegativeVarianceIsRefused() throws {
        var architecture = DlibResNetArchitecture.reduced(widthDivisor: 32)
        architecture.head = .sigmoid
        let network = try DlibResNet(architecture: architecture, seed: 2)
        try XCTUnwrap(network.head).norm.runningVar.fill(-0.5)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ft-\(UUID().uuidString).safetensors").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        try FaceModel(resnet: network).save(to: path)
        XCTAssertThrowsError(try FaceModel.load(path: path)) {
            XCTAssertEqual("\($0)", "\(path): tensor head.0.running_var holds a negative variance (-0.5)")
        }
    }

    func testBackboneRulesAreTypedErrors() throws {
        let backbone = try FaceModel(
            resnet: DlibResNet(architecture: .reduced(widthDivisor: 16, embedding: 8), seed: 5))
        let data = try ImageFolder(root: try folder(identities: 2, images: 2, side: 150).path, for: backbone.config)
        var options = TrainingOptions.resNetFineTuning
        options.freezeBackbone = true
        XCTAssertThrowsError(
            try ResNetFineTuner(backbone: backbone, head: .distance, options: options, data: .identities(data), validation: nil)
        ) {
            guard case TrainingError.backbone(.nothingToTrain) = $0 else { return XCTFail("\($0)") }
        }
        options.freezeBackbone = false
        options.backboneLearningRateScale = 0
        XCTAssertThrowsError(
            try ResNetFineTuner(backbone: backbone, head: .distance, options: options, data: .identities(data), validation: nil)
        ) {
            guard case TrainingError.backbone(.learningRateScale(0)) = $0 else { return XCTFail("\($0)") }
        }
        // A twin given as the ResNet's backbone, and a twin backbone of another input.
        let twin = FaceModel(network: SiameseNetwork(config: .reference, seed: 1), info: ModelInfo(config: .reference))
        XCTAssertThrowsError(
            try ResNetFineTuner(
                backbone: twin, head: .distance, options: .resNetFineTuning, data: .identities(data), validation: nil)
        ) {
            guard case TrainingError.backbone(.wrongKind) = $0 else { return XCTFail("\($0)") }
        }
        var other = NetworkConfig.reference
        other.inputWidth = 64
        XCTAssertThrowsError(try Backbone.twinConfiguration(backbone: .reference, run: other, freeze: false)) {
            XCTAssertEqual($0 as? BackboneError, .inputMismatch(backbone: "100x100 grey", run: "64x100 grey"))
        }
        // Images that are not the ResNet's chips.
        let grey = try ImageFolder(root: try folder(identities: 2, images: 2, side: 150).path, width: 150, height: 150)
        XCTAssertThrowsError(
            try ResNetFineTuner(
                backbone: backbone, head: .distance, options: .resNetFineTuning, data: .identities(grey), validation: nil)
        ) {
            guard case TrainingError.sizeMismatch = $0 else { return XCTFail("\($0)") }
        }
    }

    /// The pretrained network fine-tuned on 4 ORL people (4 chips each): its contrastive loss
    /// over all their pairs (genuine and impostor means, margin 1) falls.
    func testFineTuningOnAFewORLPeopleLowersTheTrainingLoss() throws {
        let backbone = try FaceModel.load(path: try DlibModels.path("dlib-resnet.safetensors"))
        let landmarks = try XCTUnwrap(backbone.landmarkModel)
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ft-orl-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: root) }
        for id in ["s1", "s2", "s3", "s4"] {
            let dir = root.appendingPathComponent(id)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            for i in 1...4 {
                try FileManager.default.copyItem(
                    at: packageRoot.appendingPathComponent("data/orl/\(id)/\(i).pgm"), to: dir.appendingPathComponent("\(i).pgm"))
            }
        }
        let preparer = FacePreparer(chipsWith: landmarks, modelName: "landmarks", mode: .auto, policy: .refuse)
        let chips = try ImageFolder(root: root.path, for: backbone.config, preparer: preparer)
        XCTAssertEqual(chips.count, 16)
        var options = TrainingOptions.resNetFineTuning
        options.epochs = 4
        let tuner = try ResNetFineTuner(
            backbone: backbone, head: .distance, options: options, data: .identities(chips), validation: nil)
        let result = try tuner.run()
        func loss(_ network: any EmbeddingNetwork) throws -> Double {
            let e = network.embed(pixels: chips.pixels, count: chips.count)
            let pairs = try VerificationPairs.allPairs(embeddings: e, dimension: 128, labels: chips.labels)
            var genuine: [Double] = [], impostor: [Double] = []
            for (d, same) in zip(pairs.distances, pairs.genuine) {
                if same { genuine.append(Double(d * d)) } else { impostor.append(Double(pow(max(0, 1 - d), 2))) }
            }
            return genuine.reduce(0, +) / Double(genuine.count) + impostor.reduce(0, +) / Double(impostor.count)
        }
        let start = try loss(backbone.network), end = try loss(result.model.network)
        XCTAssertLessThan(end, start, "training loss \(start) → \(end)")
        XCTAssertEqual(result.model.info.training?.backboneLearningRateScale, options.backboneLearningRateScale)
        XCTAssertEqual(result.model.landmarkModel, backbone.landmarkModel, "the chip record (landmark model) is kept")
        XCTAssertEqual(result.model.resnet?.architecture.chip, backbone.resnet?.architecture.chip)
    }

    /// The command line's refusals: one line, exit 2, no model written.
    func testCommandLineRefusesBadBackboneOptionsWritingNothing() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ft-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let resnet = dir.appendingPathComponent("r.safetensors").path
        try FaceModel(resnet: DlibResNet(architecture: .reduced(widthDivisor: 32), seed: 1)).save(to: resnet)
        let data = try folder(identities: 2, images: 2, side: 16).path
        let out = dir.appendingPathComponent("m.safetensors").path
        let cases: [([String], String)] = [
            (
                ["--backbone-lr-scale", "1.5"],
                "facetwin: error: --backbone-lr-scale must be above 0 and at most 1 (got 1.5)\n"
            ),
            (
                ["--size", "32", "--color"],
                "facetwin: error: \(resnet): holds dlib's ResNet, which has its own layers and input; --size, --color describe a twin's (leave them out)\n"
            ),
            (
                ["--freeze-backbone"],
                "facetwin: error: --freeze-backbone with --head distance leaves nothing to train; give --head sigmoid\n"
            ),
            (
                [],
                "facetwin: error: \(resnet): the model file carries no landmark model (landmarks.shape_predictor_5) to cut chips with: convert it again with facetwin import-dlib\n"
            )
        ]
        for (extra, message) in cases {
            let r = try runFacetwin(["train", "--data", data, "--backbone", resnet, "--out", out] + extra)
            XCTAssertEqual(r.status, 2, "\(extra)")
            XCTAssertEqual(r.stderr, message)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "\(extra): a model was written")
        }
        let zero = try runFacetwin(["crossval", "--data", data, "--zero-shot"])
        XCTAssertEqual(zero.status, 2)
        XCTAssertTrue(zero.stderr.hasPrefix("facetwin: error: --zero-shot goes with --backbone MODEL\n"), zero.stderr)
    }

    private func assertClose(
        _ a: [Float], _ b: [Float], _ what: String, floor: Float = 0, share: Float = 0.2, file: StaticString = #filePath,
        line: UInt = #line
    ) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        let scale = b.reduce(Float(0)) { max($0, abs($1)) }
        for (i, (x, y)) in zip(a, b).enumerated() where !(abs(x - y) <= 1e-4 * max(abs(y), share * scale) + floor) {
            return XCTFail("\(what)[\(i)]: \(x) vs PyTorch \(y)", file: file, line: line)
        }
    }
}
