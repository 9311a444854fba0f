import Foundation
import XCTest

@testable import FaceTwin

/// The fixture's folder, removed when the test process exits.
nonisolated(unsafe) private var evalFixtureDirectory: String?

/// A small model trained once per test run on ORL at 16×16 (every identity but s5, s6, s7,
/// which are held out), shared by the evaluation, calibration, report and CLI tests.
enum EvalFixture {
    static let size = 16
    static let config = NetworkConfig(inputHeight: size, inputWidth: size, hidden: [32])
    static let heldOut: Set<String> = ["s5", "s6", "s7"]
    nonisolated(unsafe) private static var cached: String?

    /// Path of the trained model file (in a temporary folder that lives for the test run).
    static func modelPath() throws -> String {
        if let cached { return cached }
        let orl = try orlDirectory()
        let train = try ImageFolder(root: orl, width: size, height: size, excluding: heldOut)
        let held = try ImageFolder(root: orl, width: size, height: size, only: heldOut)
        let result = try Trainer(
            config: config, options: TrainingOptions(epochs: 2, batchSize: 16, seed: 1),
            training: train, validation: held
        ).run()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("facetwin-evalfixture-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("model.safetensors").path
        try result.model.save(to: path)
        cached = path
        evalFixtureDirectory = dir.path
        atexit { if let d = evalFixtureDirectory { try? FileManager.default.removeItem(atPath: d) } }
        return path
    }

    /// A fresh copy of the model file in `dir`.
    static func copyModel(to dir: URL) throws -> String {
        let path = dir.appendingPathComponent("model.safetensors").path
        try FileManager.default.copyItem(atPath: try modelPath(), toPath: path)
        return path
    }
}

final class EvaluationTests: XCTestCase {
    func testAllPairsOfHeldOutIdentities() throws {
        let orl = try orlDirectory()
        let model = try FaceModel.load(path: try EvalFixture.modelPath())
        let e = try Evaluation(model: model, root: orl, identities: EvalFixture.heldOut)
        XCTAssertEqual(e.imagePaths.count, 30)
        XCTAssertEqual(e.pairCount, 435)
        XCTAssertEqual(e.metrics.genuineCount, 3 * 45)
        XCTAssertEqual(e.metrics.impostorCount, 435 - 135)
        XCTAssertEqual(e.identities, ["s5", "s6", "s7"])
        XCTAssertEqual(e.summary, "s5,s6,s7 (30 images, 435 pairs)")

        // The same figures as embedding the folder by hand and using the metric code directly.
        let folder = try ImageFolder(root: orl, width: 16, height: 16, only: EvalFixture.heldOut)
        let emb = model.network.embed(pixels: folder.pixels, count: folder.count)
        let pairs = try VerificationPairs.allPairs(embeddings: emb, dimension: 5, labels: folder.labels)
        XCTAssertEqual(e.distances, pairs.distances)
        XCTAssertEqual(e.genuine, pairs.genuine)
        XCTAssertEqual(e.metrics, try VerificationMetrics(distances: pairs.distances, genuine: pairs.genuine))
        // Pair indices point at the right images.
        let k = 200
        XCTAssertEqual(
            e.distances[k],
            Evaluation.distance(
                Array(emb[Int(e.first[k]) * 5..<Int(e.first[k]) * 5 + 5]),
                Array(emb[Int(e.second[k]) * 5..<Int(e.second[k]) * 5 + 5])))

        // Accuracy at the stored threshold (the training run's EER threshold on these identities).
        let t = try XCTUnwrap(model.info.threshold)
        XCTAssertEqual(e.storedThreshold, t)
        XCTAssertEqual(
            try XCTUnwrap(e.accuracyAtStoredThreshold),
            try VerificationMetrics.accuracy(distances: e.distances, genuine: e.genuine, threshold: t), accuracy: 1e-12)
        let rates = e.errorRates(atThreshold: t)
        XCTAssertEqual(1 - (rates.fmr * 300 + rates.fnmr * 135) / 435, e.accuracyAtStoredThreshold!, accuracy: 1e-12)

        let s = EvaluationSummary(e, model: "m")
        XCTAssertEqual(s.genuinePairs, 135)
        XCTAssertEqual(s.eer, e.metrics.eer)
        let decoded = try JSONDecoder().decode(EvaluationSummary.self, from: Data(s.json().utf8))
        XCTAssertEqual(decoded, s)
    }

