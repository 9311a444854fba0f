import XCTest

@testable import FaceTwin

/// Conv2d's blocked SIMD kernels (four output channels × 16 outputs in the forward and the input
/// gradient, four channels × three kernel columns in the weight gradient, with overlapping or
/// masked last vectors of a row) against a plain Double loop, on shapes that hit every path:
/// channel counts that are and are not multiples of four, widths below 8, exactly 8 and 16,
/// between, and the reference's 100; kernels 3 (blocked) and 2 (generic); and from 16 input
/// channels the im2col + GEMM path.
final class ConvolutionKernelTests: XCTestCase {
    private struct Shape { let n, cin, cout, h, w, k: Int }

    private let shapes: [Shape] = [
        Shape(n: 3, cin: 1, cout: 4, h: 12, w: 10, k: 3),  // wo 8: no 16-wide blocks, dW vectors without a tail
        Shape(n: 2, cin: 3, cout: 5, h: 7, w: 18, k: 3),  // wo 16, one channel outside the blocks of four
        Shape(n: 3, cin: 5, cout: 4, h: 6, w: 21, k: 3),  // input gradient through four-channel blocks (cin 5 → 4)
        Shape(n: 2, cin: 8, cout: 8, h: 9, w: 102, k: 3),  // the reference's conv3 row length, overlapping last block
        Shape(n: 2, cin: 4, cout: 9, h: 5, w: 37, k: 3),  // tail of 3 in dW, two blocks + one channel
        Shape(n: 2, cin: 2, cout: 5, h: 6, w: 7, k: 3),  // wo 5: scalar paths only
        Shape(n: 2, cin: 3, cout: 4, h: 6, w: 19, k: 2),  // k 2: generic kernels
        Shape(n: 3, cin: 16, cout: 8, h: 10, w: 10, k: 3),  // 16 × 3 × 3 inputs per output: im2col + GEMM
        Shape(n: 2, cin: 17, cout: 5, h: 5, w: 12, k: 3)  // GEMM, odd channel counts, a width that is no multiple of 8
    ]

    func testForwardAndBothGradientsMatchADoubleReference() {
        for (index, s) in shapes.enumerated() {
            var rng = RandomSource(seed: UInt64(100 + index))
            check(Conv2d(s.cin, s.cout, kernel: s.k, rng: &rng), s, &rng)
        }
    }

    /// One layer on a 6×21 input, then on 21×6: the zero-padded output-gradient scratch has the
    /// same size for both but a different border, so it must not be reused across the change.
    func testScratchIsRenewedWhenTheShapeChangesButNotTheSize() {
        var rng = RandomSource(seed: 200)
        let conv = Conv2d(3, 5, kernel: 3, rng: &rng)
        check(conv, Shape(n: 2, cin: 3, cout: 5, h: 6, w: 21, k: 3), &rng)
        check(conv, Shape(n: 2, cin: 3, cout: 5, h: 21, w: 6, k: 3), &rng)
    }

    private func check(_ conv: Conv2d, _ s: Shape, _ rng: inout RandomSource) {
        let x = Tensor(shape: [s.n, s.cin, s.h, s.w], values: values(s.n * s.cin * s.h * s.w, &rng))
        let ho = s.h - s.k + 1, wo = s.w - s.k + 1
        let g = Tensor(shape: [s.n, s.cout, ho, wo], values: values(s.n * s.cout * ho * wo, &rng))
        let wgt = Array(UnsafeBufferPointer(start: conv.weight.value.pointer, count: conv.weight.value.count))
        let bias = Array(UnsafeBufferPointer(start: conv.bias.value.pointer, count: s.cout))
        let xs = Array(UnsafeBufferPointer(start: x.pointer, count: x.count))
        let gs = Array(UnsafeBufferPointer(start: g.pointer, count: g.count))

        var y = [Double](repeating: 0, count: g.count)
        var dW = [Double](repeating: 0, count: wgt.count), db = [Double](repeating: 0, count: s.cout)
        var dX = [Double](repeating: 0, count: x.count)
        for i in 0..<s.n {
            for co in 0..<s.cout {
                for oy in 0..<ho {
                    for ox in 0..<wo {
                        let o = ((i * s.cout + co) * ho + oy) * wo + ox
                        var acc = Double(bias[co])
                        db[co] += Double(gs[o])
                        for ci in 0..<s.cin {
                            for ky in 0..<s.k {
                                for kx in 0..<s.k {
                                    let wi = ((co * s.cin + ci) * s.k + ky) * s.k + kx
                                    let xi = ((i * s.cin + ci) * s.h + oy + ky) * s.w + ox + kx
                                    acc += Double(wgt[wi]) * Double(xs[xi])
                                    dW[wi] += Double(gs[o]) * Double(xs[xi])
                                    dX[xi] += Double(gs[o]) * Double(wgt[wi])
                                }
                            }
                        }
                        y[o] = acc
                    }
                }
            }
        }

        conv.weight.grad.fill(0)
        conv.bias.grad.fill(0)
        let out = conv.forward(x, mode: .training)
        let gin = conv.backward(g, needsInputGradient: true)!
        let label = "n\(s.n) \(s.cin)→\(s.cout) \(s.h)×\(s.w) k\(s.k)"
        assertClose(out, y, "\(label) forward")
        assertClose(conv.weight.grad, dW, "\(label) weight gradient")
        assertClose(conv.bias.grad, db, "\(label) bias gradient")
        assertClose(gin, dX, "\(label) input gradient")
    }

