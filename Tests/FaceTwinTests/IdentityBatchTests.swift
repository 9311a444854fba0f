import XCTest

@testable import FaceTwin
@testable import FaceTwinTraining

final class IdentityBatchTests: XCTestCase {
    /// 6 identities with 5, 5, 4, 3, 2 and 6 images.
    private let labels = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 4, 4, 5, 5, 5, 5, 5, 5]

    func testBatchesHoldDistinctIdentitiesWithTheirOwnImages() {
        var sampler = IdentityBatchSampler(labels: labels, identitiesPerBatch: 4, imagesPerIdentity: 3, seed: 7)
        var seen = Set<Int>()
        for _ in 0..<50 {
            let batch = sampler.next()
            XCTAssertEqual(batch.images.count, batch.identities.count)
            XCTAssertEqual(Set(batch.identities), Set(0..<4))
            XCTAssertEqual(Set(batch.images).count, batch.images.count, "an image twice in one batch")
            // Images of one batch-local identity share one real identity; different ones differ.
            var real: [Int: Int] = [:]
            for (image, p) in zip(batch.images, batch.identities) {
                if let r = real[p] { XCTAssertEqual(r, labels[image]) } else { real[p] = labels[image] }
            }
            XCTAssertEqual(Set(real.values).count, 4)
            seen.formUnion(batch.images)
        }
        XCTAssertEqual(seen.count, labels.count, "every image is drawn eventually")
    }

    func testSameSeedSameBatches() {
        var a = IdentityBatchSampler(labels: labels, identitiesPerBatch: 3, imagesPerIdentity: 2, seed: 1)
        var b = IdentityBatchSampler(labels: labels, identitiesPerBatch: 3, imagesPerIdentity: 2, seed: 1)
        for _ in 0..<10 { XCTAssertEqual(a.next().images, b.next().images) }
    }

    func testMinedPairsAreBalancedAndTakeTheClosestImpostors() {
        var sampler = IdentityBatchSampler(labels: labels, identitiesPerBatch: 3, imagesPerIdentity: 3, seed: 3)
        // Rows 0-2 identity 0, 3-5 identity 1, 6-8 identity 2; impostor distance grows with |i − j|.
        let identities = [0, 0, 0, 1, 1, 1, 2, 2, 2]
        let pairs = sampler.minePairs(identities: identities, hardShare: 0.5) { i, j in Float(abs(i - j)) }
        let genuine = pairs.filter { $0.label == 0 }, impostors = pairs.filter { $0.label == 1 }
        XCTAssertEqual(genuine.count, 9, "3 identities × 3 pairs each")
        XCTAssertEqual(impostors.count, 9, "as many impostor pairs as genuine ones")
        for p in genuine { XCTAssertEqual(identities[p.first], identities[p.second]) }
        for p in impostors { XCTAssertNotEqual(identities[p.first], identities[p.second]) }
        XCTAssertEqual(Set(impostors.map { [$0.first, $0.second] }).count, 9, "no impostor pair twice")
        // Half of them (4.5 → 5) are the closest: |i − j| = 1 gives (2,3) and (5,6), = 2 gives (1,3), (2,4), (4,6), (5,7).
        let hardest = impostors.prefix(5).map { abs($0.first - $0.second) }
        XCTAssertEqual(hardest.sorted(), [1, 1, 2, 2, 2])
    }
}

final class AugmentationTests: XCTestCase {
    private func image(_ w: Int, _ h: Int) -> [Float] { (0..<(w * h)).map { Float(($0 * 37) % 101) / 100 } }

    func testNoAugmentationIsTheIdentity() {
        let (w, h) = (9, 7)
        let src = image(w, h)
        var out = [Float](repeating: -1, count: w * h)
        var rng = RandomSource(seed: 1)
        src.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer {
                Augmentation.none.apply(s.baseAddress!, into: $0.baseAddress!, width: w, height: h, rng: &rng)
            }
        }
        for (a, b) in zip(src, out) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }

    func testMirrorOnlyFlipsRowsExactly() {
        let (w, h) = (8, 5)
        let src = image(w, h)
        let mirror = Augmentation(rotationDegrees: 0, scale: 0, shift: 0, mirror: true, contrast: 0, brightness: 0)
        var rng = RandomSource(seed: 2)
        var flipped = 0, kept = 0
        for _ in 0..<40 {
            var out = [Float](repeating: 0, count: w * h)
            src.withUnsafeBufferPointer { s in
                out.withUnsafeMutableBufferPointer {
                    mirror.apply(s.baseAddress!, into: $0.baseAddress!, width: w, height: h, rng: &rng)
                }
            }
            let reversed = (0..<h).flatMap { y in (0..<w).map { x in src[y * w + (w - 1 - x)] } }
            if zip(out, reversed).allSatisfy({ abs($0 - $1) < 1e-5 }) {
                flipped += 1
            } else if zip(out, src).allSatisfy({ abs($0 - $1) < 1e-5 }) {
                kept += 1
            }
        }
        XCTAssertEqual(flipped + kept, 40, "a mirror is either exact or absent")
        XCTAssertGreaterThan(flipped, 5)
        XCTAssertGreaterThan(kept, 5)
    }

    func testDefaultAugmentationChangesImagesReproducibly() {
        let (w, h) = (16, 16)
        let src = image(w, h)
        func run(seed: UInt64) -> [Float] {
            var rng = RandomSource(seed: seed)
            var out = [Float](repeating: 0, count: w * h)
            src.withUnsafeBufferPointer { s in
                out.withUnsafeMutableBufferPointer {
                    Augmentation().apply(s.baseAddress!, into: $0.baseAddress!, width: w, height: h, rng: &rng)
                }
            }
            return out
        }
        XCTAssertEqual(run(seed: 5), run(seed: 5))
        XCTAssertNotEqual(run(seed: 5), run(seed: 6))
        XCTAssertNotEqual(run(seed: 5), src)
    }

    func testStandardizationGivesZeroMeanUnitDeviation() {
        var x: [Float] = [1, 2, 3, 4, 5, 6]
        x.withUnsafeMutableBufferPointer { Standardization.apply($0.baseAddress!, count: 6) }
        let mean = x.reduce(0, +) / 6
        let sd = (x.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 6).squareRoot()
        XCTAssertEqual(mean, 0, accuracy: 1e-6)
        XCTAssertEqual(sd, 1, accuracy: 1e-4)
        var flat: [Float] = [0.5, 0.5, 0.5]
        flat.withUnsafeMutableBufferPointer { Standardization.apply($0.baseAddress!, count: 3) }
        XCTAssertEqual(flat, [0, 0, 0])
    }
}
