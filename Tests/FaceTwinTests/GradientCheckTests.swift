import XCTest

@testable import FaceTwin
@testable import FaceTwinLayers
@testable import FaceTwinTraining

/// Every layer's explicit backward against central finite differences of its own forward.
///
/// For a layer, the scalar objective is L = Σ r ⊙ forward(x) with a fixed random r, so the
/// backward is called with gradOutput = r. Each input and parameter element is moved by ±h,
/// L is summed in Double from the Float32 outputs, and (L₊ − L₋)/(x₊ − x₋) (the perturbation
/// actually representable in Float32) is compared with the analytic gradient.
///
/// Tolerance: |numeric − analytic| ≤ 2e-2·max(|numeric|, |analytic|) + 1e-3·scale, where scale
/// is the largest gradient magnitude in that tensor. The relative 2 % covers the O(h²) truncation
/// of the central difference on the nonlinear layers (BatchNorm, the loss) and Float32 rounding
/// of the forward; the absolute 1e-3·scale covers entries that are near-cancelling sums and so
/// carry rounding of the tensor's scale rather than their own. Measured errors are far below it
/// (see `testCheckerRejectsWrongGradients` for the other direction: a gradient 10 % off, one entry
/// with the wrong sign, or entries swapped, all fail).
///
/// The compositions (ConvBlock, Sequential, the siamese network) contain ReLUs whose kinks a ±h perturbation
/// may cross, which makes the finite difference, not the backward, wrong. For those, each element
/// is also differenced at h/2; where the two estimates disagree (a kink was crossed) the element
/// is skipped, and only a few skips are allowed per check.
///
/// Set GRADCHECK_VERBOSE=1 to print, per tensor, how many elements were checked or skipped and
/// the worst error as a fraction of the tolerance.
final class GradientCheckTests: XCTestCase {

    // MARK: ReflectionPad2d

    func testReflectionPad2dPaddingOne() {
        let x = randomTensor([2, 3, 4, 5], seed: 1)
        assertGradients("ReflectionPad2d(1)", ReflectionPad2d(1), input: x, h: 1e-2, seed: 11)
    }

    func testReflectionPad2dPaddingTwo() {
        let x = randomTensor([3, 2, 3, 6], seed: 2)
        assertGradients("ReflectionPad2d(2)", ReflectionPad2d(2), input: x, h: 1e-2, seed: 12)
    }

    func testReflectionPad2dPaddingThreeOnTallInput() {
        let x = randomTensor([2, 1, 7, 4], seed: 3)
        assertGradients("ReflectionPad2d(3)", ReflectionPad2d(3), input: x, h: 1e-2, seed: 13)
    }

    // MARK: Conv2d

    func testConv2dOneToTwoChannels() {
        var rng = RandomSource(seed: 20)
        let conv = Conv2d(1, 2, kernel: 3, rng: &rng)
        assertGradients("Conv2d(1→2) N=5 5×7", conv, input: randomTensor([5, 1, 5, 7], seed: 21), h: 1e-2, seed: 22)
    }

    func testConv2dThreeToFourChannels() {
        var rng = RandomSource(seed: 23)
        let conv = Conv2d(3, 4, kernel: 3, rng: &rng)
        assertGradients("Conv2d(3→4) N=5 6×4", conv, input: randomTensor([5, 3, 6, 4], seed: 24), h: 1e-2, seed: 25)
    }

    func testConv2dKernelTwoUnevenWorkerSplit() {
        var rng = RandomSource(seed: 26)
        let conv = Conv2d(2, 3, kernel: 2, rng: &rng)
        assertGradients("Conv2d(2→3, k2) N=3 4×5", conv, input: randomTensor([3, 2, 4, 5], seed: 27), h: 1e-2, seed: 28)
    }

    func testConv2dSingleImageOnePixelOutput() {
        var rng = RandomSource(seed: 29)
        let conv = Conv2d(2, 2, kernel: 3, rng: &rng)
        assertGradients("Conv2d(2→2) N=1 3×3", conv, input: randomTensor([1, 2, 3, 3], seed: 30), h: 1e-2, seed: 31)
    }

    func testConv2dAfterBatchSizeChange() {
        // Scratch is sized by the first call (N=1, one worker) and must be resized for N=5.
        var rng = RandomSource(seed: 32)
        let conv = Conv2d(2, 3, kernel: 3, rng: &rng)
        _ = conv.forward(randomTensor([1, 2, 5, 4], seed: 33), mode: .training)
        assertGradients("Conv2d(2→3) N=1 then N=5", conv, input: randomTensor([5, 2, 5, 4], seed: 34), h: 1e-2, seed: 35)
    }

    // MARK: ReLU

