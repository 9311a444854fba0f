import Foundation
import XCTest

@testable import FaceTwin

/// ROC, AUC, EER, TAR@FMR and accuracy on lists worked out by hand, then against the
/// PyTorch reference's `eer_auc` on fixtures computed with NumPy.
///
/// Convention throughout: smaller distance = more similar; match iff distance ≤ threshold.
final class MetricsTests: XCTestCase {
    typealias Point = (threshold: Float, fmr: Double, tar: Double)

    func assertPoints(_ curve: ROCCurve, _ expected: [Point], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(curve.points.count, expected.count, "number of ROC points", file: file, line: line)
        for (actual, wanted) in zip(curve.points, expected) {
            XCTAssertEqual(actual.threshold, wanted.threshold, file: file, line: line)
            XCTAssertEqual(actual.fmr, wanted.fmr, accuracy: 1e-12, "FMR at \(wanted.threshold)", file: file, line: line)
            XCTAssertEqual(actual.tar, wanted.tar, accuracy: 1e-12, "TAR at \(wanted.threshold)", file: file, line: line)
        }
    }

    func mid(_ a: Float, _ b: Float) -> Float { Float((Double(a) + Double(b)) / 2) }

    // MARK: - Hand-computed cases

    /// d:  0.1 G, 0.2 G, 0.3 I, 0.4 G, 0.5 I, 0.6 I   (P = 3, N = 3, shuffled on input)
    ///
    /// ROC: (0,0) · 0.1→(0,⅓) · 0.2→(0,⅔) · 0.3→(⅓,⅔) · 0.4→(⅓,1) · 0.5→(⅔,1) · 0.6→(1,1)
    /// AUC: ⅓·⅔ + ⅓·1 + ⅓·1 = 8/9 (Mann–Whitney: 3 + 3 + 2 wins of 9).
    /// |FNMR−FMR|: 1, ⅔, ⅓, 0 at 0.3 → EER = (⅓+⅓)/2 = ⅓, threshold (0.3+0.4)/2.
    /// TAR@FMR≤1 %: ⅔ at 0.2 (threshold 0.25); TAR@FMR≤⅓: 1 at 0.4 (threshold 0.45).
    /// Correct decisions: 3, 4, 5, 4, 5, 4, 3 → best accuracy 5/6 first at 0.2.
    func testSeparatedWithOneSwap() throws {
        let distances: [Float] = [0.5, 0.1, 0.4, 0.6, 0.3, 0.2]
        let genuine = [false, true, true, false, false, true]
        let curve = try ROCCurve(distances: distances, genuine: genuine)
        XCTAssertEqual(curve.genuineCount, 3)
        XCTAssertEqual(curve.impostorCount, 3)
        assertPoints(
            curve,
            [
                (-.infinity, 0, 0), (0.1, 0, 1.0 / 3), (0.2, 0, 2.0 / 3), (0.3, 1.0 / 3, 2.0 / 3),
                (0.4, 1.0 / 3, 1), (0.5, 2.0 / 3, 1), (0.6, 1, 1)
            ])
        XCTAssertEqual(curve.auc, 8.0 / 9, accuracy: 1e-15)

        let eer = curve.equalErrorPoint()
        XCTAssertEqual(eer.index, 3)
        XCTAssertEqual(eer.halfTotalErrorRate, 1.0 / 3, accuracy: 1e-15)
        XCTAssertEqual(eer.threshold, mid(0.3, 0.4))
        XCTAssertEqual(eer.threshold, 0.35, accuracy: 1e-7)

        let strict = curve.tar(atFMR: 0.01)
        XCTAssertEqual(strict.tar, 2.0 / 3, accuracy: 1e-15)
        XCTAssertEqual(strict.fmr, 0)
        XCTAssertEqual(strict.threshold, mid(0.2, 0.3))
        let loose = curve.tar(atFMR: 1.0 / 3)
        XCTAssertEqual(loose.tar, 1)
        XCTAssertEqual(loose.fmr, 1.0 / 3, accuracy: 1e-15)
        XCTAssertEqual(loose.threshold, mid(0.4, 0.5))
        XCTAssertEqual(curve.tar(atFMR: 0.3).tar, 2.0 / 3, accuracy: 1e-15)
        XCTAssertEqual(curve.tar(atFMR: 1).tar, 1)
        XCTAssertEqual(curve.tar(atFMR: 1).index, 4, "the strictest point reaching TAR 1")

        let best = curve.bestAccuracyPoint()
        XCTAssertEqual(best.accuracy, 5.0 / 6, accuracy: 1e-15)
        XCTAssertEqual(best.threshold, mid(0.2, 0.3))

        let thresholds: [Float] = [0, 0.1, 0.25, 0.3, 0.45, 0.55, 10]
        let correct: [Double] = [3, 4, 5, 4, 5, 4, 3]
        for (threshold, right) in zip(thresholds, correct) {
            let expected = right / 6
            XCTAssertEqual(curve.accuracy(atThreshold: threshold), expected, accuracy: 1e-15, "at \(threshold)")
            XCTAssertEqual(
                try VerificationMetrics.accuracy(distances: distances, genuine: genuine, threshold: threshold),
                expected, accuracy: 1e-15, "at \(threshold)")
        }

        let m = try VerificationMetrics(distances: distances, genuine: genuine)
        XCTAssertEqual(m.genuineCount, 3)
        XCTAssertEqual(m.impostorCount, 3)
        XCTAssertEqual(m.eer, 1.0 / 3, accuracy: 1e-15)
        XCTAssertEqual(m.eerThreshold, mid(0.3, 0.4))
        XCTAssertEqual(m.auc, 8.0 / 9, accuracy: 1e-15)
        XCTAssertEqual(m.tarAtFMR1Percent.measuredTAR, 2.0 / 3, accuracy: 1e-15)
        XCTAssertEqual(m.tarAtFMR1Percent.measuredThreshold, mid(0.2, 0.3))
        XCTAssertEqual(m.tarAtFMR0_1Percent.measuredTAR, 2.0 / 3, accuracy: 1e-15)
        XCTAssertEqual(m.bestAccuracy, 5.0 / 6, accuracy: 1e-15)
        XCTAssertEqual(m.bestAccuracyThreshold, mid(0.2, 0.3))
    }

