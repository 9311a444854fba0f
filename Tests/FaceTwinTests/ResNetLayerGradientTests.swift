import XCTest

@testable import FaceTwin
@testable import FaceTwinNetwork

/// The layers of dlib's ResNet (``DlibResNet``): each backward against central finite
/// differences of its own forward (the checker and tolerances of `GradientCheckTests`), and
/// each forward against a plain loop of its definition.
final class ResNetLayerGradientTests: XCTestCase {

    // MARK: ZeroPaddedConv2d

    func testConvolution7x7Stride2NoPadding() {
        var rng = RandomSource(seed: 1)
        let conv = ZeroPaddedConv2d(3, 2, kernel: 7, stride: 2, padding: 0, rng: &rng)
        let x = randomTensor([2, 3, 12, 11], seed: 2)
        XCTAssertEqual(conv.forward(x, mode: .training).shape, [2, 2, 3, 3])
        checkLayerGradients("ZeroPaddedConv2d(3→2, 7×7/2)", conv, input: x, h: 1e-2, seed: 3)
    }

    func testConvolution3x3Stride2NoPadding() {
        var rng = RandomSource(seed: 4)
        let conv = ZeroPaddedConv2d(3, 4, kernel: 3, stride: 2, padding: 0, rng: &rng)
        let x = randomTensor([3, 3, 9, 8], seed: 5)
        XCTAssertEqual(conv.forward(x, mode: .training).shape, [3, 4, 4, 3])
        checkLayerGradients("ZeroPaddedConv2d(3→4, 3×3/2)", conv, input: x, h: 1e-2, seed: 6)
    }

    func testConvolution3x3Stride1ZeroPadding() {
        var rng = RandomSource(seed: 7)
        let conv = ZeroPaddedConv2d(2, 3, kernel: 3, stride: 1, padding: 1, rng: &rng)
        let x = randomTensor([2, 2, 5, 6], seed: 8)
        XCTAssertEqual(conv.forward(x, mode: .training).shape, [2, 3, 5, 6])
        checkLayerGradients("ZeroPaddedConv2d(2→3, 3×3 pad 1)", conv, input: x, h: 1e-2, seed: 9)
    }

    func testConvolutionSingleImageAndOnePixelOutput() {
        var rng = RandomSource(seed: 10)
        let conv = ZeroPaddedConv2d(4, 3, kernel: 3, stride: 2, padding: 0, rng: &rng)
        let x = randomTensor([1, 4, 3, 4], seed: 11)
        XCTAssertEqual(conv.forward(x, mode: .training).shape, [1, 3, 1, 1])
        checkLayerGradients("ZeroPaddedConv2d(4→3, 3×3/2) 1×1 output", conv, input: x, h: 1e-2, seed: 12)
    }

    /// Forwards through every path (groups of images split between cores; one group split by
    /// rows of the maps or, for maps of fewer rows, by output channels; several images in one
    /// group) against the definition.
    func testConvolutionForwardMatchesDefinitionOnEveryPath() {
        for (cin, cout, k, s, p, side, n) in [
            (3, 32, 7, 2, 0, 40, 1), (16, 32, 3, 1, 1, 20, 1), (16, 64, 3, 2, 0, 9, 1), (16, 64, 3, 1, 1, 4, 5),
            (8, 16, 3, 1, 1, 12, 7), (3, 8, 7, 2, 0, 30, 3)
        ] {
            var rng = RandomSource(seed: UInt64(cin * 100 + side))
            let conv = ZeroPaddedConv2d(cin, cout, kernel: k, stride: s, padding: p, rng: &rng)
            let x = randomTensor([n, cin, side, side], seed: UInt64(side))
            let y = conv.forward(x, mode: .evaluation).toArray()
            let expected = naiveConvolution(x, weight: conv.weight.value, bias: conv.bias.value, stride: s, padding: p)
            XCTAssertEqual(y.count, expected.count)
            let worst = zip(y, expected).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThan(worst, 1e-4, "conv \(cin)→\(cout) \(k)×\(k)/\(s) pad \(p) on \(n)×\(side)²: off by \(worst)")
        }
    }