    func testReLUAwayFromZero() {
        // Inputs at least 0.1 from the kink, so ±h never crosses it.
        var rng = RandomSource(seed: 40)
        let values = (0..<(3 * 2 * 4 * 5)).map { _ -> Float in
            let magnitude = Float.random(in: 0.1...1, using: &rng)
            return Bool.random(using: &rng) ? magnitude : -magnitude
        }
        let x = Tensor(shape: [3, 2, 4, 5], values: values)
        let checks = assertGradients("ReLU", ReLU(), input: x, h: 1e-2, seed: 41)
        // Negative inputs get exactly zero gradient, positive ones exactly r.
        if let input = checks.first(where: { $0.name.hasSuffix("input") }) {
            for (i, v) in values.enumerated() where v < 0 { XCTAssertEqual(input.analytic[i], 0, "ReLU input gradient [\(i)]") }
        }
        XCTAssertNil(ReLU().backward(Tensor(shape: [2], values: [1, 1]), needsInputGradient: false))
    }

    // MARK: BatchNorm2d

    func testBatchNorm2dTrainingOneGroup() {
        let bn = nonTrivialBatchNorm(channels: 3, seed: 50)
        let x = randomTensor([4, 3, 3, 5], seed: 51, offset: 0.4, spread: 1.5)
        assertGradients("BatchNorm2d(3) groups=1", bn, input: x, h: 1e-2, seed: 52)
    }

    func testBatchNorm2dTrainingTwoGroups() {
        let bn = nonTrivialBatchNorm(channels: 3, seed: 53)
        bn.groups = 2
        // The two halves get different means and spreads, so a backward that mixed their
        // statistics would be caught.
        let first = randomValues(2 * 3 * 3 * 4, seed: 54, offset: 0.5, spread: 1)
        let second = randomValues(2 * 3 * 3 * 4, seed: 55, offset: -1, spread: 3)
        let x = Tensor(shape: [4, 3, 3, 4], values: first + second)
        assertGradients("BatchNorm2d(3) groups=2", bn, input: x, h: 1e-2, seed: 56)
    }

    func testBatchNorm2dTrainingTwoGroupsOddSizes() {
        let bn = nonTrivialBatchNorm(channels: 2, seed: 57)
        bn.groups = 2
        let x = randomTensor([6, 2, 2, 3], seed: 58, offset: 0.2, spread: 2)
        assertGradients("BatchNorm2d(2) groups=2 N=6", bn, input: x, h: 1e-2, seed: 59)
    }

    // MARK: Linear

    func testLinear() {
        var rng = RandomSource(seed: 60)
        let linear = Linear(7, 4, rng: &rng)
        assertGradients("Linear(7→4) N=5", linear, input: randomTensor([5, 7], seed: 61), h: 1e-2, seed: 62)
    }

    func testLinearOnFourDimensionalInput() {
        // After the CNN the input is [N, C, H, W]; the input gradient must come back in that shape.
        var rng = RandomSource(seed: 63)
        let linear = Linear(3 * 2 * 2, 3, rng: &rng)
        let x = randomTensor([3, 3, 2, 2], seed: 64)
        assertGradients("Linear(12→3) on [3,3,2,2]", linear, input: x, h: 1e-2, seed: 65)
        _ = linear.forward(x.clone(), mode: .training)
        let g = linear.backward(randomTensor([3, 3], seed: 66), needsInputGradient: true)
        XCTAssertEqual(g?.shape, [3, 3, 2, 2])
        XCTAssertNil(linear.backward(randomTensor([3, 3], seed: 66), needsInputGradient: false))
    }

    // MARK: ConvBlock

    func testConvBlockGradients() {
        var rng = RandomSource(seed: 76)
        let block = ConvBlock(2, 3, rng: &rng)
        makeNonTrivial(block.norm, seed: 77)
        assertGradients(
            "ConvBlock(2→3)", block, input: randomTensor([4, 2, 4, 5], seed: 78), h: 3e-4, inputStep: 1e-3,
            guardKinks: true, seed: 79)
    }

    func testConvBlockGradientsThroughGEMM() {
        var rng = RandomSource(seed: 80)
        let block = ConvBlock(16, 3, rng: &rng)
        XCTAssertTrue(Conv2d.usesGEMM(cin: 16, k: 3))
        makeNonTrivial(block.norm, seed: 81)
        assertGradients(
            "ConvBlock(16→3), im2col + GEMM", block, input: randomTensor([3, 16, 4, 5], seed: 82), h: 3e-4, inputStep: 1e-3,
            guardKinks: true, seed: 83)
    }

    // MARK: Sequential

    func testSequentialSkipsInputGradientsBeforeFirstLearnableLayer() {
        let (net, front, middle) = smallSequential(seed: 70)
        let x = randomTensor([5, 2, 4, 6], seed: 71)
        let r = randomTensor([5, 4], seed: 72)

        _ = net.forward(x.clone(), mode: .training)
        zeroGradients(net.parameters)
        let withInput = net.backward(r.clone(), needsInputGradient: true)
        XCTAssertEqual(withInput?.shape, x.shape)
        XCTAssertEqual(front.backwardCalls, [true])
        XCTAssertEqual(middle.backwardCalls, [true])
        let gradsWithInput = net.parameters.map { $0.parameter.grad.toArray() }

        front.backwardCalls = []
        middle.backwardCalls = []
        _ = net.forward(x.clone(), mode: .training)
        zeroGradients(net.parameters)
        XCTAssertNil(net.backward(r.clone(), needsInputGradient: false))
        XCTAssertEqual(front.backwardCalls, [], "a layer before the first learnable one was asked for a gradient")
        XCTAssertEqual(middle.backwardCalls, [true], "a layer after the first learnable one must pass its gradient on")
        // The first conv's weights still get their gradient, the same as with the input gradient.
        for ((name, p), expected) in zip(net.parameters, gradsWithInput) {
            assertNearlyEqual(p.grad.toArray(), expected, "\(name).grad without input gradient")
        }
    }