    /// d:  1 G, 2 G, 2 I, 3 G, 3 I, 3 I, 4 I   (P = 3, N = 4; ties across the classes)
    ///
    /// Tied pairs are accepted together: one point per distinct distance.
    /// ROC: (0,0) · 1→(0,⅓) · 2→(¼,⅔) · 3→(¾,1) · 4→(1,1)
    /// AUC: ¼·½ + ½·⅚ + ¼·1 = 19/24; Mann–Whitney: (4 + 3½ + 2) / 12 = 19/24.
    /// |FNMR−FMR|: 1, ⅔, 1/12, ¾, 1 → EER at 2: (⅓ + ¼)/2 = 7/24, threshold 2.5.
    /// TAR@FMR≤1 %: ⅓ (threshold 1.5); TAR@FMR≤½: ⅔ (threshold 2.5).
    /// Correct decisions: 4, 5, 5, 4, 3 → best accuracy 5/7 first at 1 (threshold 1.5).
    func testTiesAcrossGenuineAndImpostor() throws {
        let distances: [Float] = [3, 2, 4, 1, 3, 2, 3]
        let genuine = [true, false, false, true, false, true, false]
        let curve = try ROCCurve(distances: distances, genuine: genuine)
        assertPoints(curve, [(-.infinity, 0, 0), (1, 0, 1.0 / 3), (2, 0.25, 2.0 / 3), (3, 0.75, 1), (4, 1, 1)])
        XCTAssertEqual(curve.points.map(\.truePositives), [0, 1, 2, 3, 3])
        XCTAssertEqual(curve.points.map(\.falsePositives), [0, 0, 1, 3, 4])
        XCTAssertEqual(curve.auc, 19.0 / 24, accuracy: 1e-15)
        XCTAssertEqual(curve.auc, mannWhitney(distances, genuine), accuracy: 1e-15)

        let eer = curve.equalErrorPoint()
        XCTAssertEqual(eer.halfTotalErrorRate, 7.0 / 24, accuracy: 1e-15)
        XCTAssertEqual(eer.fnmr, 1.0 / 3, accuracy: 1e-15)
        XCTAssertEqual(eer.fmr, 0.25)
        XCTAssertEqual(eer.threshold, 2.5)

        XCTAssertEqual(curve.tar(atFMR: 0.01).tar, 1.0 / 3, accuracy: 1e-15)
        XCTAssertEqual(curve.tar(atFMR: 0.01).threshold, 1.5)
        XCTAssertEqual(curve.tar(atFMR: 0.5).tar, 2.0 / 3, accuracy: 1e-15)
        XCTAssertEqual(curve.tar(atFMR: 0.5).threshold, 2.5)

        let best = curve.bestAccuracyPoint()
        XCTAssertEqual(best.accuracy, 5.0 / 7, accuracy: 1e-15)
        XCTAssertEqual(best.threshold, 1.5)
        XCTAssertEqual(curve.accuracy(atThreshold: 2), 5.0 / 7, accuracy: 1e-15)
        XCTAssertEqual(curve.accuracy(atThreshold: 3), 4.0 / 7, accuracy: 1e-15)
        XCTAssertEqual(curve.accuracy(atThreshold: 0.5), 4.0 / 7, accuracy: 1e-15)
    }

