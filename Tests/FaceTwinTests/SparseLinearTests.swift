import XCTest

@testable import FaceTwin
@testable import FaceTwinLayers

/// The first linear layer's product over the nonzeros of x − u (Sources/CKernels/sparse.c) against
/// a Double loop, and the frozen network's use of it: same embeddings as the dense path, built
/// only past its threshold, dropped by training and by loading new weights.
final class SparseLinearTests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(WeightGEMM.isSupported, "this CPU has no AVX2/FMA; linear layers use OpenBLAS")
    }

    /// Shapes that hit the edges: outputs that do not fill a block of 64 (and one that does not
    /// fill a vector), k ending mid-block and mid-vector, a block with every feature nonzero
    /// and one with none, a single row, and enough rows and blocks to split over the cores.
    func testProductMatchesADoubleReference() {
        let shapes: [(m: Int, n: Int, k: Int)] = [
            (1, 1, 1), (3, 5, 7), (16, 64, 64), (17, 70, 1003), (33, 500, 2100), (64, 130, 4096)
        ]
        for (index, s) in shapes.enumerated() {
            var rng = RandomSource(seed: UInt64(700 + index))
            let layer = Linear(s.k, s.n, rng: &rng)
            // A background that varies by feature, and inputs equal to it at about half the
            // features, everywhere in the first block of row 0 and nowhere in row 1's.
            let u = (0..<s.k).map { _ in Float.random(in: -1..<1, using: &rng) }
            var x = [Float](repeating: 0, count: s.m * s.k)
            for i in 0..<s.m {
                for p in 0..<s.k {
                    let equal = i == 0 && p < 64 ? true : i == 1 && p < 64 ? false : Bool.random(using: &rng)
                    x[i * s.k + p] = equal ? u[p] : Float.random(in: -3..<3, using: &rng)
                }
            }
            let sparse = SparseLinear(weight: layer.weight.value, bias: layer.bias.value, background: u)
            let y = x.withUnsafeBufferPointer { sparse.forward($0.baseAddress!, rows: s.m).toArray() }
            let w = layer.weight.value.toArray(), b = layer.bias.value.toArray()
            var worst = 0.0
            for i in 0..<s.m {
                for j in 0..<s.n {
                    var sum = Double(b[j]), scale = abs(Double(b[j]))
                    for p in 0..<s.k {
                        let t = Double(x[i * s.k + p]) * Double(w[j * s.k + p])
                        sum += t
                        scale += abs(t)
                    }
                    worst = max(worst, abs(Double(y[i * s.n + j]) - sum) / scale)
                }
            }
            XCTAssertLessThan(worst, 1e-6, "\(s): worst error relative to Σ|x·w|")
            let equalShare = Double(zip(x.indices, x).filter { $1 == u[$0 % s.k] }.count) / Double(s.m * s.k)
            XCTAssertEqual(sparse.lastDensity ?? -1, 1 - equalShare, accuracy: 1e-12, "\(s): density of x − u")
        }
    }

    /// The dense register tiles that take blocks where most of x − u is nonzero give the sparse
    /// visits' sums to the bit: every block dense, none, and the default mix, on blocks 0 %, about
    /// 50 %, about 92 % and 100 % nonzero, with row counts that do and do not fill the tiles' 6 rows.
    func testDenseBlocksGiveTheSparseSumsToTheBit() {
        let shapes: [(m: Int, n: Int, k: Int)] = [(1, 5, 70), (7, 70, 1003), (12, 64, 256), (64, 130, 4096)]
        for (index, s) in shapes.enumerated() {
            var rng = RandomSource(seed: UInt64(800 + index))
            let layer = Linear(s.k, s.n, rng: &rng)
            let u = (0..<s.k).map { _ in Float.random(in: -1..<1, using: &rng) }
            let share: [Double] = [0, 0.5, 0.92, 1]
            var x = [Float](repeating: 0, count: s.m * s.k)
            for i in 0..<s.m {
                for p in 0..<s.k {
                    let nonzero = Double.random(in: 0..<1, using: &rng) < share[(p / 64) % 4]
                    x[i * s.k + p] = nonzero ? Float.random(in: -3..<3, using: &rng) : u[p]
                }
            }
            let sparse = SparseLinear(weight: layer.weight.value, bias: layer.bias.value, background: u)
            let run = { (percent: Int32) -> [Float] in
                sparse.densePercent = percent
                return x.withUnsafeBufferPointer { sparse.forward($0.baseAddress!, rows: s.m).toArray() }
            }
            let none = run(101), all = run(0), mixed = run(85)
            let differing = { (a: [Float]) in zip(a, none).filter { $0 != $1 }.count }
            XCTAssertEqual(differing(all), 0, "\(s): outputs that differ, every block dense against none")
            XCTAssertEqual(differing(mixed), 0, "\(s): outputs that differ, the default mix against none")
            XCTAssertTrue(none.allSatisfy(\.isFinite) && none.contains { $0 != 0 }, "\(s): real outputs")
        }
    }

    private static let config = NetworkConfig(inputHeight: 20, inputWidth: 20, channels: [2, 4], hidden: [24], embeddingSize: 6)

    private func images(_ count: Int, seed: UInt64) -> [Float] {
        var rng = RandomSource(seed: seed)
        return (0..<(count * 400)).map { _ in Float.random(in: 0..<1, using: &rng) }
    }

    /// A trained network with non-trivial BatchNorm statistics.
    private func trainedNetwork() throws -> SiameseNetwork {
        let network = SiameseNetwork(config: Self.config, seed: 5)
        let adam = Adam(parameters: network.namedParameters.map(\.parameter), learningRate: 5e-3)
        let batch = Tensor(shape: [8, 1, 20, 20], values: images(8, seed: 6))
        let step = try TrainingStep(network: network, loss: ContrastiveLoss(margin: 2))
        for _ in 0..<5 {
            adam.zeroGradients()
            step.run(images: batch, labels: [0, 1, 0, 1])
            adam.update()
        }
        return network
    }

    func testFrozenNetworkGivesTheDenseEmbeddingsOncePastItsThreshold() throws {
        let network = try trainedNetwork()
        network.options.sparseBuildThreshold = 40
        let pixels = images(20, seed: 7)
        let dense = network.embed(pixels: pixels, count: 20, batchSize: 20)
        network.freezeForInference()
        // Batches below the minimum size never count nor use it; 20 + 20 images reach 40.
        _ = network.embed(pixels: pixels, count: 20, batchSize: 10)
        XCTAssertFalse(network.hasSparseProduct, "batches of 10 stay dense")
        _ = network.embed(pixels: pixels, count: 20, batchSize: 20)
        XCTAssertFalse(network.hasSparseProduct, "20 images are below the threshold of 40")
        let sparse = network.embed(pixels: pixels, count: 20, batchSize: 20)
        XCTAssertTrue(network.hasSparseProduct, "built on the batch that reaches 40 images")
        let density = network.sparseInputDensity ?? 1
        XCTAssertLessThan(density, 0.9, "the ReLU's zeros are skipped")
        XCTAssertGreaterThan(density, 0.05)
        assertClose(sparse, dense, "embeddings through the sparse product")
    }

    /// The network's embeddings through the dense product, whatever its state.
    private func denseEmbeddings(_ network: SiameseNetwork, _ pixels: [Float]) -> [Float] {
        network.options.sparseEvaluation = false
        defer { network.options.sparseEvaluation = true }
        return network.embed(pixels: pixels, count: pixels.count / 400)
    }

    func testTrainingAndLoadingThawTheNetwork() throws {
        let network = try trainedNetwork()
        network.options.sparseBuildThreshold = 0
        let pixels = images(16, seed: 8)
        network.freezeForInference()
        let before = network.embed(pixels: pixels, count: 16)
        XCTAssertTrue(network.hasSparseProduct)

        // A training step changes the weights: the network thaws, and embeds with the new ones.
        let adam = Adam(parameters: network.namedParameters.map(\.parameter), learningRate: 5e-2)
        adam.zeroGradients()
        try TrainingStep(network: network, loss: ContrastiveLoss(margin: 2))
            .run(images: Tensor(shape: [8, 1, 20, 20], values: images(8, seed: 9)), labels: [1, 0, 1, 0])
        adam.update()
        XCTAssertFalse(network.isFrozen)
        XCTAssertFalse(network.hasSparseProduct)
        let dense = denseEmbeddings(network, pixels)
        XCTAssertNotEqual(dense, before, "the step changed the embeddings")
        network.freezeForInference()
        assertClose(network.embed(pixels: pixels, count: 16), dense, "after the step, through a rebuilt sparse product")

        // Loading other weights into a frozen network thaws it too.
        let path = try temporaryDirectory(self).appendingPathComponent("other.safetensors").path
        try FaceModel(network: SiameseNetwork(config: Self.config, seed: 11), info: ModelInfo(config: Self.config)).save(to: path)
        try network.loadState(from: SafeTensorsFile(path: path))
        XCTAssertFalse(network.isFrozen)
        let reference = SiameseNetwork(config: Self.config, seed: 11).embed(pixels: pixels, count: 16)
        assertClose(denseEmbeddings(network, pixels), reference, "the loaded weights, dense")
        network.freezeForInference()
        assertClose(network.embed(pixels: pixels, count: 16), reference, "the loaded weights, through a rebuilt sparse product")
    }
}