    func testSequentialGradients() {
        let (net, _, _) = smallSequential(seed: 73)
        let x = randomTensor([5, 2, 4, 6], seed: 74)
        // h trades kink crossings (they bias the difference by O(h)) against Float32 rounding (O(ε/h)):
        // 1e-3 for the parameters, whose perturbations move every downstream unit; 3e-3 for the
        // input, whose gradient entries are small and whose perturbations move few units.
        assertGradients("Sequential", net, input: x, h: 1e-3, inputStep: 3e-3, guardKinks: true, seed: 75)
    }

    // MARK: ContrastiveLoss

    func testContrastiveLossGradients() {
        // Pairs: similar (y=0); different inside the margin (y=1, d≈1.1); different beyond it
        // (y=1, d≈2.9: hinge 0, so exactly zero gradient); similar with identical embeddings (d≈0).
        let dim = 3
        let first: [Float] = [0.3, -0.2, 0.5, /**/ 0.1, 0.4, -0.3, /**/ 1.0, -0.8, 0.6, /**/ -0.4, 0.7, 0.2]
        let second: [Float] = [-0.1, 0.3, 0.2, /**/ 0.8, -0.2, 0.3, /**/ -0.9, 0.6, -0.9, /**/ -0.4, 0.7, 0.2]
        let labels: [Float] = [0, 1, 1, 0]
        let loss = ContrastiveLoss(margin: 2)
        let b = labels.count

        func evaluate(_ a: [Float], _ c: [Float]) -> (value: Double, gradFirst: [Float], gradSecond: [Float]) {
            var g1 = [Float](repeating: .nan, count: b * dim), g2 = [Float](repeating: .nan, count: b * dim)
            let v = loss.evaluate(first: a, second: c, dim: dim, labels: labels, gradFirst: &g1, gradSecond: &g2)
            return (Double(v), g1, g2)
        }
        let base = evaluate(first, second)
        XCTAssertEqual(base.value, referenceContrastive(first, second, dim: dim, labels: labels, margin: 2), accuracy: 1e-6)

        // Pair 2 is beyond the margin: its gradient is exactly zero.
        for k in 0..<dim {
            XCTAssertEqual(base.gradFirst[2 * dim + k], 0)
            XCTAssertEqual(base.gradSecond[2 * dim + k], 0)
        }

        for (name, which) in [("first", 0), ("second", 1)] {
            var numeric: [Double] = []
            let h: Float = 3e-3
            for i in 0..<(b * dim) {
                var a = first, c = second
                let x = which == 0 ? a[i] : c[i]
                let (xp, xm) = (x + h, x - h)
                if which == 0 { a[i] = xp } else { c[i] = xp }
                let lp = evaluate(a, c).value
                if which == 0 { a[i] = xm } else { c[i] = xm }
                let lm = evaluate(a, c).value
                numeric.append((lp - lm) / (Double(xp) - Double(xm)))
            }
            let analytic = which == 0 ? base.gradFirst : base.gradSecond
            assertComparison(compareGradients("ContrastiveLoss d/d\(name)", numeric: numeric, analytic: analytic))
        }
    }

    // MARK: TrainingStep

