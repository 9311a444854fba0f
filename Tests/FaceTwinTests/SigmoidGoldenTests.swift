import XCTest

@testable import FaceTwin

/// One training step of a colour twin with the sigmoid score head against PyTorch, on a fixture
/// written by `scripts/make-golden.py --sigmoid` (facetwin_torch.py's `Net(head="sigmoid")` and
/// `sigmoid_contrastive`): embeddings, scores, the margin-1 contrastive loss on them, every
/// gradient, and every state tensor and BatchNorm counter after one Adam step, within 1e-4.
final class SigmoidGoldenTests: XCTestCase {
    struct Config: Decodable {
        var inputHeight: Int, inputWidth: Int, inputChannels: Int, channels: [Int], hidden: [Int], embeddingSize: Int
        var batch: Int, margin: Float, lr: Float
    }

    func testSigmoidHeadStepMatchesPyTorch() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/golden/sigmoid_step", withExtension: "safetensors"))
        let file = try SafeTensorsFile(contentsOf: url)
        let c = try JSONDecoder().decode(Config.self, from: Data(XCTUnwrap(file.metadata["config"]).utf8))
        let net = SiameseNetwork(
            config: NetworkConfig(
                inputHeight: c.inputHeight, inputWidth: c.inputWidth, channels: c.channels, hidden: c.hidden,
                embeddingSize: c.embeddingSize, inputChannels: c.inputChannels, head: .sigmoid), seed: 42)
        try net.loadState(from: file, prefix: "init.")
        XCTAssertEqual(net.head?.norm.numBatchesTracked, 2)
        let adam = Adam(parameters: net.namedParameters.map(\.parameter), learningRate: c.lr)
        let step = try TrainingStep(network: net, loss: ContrastiveLoss(margin: c.margin))
        let b = c.batch, dim = c.embeddingSize
        let x = try file.floats("x1") + file.floats("x2")
        let images = Tensor(shape: [2 * b, c.inputChannels, c.inputHeight, c.inputWidth], values: x)
        adam.zeroGradients(fuseIntoBackward: false)
        let output = step.run(images: images, labels: try file.floats("label"))
        let (value, emb) = (output.loss, output.embeddings)
        let e = emb.toArray()
        assertClose(Array(e[0..<(b * dim)]), try file.floats("o1"), "o1")
        assertClose(Array(e[(b * dim)...]), try file.floats("o2"), "o2")
        assertClose(net.head!.lastScores, try file.floats("score"), "score")
        assertClose([value], try file.floats("loss"), "loss")
        for (name, param) in net.namedParameters {
            assertClose(param.grad.toArray(), try file.floats("grad." + name), "grad.\(name)")
        }
        adam.update()
        for (name, tensor) in net.stateTensors {
            assertClose(tensor.toArray(), try file.floats("after." + name), "after.\(name)")
        }
        for (name, value) in net.stateDict {
            guard case .batchesTracked(let bn) = value else { continue }
            XCTAssertEqual(bn.numBatchesTracked, try file.int64s("after." + name).first, name)
        }
    }
}
