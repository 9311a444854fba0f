import Foundation
import XCTest

@testable import FaceTwin
@testable import FaceTwinEvaluation
@testable import FaceTwinTraining

/// Bootstrap intervals, the rule of three for TAR at FMR, crossval over several seeds, and the
/// duplicate-image check before cross-validation.
final class HonestFiguresTests: XCTestCase {
    /// All pairs of `perIdentity` images of `identities` identities, embeddings drawn around a
    /// centre per identity (seeded), as distances with the pairs' identities.
    func syntheticPairs(identities: Int, perIdentity: Int, spread: Double, seed: UInt64)
        -> (distances: [Float], genuine: [Bool], first: [Int], second: [Int])
    {
        var rng = RandomSource(seed: seed)
        func normal() -> Double {
            let u = max(Double(rng.next() >> 11) / Double(1 << 53), 1e-300), v = Double(rng.next() >> 11) / Double(1 << 53)
            return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
        }
        let dimension = 4
        var embeddings: [Float] = [], labels: [Int] = []
        for i in 0..<identities {
            let centre = (0..<dimension).map { _ in normal() }
            for _ in 0..<perIdentity {
                embeddings += centre.map { Float($0 + spread * normal()) }
                labels.append(i)
            }
        }
        let scored = try! VerificationPairs.allPairs(embeddings: embeddings, dimension: dimension, labels: labels)
        var first: [Int] = [], second: [Int] = []
        for i in labels.indices { for j in (i + 1)..<labels.count { first.append(labels[i]); second.append(labels[j]) } }
        return (scored.distances, scored.genuine, first, second)
    }

    func testPerfectlySeparatedIdentitiesGiveAZeroEERInterval() throws {
        // 30 identities × 3 images: genuine distances 0.1…0.2, impostor 1…2.
        var distances: [Float] = [], genuine: [Bool] = [], first: [Int] = [], second: [Int] = []
        let labels = (0..<90).map { $0 / 3 }
        for i in labels.indices {
            for j in (i + 1)..<labels.count {
                let same = labels[i] == labels[j]
                distances.append(same ? 0.1 + Float(i % 7) / 70 : 1 + Float((i * j) % 11) / 11)
                genuine.append(same)
                first.append(labels[i]); second.append(labels[j])
            }
        }
        let engine = try VerificationBootstrap(
            distances: distances, genuine: genuine, firstIdentity: first, secondIdentity: second)
        let b = engine.intervals(resamples: 500, seed: 1)
        XCTAssertEqual(b.unit, .identities)
        XCTAssertEqual(b.units, 30)
        XCTAssertEqual(b.validResamples, 500)
        XCTAssertEqual(b.eer, ConfidenceInterval(lower: 0, upper: 0))
        XCTAssertEqual(b.tarAtFMR1Percent, ConfidenceInterval(lower: 1, upper: 1), "3915 impostor pairs support 1 %")
        XCTAssertEqual(b.tarAtFMR0_1Percent, ConfidenceInterval(lower: 1, upper: 1))
    }

    func testUnitWeightsGiveExactlyThePointEstimates() throws {
        let p = syntheticPairs(identities: 12, perIdentity: 5, spread: 0.8, seed: 3)
        let m = try VerificationMetrics(distances: p.distances, genuine: p.genuine)
        let engine = try VerificationBootstrap(
            distances: p.distances, genuine: p.genuine, firstIdentity: p.first, secondIdentity: p.second)
        let point = engine.pointEstimates()
        XCTAssertEqual(point.eer, m.eer, accuracy: 1e-12)
        XCTAssertEqual(point.tarAtFMR1Percent, m.tarAtFMR1Percent.measuredTAR, accuracy: 1e-12)
        XCTAssertEqual(point.tarAtFMR0_1Percent, m.tarAtFMR0_1Percent.measuredTAR, accuracy: 1e-12)
        XCTAssertGreaterThan(m.eer, 0.02, "an overlapping case, not a trivial one")
    }