    func testSiameseTrainStepGradients() throws {
        let config = NetworkConfig(inputHeight: 6, inputWidth: 5, channels: [2, 3], hidden: [7], embeddingSize: 3)
        let net = SiameseNetwork(config: config, seed: 80)
        // Non-trivial BatchNorm affine parameters, so their gradients pass through scaled.
        var rng = RandomSource(seed: 81)
        for (_, bn) in net.batchNorms {
            for i in 0..<bn.channels {
                bn.weight.value.pointer[i] = Float.random(in: 0.6...1.5, using: &rng)
                bn.bias.value.pointer[i] = Float.random(in: -0.3...0.3, using: &rng)
            }
        }
        let b = 3, dim = config.embeddingSize
        let labels: [Float] = [0, 1, 1]
        let images = randomTensor([2 * b, 1, config.inputHeight, config.inputWidth], seed: 82, offset: 0.5, spread: 1)
        let step = try TrainingStep(network: net, loss: ContrastiveLoss(margin: 2))

        // The loss in Double from the embeddings; the engine's own Float value must agree with it.
        var worstLossMismatch = 0.0
        func objective() -> Double {
            let output = step.run(images: images, labels: labels)
            let (value, emb) = (output.loss, output.embeddings)
            let e = emb.toArray()
            let reference = referenceContrastive(
                Array(e[0..<(b * dim)]), Array(e[(b * dim)...]), dim: dim, labels: labels, margin: 2)
            worstLossMismatch = max(worstLossMismatch, abs(reference - Double(value)) / max(1, abs(reference)))
            return reference
        }

        zeroGradients(net.namedParameters)
        _ = objective()
        let analytic = net.namedParameters.map { $0.parameter.grad.toArray() }
        let globalScale = analytic.joined().reduce(Float(0)) { max($0, abs($1)) }

        // The last layer's bias moves both twins' embeddings alike, so the distances and the
        // loss do not depend on it: its gradient is exactly zero (as in PyTorch), and the
        // finite difference is rounding only.
        XCTAssertEqual(analytic.last, [Float](repeating: 0, count: dim), "fc1.2.bias gradient")

        // Small h: a perturbation of a first-layer weight moves every ReLU input downstream, so
        // kinks are crossed often and bias the difference by O(h); measured, 3e-4 balances that
        // against Float32 rounding (worst error a quarter of the tolerance).
        let h: Float = 3e-4
        var totalSkipped = 0, totalChecked = 0
        for ((name, p), ana) in zip(net.namedParameters, analytic) {
            // Every element of small tensors, about 100 spread over a large one.
            let stride = max(1, p.value.count / 100)
            let indices = Array(Swift.stride(from: 0, to: p.value.count, by: stride))
            let (num, half) = numericGradients(p.value.pointer, indices: indices, h: h, guardKinks: true, objective)
            if ana.allSatisfy({ $0 == 0 }) {
                for (i, n) in zip(indices, num) {
                    XCTAssertLessThanOrEqual(
                        abs(n), absoluteTolerance * Double(globalScale), "TrainingStep \(name)[\(i)]: numeric \(n), analytic 0")
                }
                continue
            }
            let c = compareGradients(
                "TrainingStep \(name)", numeric: num, analytic: indices.map { ana[$0] }, numericHalf: half,
                indices: indices)
            assertComparison(c)
            totalSkipped += c.skipped
            totalChecked += c.checked
        }
        XCTAssertLessThanOrEqual(totalSkipped, max(3, totalChecked / 50), "too many elements skipped at ReLU kinks")
        XCTAssertLessThanOrEqual(worstLossMismatch, 1e-5, "TrainingStep's loss vs the contrastive loss of its embeddings")
    }

    // MARK: The checker itself

    /// The tolerance is loose enough for Float32 yet catches gradients that are slightly wrong.
    func testCheckerRejectsWrongGradients() {
        var rng = RandomSource(seed: 90)
        let linear = Linear(6, 4, rng: &rng)
        let checks = gradientChecks("Linear", linear, input: randomTensor([5, 6], seed: 91), h: 1e-2, seed: 92)
        XCTAssertEqual(checks.count, 3)
        for check in checks {
            XCTAssertTrue(check.compare().failures.isEmpty, "\(check.name) should pass as computed")
            // 10 % too large everywhere.
            XCTAssertFalse(check.compare(analytic: check.analytic.map { $0 * 1.1 }).failures.isEmpty, "\(check.name) ×1.1 passed")
            // 3 % too small everywhere.
            XCTAssertFalse(
                check.compare(analytic: check.analytic.map { $0 * 0.97 }).failures.isEmpty, "\(check.name) ×0.97 passed")
            // One entry (the largest) with the wrong sign.
            var flipped = check.analytic
            let largest = flipped.indices.max { abs(flipped[$0]) < abs(flipped[$1]) }!
            flipped[largest] = -flipped[largest]
            XCTAssertFalse(check.compare(analytic: flipped).failures.isEmpty, "\(check.name) with one flipped sign passed")
            // Two entries swapped.
            if check.analytic.count > 1 {
                var swapped = check.analytic
                let other = largest == 0 ? 1 : 0
                swapped.swapAt(largest, other)
                if abs(swapped[largest] - swapped[other]) > 0.05 * abs(check.analytic[largest]) {
                    XCTAssertFalse(check.compare(analytic: swapped).failures.isEmpty, "\(check.name) with swapped entries passed")
                }
            }
        }
    }
}

// MARK: - Finite differences

/// One tensor's analytic gradient and its finite-difference estimates.
private struct GradientCheck {
    let name: String
    let analytic: [Float]
    let numeric: [Double]
    /// The estimate at h/2, when guarding against ReLU kinks.
    let numericHalf: [Double]?

    func compare(analytic other: [Float]? = nil) -> GradientComparison {
        compareGradients(name, numeric: numeric, analytic: other ?? analytic, numericHalf: numericHalf)
    }
}

private struct GradientComparison {
    let name: String
    /// (index, numeric, analytic, allowed error), worst first.
    var failures: [(index: Int, numeric: Double, analytic: Double, allowed: Double)] = []
    var checked = 0
    var skipped = 0
    /// The largest error as a fraction of the allowed error.
    var worst = 0.0
}

private let relativeTolerance = 2e-2
private let absoluteTolerance = 1e-3

/// Whether a and b agree within the tolerance, relative to their own size and to `scale`.
private func allowedError(_ a: Double, _ b: Double, scale: Double) -> Double {
    relativeTolerance * max(abs(a), abs(b)) + absoluteTolerance * max(scale, 1e-7)
}