    func testConvolutionEpilogueIsAffineThenReLU() {
        var rng = RandomSource(seed: 13)
        let conv = ZeroPaddedConv2d(4, 5, kernel: 3, stride: 1, padding: 1, rng: &rng)
        let affine = ChannelAffine(5)
        affine.weight.value.copy(from: randomTensor([5], seed: 14))
        affine.bias.value.copy(from: randomTensor([5], seed: 15))
        let x = randomTensor([2, 4, 6, 6], seed: 16)
        let plain = ReLU().forward(affine.forward(conv.forward(x, mode: .training), mode: .training).clone(), mode: .training)
        let fused = conv.forward(x, epilogue: ZeroPaddedConv2d.Epilogue(affine, relu: true))
        XCTAssertEqual(fused.toArray(), plain.toArray())
    }

    // MARK: ChannelAffine

    func testChannelAffine() {
        let affine = ChannelAffine(3)
        affine.weight.value.copy(from: randomTensor([3], seed: 20))
        affine.bias.value.copy(from: randomTensor([3], seed: 21))
        let x = randomTensor([2, 3, 4, 5], seed: 22)
        let y = affine.forward(x, mode: .training)
        XCTAssertEqual(y[1, 2, 3, 4], affine.weight.value.pointer[2] * x[1, 2, 3, 4] + affine.bias.value.pointer[2])
        checkLayerGradients("ChannelAffine(3)", affine, input: x, h: 1e-2, seed: 23)
    }

    // MARK: Pools

    func testStridedMaxPool3x3Stride2() {
        let pool = StridedMaxPool2d(kernel: 3, stride: 2)
        let x = randomTensor([2, 2, 9, 8], seed: 30)
        XCTAssertEqual(pool.forward(x, mode: .training).shape, [2, 2, 4, 3])
        checkLayerGradients("StridedMaxPool2d(3, 2)", pool, input: x, h: 1e-3, guardKinks: true, seed: 31)
        // Overlapping windows: 72 → 35 as in the ResNet's stem; the maximum of each window.
        let one = StridedMaxPool2d(kernel: 3, stride: 2)
        let y = one.forward(Tensor(shape: [1, 1, 3, 5], values: [1, 2, 3, 4, 5, 0, 9, 0, 0, 0, 0, 0, 0, 7, 0]), mode: .training)
        XCTAssertEqual(y.toArray(), [9, 7])
        XCTAssertEqual(StridedMaxPool2d(kernel: 3, stride: 2).outputSide(72), 35)
        // Evaluation (maxima of row maxima, no winners kept) gives the training forward's values.
        let big = randomTensor([2, 3, 72, 71], seed: 32)
        let training = StridedMaxPool2d(kernel: 3, stride: 2).forward(big, mode: .training).toArray()
        XCTAssertEqual(StridedMaxPool2d(kernel: 3, stride: 2).forward(big, mode: .evaluation).toArray(), training)
    }

    func testAvgPool2x2Stride2() {
        let pool = AvgPool2d(kernel: 2, stride: 2)
        let x = randomTensor([2, 3, 7, 6], seed: 40)
        XCTAssertEqual(pool.forward(x, mode: .training).shape, [2, 3, 3, 3])
        checkLayerGradients("AvgPool2d(2, 2)", pool, input: x, h: 1e-2, seed: 41)
        let y = AvgPool2d(kernel: 2, stride: 2).forward(
            Tensor(shape: [1, 1, 3, 3], values: [1, 2, 9, 3, 6, 9, 9, 9, 9]), mode: .training)
        XCTAssertEqual(y.toArray(), [3])
    }

    func testGlobalAvgPool() {
        let x = randomTensor([3, 4, 2, 3], seed: 50)
        let y = GlobalAvgPool2d().forward(x, mode: .training)
        XCTAssertEqual(y.shape, [3, 4])
        XCTAssertEqual(y[2, 1], (0..<6).map { x.pointer[(2 * 4 + 1) * 6 + $0] }.reduce(0, +) / 6, accuracy: 1e-6)
        checkLayerGradients("GlobalAvgPool2d", GlobalAvgPool2d(), input: x, h: 1e-2, seed: 51)
    }

    // MARK: LinearNoBias

    func testLinearNoBias() {
        var rng = RandomSource(seed: 60)
        checkLayerGradients(
            "LinearNoBias(7→4) N=3", LinearNoBias(7, 4, rng: &rng), input: randomTensor([3, 7], seed: 61), h: 1e-2, seed: 62)
        checkLayerGradients(
            "LinearNoBias(5→3) N=1", LinearNoBias(5, 3, rng: &rng), input: randomTensor([1, 5], seed: 63), h: 1e-2, seed: 64)
    }

