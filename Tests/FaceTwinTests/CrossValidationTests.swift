import Foundation
import XCTest

@testable import FaceTwin
@testable import FaceTwinTraining

/// Subject-disjoint folds: the split, and a tiny end-to-end run.
final class CrossValidationTests: XCTestCase {
    let forty = (1...40).map { "s\($0)" }

    func testFoldsAreDisjointCoverEverythingAndFollowTheSeed() throws {
        let folds = try CrossValidation.split(forty, folds: 5, seed: 0)
        XCTAssertEqual(folds.count, 5)
        XCTAssertEqual(folds.map(\.index), [0, 1, 2, 3, 4])
        XCTAssertEqual(folds.map(\.testIdentities.count), [8, 8, 8, 8, 8])
        var seen = Set<String>()
        for f in folds {
            XCTAssertTrue(seen.isDisjoint(with: f.testIdentities), "test folds are disjoint")
            seen.formUnion(f.testIdentities)
            XCTAssertEqual(Set(f.trainIdentities).intersection(f.testIdentities), [], "never train on a fold's test identities")
            XCTAssertEqual(Set(f.trainIdentities).union(f.testIdentities), Set(forty))
            XCTAssertEqual(f.testIdentities, NaturalOrder.sorted(f.testIdentities))
        }
        XCTAssertEqual(seen, Set(forty), "every identity is tested once")
        XCTAssertEqual(try CrossValidation.split(forty, folds: 5, seed: 0), folds, "same seed, same folds")
        XCTAssertNotEqual(try CrossValidation.split(forty, folds: 5, seed: 1).map(\.testIdentities), folds.map(\.testIdentities))
        XCTAssertNotEqual(
            folds[0].testIdentities, ["s1", "s6", "s11", "s16", "s21", "s26", "s31", "s36"], "shuffled, not dealt in order")

        // Uneven: 11 identities in 3 folds → 4, 4, 3.
        let uneven = try CrossValidation.split(Array(forty.prefix(11)), folds: 3, seed: 7)
        XCTAssertEqual(uneven.map(\.testIdentities.count), [4, 4, 3])
    }

    func testTooManyFoldsIsAClearError() {
        XCTAssertThrowsError(try CrossValidation.split(["a", "b", "c", "d", "e"], folds: 3, seed: 0)) { error in
            XCTAssertEqual(
                "\(error)", "3 folds need at least 6 identities (2 a fold, so that each test fold has impostor pairs); found 5")
        }
        XCTAssertThrowsError(try CrossValidation.split(["a", "b"], folds: 5, seed: 0))
        XCTAssertThrowsError(try CrossValidation.split(forty, folds: 1, seed: 0)) { error in
            XCTAssertTrue("\(error)".contains("at least 2 folds"), "\(error)")
        }
    }