    /// Genuine 0.1, 0.2, 0.3; impostor 0.7, 0.8: AUC 1, EER 0 with the threshold in the gap.
    func testPerfectSeparation() throws {
        let m = try VerificationMetrics(distances: [0.8, 0.1, 0.7, 0.3, 0.2], genuine: [false, true, false, true, true])
        XCTAssertEqual(m.auc, 1)
        XCTAssertEqual(m.eer, 0)
        XCTAssertEqual(m.eerThreshold, mid(0.3, 0.7))
        XCTAssertEqual(m.tarAtFMR1Percent.measuredTAR, 1)
        XCTAssertEqual(m.tarAtFMR0_1Percent.measuredTAR, 1)
        XCTAssertEqual(m.tarAtFMR0_1Percent.measuredThreshold, mid(0.3, 0.7))
        XCTAssertEqual(m.bestAccuracy, 1)
        XCTAssertEqual(m.bestAccuracyThreshold, mid(0.3, 0.7))
    }

    /// Genuine 0.7, 0.8; impostor 0.1, 0.2, 0.3: AUC 0, EER 1 (FNMR = FMR = 1 at 0.3), and
    /// the best one can do is accept nothing: accuracy 3/5 below every distance.
    func testPerfectlyInverted() throws {
        let distances: [Float] = [0.7, 0.1, 0.8, 0.2, 0.3]
        let genuine = [true, false, true, false, false]
        let curve = try ROCCurve(distances: distances, genuine: genuine)
        assertPoints(curve, [(-.infinity, 0, 0), (0.1, 1.0 / 3, 0), (0.2, 2.0 / 3, 0), (0.3, 1, 0), (0.7, 1, 0.5), (0.8, 1, 1)])
        let m = VerificationMetrics(curve: curve)
        XCTAssertEqual(m.auc, 0)
        XCTAssertEqual(m.eer, 1)
        XCTAssertEqual(m.eerThreshold, mid(0.3, 0.7))
        XCTAssertEqual(m.tarAtFMR1Percent.measuredTAR, 0)
        // The first point's threshold: the smallest distance minus 1e-6·max(1, |d|).
        XCTAssertEqual(m.tarAtFMR1Percent.measuredThreshold, Float(Double(Float(0.1)) - 1e-6))
        XCTAssertEqual(m.bestAccuracy, 3.0 / 5, accuracy: 1e-15)
        XCTAssertEqual(m.bestAccuracyThreshold, Float(Double(Float(0.1)) - 1e-6))
    }

    /// All distances equal: one diagonal step, AUC ½. Both ends tie on |FNMR − FMR| = 1;
    /// the first (accept nothing) is taken, as NumPy's argmin would.
    func testAllDistancesEqual() throws {
        let curve = try ROCCurve(distances: [5, 5, 5, 5], genuine: [true, false, true, false])
        assertPoints(curve, [(-.infinity, 0, 0), (5, 1, 1)])
        XCTAssertEqual(curve.auc, 0.5)
        let eer = curve.equalErrorPoint()
        XCTAssertEqual(eer.index, 0)
        XCTAssertEqual(eer.halfTotalErrorRate, 0.5)
        XCTAssertEqual(eer.threshold, Float(5 - 5e-6))
        // The last point's threshold: the largest distance plus 1e-6·max(1, |d|).
        XCTAssertEqual(curve.tar(atFMR: 1).threshold, Float(5 + 5e-6))
        XCTAssertEqual(curve.tar(atFMR: 1).tar, 1)
        XCTAssertEqual(curve.bestAccuracyPoint().accuracy, 0.5)
    }

