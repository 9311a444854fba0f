import XCTest

@testable import FaceTwin
@testable import FaceTwinLayers
@testable import FaceTwinTraining

/// FaceTwin's own forward GEMM (Sources/CKernels) against a Double loop, on shapes that hit every
/// edge: rows of X that do not fill a group of 16, output features that do not fill a tile of 6
/// (the last tile repeats a row it then never writes), k that ends mid-block and mid-vector,
/// a C with a row stride wider than n, and the split over the cores.
final class WeightGEMMTests: XCTestCase {
    private struct Shape { let m, n, k: Int; var ldc: Int? = nil }

    override func setUpWithError() throws {
        try XCTSkipUnless(WeightGEMM.isSupported, "this CPU has no AVX2/FMA; linear layers use OpenBLAS")
    }

    func testProductsMatchADoubleReference() {
        let shapes = [
            Shape(m: 1, n: 1, k: 1),
            Shape(m: 2, n: 7, k: 5),  // one tile + 1 row, k below one vector
            Shape(m: 3, n: 6, k: 8),  // exactly one tile, one vector of k
            Shape(m: 16, n: 12, k: 256),  // one full group of rows, two tiles, one whole block
            Shape(m: 17, n: 13, k: 257),  // a second group with one row, a block of one column
            Shape(m: 5, n: 11, k: 530, ldc: 14),
            Shape(m: 64, n: 70, k: 1003),  // 4.5 M multiply-adds: split over the cores
            Shape(m: 33, n: 500, k: 300)  // the reference's 500 features: 83 tiles + 2 rows
        ]
        var workspace = WeightGEMM.Workspace()  // one workspace through every shape change
        for (index, s) in shapes.enumerated() {
            var rng = RandomSource(seed: UInt64(300 + index))
            let ldc = s.ldc ?? s.n
            let x = values(s.m * s.k, &rng), w = values(s.n * s.k, &rng), c0 = values(s.m * ldc, &rng)
            var c = c0
            x.withUnsafeBufferPointer { xp in
                w.withUnsafeBufferPointer { wp in
                    c.withUnsafeMutableBufferPointer { cp in
                        WeightGEMM.addProduct(
                            m: s.m, n: s.n, k: s.k, x: xp.baseAddress!, w: wp.baseAddress!,
                            c: cp.baseAddress!, ldc: ldc, workspace: &workspace)
                    }
                }
            }
            var worst = 0.0
            for i in 0..<s.m {
                for j in 0..<ldc {
                    guard j < s.n else {
                        XCTAssertEqual(c[i * ldc + j], c0[i * ldc + j], "\(s): padding column \(j) of row \(i) was written")
                        continue
                    }
                    var sum = Double(c0[i * ldc + j]), scale = abs(Double(c0[i * ldc + j]))
                    for p in 0..<s.k {
                        sum += Double(x[i * s.k + p]) * Double(w[j * s.k + p])
                        scale += abs(Double(x[i * s.k + p]) * Double(w[j * s.k + p]))
                    }
                    worst = max(worst, abs(Double(c[i * ldc + j]) - sum) / scale)
                }
            }
            XCTAssertLessThan(worst, 1e-6, "\(s): worst error relative to Σ|x·w|")
        }
    }

    /// A linear layer gives the same output through these kernels as through OpenBLAS, at the
    /// reference's layer size and a small batch (the batch of one takes the GEMV either way).
    func testLinearForwardMatchesOpenBLAS() {
        var rng = RandomSource(seed: 42)
        let layer = Linear(80_000, 500, rng: &rng)
        for batch in [1, 3, 20] {
            let input = Tensor(shape: [batch, 80_000], values: values(batch * 80_000, &rng))
            layer.useWeightGEMM = true
            let own = Array(UnsafeBufferPointer(start: layer.forward(input, mode: .evaluation).pointer, count: batch * 500))
            layer.useWeightGEMM = false
            let blas = Array(UnsafeBufferPointer(start: layer.forward(input, mode: .evaluation).pointer, count: batch * 500))
            let scale = blas.map(abs).max()!
            for (a, b) in zip(own, blas) { XCTAssertEqual(a, b, accuracy: 1e-5 * scale, "batch \(batch)") }
        }
    }

    /// The weight gradient folded into Adam gives what Adam.swift gives from the gradient
    /// (formed in Double here), over two steps: weights and both moments. Shapes with a partial
    /// tile of rows, columns past the last 16 (done one by one), several strips of 256, and
    /// enough work to split over the cores.
    func testAdamUpdateFromTheGradientMatchesAdam() {
        for (index, s) in [Shape(m: 3, n: 7, k: 21), Shape(m: 8, n: 13, k: 530), Shape(m: 64, n: 20, k: 4000)].enumerated() {
            var rng = RandomSource(seed: UInt64(400 + index))
            let w0 = values(s.n * s.k, &rng)
            let fused = Parameter(Tensor(shape: [s.n, s.k], values: w0)), plain = Parameter(Tensor(shape: [s.n, s.k], values: w0))
            let fusedAdam = Adam(parameters: [fused]), plainAdam = Adam(parameters: [plain])
            fusedAdam.fusionMinimum = 1
            var workspace = WeightGEMM.Workspace()
            for _ in 1...2 {
                let dy = values(s.m * s.n, &rng), x = values(s.m * s.k, &rng)
                plainAdam.zeroGradients()
                let g = plain.gradPointerForAccumulation()
                for j in 0..<s.n {
                    for p in 0..<s.k {
                        var sum = 0.0
                        for i in 0..<s.m { sum += Double(dy[i * s.n + j]) * Double(x[i * s.k + p]) }
                        g[j * s.k + p] = Float(sum)
                    }
                }
                plainAdam.update()

                fusedAdam.zeroGradients(fuseIntoBackward: true)
                guard let update = fused.fusedUpdate else { return XCTFail("no fused update offered") }
                dy.withUnsafeBufferPointer { d in
                    x.withUnsafeBufferPointer { xp in
                        WeightGEMM.adamUpdate(
                            m: s.m, n: s.n, k: s.k, dy: d.baseAddress!, x: xp.baseAddress!,
                            w: fused.value.pointer, update: update, workspace: &workspace)
                    }
                }
                fused.updatedInBackward = true
                fusedAdam.update()
            }
            let (a, b) = (fused.value.toArray(), plain.value.toArray())
            for i in a.indices { XCTAssertEqual(a[i], b[i], accuracy: 1e-7, "\(s): weight \(i)") }
            XCTAssertNotEqual(a, w0, "\(s): the weights did not move")
        }
    }

    private func values(_ count: Int, _ rng: inout RandomSource) -> [Float] {
        (0..<count).map { _ in Float.random(in: -1...1, using: &rng) }
    }
}