    /// Two folds of three ORL identities each (a copy of s1–s6), one epoch at 12×12.
    func testTinyRunReportsEveryFold() throws {
        let orl = try orlDirectory()
        let root = try temporaryDirectory(self).appendingPathComponent("six")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        for k in 1...6 {
            try FileManager.default.copyItem(atPath: "\(orl)/s\(k)", toPath: root.appendingPathComponent("s\(k)").path)
        }
        let config = NetworkConfig(inputHeight: 12, inputWidth: 12, channels: [2, 4], hidden: [16])
        let cv = try CrossValidation(
            root: root.path, config: config, options: TrainingOptions(epochs: 1, batchSize: 8, seed: 3), folds: 2)
        var events: [String] = []
        let result = try cv.run { event in
            switch event {
            case .foldStarted(let f, let train, let test): events.append("start \(f.index) \(train) \(test)")
            case .epoch(let f, let r): events.append("epoch \(f.index) \(r.epoch)")
            case .foldFinished(let r): events.append("done \(r.fold.index)")
            }
        }
        XCTAssertEqual(events, ["start 0 30 30", "epoch 0 1", "done 0", "start 1 30 30", "epoch 1 1", "done 1"])
        XCTAssertEqual(result.folds.count, 2)
        for f in result.folds {
            XCTAssertEqual(f.metrics.genuineCount, 3 * 45)
            XCTAssertEqual(f.metrics.impostorCount, 435 - 135)
            XCTAssertEqual(f.history.count, 1)
            XCTAssertEqual(f.model!.info.training?.holdout, f.fold.testIdentities, "the fold model records its unseen identities")
            XCTAssertEqual(f.model!.info.training?.trainIdentities, 3)
            XCTAssertEqual(f.model!.info.training?.bestEpoch, 1, "no epoch selection: the last epoch is kept")
            XCTAssertEqual(TrainingIdentities(info: f.model!.info).overlap(with: f.fold.testIdentities), [])
        }
        XCTAssertEqual(Set(result.folds.flatMap(\.fold.testIdentities)), Set((1...6).map { "s\($0)" }))
        XCTAssertEqual(result.eer.mean, (result.folds[0].metrics.eer + result.folds[1].metrics.eer) / 2, accuracy: 1e-12)
        let d = result.folds[0].metrics.eer - result.folds[1].metrics.eer
        XCTAssertEqual(result.eer.standardDeviation, abs(d) / 2.0.squareRoot(), accuracy: 1e-12, "sample standard deviation")
    }

    func testStatistic() {
        let s = CrossValidationStatistic([0.1, 0.2, 0.3, 0.4])
        XCTAssertEqual(s.mean, 0.25, accuracy: 1e-12)
        XCTAssertEqual(s.standardDeviation, (0.05 / 3).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(s.minimum, 0.1)
        XCTAssertEqual(s.maximum, 0.4)
    }

    /// `facetwin crossval` at a tiny size: a line per fold and the mean ± sd, JSON too.
    func testCrossvalCommand() throws {
        let orl = try orlDirectory()
        let root = try temporaryDirectory(self)
        let data = root.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        for k in 1...4 {
            try FileManager.default.copyItem(atPath: "\(orl)/s\(k)", toPath: data.appendingPathComponent("s\(k)").path)
        }
        let args = [
            "crossval", "--data", data.path, "--folds", "2", "--epochs", "1", "--size", "10", "--channels", "2",
            "--hidden", "8", "--batch", "4"
        ]
        let r = try runFacetwin(args + ["--models", root.appendingPathComponent("models").path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("fold 1/2  epoch   1/1"), r.stderr)
        XCTAssertTrue(r.stdout.contains("  mean EER "), r.stdout)
        XCTAssertTrue(r.stdout.contains("TAR@FMR=1%"), r.stdout)
        XCTAssertTrue(
            r.stdout.contains(
                "  mean TAR at FMR 1 %: not supported (seed 0 fold 1: not supported by 100 impostor pairs (needs ≥ 300))"),
            r.stdout)
        XCTAssertEqual(
            r.stdout.split(separator: "\n").filter { $0.hasPrefix("   0     1  ") || $0.hasPrefix("   0     2  ") }.count, 2,
            r.stdout)
        let saved = try FaceModel.load(path: root.appendingPathComponent("models/fold-2.safetensors").path)
        XCTAssertEqual(saved.info.training?.holdout.count, 2)

        let j = try runFacetwin(args + ["--json", "--quiet", "--seed", "4"])
        XCTAssertEqual(j.status, 0, j.stderr)
        XCTAssertEqual(j.stderr, "")
        let object = try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any]
        XCTAssertEqual((object?["results"] as? [Any])?.count, 2)
        XCTAssertNotNil((object?["eer"] as? [String: Any])?["standardDeviation"])

        let tooMany = try runFacetwin([
            "crossval", "--recipe", "reference", "--data", data.path, "--folds", "3", "--epochs", "1", "--size", "8"
        ])
        XCTAssertEqual(tooMany.status, 2)
        XCTAssertTrue(tooMany.stderr.contains("3 folds need at least 6 identities"), tooMany.stderr)
    }
}