    /// A ConvBlock fuses its ReflectionPad2d → Conv2d → ReLU (→ BatchNorm2d in evaluation) into
    /// the convolution's store and the ReLU's backward into BatchNorm's; its four modules run
    /// layer by layer, unfused, must give the same outputs, gradients and running statistics.
    func testConvBlocksMatchTheirModulesLayerByLayer() {
        func make() -> ConvStack {
            var rng = RandomSource(seed: 7)
            let blocks = [ConvBlock(2, 4, rng: &rng), ConvBlock(4, 5, rng: &rng)]
            randomizeBatchNorms(blocks.map(\.norm), &rng)
            return ConvStack(blocks)
        }
        var rng = RandomSource(seed: 8)
        let x = Tensor(shape: [3, 2, 9, 20], values: values(3 * 2 * 9 * 20, &rng))
        let g = Tensor(shape: [3, 5, 9, 20], values: values(3 * 5 * 9 * 20, &rng))

        for mode in [Mode.evaluation, .training] {
            let fused = make(), plain = make()
            let yFused = fused.forward(x, mode: mode)
            var y = x
            for layer in plain.modules { y = layer.forward(y, mode: mode) }
            assertClose(yFused, (0..<y.count).map { Double(y.pointer[$0]) }, "\(mode) output")
            guard mode == .training else { continue }
            let gFused = fused.backward(g, needsInputGradient: true)!
            var gPlain: Tensor? = g
            for layer in plain.modules.reversed() { gPlain = layer.backward(gPlain!, needsInputGradient: true) }
            assertClose(gFused, (0..<gPlain!.count).map { Double(gPlain!.pointer[$0]) }, "input gradient")
            for ((name, a), (_, b)) in zip(fused.parameters, plain.parameters) {
                assertClose(a.grad, (0..<b.grad.count).map { Double(b.grad.pointer[$0]) }, "gradient of \(name)")
            }
            for ((name, a), (_, b)) in zip(fused.buffers, plain.buffers) {
                assertClose(a, (0..<b.count).map { Double(b.pointer[$0]) }, name)
            }
        }
    }

    /// In evaluation a ConvStack runs its blocks image by image; it must give the block-by-block
    /// numbers to the bit, for blocks with and without padding, kernels 3 and 2, one image or
    /// several, and a new input shape after the first (its scratch is renewed).
    func testImageByImageEvaluationMatchesBlockByBlockExactly() {
        func make(_ blocks: (inout RandomSource) -> [ConvBlock]) -> ConvStack {
            var rng = RandomSource(seed: 11)
            let list = blocks(&rng)
            randomizeBatchNorms(list.map(\.norm), &rng)
            return ConvStack(list)
        }
        let referenceLike: (inout RandomSource) -> [ConvBlock] = { rng in
            [
                ConvBlock(1, 4, kernel: 3, padding: 1, rng: &rng), ConvBlock(4, 8, kernel: 2, padding: 0, rng: &rng),
                ConvBlock(8, 8, kernel: 3, padding: 1, rng: &rng)
            ]
        }
        let single: (inout RandomSource) -> [ConvBlock] = { rng in [ConvBlock(1, 4, rng: &rng)] }
        var rng = RandomSource(seed: 12)
        for (blocks, shapes) in [(referenceLike, [[3, 1, 17, 37], [1, 1, 17, 37], [2, 1, 23, 40]]), (single, [[3, 1, 9, 20]])] {
            let byImage = make(blocks), byBlock = make(blocks)
            byBlock.imageByImageEvaluation = false
            for shape in shapes {
                let x = Tensor(shape: shape, values: values(shape.reduce(1, *), &rng))
                let a = byImage.forward(x, mode: .evaluation)
                let b = byBlock.forward(x, mode: .evaluation)
                XCTAssertEqual(a.shape, b.shape, "\(shape)")
                XCTAssertEqual(
                    Array(UnsafeBufferPointer(start: a.pointer, count: a.count)),
                    Array(UnsafeBufferPointer(start: b.pointer, count: b.count)), "output for input \(shape)")
            }
        }
    }

    /// BatchNorm2d layers with non-trivial affine parameters and running statistics (some
    /// negative scales), so that evaluation's affine map is tested in full.
    private func randomizeBatchNorms(_ norms: [BatchNorm2d], _ rng: inout RandomSource) {
        for bn in norms {
            for c in 0..<bn.channels {
                bn.weight.value.pointer[c] = Float.random(in: 0.5...2, using: &rng) * (c % 2 == 0 ? 1 : -1)
                bn.bias.value.pointer[c] = Float.random(in: -0.5...0.5, using: &rng)
                bn.runningMean.pointer[c] = Float.random(in: -0.3...0.3, using: &rng)
                bn.runningVar.pointer[c] = Float.random(in: 0.5...2, using: &rng)
            }
        }
    }

    private func values(_ count: Int, _ rng: inout RandomSource) -> [Float] {
        (0..<count).map { _ in Float.random(in: -1...1, using: &rng) }
    }

    /// Within 1e-5 of the tensor's largest magnitude: the sums have at most a few thousand terms.
    private func assertClose(
        _ t: Tensor, _ expected: [Double], _ what: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(t.count, expected.count, what, file: file, line: line)
        let scale = max(1, expected.map(abs).max() ?? 1)
        var worst = 0.0, at = 0
        for i in 0..<min(t.count, expected.count) {
            let d = abs(Double(t.pointer[i]) - expected[i])
            if d > worst { worst = d; at = i }
        }
        XCTAssertLessThanOrEqual(
            worst, 1e-5 * scale, "\(what): entry \(at) is \(t.pointer[at]), expected \(expected[at])",
            file: file, line: line)
    }
}