/// `indices` are the tensor positions of the compared elements, for the messages.
private func compareGradients(
    _ name: String, numeric: [Double], analytic: [Float],
    numericHalf: [Double]? = nil, indices: [Int]? = nil
) -> GradientComparison {
    precondition(numeric.count == analytic.count)
    var result = GradientComparison(name: name)
    let scale = zip(numeric, analytic).reduce(0.0) { max($0, abs($1.0), abs(Double($1.1))) }
    for i in numeric.indices {
        if let half = numericHalf {
            // Estimates at h and h/2 disagreeing means a ReLU kink lies within ±h: skip.
            if abs(numeric[i] - half[i]) > allowedError(numeric[i], half[i], scale: scale) {
                result.skipped += 1
                continue
            }
        }
        result.checked += 1
        let ana = Double(analytic[i])
        let err = abs(numeric[i] - ana)
        let allowed = allowedError(numeric[i], ana, scale: scale)
        result.worst = max(result.worst, err / allowed)
        if !(err <= allowed) { result.failures.append((indices?[i] ?? i, numeric[i], ana, allowed)) }
    }
    result.failures.sort { abs($0.numeric - $0.analytic) / $0.allowed > abs($1.numeric - $1.analytic) / $1.allowed }
    return result
}

/// Central differences of `objective` for the elements `indices` of `p`, each moved by ±h (and
/// by ±h/2 too when guarding kinks) and restored afterwards.
private func numericGradients(
    _ p: UnsafeMutablePointer<Float>, indices: [Int], h: Float, guardKinks: Bool,
    _ objective: () -> Double
) -> (numeric: [Double], half: [Double]?) {
    func difference(_ i: Int, _ step: Float) -> Double {
        let x = p[i]
        let (xp, xm) = (x + step, x - step)
        p[i] = xp
        let lp = objective()
        p[i] = xm
        let lm = objective()
        p[i] = x
        return (lp - lm) / (Double(xp) - Double(xm))
    }
    let numeric = indices.map { difference($0, h) }
    let half = guardKinks ? indices.map { difference($0, h / 2) } : nil
    return (numeric, half)
}

/// Checks of a layer's input gradient and every parameter gradient, for L = Σ r ⊙ forward(x).
/// Also checks that a second backward adds the same parameter gradients again.
private func gradientChecks(
    _ what: String, _ layer: Layer, input: Tensor, mode: Mode = .training, h: Float,
    inputStep: Float? = nil, guardKinks: Bool = false, seed: UInt64,
    file: StaticString = #filePath, line: UInt = #line
) -> [GradientCheck] {
    // The input is cloned for every forward: ReLU works in place on its input.
    let outShape = layer.forward(input.clone(), mode: mode).shape
    let r = randomValues(outShape.reduce(1, *), seed: seed)
    let parameters = layer.parameters

    // Analytic: gradOutput = r (fresh each time: ReLU works in place on it too).
    zeroGradients(parameters)
    _ = layer.forward(input.clone(), mode: mode)
    guard let gin = layer.backward(Tensor(shape: outShape, values: r), needsInputGradient: true) else {
        XCTFail("\(what): no input gradient", file: file, line: line)
        return []
    }
    XCTAssertEqual(gin.shape, input.shape, "\(what): input gradient shape", file: file, line: line)
    let analyticInput = gin.toArray()
    let analyticParameters = parameters.map { $0.parameter.grad.toArray() }

    // Backward adds: a second call doubles the parameter gradients and repeats the input gradient.
    let gin2 = layer.backward(Tensor(shape: outShape, values: r), needsInputGradient: true)
    assertNearlyEqual(gin2?.toArray() ?? [], analyticInput, "\(what) input gradient, second backward", file: file, line: line)
    for ((name, p), once) in zip(parameters, analyticParameters) {
        assertNearlyEqual(
            p.grad.toArray(), once.map { 2 * $0 }, "\(what) \(name).grad after two backwards", file: file, line: line)
    }

    func objective() -> Double {
        let y = layer.forward(input.clone(), mode: mode)
        precondition(y.count == r.count)
        let yp = y.pointer
        var s = 0.0
        for i in 0..<r.count { s += Double(r[i]) * Double(yp[i]) }
        return s
    }

    var checks: [GradientCheck] = []
    let (num, half) = numericGradients(
        input.pointer, indices: Array(0..<input.count), h: inputStep ?? h, guardKinks: guardKinks, objective)
    checks.append(GradientCheck(name: "\(what) input", analytic: analyticInput, numeric: num, numericHalf: half))
    for ((name, p), ana) in zip(parameters, analyticParameters) {
        let (num, half) = numericGradients(
            p.value.pointer, indices: Array(0..<p.value.count), h: h, guardKinks: guardKinks, objective)
        checks.append(GradientCheck(name: "\(what) \(name)", analytic: ana, numeric: num, numericHalf: half))
    }
    return checks
}