    func testSeededIntervalContainsTheEstimateAndNarrowsWithMoreIdentities() throws {
        var widths: [Double] = []
        for k in [10, 40] {
            let p = syntheticPairs(identities: k, perIdentity: 5, spread: 0.8, seed: 11)
            let m = try VerificationMetrics(distances: p.distances, genuine: p.genuine)
            let engine = try VerificationBootstrap(
                distances: p.distances, genuine: p.genuine, firstIdentity: p.first, secondIdentity: p.second)
            let start = Date()
            let b = engine.intervals(resamples: 1000, seed: 7)
            let seconds = Date().timeIntervalSince(start)
            XCTAssertLessThan(seconds, 3, "\(p.distances.count) pairs × 1000 resamples took \(seconds) s")
            XCTAssertTrue(b.eer.contains(m.eer), "\(k) identities: \(b.eer) should contain \(m.eer)")
            XCTAssertGreaterThan(b.eer.width, 0)
            XCTAssertEqual(engine.intervals(resamples: 1000, seed: 7), b, "same seed, same interval")
            XCTAssertNotEqual(engine.intervals(resamples: 1000, seed: 8).eer, b.eer)
            widths.append(b.eer.width)
        }
        XCTAssertLessThan(widths[1], widths[0] * 0.75, "40 identities give a narrower interval than 10: \(widths)")
    }

    func testPairsAreResampledWhenIdentitiesDisagreeWithTheLabels() throws {
        let p = syntheticPairs(identities: 8, perIdentity: 4, spread: 0.8, seed: 5)
        var genuine = p.genuine
        genuine[0].toggle()
        XCTAssertThrowsError(
            try VerificationBootstrap(distances: p.distances, genuine: genuine, firstIdentity: p.first, secondIdentity: p.second)
        ) {
            XCTAssertEqual($0 as? BootstrapError, .labelsDisagree(pair: 0))
        }
        let engine = try VerificationBootstrap(distances: p.distances, genuine: p.genuine, note: "identities unknown")
        let b = engine.intervals(resamples: 200, seed: 0)
        XCTAssertEqual(b.unit, .pairs)
        XCTAssertEqual(b.units, p.distances.count)
        XCTAssertEqual(b.note, "identities unknown")
        XCTAssertTrue(b.eer.contains(engine.pointEstimates().eer))
    }

    func testRuleOfThreeAtItsBoundary() throws {
        XCTAssertEqual(TARAtFMR.impostorPairsNeeded(forFMR: 0.01), 300)
        XCTAssertEqual(TARAtFMR.impostorPairsNeeded(forFMR: 0.001), 3000)
        XCTAssertFalse(TARAtFMR.isSupported(fmr: 0.001, impostorPairs: 2999))
        XCTAssertTrue(TARAtFMR.isSupported(fmr: 0.001, impostorPairs: 3000))
        XCTAssertFalse(TARAtFMR.isSupported(fmr: 0.01, impostorPairs: 299))
        XCTAssertTrue(TARAtFMR.isSupported(fmr: 0.01, impostorPairs: 300))

        let refused = TARAtFMR(targetFMR: 0.001, measuredTAR: 0.9, measuredThreshold: 1.5, impostorPairs: 2999)
        XCTAssertNil(refused.tar)
        XCTAssertNil(refused.threshold)
        XCTAssertEqual(refused.unsupportedReason, "not supported by 2999 impostor pairs (needs ≥ 3000)")
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(refused)) as! [String: Any]
        XCTAssertTrue(json["tar"] is NSNull, "null, not a number: \(json)")
        XCTAssertTrue(json["threshold"] is NSNull)
        XCTAssertEqual(json["unsupportedReason"] as? String, "not supported by 2999 impostor pairs (needs ≥ 3000)")
        XCTAssertEqual(json["impostorPairsNeeded"] as? Int, 3000)

