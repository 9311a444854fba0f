import COpenBLAS
import Foundation
import XCTest

@testable import FaceTwin
@testable import FaceTwinTensor
@testable import FaceTwinTraining

/// FaceTwin's kernels in both of their builds, AVX2/FMA and baseline x86-64 (Sources/CKernels/
/// cpu.c), in one process: each build against a Double reference, and the two builds against each
/// other on whole computations (a convolution's three products, a GEMM, a training step of each
/// recipe's network, a ResNet embedding). On a CPU without AVX2 only the baseline runs. The
/// builds differ in the fused multiply-add's single rounding and in which GEMM runs (FaceTwin's
/// own kernels, or OpenBLAS and Adam.swift), so they agree to float32 rounding, not to the bit.
final class InstructionSetTests: XCTestCase {
    func testForcingTheBaselineTurnsOffEveryAVX2Kernel() throws {
        InstructionSet.forcing(.baseline) {
            XCTAssertEqual(InstructionSet.current, .baseline)
            XCTAssertFalse(WeightGEMM.isSupported, "the big layer's AVX2 kernels run under the baseline")
        }
        try XCTSkipUnless(InstructionSet.available.contains(.avx2FMA), "this CPU has no AVX2/FMA")
        InstructionSet.forcing(.avx2FMA) {
            XCTAssertEqual(InstructionSet.current, .avx2FMA)
            XCTAssertTrue(WeightGEMM.isSupported)
        }
    }

    /// The direct convolution kernels (blocks of four channels × 16 outputs, rows of 32 and 8, an
    /// overlapping last vector, scalar rows under 8; the weight gradient's blocked and per-channel
    /// kernels with a masked tail) of each build against a Double loop, and the builds against
    /// each other.
    func testConvolutionOfBothBuildsMatchesADoubleReferenceAndEachOther() {
        // (n, cin, cout, h, w, k): every path of Sources/CKernels/conv.c.
        let shapes = [(3, 1, 4, 12, 10, 3), (2, 3, 5, 7, 18, 3), (2, 8, 8, 9, 102, 3), (2, 4, 9, 5, 37, 3), (2, 2, 5, 6, 7, 3)]
        for (index, (n, cin, cout, h, w, k)) in shapes.enumerated() {
            var results: [InstructionSet: [[Float]]] = [:]
            for set in InstructionSet.available {
                var rng = RandomSource(seed: UInt64(300 + index))
                let conv = Conv2d(cin, cout, kernel: k, rng: &rng)
                let x = Tensor(shape: [n, cin, h, w], values: values(n * cin * h * w, &rng))
                let (ho, wo) = (h - k + 1, w - k + 1)
                let g = Tensor(shape: [n, cout, ho, wo], values: values(n * cout * ho * wo, &rng))
                let (y, gin) = InstructionSet.forcing(set) {
                    conv.weight.grad.fill(0)
                    conv.bias.grad.fill(0)
                    let y = conv.forward(x, mode: .training).toArray()
                    return (y, conv.backward(g, needsInputGradient: true)!.toArray())
                }
                let label = "\(set.rawValue) n\(n) \(cin)→\(cout) \(h)×\(w)"
                let reference = doubleConvolution(
                    x.toArray(), conv.weight.value.toArray(), conv.bias.value.toArray(), g.toArray(),
                    n: n, cin: cin, cout: cout, h: h, w: w, k: k)
                assertClose(y, reference.y, "\(label) forward")
                assertClose(conv.weight.grad.toArray(), reference.dW, "\(label) weight gradient")
                assertClose(gin, reference.dX, "\(label) input gradient")
                results[set] = [y, conv.weight.grad.toArray(), gin]
            }
            if let a = results[.avx2FMA], let b = results[.baseline] {
                for (what, (p, q)) in zip(["forward", "weight gradient", "input gradient"], zip(a, b)) {
                    assertClose(p, q.map(Double.init), "shape \(index) \(what): AVX2 against baseline")
                }
            }
        }
    }

