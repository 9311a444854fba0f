import XCTest

@testable import FaceTwin
@testable import FaceTwinTraining

/// The engine against PyTorch, on a fixture written by scripts/make-golden.py: the reference's
/// architecture at 12×10 input with hidden widths 24, 16; non-trivial BatchNorm state; two
/// training steps on fixed batches of 4 pairs; then an evaluation-mode forward.
final class GoldenTests: XCTestCase {
    struct Config: Decodable {
        var inputHeight: Int, inputWidth: Int, channels: [Int], hidden: [Int], embeddingSize: Int
        var batch: Int, margin: Float, lr: Float
    }

    func fixture() throws -> (SafeTensorsFile, Config) {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/golden/train_step", withExtension: "safetensors"))
        let file = try SafeTensorsFile(contentsOf: url)
        let config = try JSONDecoder().decode(Config.self, from: Data(XCTUnwrap(file.metadata["config"]).utf8))
        return (file, config)
    }

    func testTrainingStepsMatchPyTorch() throws {
        try checkTrainingSteps(fusingAdam: false)
    }

    /// The same two steps with every linear weight's Adam update folded into its gradient
    /// (FaceTwin's kernel; training uses it for the 80 000 × 500 weight): the gradients of those
    /// weights are never written, so only the parameters after each step are compared.
    func testTrainingStepsWithAdamInTheBackwardMatchPyTorch() throws {
        try XCTSkipUnless(WeightGEMM.isSupported, "this CPU has no AVX2/FMA")
        try checkTrainingSteps(fusingAdam: true)
    }

    private func checkTrainingSteps(fusingAdam: Bool) throws {
        let (file, c) = try fixture()
        let net = SiameseNetwork(
            config: NetworkConfig(
                inputHeight: c.inputHeight, inputWidth: c.inputWidth, channels: c.channels,
                hidden: c.hidden, embeddingSize: c.embeddingSize), seed: 42)
        try net.loadState(from: file, prefix: "init.")
        let adam = Adam(parameters: net.namedParameters.map(\.parameter), learningRate: c.lr)
        if fusingAdam { adam.fusionMinimum = 1 }
        let training = try TrainingStep(network: net, loss: ContrastiveLoss(margin: c.margin))
        let hw = c.inputHeight * c.inputWidth, b = c.batch, dim = c.embeddingSize
        let images = Tensor(shape: [2 * b, 1, c.inputHeight, c.inputWidth])

        for step in 1...2 {
            let p = "step\(step)."
            let x = try file.floats(p + "x1") + file.floats(p + "x2")
            XCTAssertEqual(x.count, 2 * b * hw)
            x.withUnsafeBufferPointer { images.pointer.update(from: $0.baseAddress!, count: x.count) }
            adam.zeroGradients(fuseIntoBackward: fusingAdam)
            let output = training.run(images: images, labels: try file.floats(p + "label"))
            let (value, emb) = (output.loss, output.embeddings)
            let e = emb.toArray()
            assertClose(Array(e[0..<(b * dim)]), try file.floats(p + "o1"), "\(p)o1")
            assertClose(Array(e[(b * dim)...]), try file.floats(p + "o2"), "\(p)o2")
            assertClose([value], try file.floats(p + "loss"), "\(p)loss")
            for (name, param) in net.namedParameters {
                if fusingAdam && name.hasPrefix("fc1.") && name.hasSuffix(".weight") {
                    XCTAssertTrue(param.updatedInBackward, "\(name) was not updated in the backward")
                    continue
                }
                assertClose(param.grad.toArray(), try file.floats(p + "grad." + name), "\(p)grad.\(name)")
            }
            adam.update()
            for (name, tensor) in net.stateTensors {
                assertClose(tensor.toArray(), try file.floats(p + "after." + name), "\(p)after.\(name)")
            }
            for (index, bn) in net.batchNorms {
                XCTAssertEqual(
                    bn.numBatchesTracked, try file.int64s("\(p)after.cnn1.\(index).num_batches_tracked").first,
                    "\(p) num_batches_tracked of cnn1.\(index)")
            }
        }

        let x1 = try file.floats("step1.x1")
        let eval = net.embed(pixels: x1, count: b)
        assertClose(eval, try file.floats("eval.o1"), "eval.o1")

        // The same through a frozen network's sparse first linear layer (built at once, for a
        // batch of the four images repeated to its minimum size).
        guard WeightGEMM.isSupported else { return }
        net.options.sparseBuildThreshold = 0
        net.freezeForInference()
        let copies = (SiameseNetwork.sparseMinimumBatch + b - 1) / b
        let many = net.embed(pixels: Array([[Float]](repeating: x1, count: copies).joined()), count: copies * b)
        XCTAssertTrue(net.hasSparseProduct, "the frozen network built its sparse product")
        let expected = try file.floats("eval.o1")
        for copy in 0..<copies {
            assertClose(
                Array(many[(copy * b * dim)..<((copy + 1) * b * dim)]), expected,
                "eval.o1 through the sparse product, copy \(copy)")
        }
        net.thaw()
    }
}

/// Elementwise |actual − expected| ≤ 1e-4·|expected|, with entries near zero (below 5 % of the
/// tensor's largest magnitude) held to 1e-4 of that 5 % instead: a gradient entry that is a
/// near-cancelling sum carries float32 rounding of the tensor's scale, not its own (checked
/// against a float64 PyTorch run: PyTorch's own float32 result is 6e-5 off there, ours as much).
func assertClose(
    _ actual: [Float], _ expected: [Float], _ what: String, rtol: Float = 1e-4,
    file: StaticString = #filePath, line: UInt = #line
) {
    guard actual.count == expected.count else {
        XCTFail("\(what): \(actual.count) values, expected \(expected.count)", file: file, line: line)
        return
    }
    let scale = expected.reduce(0) { max($0, abs($1)) }
    var worst: (Int, Float) = (-1, 0)
    for i in 0..<actual.count {
        let err = abs(actual[i] - expected[i])
        let allowed = rtol * max(abs(expected[i]), 0.05 * scale, 1e-7)
        if err > allowed, err / allowed > worst.1 { worst = (i, err / allowed) }
    }
    if worst.0 >= 0 {
        let i = worst.0
        XCTFail("\(what)[\(i)]: \(actual[i]) vs PyTorch \(expected[i]) (\(worst.1)× the tolerance)", file: file, line: line)
    }
}