@discardableResult
private func assertGradients(
    _ what: String, _ layer: Layer, input: Tensor, mode: Mode = .training, h: Float,
    inputStep: Float? = nil, guardKinks: Bool = false, seed: UInt64,
    file: StaticString = #filePath, line: UInt = #line
) -> [GradientCheck] {
    let checks = gradientChecks(
        what, layer, input: input, mode: mode, h: h, inputStep: inputStep, guardKinks: guardKinks,
        seed: seed, file: file, line: line)
    var skipped = 0, checked = 0
    for check in checks {
        let c = check.compare()
        assertComparison(c, file: file, line: line)
        skipped += c.skipped
        checked += c.checked
    }
    if guardKinks {
        XCTAssertLessThanOrEqual(
            skipped, max(3, checked / 50), "\(what): too many elements skipped at ReLU kinks", file: file, line: line)
    }
    return checks
}

/// `assertGradients` for the checks of other files (`ResNetLayerGradientTests`).
func checkLayerGradients(
    _ what: String, _ layer: Layer, input: Tensor, h: Float, inputStep: Float? = nil, guardKinks: Bool = false,
    seed: UInt64, file: StaticString = #filePath, line: UInt = #line
) {
    assertGradients(
        what, layer, input: input, h: h, inputStep: inputStep, guardKinks: guardKinks, seed: seed, file: file, line: line)
}

private func assertComparison(_ c: GradientComparison, file: StaticString = #filePath, line: UInt = #line) {
    if ProcessInfo.processInfo.environment["GRADCHECK_VERBOSE"] != nil {
        print(
            "gradcheck \(c.name): \(c.checked) checked, \(c.skipped) skipped, worst \(String(format: "%.3f", c.worst)) of tolerance"
        )
    }
    XCTAssertGreaterThan(c.checked, 0, "\(c.name): nothing checked", file: file, line: line)
    guard let w = c.failures.first else { return }
    XCTFail(
        "\(c.name): \(c.failures.count) of \(c.checked) elements disagree; worst [\(w.index)]: numeric \(w.numeric) vs analytic \(w.analytic) (allowed ±\(w.allowed))",
        file: file, line: line)
}

/// Float32 agreement for two computations of the same thing (a repeated backward).
private func assertNearlyEqual(_ a: [Float], _ b: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    guard a.count == b.count else { return XCTFail("\(what): \(a.count) vs \(b.count) values", file: file, line: line) }
    let scale = b.reduce(Float(0)) { max($0, abs($1)) }
    for i in a.indices where !(abs(a[i] - b[i]) <= 1e-5 * max(abs(b[i]), scale, 1e-6)) {
        return XCTFail("\(what)[\(i)]: \(a[i]) vs \(b[i])", file: file, line: line)
    }
}

// MARK: - Fixtures

func randomValues(_ count: Int, seed: UInt64, offset: Float = 0, spread: Float = 1) -> [Float] {
    var rng = RandomSource(seed: seed)
    return (0..<count).map { _ in offset + spread * Float.random(in: -1...1, using: &rng) }
}

func randomTensor(_ shape: [Int], seed: UInt64, offset: Float = 0, spread: Float = 1) -> Tensor {
    Tensor(shape: shape, values: randomValues(shape.reduce(1, *), seed: seed, offset: offset, spread: spread))
}

private func zeroGradients(_ parameters: [(name: String, parameter: Parameter)]) {
    for (_, p) in parameters { p.grad.fill(0) }
}

private func nonTrivialBatchNorm(channels: Int, seed: UInt64) -> BatchNorm2d {
    let bn = BatchNorm2d(channels)
    makeNonTrivial(bn, seed: seed)
    return bn
}

/// Affine parameters away from (1, 0), some negative.
private func makeNonTrivial(_ bn: BatchNorm2d, seed: UInt64) {
    var rng = RandomSource(seed: seed)
    for i in 0..<bn.channels {
        bn.weight.value.pointer[i] = Float.random(in: 0.5...2, using: &rng) * (i % 2 == 0 ? 1 : -1)
        bn.bias.value.pointer[i] = Float.random(in: -0.5...0.5, using: &rng)
    }
}

/// An identity layer that records the `needsInputGradient` of each backward it gets.
private final class BackwardSpy: Layer {
    var backwardCalls: [Bool] = []
    func forward(_ input: Tensor, mode: Mode) -> Tensor { input }
    func backward(_ gradOutput: Tensor, needsInputGradient: Bool) -> Tensor? {
        backwardCalls.append(needsInputGradient)
        return needsInputGradient ? gradOutput : nil
    }
}

/// spy → ConvBlock(2→3) → spy → ConvBlock(3→2) → Linear(2·4·6 → 4), for input [N, 2, 4, 6]; each
/// block is pad → conv → ReLU → BN.
private func smallSequential(seed: UInt64) -> (Sequential, front: BackwardSpy, middle: BackwardSpy) {
    var rng = RandomSource(seed: seed)
    let front = BackwardSpy(), middle = BackwardSpy()
    let first = ConvBlock(2, 3, rng: &rng), second = ConvBlock(3, 2, rng: &rng)
    makeNonTrivial(first.norm, seed: seed + 1)
    makeNonTrivial(second.norm, seed: seed + 2)
    let net = Sequential([front, first, middle, second, Linear(2 * 4 * 6, 4, rng: &rng)])
    return (net, front, middle)
}