    /// The portable GEMM that replaces OpenBLAS under a memory limit, both builds, every
    /// transposition, against a Double loop.
    func testPortableGEMMOfBothBuildsMatchesADoubleReference() {
        var rng = RandomSource(seed: 9)
        let (m, n, k) = (7, 19, 37)
        let a = values(m * k, &rng), b = values(k * n, &rng)
        for set in InstructionSet.available {
            for (ta, tb) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                var c = [Float](repeating: 0.5, count: m * n)
                InstructionSet.forcing(set) {
                    facetwin_portable_sgemm(
                        Int32(ta), Int32(tb), Int32(m), Int32(n), Int32(k), 1.5, a, Int32(ta == 1 ? m : k), b,
                        Int32(tb == 1 ? k : n), 2, &c, Int32(n))
                }
                var expected = [Double](repeating: 0, count: m * n)
                for i in 0..<m {
                    for j in 0..<n {
                        var s = 0.0
                        for p in 0..<k {
                            let av = ta == 1 ? a[p * m + i] : a[i * k + p], bv = tb == 1 ? b[j * k + p] : b[p * n + j]
                            s += Double(av) * Double(bv)
                        }
                        expected[i * n + j] = 1.5 * s + 2 * 0.5
                    }
                }
                assertClose(c, expected, "\(set.rawValue) GEMM transA \(ta) transB \(tb)")
            }
        }
    }

    /// Three training steps of a small twin of each recipe's shape, from the same weights and
    /// batches, in each build: the losses and the embeddings of the last step agree. The reference
    /// shape's big linear layer takes FaceTwin's own GEMM and Adam folded into its backward under
    /// AVX2, OpenBLAS and Adam.swift under the baseline; the default shape's first block takes the
    /// direct kernels, the others im2col + GEMM.
    func testTrainingStepsOfBothBuildsAgree() throws {
        try XCTSkipUnless(InstructionSet.available.count == 2, "this CPU has no AVX2/FMA: one build only")
        let configs = [
            ("reference", NetworkConfig(inputHeight: 24, inputWidth: 20, hidden: [64, 32], embeddingSize: 5)),
            (
                "default",
                NetworkConfig(
                    inputHeight: 32, inputWidth: 32, channels: [16, 32, 64, 64], hidden: [], embeddingSize: 16, pool: 2,
                    standardize: true, embeddingScale: 1)
            )
        ]
        for (name, config) in configs {
            var runs: [InstructionSet: (losses: [Float], embeddings: [Float])] = [:]
            for set in InstructionSet.available {
                runs[set] = try InstructionSet.forcing(set) { try trainingSteps(config) }
            }
            let (a, b) = (try XCTUnwrap(runs[.avx2FMA]), try XCTUnwrap(runs[.baseline]))
            assertClose(a.losses, b.losses.map(Double.init), "\(name): losses, AVX2 against baseline")
            assertClose(a.embeddings, b.embeddings.map(Double.init), "\(name): embeddings after 3 steps, AVX2 against baseline")
        }
    }

    /// dlib's ResNet (the narrow instance of the golden fixture, and the pretrained model on
    /// real chips when models/ has it) embeds alike in both builds.
    func testResNetEmbeddingsOfBothBuildsAgree() throws {
        try XCTSkipUnless(InstructionSet.available.count == 2, "this CPU has no AVX2/FMA: one build only")
        let path = packageRoot.appendingPathComponent("Tests/FaceTwinTests/Fixtures/golden/resnet_step.safetensors").path
        let file = try SafeTensorsFile(path: path)
        let architecture = try JSONDecoder().decode(
            DlibResNetArchitecture.self, from: Data(try XCTUnwrap(file.metadata["architecture"]).utf8))
        let net = try DlibResNet(architecture: architecture, seed: nil)
        for (name, p) in net.namedParameters {
            p.value.copy(from: Tensor(shape: p.value.shape, values: try file.floats("init." + name)))
        }
        let side = architecture.input.size
        let images = Tensor(shape: [2, 3, side, side], values: try file.floats("x1"))
        let a = InstructionSet.forcing(.avx2FMA) { net.forward(images, mode: .evaluation).toArray() }
        let b = InstructionSet.forcing(.baseline) { net.forward(images, mode: .evaluation).toArray() }
        assertClose(a, b.map(Double.init), "narrow ResNet embeddings, AVX2 against baseline")

        guard let modelPath = try? DlibModels.path("dlib-resnet.safetensors") else { return }
        let orl = try orlDirectory()
        let probes = ["\(orl)/s1/1.pgm", "\(orl)/s2/1.pgm"]
        var embeddings: [InstructionSet: [[Float]]] = [:]
        for set in InstructionSet.available {
            embeddings[set] = try InstructionSet.forcing(set) {
                let model = try FaceModel.load(path: modelPath)
                return try model.embed(imagesAt: probes)
            }
        }
        for (p, (x, y)) in zip(probes, zip(try XCTUnwrap(embeddings[.avx2FMA]), try XCTUnwrap(embeddings[.baseline]))) {
            assertClose(x, y.map(Double.init), "pretrained ResNet, \(p): AVX2 against baseline")
        }
    }

    /// `FACETWIN_CPU=baseline` reaches the CLI: `facetwin compare` of two ORL crops with a twin
    /// trained for one epoch gives the same verdict and distance (within 1e-4) either way.
    func testTheEnvironmentForcesTheBaselineInTheCLI() throws {
        let orl = try orlDirectory()
        let dir = try temporaryDirectory(self)
        let model = dir.appendingPathComponent("m.safetensors").path
        let train = try runFacetwin([
            "train", "--data", orl, "--holdout", "s7,s8", "--epochs", "1", "--seed", "0", "--out", model, "--quiet"
        ])
        XCTAssertEqual(train.status, 0, train.stderr)
        func compare(_ cpu: String?) throws -> (status: Int32, distance: Double) {
            let env = cpu.map { ["FACETWIN_CPU=\($0)"] } ?? ["-u", "FACETWIN_CPU"]
            let r = try runCapturing(
                URL(fileURLWithPath: "/usr/bin/env"),
                env + [facetwinExecutable().path, "compare", "\(orl)/s7/1.pgm", "\(orl)/s7/2.pgm", "--model", model, "--json"])
            XCTAssertTrue(r.status == 0 || r.status == 1, r.stderr)
            let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
            return (r.status, try XCTUnwrap(json?["distance"] as? Double, r.stdout))
        }
        let native = try compare(nil), baseline = try compare("baseline")
        XCTAssertEqual(native.status, baseline.status, "the verdicts differ")
        XCTAssertEqual(native.distance, baseline.distance, accuracy: 1e-4)
    }

    // MARK: - Helpers

    private func trainingSteps(_ config: NetworkConfig) throws -> (losses: [Float], embeddings: [Float]) {
        let net = SiameseNetwork(config: config, seed: 5)
        let adam = Adam(parameters: net.namedParameters.map(\.parameter), learningRate: 1e-3)
        adam.fusionMinimum = 1 << 10
        let step = try TrainingStep(network: net, loss: ContrastiveLoss(margin: 2))
        var rng = RandomSource(seed: 6)
        let batch = 4, size = config.imageSize
        var losses: [Float] = [], embeddings: [Float] = []
        for _ in 0..<3 {
            let images = Tensor(
                shape: [2 * batch, config.inputChannels, config.inputHeight, config.inputWidth],
                values: values(2 * batch * size, &rng))
            adam.zeroGradients(fuseIntoBackward: true)
            let output = step.run(images: images, labels: [0, 1, 0, 1])
            let (loss, e) = (output.loss, output.embeddings)
            adam.update()
            losses.append(loss)
            embeddings = e.toArray()
        }
        return (losses, embeddings)
    }

    private func doubleConvolution(
        _ x: [Float], _ wgt: [Float], _ bias: [Float], _ g: [Float], n: Int, cin: Int, cout: Int, h: Int, w: Int, k: Int
    ) -> (y: [Double], dW: [Double], dX: [Double]) {
        let ho = h - k + 1, wo = w - k + 1
        var y = [Double](repeating: 0, count: n * cout * ho * wo)
        var dW = [Double](repeating: 0, count: wgt.count), dX = [Double](repeating: 0, count: x.count)
        for i in 0..<n {
            for co in 0..<cout {
                for oy in 0..<ho {
                    for ox in 0..<wo {
                        let o = ((i * cout + co) * ho + oy) * wo + ox
                        var acc = Double(bias[co])
                        for ci in 0..<cin {
                            for ky in 0..<k {
                                for kx in 0..<k {
                                    let wi = ((co * cin + ci) * k + ky) * k + kx
                                    let xi = ((i * cin + ci) * h + oy + ky) * w + ox + kx
                                    acc += Double(wgt[wi]) * Double(x[xi])
                                    dW[wi] += Double(g[o]) * Double(x[xi])
                                    dX[xi] += Double(g[o]) * Double(wgt[wi])
                                }
                            }
                        }
                        y[o] = acc
                    }
                }
            }
        }
        return (y, dW, dX)
    }

    private func values(_ count: Int, _ rng: inout RandomSource) -> [Float] {
        (0..<count).map { _ in Float.random(in: -1...1, using: &rng) }
    }

    /// |a − b| ≤ 1e-5 of the tensor's largest magnitude, elementwise: float32 rounding of sums of
    /// up to a few thousand terms, where a wrong term or index is off by the scale.
    private func assertClose(_ a: [Float], _ b: [Double], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        let scale = max(b.map(abs).max() ?? 0, 1e-30)
        for (i, (x, y)) in zip(a, b).enumerated() where !(abs(Double(x) - y) <= 1e-5 * scale) {
            return XCTFail("\(what)[\(i)]: \(x) vs \(y) (scale \(scale))", file: file, line: line)
        }
    }
}