        let kept = TARAtFMR(targetFMR: 0.001, measuredTAR: 0.9, measuredThreshold: 1.5, impostorPairs: 3000)
        XCTAssertEqual(kept.tar, 0.9)
        XCTAssertEqual(kept.threshold, 1.5)
        XCTAssertNil(kept.unsupportedReason)

        // Through the metrics: 2 × 3 images → 9 impostor pairs, far below 300.
        let m = try VerificationMetrics(
            distances: [0.1, 0.2, 0.9, 0.8, 0.7, 0.95, 1, 1.1, 1.2, 0.3, 0.15, 0.25, 0.35, 1.3, 0.05],
            genuine: [true, true, false, false, false, false, false, false, false, true, true, true, true, false, true])
        XCTAssertNil(m.tarAtFMR1Percent.tar)
        XCTAssertEqual(m.tarAtFMR1Percent.unsupportedReason, "not supported by 8 impostor pairs (needs ≥ 300)")
    }

    func testStudentTQuantiles() {
        XCTAssertEqual(StudentT.quantile(0.975, degreesOfFreedom: 1), 12.7062, accuracy: 1e-3)
        XCTAssertEqual(StudentT.quantile(0.975, degreesOfFreedom: 4), 2.7764, accuracy: 1e-3)
        XCTAssertEqual(StudentT.quantile(0.975, degreesOfFreedom: 14), 2.1448, accuracy: 1e-3)
        XCTAssertEqual(StudentT.quantile(0.975, degreesOfFreedom: 1000), 1.9623, accuracy: 1e-3)
    }

    /// Four ORL identities (s1–s4) copied into a temporary folder.
    func fourIdentities() throws -> URL {
        let orl = try orlDirectory()
        let data = try temporaryDirectory(self).appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        for k in 1...4 {
            try FileManager.default.copyItem(atPath: "\(orl)/s\(k)", toPath: data.appendingPathComponent("s\(k)").path)
        }
        return data
    }

    func testCrossvalOverSeveralSeeds() throws {
        let data = try fourIdentities()
        let args = [
            "crossval", "--data", data.path, "--folds", "2", "--epochs", "1", "--size", "10", "--channels", "2",
            "--hidden", "8", "--batch", "4", "--bootstrap", "200"
        ]
        let j = try runFacetwin(args + ["--seeds", "0,1,2", "--json", "--quiet"])
        XCTAssertEqual(j.status, 0, j.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(object["seeds"] as? [Int], [0, 1, 2])
        let rows = object["results"] as! [[String: Any]]
        XCTAssertEqual(rows.count, 6, "2 folds × 3 seeds")
        XCTAssertEqual(rows.map { $0["seed"] as! Int }, [0, 0, 1, 1, 2, 2])
        XCTAssertEqual(rows.map { $0["fold"] as! Int }, [1, 2, 1, 2, 1, 2])
        XCTAssertEqual(Set(rows.map { "\($0["trainingSeed"]!)" }).count, 6, "every fold of every seed trains with its own seed")
        for row in rows {
            let tar = row["tarAtFMR1Percent"] as! [String: Any]
            XCTAssertTrue(tar["tar"] is NSNull, "2 test identities × 10 images: 100 impostor pairs cannot support FMR 1 %")
            XCTAssertEqual(tar["unsupportedReason"] as? String, "not supported by 100 impostor pairs (needs ≥ 300)")
            let eer = (row["intervals"] as! [String: Any])["eer"] as! [String: Double]
            XCTAssertLessThanOrEqual(eer["lower"]!, row["eer"] as! Double)
            XCTAssertGreaterThanOrEqual(eer["upper"]!, row["eer"] as! Double)
        }
        let eers = rows.map { $0["eer"] as! Double }
        let summary = object["summary"] as! [String: Any]
        let mean = summary["eer"] as! [String: Any]
        XCTAssertEqual(mean["mean"] as! Double, eers.reduce(0, +) / 6, accuracy: 1e-12)
        XCTAssertEqual(mean["count"] as? Int, 6)
        let interval = mean["interval95"] as! [String: Double]
        let sd = mean["standardDeviation"] as! Double
        XCTAssertEqual(
            interval["upper"]! - interval["lower"]!, 2 * StudentT.quantile(0.975, degreesOfFreedom: 5) * sd / 6.0.squareRoot(),
            accuracy: 1e-9)
        XCTAssertEqual((summary["worstFold"] as! [String: Any])["eer"] as! Double, eers.max()!)
        XCTAssertTrue((summary["tarAtFMR1Percent"] as! [String: Any])["mean"] is NSNull)
        XCTAssertTrue(
            ((summary["tarAtFMR1Percent"] as! [String: Any])["unsupportedReason"] as! String).hasPrefix(
                "seed 0 fold 1: not supported by 100"))
        XCTAssertTrue((summary["intervalMethod"] as! String).hasPrefix("t-interval of the mean over 6 folds × seeds"))

        let text = try runFacetwin(args + ["--seeds", "3,4", "--quiet"])
        XCTAssertEqual(text.status, 0, text.stderr)
        for needle in [
            "seeds 3,4", "over 4 folds × seeds:", "  mean EER ", "95 % interval of the mean", "  worst fold: seed ",
            "  mean TAR at FMR 1 %: not supported", "n/s: TAR at FMR 1 % not supported"
        ] {
            XCTAssertTrue(text.stdout.contains(needle), "missing \(needle) in:\n\(text.stdout)")
        }
        XCTAssertEqual(
            text.stdout.split(separator: "\n").filter { $0.hasPrefix("   3  ") || $0.hasPrefix("   4  ") }.count, 4, text.stdout)

        let both = try runFacetwin(args + ["--seed", "1", "--seeds", "0,1"])
        XCTAssertNotEqual(both.status, 0)
        XCTAssertTrue(both.stderr.contains("give --seed N or --seeds A,B,…, not both"), both.stderr)
        let bad = try runFacetwin(args + ["--seeds", "0,x"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--seeds must be non-negative integers"), bad.stderr)
    }

    func testTheSamePhotoUnderTwoIdentitiesStopsCrossvalBeforeTraining() throws {
        let data = try fourIdentities()
        // A seed whose folds put s1 and s2 on different sides.
        let seed = try (UInt64(0)..<50).first { s in
            let folds = try CrossValidation.split(["s1", "s2", "s3", "s4"], folds: 2, seed: s)
            return folds[0].testIdentities.contains("s1") != folds[0].testIdentities.contains("s2")
        }!
        let original = data.appendingPathComponent("s1/3.pgm").path
        let copy = data.appendingPathComponent("s2/11.pgm").path
        try FileManager.default.copyItem(atPath: original, toPath: copy)
        let config = NetworkConfig(inputHeight: 10, inputWidth: 10, channels: [2], hidden: [8])
        XCTAssertThrowsError(
            try CrossValidation(
                root: data.path, config: config, options: TrainingOptions(epochs: 1, batchSize: 4, seed: seed), folds: 2)
        ) { error in
            guard case .sharedImage(let test, let train, _, _) = error as? CrossValidationError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(Set([test, train]), Set([original, copy]))
            XCTAssertTrue("\(error)".contains("has the same bytes (SHA-256) as training image"), "\(error)")
        }
        let r = try runFacetwin([
            "crossval", "--data", data.path, "--folds", "2", "--epochs", "1", "--size", "10", "--channels", "2",
            "--hidden", "8", "--batch", "4", "--seed", "\(seed)"
        ])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains(original) && r.stderr.contains(copy), r.stderr)
        XCTAssertFalse(r.stderr.contains("epoch"), "stopped before any training:\n\(r.stderr)")

        // Without the duplicate the same split runs.
        try FileManager.default.removeItem(atPath: copy)
        XCTAssertNoThrow(
            try CrossValidation(
                root: data.path, config: config, options: TrainingOptions(epochs: 1, batchSize: 4, seed: seed), folds: 2))
    }
}