    /// Adjacent floats leave no room for a midpoint: the threshold is the value itself.
    func testThresholdBetweenAdjacentFloats() throws {
        let a: Float = 1, b = Float(1).nextUp
        let curve = try ROCCurve(distances: [a, b], genuine: [true, false])
        XCTAssertEqual(curve.equalErrorPoint().threshold, a)
        XCTAssertEqual(curve.equalErrorPoint().halfTotalErrorRate, 0)
        XCTAssertEqual(curve.accuracy(atThreshold: curve.equalErrorPoint().threshold), 1)
        let negative = try ROCCurve(distances: [-3, -1], genuine: [true, false])
        XCTAssertEqual(negative.equalErrorPoint().threshold, -2)
        XCTAssertEqual(negative.operatingThreshold(at: 0), Float(-3 - 3e-6))
    }

    func testErrors() {
        XCTAssertThrowsError(try VerificationMetrics(distances: [1, 2], genuine: [true])) {
            XCTAssertEqual($0 as? MetricsError, .lengthMismatch(distances: 2, labels: 1))
        }
        XCTAssertThrowsError(try VerificationMetrics(distances: [1, 2], genuine: [false, false])) {
            XCTAssertEqual($0 as? MetricsError, .noGenuinePairs)
            XCTAssertEqual("\($0)", "verification metrics: no genuine pairs (every pair is of two different identities)")
        }
        XCTAssertThrowsError(try VerificationMetrics(distances: [1, 2], genuine: [true, true])) {
            XCTAssertEqual($0 as? MetricsError, .noImpostorPairs)
        }
        XCTAssertThrowsError(try VerificationMetrics(distances: [], genuine: [])) {
            XCTAssertEqual($0 as? MetricsError, .noPairs)
        }
        XCTAssertThrowsError(try VerificationMetrics.accuracy(distances: [], genuine: [], threshold: 1)) {
            XCTAssertEqual($0 as? MetricsError, .noPairs)
        }
        XCTAssertThrowsError(try ROCCurve(distances: [1, .nan, 3], genuine: [true, false, true])) {
            guard case .nonFiniteDistance(index: 1, _)? = $0 as? MetricsError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try ROCCurve(distances: [1, .infinity], genuine: [true, false])) {
            XCTAssertEqual($0 as? MetricsError, .nonFiniteDistance(index: 1, value: .infinity))
        }
        XCTAssertThrowsError(try VerificationPairs.allPairs(embeddings: [1, 2, 3], dimension: 2, labels: [0, 1])) {
            XCTAssertEqual($0 as? MetricsError, .embeddingCountMismatch(values: 3, dimension: 2, labels: 2))
        }
        XCTAssertThrowsError(try VerificationPairs.allPairs(embeddings: [], dimension: 0, labels: [])) {
            XCTAssertEqual($0 as? MetricsError, .invalidDimension(0))
        }
    }

    // MARK: - Pairs

    /// Four 2-d points: (0,0) and (3,4) of identity 7, (0,1) and (6,8) of identity 9.
    func testAllPairsInTriuOrder() throws {
        let (distances, genuine) = try VerificationPairs.allPairs(
            embeddings: [0, 0, 3, 4, 0, 1, 6, 8], dimension: 2, labels: [7, 7, 9, 9])
        // (0,1) (0,2) (0,3) (1,2) (1,3) (2,3)
        XCTAssertEqual(distances, [5, 1, 10, Float(18.0.squareRoot()), 5, Float(85.0.squareRoot())])
        XCTAssertEqual(genuine, [true, false, false, false, false, true])
        let one = try VerificationPairs.allPairs(embeddings: [1, 2], dimension: 2, labels: [0])
        XCTAssertEqual(one.distances, [])
    }

    // MARK: - Properties on larger lists