/// The reference's contrastive loss in Double: mean((1−y)·d² + y·max(0, m−d)²), d = ‖a − c + 1e-6‖.
private func referenceContrastive(_ a: [Float], _ c: [Float], dim: Int, labels: [Float], margin: Double) -> Double {
    var total = 0.0
    for i in labels.indices {
        var sq = 0.0
        for k in 0..<dim {
            let diff = Double(a[i * dim + k]) - Double(c[i * dim + k]) + 1e-6
            sq += diff * diff
        }
        let d = sq.squareRoot(), y = Double(labels[i])
        let hinge = max(0, margin - d)
        total += (1 - y) * sq + y * hinge * hinge
    }
    return total / Double(labels.count)
}

// MARK: MaxPool2d and L2Normalize

extension GradientCheckTests {
    func testMaxPool2dRoutesEachGradientToItsMaximum() {
        // 7 × 6 with k = 2: the last row is dropped, as PyTorch does.
        let x = randomTensor([2, 3, 7, 6], seed: 80)
        assertGradients("MaxPool2d(2)", MaxPool2d(2), input: x, h: 1e-3, guardKinks: true, seed: 81)
        let pool = MaxPool2d(2)
        let y = pool.forward(Tensor(shape: [1, 1, 2, 4], values: [1, 5, -2, 0, 3, 2, -1, -3]), mode: .training)
        XCTAssertEqual(y.shape, [1, 1, 1, 2])
        XCTAssertEqual(y.toArray(), [5, 0])
        // Ties: the first maximum in row order takes the gradient, as in PyTorch.
        let tied = MaxPool2d(2)
        _ = tied.forward(Tensor(shape: [1, 1, 2, 4], values: [1, 4, 7, 3, 4, 4, 7, 7]), mode: .training)
        let g = tied.backward(Tensor(shape: [1, 1, 1, 2], values: [1, 2]), needsInputGradient: true)!
        XCTAssertEqual(g.toArray(), [0, 1, 2, 0, 0, 0, 0, 0])
        // The generic window (k = 3) and the 2 × 2 one agree with their definition.
        assertGradients(
            "MaxPool2d(3)", MaxPool2d(3), input: randomTensor([2, 2, 7, 6], seed: 84), h: 1e-3, guardKinks: true, seed: 85)
    }

    func testL2NormalizeScaledToRadius() {
        let x = randomTensor([4, 6], seed: 82, offset: 0.3)
        assertGradients("L2Normalize(scale 2)", L2Normalize(scale: 2), input: x, h: 1e-3, seed: 83)
        let y = L2Normalize(scale: 2).forward(Tensor(shape: [1, 2], values: [3, 4]), mode: .evaluation)
        XCTAssertEqual(y.toArray()[0], 1.2, accuracy: 1e-6)
        XCTAssertEqual(y.toArray()[1], 1.6, accuracy: 1e-6)
    }
}

// MARK: - BatchNorm1d and the sigmoid score head

extension GradientCheckTests {
    func testBatchNorm1dTraining() {
        let bn = BatchNorm1d(3)
        for (i, v) in [1.3, -0.7, 0.4].enumerated() { bn.weight.value.pointer[i] = Float(v) }
        for (i, v) in [0.2, 0.5, -0.3].enumerated() { bn.bias.value.pointer[i] = Float(v) }
        assertGradients(
            "BatchNorm1d(3) N=6", bn, input: randomTensor([6, 3], seed: 90, offset: 0.5, spread: 2), h: 1e-2, seed: 91)
    }

    func testBatchNorm1dSingleFeatureAsInTheHead() {
        let bn = BatchNorm1d(1)
        bn.weight.value.pointer[0] = 0.8
        bn.bias.value.pointer[0] = -0.1
        assertGradients("BatchNorm1d(1) N=8", bn, input: randomTensor([8, 1], seed: 92, offset: 1, spread: 1), h: 1e-2, seed: 93)
    }

    /// The head's contrastive loss (margin 1 on the sigmoid scores) against finite differences,
    /// with respect to every embedding row and every head parameter; one row is in no pair and
    /// one in two.
    func testSigmoidHeadContrastiveGradients() {
        var rng = RandomSource(seed: 94)
        let head = SigmoidHead(rng: &rng)
        head.norm.weight.value.pointer[0] = 1.4
        head.norm.bias.value.pointer[0] = 0.3
        let dim = 3, rows = 7
        var embeddings = randomValues(rows * dim, seed: 95)
        let pairs: [IdentityBatchSampler.MinedPair] = [
            .init(first: 0, second: 1, label: 0), .init(first: 2, second: 3, label: 1), .init(first: 4, second: 5, label: 1),
            .init(first: 0, second: 3, label: 1), .init(first: 1, second: 4, label: 0)
        ]
        var gradient = [Float](repeating: .nan, count: rows * dim)
        func loss() -> Double {
            var scratch = [Float](repeating: 0, count: rows * dim)
            return Double(
                head.contrastive(embeddings: embeddings, dim: dim, pairs: pairs, rows: rows, margin: 1, gradient: &scratch))
        }
        zeroGradients(head.parameters)
        _ = head.contrastive(embeddings: embeddings, dim: dim, pairs: pairs, rows: rows, margin: 1, gradient: &gradient)
        let analyticParameters = head.parameters.map { $0.parameter.grad.toArray() }
        for k in 0..<dim { XCTAssertEqual(gradient[6 * dim + k], 0, "row 6 is in no pair") }

        var numeric: [Double] = []
        let h: Float = 1e-2
        for i in 0..<(rows * dim) {
            let x = embeddings[i]
            embeddings[i] = x + h
            let lp = loss()
            embeddings[i] = x - h
            let lm = loss()
            embeddings[i] = x
            numeric.append((lp - lm) / (Double(x + h) - Double(x - h)))
        }
        assertComparison(compareGradients("SigmoidHead contrastive d/dembeddings", numeric: numeric, analytic: gradient))
        for ((name, p), analytic) in zip(head.parameters, analyticParameters) {
            let (num, _) = numericGradients(p.value.pointer, indices: Array(0..<p.value.count), h: h, guardKinks: false, loss)
            assertComparison(compareGradients("SigmoidHead contrastive d/d\(name)", numeric: num, analytic: analytic))
        }
    }

