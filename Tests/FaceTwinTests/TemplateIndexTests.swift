import Foundation
import XCTest

@testable import FaceTwin
@testable import FaceTwinGallery

/// The identification index on its own: the int8 kernel against a plain loop, and the search
/// (int8 bounds, then exact scores) against an exhaustive scan in Double on 128-D templates
/// crowded enough that the bounds matter.
final class TemplateIndexTests: XCTestCase {
    func testInt8KernelMatchesAPlainLoop() {
        var rng = RandomSource(seed: 3)
        for (n, d) in [(1, 32), (7, 128), (1001, 128), (13, 5), (4, 96)] {
            let rows = (0..<(n * d)).map { _ in Int8(Int.random(in: -127...127, using: &rng)) }
            var probe = (0..<d).map { _ in Int8(Int.random(in: -127...127, using: &rng)) }
            if d == 128 { probe[0] = 127; probe[1] = -127 }  // the extremes, where int16 pairs are largest
            let fast = TemplateIndex.int8Dots(rows, n: n, d: d, probe: probe)
            let plain = TemplateIndex.int8Dots(rows, n: n, d: d, probe: probe, portable: true)
            var expected = [Int32](repeating: 0, count: n)
            for i in 0..<n { for c in 0..<d { expected[i] += Int32(rows[i * d + c]) * Int32(probe[c]) } }
            XCTAssertEqual(fast, expected, "n \(n) d \(d)")
            XCTAssertEqual(plain, expected, "n \(n) d \(d)")
        }
        // Rows of ±127 against a probe of ±127 with the same signs: the largest sums.
        let extreme = [Int8](repeating: -127, count: 128)
        XCTAssertEqual(TemplateIndex.int8Dots(extreme, n: 1, d: 128, probe: extreme), [128 * 127 * 127])
    }

    func testSearchIsTheExhaustiveRanking() throws {
        var rng = RandomSource(seed: 5)
        let d = 128
        func unit(_ v: [Float]) -> [Float] {
            let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return v.map { $0 / n }
        }
        func random() -> [Float] { unit((0..<d).map { _ in Float.random(in: -1...1, using: &rng) }) }
        // 300 people around 40 centres (look-alikes), 1 to 4 templates each, some exact copies.
        let centres = (0..<40).map { _ in random() }
        var people: [(String, [[Float]])] = []
        for p in 0..<300 {
            let centre = centres[p % centres.count]
            var templates: [[Float]] = []
            for _ in 0..<(p % 4 + 1) {
                templates.append(unit(centre.map { $0 + Float.random(in: -0.02...0.02, using: &rng) }))
            }
            if p % 37 == 0 { templates.append(people.last?.1.first ?? templates[0]) }  // a copy: ties
            people.append(("p\(p)", templates))
        }
        let builder = TemplateIndex.Builder(dimension: d, path: "test")
        for (key, person) in people.enumerated() {
            for t in person.1 { t.withUnsafeBytes { builder.append(key: Int64(key), name: person.0, bytes: $0) } }
        }
        let index = try builder.finish(generation: GalleryGeneration("t"))
        XCTAssertEqual(index.templateCount, people.reduce(0) { $0 + $1.1.count })

        func exhaustive(_ probe: [Float], _ score: MatchScore) -> [(String, Float)] {
            let scored: [(String, Float)] = people.map { name, templates in
                let ds = templates.map { Double(GalleryDistances.exactDistance(probe, $0)) }
                let value = score == .min ? ds.min()! : ds.reduce(0, +) / Double(ds.count)
                return (name, Float(value))
            }
            return scored.sorted { $0.1 != $1.1 ? $0.1 < $1.1 : NaturalOrder.areInIncreasingOrder($0.0, $1.0) }
        }
        var probes: [[Float]] = (0..<20).map { i in unit(centres[i].map { $0 + Float.random(in: -0.02...0.02, using: &rng) }) }
        probes += (0..<5).map { _ in random() }
        probes.append(people[37].1.last!)  // equal to stored templates of two people
        for probe in probes {
            for score in MatchScore.allCases {
                let expected = exhaustive(probe, score)
                for top in [1, 5, 30] {
                    let found = try index.search(probe: probe, top: top, score: score).ranked
                    XCTAssertEqual(found.map(\.name), expected.prefix(top).map(\.0), "\(score) top \(top)")
                    XCTAssertEqual(
                        found.map { score == .min ? $0.minDistance : $0.meanDistance }, expected.prefix(top).map(\.1))
                }
            }
        }
    }
}