    // MARK: ResidualAdd

    func testResidualAddPadsTheSmallerInputWithZeros() {
        let add = ResidualAdd()
        let a = Tensor(shape: [1, 2, 1, 1], values: [1, 2])
        let b = Tensor(shape: [1, 1, 2, 2], values: [10, 20, 30, 40])
        let y = add.forward(a, b)
        XCTAssertEqual(y.shape, [1, 2, 2, 2])
        XCTAssertEqual(y.toArray(), [11, 20, 30, 40, 2, 0, 0, 0])
    }

    func testResidualAddGradients() {
        // Block output [2, 4, 3, 3] on a pooled shortcut [2, 2, 4, 4] (fewer channels, larger map).
        checkLayerGradients(
            "ResidualAdd 4×3×3 + 2×4×4", ResidualAddProbe(shortcut: randomTensor([2, 2, 4, 4], seed: 70)),
            input: randomTensor([2, 4, 3, 3], seed: 71), h: 1e-2, seed: 72)
        checkLayerGradients(
            "ResidualAdd same shapes", ResidualAddProbe(shortcut: randomTensor([2, 3, 2, 2], seed: 73)),
            input: randomTensor([2, 3, 2, 2], seed: 74), h: 1e-2, seed: 75)
    }

    // MARK: The network

    /// A small instance (every kind of block: stride 1, stride 2 with a wider output and a
    /// larger pooled shortcut) through forward and backward: each weight's gradient by the
    /// checker, the images' gradient along a random direction. The network is piecewise linear
    /// in each single weight, so a large step costs no truncation error and keeps Float32
    /// rounding of the forward small beside the difference; the checker's half-step estimate
    /// catches the steps that cross a ReLU or max-pool kink.
    func testResNetGradients() throws {
        let net = try DlibResNet(architecture: Self.smallArchitecture, seed: 80)
        for (i, (_, p)) in net.namedParameters.enumerated() where p.value.shape.count == 1 {
            // Affine maps away from the identity, so that their gradients are checked too.
            p.value.copy(from: randomTensor(p.value.shape, seed: 81 + UInt64(i), offset: 1, spread: 0.3))
        }
        let x = randomTensor([2, 3, 24, 24], seed: 90, offset: 0.5, spread: 0.5)
        // The stem's weights each move every pooled window at once, so a step of theirs crosses
        // max-pool kinks nearly everywhere: they are checked on their own layer
        // (`testConvolution7x7Stride2NoPadding`), not through the whole network.
        checkLayerGradients(
            "DlibResNet (small)", ResNetProbe(net, images: x, leavingOut: "conv1.weight"), input: Tensor(shape: [1]),
            h: 3e-2, guardKinks: true, seed: 91)

        // d/dε L(x + ε·d) at 0 against Σ ∂L/∂x · d, for L = Σ r ⊙ embeddings.
        let r = randomTensor([2, 6], seed: 92)
        _ = net.forward(x, mode: .training)
        let g = net.backward(r, needsInputGradient: true)!.toArray()
        let d = randomValues(x.count, seed: 93)
        func loss(_ step: Float) -> Double {
            let moved = Tensor(shape: x.shape, values: (0..<x.count).map { x.pointer[$0] + step * d[$0] })
            let y = net.forward(moved, mode: .evaluation)
            return (0..<y.count).reduce(0.0) { $0 + Double(y.pointer[$1]) * Double(r.pointer[$1]) }
        }
        let step: Float = 1e-3
        let numeric = (loss(step) - loss(-step)) / (2 * Double(step))
        let analytic = zip(g, d).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        XCTAssertEqual(numeric, analytic, accuracy: 0.02 * abs(analytic), "the images' gradient along a random direction")
    }

    func testResNetEvaluationMatchesTraining() throws {
        let net = try DlibResNet(architecture: Self.smallArchitecture, seed: 92)
        let x = randomTensor([3, 3, 24, 24], seed: 93, offset: 0.5, spread: 0.5)
        let training = net.forward(x, mode: .training).toArray()
        let evaluation = net.forward(x, mode: .evaluation).toArray()
        for (a, b) in zip(training, evaluation) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        // One image at a time gives the batch's embeddings.
        let single = net.embed(pixels: UnsafeBufferPointer(start: x.pointer, count: x.count), count: 3, batchSize: 1)
        for (a, b) in zip(single, evaluation) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }

    func testFullArchitectureShapes() {
        let a = DlibResNetArchitecture.v1
        XCTAssertNil(a.problem())
        XCTAssertEqual(a.sides, [35, 35, 35, 35, 17, 17, 17, 17, 8, 8, 8, 4, 4, 4, 2])
        XCTAssertEqual(a.stateShapes.count, 4 + 14 * 8 + 1)
        XCTAssertEqual(a.stateShapes.last?.shape, [128, 256])
        let weights = a.stateShapes.reduce(0) { $0 + $1.shape.reduce(1, *) }
        XCTAssertEqual(weights, 5_614_592)
        var tooSmall = a
        tooSmall.input.size = 100
        XCTAssertNotNil(tooSmall.problem(), "a 100-pixel input leaves the last down-sampling block a 1×1 map")
    }

    /// Stem 7×7/2 of 4 → 3×3/2 max pool, blocks 4, 8/2, 8, embedding 6: 24 → 9 → 4 → 4 → 2 → 2.
    static let smallArchitecture: DlibResNetArchitecture = {
        var a = DlibResNetArchitecture.reduced(widthDivisor: 8, inputSize: 24, embedding: 6)
        a.blocks = [.init(out: 4, stride: 1), .init(out: 8, stride: 2), .init(out: 8, stride: 1)]
        return a
    }()
}

/// `ResidualAdd` as a one-input layer for the checker: the second input is a parameter.
private final class ResidualAddProbe: Layer {
    let add = ResidualAdd()
    let shortcut: Parameter

    init(shortcut: Tensor) { self.shortcut = Parameter(shortcut) }

    var parameters: [(name: String, parameter: Parameter)] { [("shortcut", shortcut)] }

    func forward(_ input: Tensor, mode: Mode) -> Tensor { add.forward(input, shortcut.value) }

    func backward(_ gradOutput: Tensor, needsInputGradient: Bool) -> Tensor? {
        let (ga, gb) = add.backward(gradOutput)
        let d = shortcut.grad.pointer
        for i in 0..<gb.count { d[i] += gb.pointer[i] }
        return ga
    }
}

/// The whole network on fixed images as one layer for the checker: its weights are the
/// parameters; its input is a dummy value the network does not read (its gradient is 0).
private final class ResNetProbe: Layer {
    let net: DlibResNet, images: Tensor, left: String
    init(_ net: DlibResNet, images: Tensor, leavingOut left: String) { (self.net, self.images, self.left) = (net, images, left) }
    var parameters: [(name: String, parameter: Parameter)] { net.namedParameters.filter { $0.name != left } }
    func forward(_ input: Tensor, mode: Mode) -> Tensor { net.forward(images, mode: .training) }
    func backward(_ gradOutput: Tensor, needsInputGradient: Bool) -> Tensor? {
        net.backward(gradOutput)
        return Tensor(shape: [1])
    }
}

/// The convolution's definition, summed in Double.
private func naiveConvolution(_ x: Tensor, weight: Tensor, bias: Tensor, stride s: Int, padding p: Int) -> [Float] {
    let (n, cin, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (cout, k) = (weight.shape[0], weight.shape[2])
    let ho = 1 + (h + 2 * p - k) / s, wo = 1 + (w + 2 * p - k) / s
    var out = [Float](repeating: 0, count: n * cout * ho * wo)
    for i in 0..<n {
        for co in 0..<cout {
            for oy in 0..<ho {
                for ox in 0..<wo {
                    var total = Double(bias.pointer[co])
                    for ci in 0..<cin {
                        for ky in 0..<k {
                            for kx in 0..<k {
                                let iy = oy * s + ky - p, ix = ox * s + kx - p
                                guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                                total +=
                                    Double(weight.pointer[((co * cin + ci) * k + ky) * k + kx])
                                    * Double(x.pointer[((i * cin + ci) * h + iy) * w + ix])
                            }
                        }
                    }
                    out[((i * cout + co) * ho + oy) * wo + ox] = Float(total)
                }
            }
        }
    }
    return out
}

extension Tensor {
    fileprivate subscript(_ i: Int...) -> Float {
        var at = 0
        for (d, v) in zip(shape, i) { at = at * d + v }
        return pointer[at]
    }
}