    /// A whole training step of a twin with the sigmoid head: every parameter's gradient, from
    /// the images through the CNN, the distance and the head, against finite differences of the
    /// loss computed in Double from the step's embeddings and the head's parameters.
    func testSigmoidHeadTrainStepGradients() throws {
        let config = NetworkConfig(
            inputHeight: 6, inputWidth: 5, channels: [2, 3], hidden: [7], embeddingSize: 3, inputChannels: 3, head: .sigmoid)
        let net = SiameseNetwork(config: config, seed: 96)
        var rng = RandomSource(seed: 97)
        for (_, bn) in net.batchNorms {
            for i in 0..<bn.channels {
                bn.weight.value.pointer[i] = Float.random(in: 0.6...1.5, using: &rng)
                bn.bias.value.pointer[i] = Float.random(in: -0.3...0.3, using: &rng)
            }
        }
        let head = net.head!
        head.norm.weight.value.pointer[0] = 1.3
        head.norm.bias.value.pointer[0] = 0.2
        let b = 4, dim = config.embeddingSize
        let labels: [Float] = [0, 1, 1, 0]
        let images = randomTensor([2 * b, 3, config.inputHeight, config.inputWidth], seed: 98, offset: 0.5, spread: 1)
        let step = try TrainingStep(network: net, loss: ContrastiveLoss(margin: 1))

        var worstLossMismatch = 0.0
        func objective() -> Double {
            let output = step.run(images: images, labels: labels)
            let (value, emb) = (output.loss, output.embeddings)
            let e = emb.toArray()
            let d = (0..<b).map { k -> Double in
                var sq = 0.0
                for c in 0..<dim {
                    let diff = Double(e[k * dim + c]) - Double(e[(b + k) * dim + c]) + Double(ContrastiveLoss.eps)
                    sq += diff * diff
                }
                return sq.squareRoot()
            }
            let mean = d.reduce(0, +) / Double(b)
            let variance = d.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(b)
            // The monotone head: γ and w are the softplus of the stored parameters.
            func softplus(_ x: Float) -> Double { log1p(exp(Double(x))) }
            let (gamma, beta) = (softplus(head.norm.weight.value.pointer[0]), Double(head.norm.bias.value.pointer[0]))
            let (w, bias) = (softplus(head.dense.weight.value.pointer[0]), Double(head.dense.bias.value.pointer[0]))
            var total = 0.0
            for k in 0..<b {
                let z = w * ((d[k] - mean) / (variance + 1e-5).squareRoot() * gamma + beta) + bias
                let s = 1 / (1 + exp(-z)), y = Double(labels[k])
                total += (1 - y) * s * s + y * pow(max(0, 1 - s), 2)
            }
            let reference = total / Double(b)
            worstLossMismatch = max(worstLossMismatch, abs(reference - Double(value)) / max(1, abs(reference)))
            return reference
        }

        zeroGradients(net.namedParameters)
        _ = objective()
        let analytic = net.namedParameters.map { $0.parameter.grad.toArray() }
        let h: Float = 3e-4
        var totalSkipped = 0, totalChecked = 0
        for ((name, p), ana) in zip(net.namedParameters, analytic) {
            let stride = max(1, p.value.count / 100)
            let indices = Array(Swift.stride(from: 0, to: p.value.count, by: stride))
            let (num, half) = numericGradients(p.value.pointer, indices: indices, h: h, guardKinks: true, objective)
            if name == "fc1.2.bias" {
                // Moves both twins alike: the distances, and so the loss, do not depend on it.
                XCTAssertEqual(ana, [Float](repeating: 0, count: dim), "fc1.2.bias gradient")
                continue
            }
            let c = compareGradients(
                "sigmoid TrainingStep \(name)", numeric: num, analytic: indices.map { ana[$0] }, numericHalf: half,
                indices: indices)
            assertComparison(c)
            totalSkipped += c.skipped
            totalChecked += c.checked
        }
        XCTAssertLessThanOrEqual(totalSkipped, max(3, totalChecked / 50), "too many elements skipped at ReLU kinks")
        XCTAssertLessThanOrEqual(worstLossMismatch, 1e-5, "the step's loss vs the loss of its embeddings in Double")
    }
}
