import Foundation
import XCTest

@testable import FaceTwin
@testable import FaceTwinTensor

/// Under an address-space limit (`ulimit -v`) OpenBLAS's buffer allocation would retry its
/// failed mmap forever: the CLI must answer (portable GEMM kernels) or fail in one line, never
/// hang. And the portable kernels compute what OpenBLAS computes.
final class MemoryLimitTests: XCTestCase {
    /// `facetwin arguments` under `ulimit -v kb`, killed after `seconds`.
    func runLimited(_ arguments: [String], kb: Int, seconds: Int = 60) throws -> RunResult {
        try runFacetwinLimited(arguments, memoryKB: kb, seconds: seconds)
    }

    func testCompareUnderAMemoryLimitAnswersOrFailsInOneLine() throws {
        let orl = try orlDirectory()
        let dir = try temporaryDirectory(self)
        // The default recipe's network: its convolutions from 16 channels run as GEMMs.
        let config = NetworkConfig.default
        let model = FaceModel(
            network: SiameseNetwork(config: config, seed: 1),
            info: ModelInfo(config: config, threshold: 0.5, thresholdMethod: "test"))
        let path = dir.appendingPathComponent("m.safetensors").path
        try model.save(to: path)
        let compare = ["compare", "\(orl)/s1/1.pgm", "\(orl)/s1/2.pgm", "--model", path]
        let free = try runFacetwin(compare)
        XCTAssertTrue(free.status == 0 || free.status == 1, free.stderr)
        for kb in [200_000, 400_000, 600_000, 800_000] {
            let r = try runLimited(compare, kb: kb)
            XCTAssertTrue([0, 1, 2].contains(r.status), "ulimit -v \(kb): status \(r.status) (killed: a hang); \(r.stderr)")
            if r.status == 2 {
                XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "ulimit -v \(kb): \(r.stderr)")
                XCTAssertTrue(r.stderr.hasPrefix("facetwin: error: "), "ulimit -v \(kb): \(r.stderr)")
            } else {
                XCTAssertEqual(r.stdout, free.stdout, "ulimit -v \(kb): the same answer as without a limit")
            }
        }
    }

    /// A model of 100 MB of weights under limits from too small to ample: an answer, or one
    /// line saying what the limit leaves (the file's mapping or the weights refused), never a
    /// crash in the allocator.
    func testLargeModelUnderAMemoryLimitIsRefusedInOneLine() throws {
        let orl = try orlDirectory()
        let dir = try temporaryDirectory(self)
        let config = NetworkConfig(inputHeight: 50, inputWidth: 50, hidden: [1250])
        let model = FaceModel(
            network: SiameseNetwork(config: config, seed: 1),
            info: ModelInfo(config: config, threshold: 1, thresholdMethod: "test"))
        let path = dir.appendingPathComponent("big.safetensors").path
        try model.save(to: path)
        let compare = ["compare", "\(orl)/s1/1.pgm", "\(orl)/s1/2.pgm", "--model", path]
        let free = try runFacetwin(compare)
        XCTAssertTrue(free.status == 0 || free.status == 1, free.stderr)
        var refusedForWeights = false
        for kb in [250_000, 300_000, 350_000, 400_000, 450_000, 1_000_000] {
            let r = try runLimited(compare, kb: kb)
            XCTAssertTrue([0, 1, 2].contains(r.status), "ulimit -v \(kb): status \(r.status); \(r.stderr)")
            if r.status == 2 {
                XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "ulimit -v \(kb): \(r.stderr)")
                XCTAssertTrue(r.stderr.hasPrefix("facetwin: error: \(path): "), "ulimit -v \(kb): \(r.stderr)")
                if r.stderr.contains("the limit (ulimit -v) leaves") { refusedForWeights = true }
            } else {
                XCTAssertEqual(r.stdout, free.stdout, "ulimit -v \(kb)")
            }
        }
        XCTAssertTrue(refusedForWeights, "some limit between the file's mapping and the weights")
        XCTAssertEqual(try runLimited(compare, kb: 1_000_000).stdout, free.stdout, "an ample limit answers")
    }

    func testPortableGEMMMatchesOpenBLAS() {
        var rng = RandomSource(seed: 11)
        for (m, n, k) in [(1, 1, 1), (3, 5, 7), (17, 9, 300), (2, 33, 257), (40, 1, 64)] {
            for transA in [false, true] {
                for transB in [false, true] {
                    let (lda, ldb, ldc) = ((transA ? m : k) + 2, (transB ? k : n) + 3, n + 1)
                    let a = (0..<((transA ? k : m) * lda)).map { _ in Float.random(in: -1...1, using: &rng) }
                    let b = (0..<((transB ? n : k) * ldb)).map { _ in Float.random(in: -1...1, using: &rng) }
                    let c0 = (0..<(m * ldc)).map { _ in Float.random(in: -1...1, using: &rng) }
                    for beta: Float in [0, 0.5] {
                        var expected = c0, actual = c0
                        BLAS.gemm(
                            transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta,
                            c: &expected, ldc: ldc)
                        BLAS.portableGEMM(
                            transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: a, lda: lda, b: b, ldb: ldb,
                            beta: beta, c: &actual, ldc: ldc)
                        for i in 0..<(m * ldc) {
                            XCTAssertEqual(
                                actual[i], expected[i], accuracy: 1e-4 * Float(k).squareRoot(),
                                "\(m)×\(n)×\(k) \(transA) \(transB) β \(beta) [\(i)]")
                        }
                    }
                }
            }
        }
    }
}