    func testPairListGivesTheSameDistances() throws {
        let orl = try orlDirectory()
        let model = try FaceModel.load(path: try EvalFixture.modelPath())
        let all = try Evaluation(model: model, root: orl, identities: ["s5", "s6"])
        // The first 12 pairs of all-pairs order, written as a pair list relative to --root.
        var text = "image1,image2,same\n"
        for k in 0..<12 {
            text +=
                "\(all.shortName(ofImage: Int(all.first[k]))),\(all.shortName(ofImage: Int(all.second[k]))),\(all.genuine[k] ? 1 : 0)\n"
        }
        text += "s6/1.pgm,s5/1.pgm,0\n"  // an impostor pair, so both kinds are present
        let list = try PairList(text: text, file: "pairs.csv", root: orl, checkImagesExist: true)
        let e = try Evaluation(model: model, pairList: list)
        // The same distances up to float rounding (a batch of other size sums the GEMM differently).
        for k in 0..<12 { XCTAssertEqual(e.distances[k], all.distances[k], accuracy: 1e-5 * max(1, all.distances[k])) }
        XCTAssertEqual(e.imagePaths.count, 13, "each distinct image embedded once")
        XCTAssertEqual(e.metrics.genuineCount, 9)
        XCTAssertEqual(e.identities, ["s5", "s6"])
        XCTAssertEqual(e.summary, "pairs.csv (13 images, 13 pairs)")

        // Unlabelled lists can be scored but not evaluated.
        let unlabelled = try PairList(text: "s5/1.pgm,s5/2.pgm\n", file: "u.csv", root: orl)
        let single = try Evaluation.score(model: model, pairList: unlabelled).distances
        XCTAssertEqual(single.count, 1)
        XCTAssertEqual(single[0], all.distances[0], accuracy: 1e-5)
        XCTAssertThrowsError(try Evaluation(model: model, pairList: unlabelled)) { error in
            XCTAssertTrue("\(error)".hasPrefix("u.csv: the pair list has no \"same\" column"), "\(error)")
        }
        // Only genuine pairs: the rates are undefined, and the error says where.
        let onlySame = try PairList(text: "s5/1.pgm,s5/2.pgm,1\n", file: "g.csv", root: orl)
        XCTAssertThrowsError(try Evaluation(model: model, pairList: onlySame)) { error in
            XCTAssertTrue("\(error)".contains("g.csv: verification metrics: no impostor pairs"), "\(error)")
        }
        // A file that is not an image: its path in the error.
        let dir = try temporaryDirectory(self)
        let bad = dir.appendingPathComponent("bad.pgm")
        try Data("P5\n".utf8).write(to: bad)
        let withBad = try PairList(text: "bad.pgm,\(orl)/s5/1.pgm,0\n", file: "b.csv", root: dir.path)
        XCTAssertThrowsError(try Evaluation.score(model: model, pairList: withBad)) { error in
            XCTAssertTrue("\(error)".hasPrefix(bad.path), "\(error)")
        }
    }

    func testTrainingIdentityCheck() throws {
        let orl = try orlDirectory()
        let model = try FaceModel.load(path: try EvalFixture.modelPath())
        let check = TrainingIdentities(info: model.info)
        guard case .known(let trained, let heldOut, _) = check else { return XCTFail("\(check)") }
        XCTAssertEqual(trained.count, 37)
        XCTAssertEqual(heldOut, ["s5", "s6", "s7"])
        XCTAssertEqual(check.overlap(with: ["s5", "s6", "s7"]), [])
        XCTAssertEqual(check.overlap(with: ["s7", "s1", "s10", "s2"]), ["s1", "s2", "s10"])
        XCTAssertEqual(TrainingIdentities(info: ModelInfo(config: EvalFixture.config)), .noRecord)
        var moved = model.info
        moved.training?.data = orl + "/does-not-exist"
        // The names the model records hold wherever the folder went.
        XCTAssertEqual(TrainingIdentities(info: moved).overlap(with: ["s7", "s1"]), ["s1"])
        // A record without them is checked against the folder.
        moved.training?.trainedIdentities = nil
        guard case .unknown = TrainingIdentities(info: moved) else {
            return XCTFail("a missing training folder cannot be checked")
        }
        moved.training?.data = orl
        moved.training?.trainIdentities = 12
        guard case .unknown = TrainingIdentities(info: moved) else {
            return XCTFail("a count that does not add up cannot be checked")
        }
    }

    func testInputSizeMismatchIsAnError() throws {
        let orl = try orlDirectory()
        let model = try FaceModel.load(path: try EvalFixture.modelPath())
        let folder = try ImageFolder(root: orl, width: 20, height: 20, only: ["s1", "s2"])
        XCTAssertThrowsError(try Evaluation(model: model, folder: folder)) { error in
            XCTAssertTrue("\(error)".contains("the model takes 16×16"), "\(error)")
        }
        XCTAssertThrowsError(try Evaluation(model: model, root: orl, identities: ["s1", "nobody"])) { error in
            XCTAssertTrue("\(error)".contains("no identity folder named nobody"), "\(error)")
        }
    }
}