    /// A 64-bit LCG (Knuth's MMIX constants): the same numbers on every platform.
    struct LCG {
        var state: UInt64
        mutating func next() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(state >> 11) * 0x1p-53
        }
    }

    /// P(d_genuine < d_impostor) + ½ P(equal), by brute force over all P·N pairs.
    func mannWhitney(_ distances: [Float], _ genuine: [Bool]) -> Double {
        let g = distances.indices.filter { genuine[$0] }.map { distances[$0] }
        let i = distances.indices.filter { !genuine[$0] }.map { distances[$0] }
        var wins = 0.0
        for a in g { for b in i { wins += a < b ? 1 : (a == b ? 0.5 : 0) } }
        return wins / Double(g.count * i.count)
    }

    /// Many ties (distances on a grid of 0.05): AUC equals Mann–Whitney; every ROC point
    /// equals a direct count; the summary figures match a brute-force scan.
    func testRandomListWithTiesAgainstBruteForce() throws {
        var rng = LCG(state: 12345)
        let n = 400
        var distances: [Float] = [], genuine: [Bool] = []
        for _ in 0..<n {
            let same = rng.next() < 0.3
            let d = (same ? 0.8 : 1.4) * rng.next() + (same ? 0 : 0.2)
            distances.append(Float((d / 0.05).rounded()) * 0.05)
            genuine.append(same)
        }
        let curve = try ROCCurve(distances: distances, genuine: genuine)
        XCTAssertLessThan(curve.points.count, 50, "the list should have many ties")
        XCTAssertEqual(curve.auc, mannWhitney(distances, genuine), accuracy: 1e-12)

        let p = genuine.filter { $0 }.count, nImp = n - p
        var bestEERGap = Double.infinity, bestEER = 0.0, bestAcc = 0.0
        for point in curve.points {
            var tp = 0, fp = 0
            for k in 0..<n where distances[k] <= point.threshold { if genuine[k] { tp += 1 } else { fp += 1 } }
            XCTAssertEqual(point.truePositives, tp)
            XCTAssertEqual(point.falsePositives, fp)
            let fnmr = 1 - Double(tp) / Double(p), fmr = Double(fp) / Double(nImp)
            if abs(fnmr - fmr) < bestEERGap - 1e-12 { bestEERGap = abs(fnmr - fmr); bestEER = (fnmr + fmr) / 2 }
            bestAcc = max(bestAcc, Double(tp + nImp - fp) / Double(n))
        }
        let m = VerificationMetrics(curve: curve)
        XCTAssertEqual(m.eer, bestEER, accuracy: 1e-12)
        XCTAssertEqual(m.bestAccuracy, bestAcc, accuracy: 1e-12)
        // Every reported threshold reproduces its operating point on the data.
        XCTAssertEqual(
            try VerificationMetrics.accuracy(distances: distances, genuine: genuine, threshold: m.bestAccuracyThreshold),
            m.bestAccuracy, accuracy: 1e-12)
        for _ in 0..<50 {
            let t = Float(rng.next() * 1.8 - 0.1)
            XCTAssertEqual(
                curve.accuracy(atThreshold: t),
                try VerificationMetrics.accuracy(distances: distances, genuine: genuine, threshold: t), accuracy: 1e-12)
        }
    }

    /// The reference's algorithm (`eer_auc` in scripts/facetwin_torch.py) transcribed: sort,
    /// cumulative sums, argmin |FNR − FPR| and trapezoid, with no tie grouping.
    func referenceEERAUC(_ distances: [Float], _ genuine: [Bool]) -> (eer: Double, auc: Double, acc: Double) {
        let order = distances.indices.sorted { distances[$0] < distances[$1] }
        let p = Double(genuine.filter { $0 }.count), n = Double(genuine.count) - p
        var tpr = [0.0], fpr = [0.0], tp = 0.0, fp = 0.0, acc = 0.0
        for k in order {
            if genuine[k] { tp += 1 } else { fp += 1 }
            tpr.append(tp / p); fpr.append(fp / n)
            acc = max(acc, (tp + n - fp) / (p + n))
        }
        var best = 0
        for k in tpr.indices where abs((1 - tpr[k]) - fpr[k]) < abs((1 - tpr[best]) - fpr[best]) { best = k }
        var auc = 0.0
        for k in 1..<tpr.count { auc += (fpr[k] - fpr[k - 1]) * (tpr[k] + tpr[k - 1]) / 2 }
        return ((1 - tpr[best] + fpr[best]) / 2, auc, acc)
    }

    func testDistinctDistancesMatchTheUngroupedReference() throws {
        var rng = LCG(state: 2024)
        for trial in 0..<5 {
            var distances: [Float] = [], genuine: [Bool] = []
            for _ in 0..<500 {
                let same = rng.next() < 0.25
                distances.append(Float(rng.next() + (same ? 0 : 0.4 + 0.1 * Double(trial))))
                genuine.append(same)
            }
            XCTAssertEqual(Set(distances).count, distances.count)
            let m = try VerificationMetrics(distances: distances, genuine: genuine)
            let reference = referenceEERAUC(distances, genuine)
            XCTAssertEqual(m.eer, reference.eer, accuracy: 1e-12, "trial \(trial)")
            XCTAssertEqual(m.auc, reference.auc, accuracy: 1e-12, "trial \(trial)")
            XCTAssertEqual(m.auc, mannWhitney(distances, genuine), accuracy: 1e-12, "trial \(trial)")
            XCTAssertEqual(m.bestAccuracy, reference.acc, accuracy: 1e-12, "trial \(trial)")
        }
    }

    // MARK: - The PyTorch reference, through NumPy

    struct ReferenceCase: Decodable {
        var distances: [Double]
        var genuine: [Bool]
        var eer: Double
        var auc: Double
        var bestAccuracy: Double
        var dimension: Int?
        var labels: [Int]?
        var embeddings: [Double]?
    }

    func referenceCases() throws -> [String: ReferenceCase] {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/metrics/reference", withExtension: "json"))
        return try JSONDecoder().decode([String: ReferenceCase].self, from: Data(contentsOf: url))
    }

    /// 500 float32 distances, 150 genuine; expected values from `eer_auc` of
    /// scripts/facetwin_torch.py (scripts/make-safetensors-fixture.py).
    func testMatchesReferenceOnRandomDistances() throws {
        let c = try XCTUnwrap(referenceCases()["distances"])
        let distances = c.distances.map { Float($0) }
        XCTAssertEqual(distances.count, 500)
        let m = try VerificationMetrics(distances: distances, genuine: c.genuine)
        XCTAssertEqual(m.genuineCount, 150)
        XCTAssertEqual(m.impostorCount, 350)
        XCTAssertEqual(m.eer, c.eer, accuracy: 1e-12)
        XCTAssertEqual(m.auc, c.auc, accuracy: 1e-12)
        XCTAssertEqual(m.bestAccuracy, c.bestAccuracy, accuracy: 1e-12)
    }

    /// 32 random 5-d embeddings of 8 identities: the pair distances equal NumPy's
    /// `np.linalg.norm` (float32) and the metrics equal the reference's.
    func testMatchesReferenceFromEmbeddings() throws {
        let c = try XCTUnwrap(referenceCases()["embeddings"])
        let embeddings = try XCTUnwrap(c.embeddings).map { Float($0) }
        let (distances, genuine) = try VerificationPairs.allPairs(
            embeddings: embeddings, dimension: try XCTUnwrap(c.dimension), labels: try XCTUnwrap(c.labels))
        XCTAssertEqual(distances.count, 496)
        XCTAssertEqual(genuine, c.genuine)
        for (ours, numpy) in zip(distances, c.distances) {
            XCTAssertEqual(Double(ours), numpy, accuracy: 1e-6 * numpy)
        }
        let m = try VerificationMetrics(distances: distances, genuine: genuine)
        XCTAssertEqual(m.eer, c.eer, accuracy: 1e-12)
        XCTAssertEqual(m.auc, c.auc, accuracy: 1e-12)
        XCTAssertEqual(m.bestAccuracy, c.bestAccuracy, accuracy: 1e-12)
    }

    // MARK: - Scale

    /// ~100k pairs as in a later evaluation: all pairs of 450 embeddings, then every metric.
    func testHundredThousandPairsIsFast() throws {
        var rng = LCG(state: 7)
        let n = 450, dim = 5
        let labels = (0..<n).map { $0 / 10 }
        let embeddings = (0..<n * dim).map { Float(rng.next() + Double(labels[$0 / dim] % 7) * 0.3) }
        let start = Date()
        let (distances, genuine) = try VerificationPairs.allPairs(embeddings: embeddings, dimension: dim, labels: labels)
        let m = try VerificationMetrics(distances: distances, genuine: genuine)
        let seconds = Date().timeIntervalSince(start)
        XCTAssertEqual(m.genuineCount + m.impostorCount, n * (n - 1) / 2)
        XCTAssertEqual(m.genuineCount, 45 * 45)
        XCTAssertGreaterThan(m.auc, 0.5)
        XCTAssertLessThan(seconds, 5, "100k pairs took \(seconds) s (debug build)")
    }
}
