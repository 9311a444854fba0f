import Foundation

/// Adam (Kingma and Ba, 2015) with PyTorch's semantics and defaults: β = (0.9, 0.999),
/// eps 1e-8 added after dividing √v by √(1 − β₂ᵗ), optional decoupled weight decay (`weightDecay`), no AMSGrad.
package final class Adam {
    package let parameters: [Parameter]
    package var learningRate: Float
    package let beta1: Float, beta2: Float, eps: Float
    /// Decoupled weight decay (AdamW, as PyTorch's `AdamW`): each step first scales the weights
    /// by 1 − learningRate · weightDecay. Parameters updated inside their layer's backward
    /// (`zeroGradients(fuseIntoBackward: true)`) get none: the trainer fuses only without decay.
    package var weightDecay: Float = 0
    package private(set) var step = 0
    private let firstMoments: [Tensor]
    private let secondMoments: [Tensor]

    package init(parameters: [Parameter], learningRate: Float = 5e-4, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8)
    {
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        firstMoments = parameters.map { Tensor(shape: $0.value.shape) }
        secondMoments = parameters.map { Tensor(shape: $0.value.shape) }
    }

    /// Parameters of at least this many values get their update fused into the backward when
    /// `zeroGradients(fuseIntoBackward: true)` asks for it (the reference's 80 000 × 500 weight).
    var fusionMinimum = 1 << 20

    /// Sets every parameter's gradient to zero (PyTorch's `zero_grad`). Large gradients are
    /// marked zero rather than cleared (`Parameter.gradIsZero`): the next backward overwrites them.
    ///
    /// With `fuseIntoBackward`, for the one backward that follows, a layer may apply this step's
    /// update to a large parameter itself as it forms the gradient (`Parameter.fusedUpdate`;
    /// Linear does, for its weight, with FaceTwin's kernels): the same arithmetic as `update()`,
    /// without writing the gradient and reading it back (160 MB each way for the reference network). The
    /// gradient is then not kept, so leave it off when you need to read gradients.
    package func zeroGradients(fuseIntoBackward: Bool = false) {
        let (stepSize, correction2) = coefficients(step: step + 1)
        for (j, p) in parameters.enumerated() {
            if p.grad.count >= 1 << 16 {
                p.gradIsZero = true
            } else {
                p.grad.fill(0)
                p.gradIsZero = false
            }
            p.updatedInBackward = false
            p.fusedUpdate =
                fuseIntoBackward && p.value.count >= fusionMinimum
                ? FusedAdamUpdate(
                    firstMoment: firstMoments[j].pointer, secondMoment: secondMoments[j].pointer,
                    beta1: beta1, beta2: beta2, eps: eps, stepSize: stepSize,
                    inverseCorrection2: 1 / correction2)
                : nil
        }
    }

    /// lr / (1 − β₁ᵗ) and √(1 − β₂ᵗ) for step t.
    private func coefficients(step: Int) -> (stepSize: Float, correction2: Float) {
        let t = Double(step)
        return (Float(Double(learningRate) / (1 - pow(Double(beta1), t))), Float((1 - pow(Double(beta2), t)).squareRoot()))
    }

    /// One update of every parameter from its gradient, as one fused pass per tensor.
    package func update() {
        step += 1
        let (stepSize, correction2) = coefficients(step: step)
        let (b1, b2, eps) = (beta1, beta2, self.eps)
        for (j, p) in parameters.enumerated() {
            p.fusedUpdate = nil
            if p.updatedInBackward {
                p.updatedInBackward = false
                continue
            }
            let w = p.value.pointer, g = p.gradPointerForAccumulation()
            let m = firstMoments[j].pointer, v = secondMoments[j].pointer
            let n = p.value.count
            let decay = 1 - learningRate * weightDecay
            Parallel.chunks(n / 65536 + 1) { _, blocks in
                let lo = blocks.lowerBound * 65536, hi = min(n, blocks.upperBound * 65536)
                if decay != 1 { for i in lo..<hi { w[i] *= decay } }
                Self.update(
                    w + lo, g + lo, m + lo, v + lo, count: hi - lo, beta1: b1, beta2: b2, eps: eps,
                    stepSize: stepSize, correction2: correction2)
            }
        }
    }

    /// One pass over a slice: m ← m + (1−β₁)(g − m) (PyTorch's lerp), v ← β₂v + (1−β₂)g²,
    /// w ← w − stepSize · m / (√v / √(1−β₂ᵗ) + eps), eight lanes at a time. `adam8` in
    /// Sources/CKernels/gemm.c is the same arithmetic, operation for operation.
    @inline(__always)
    static func update(
        _ w: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>,
        _ v: UnsafeMutablePointer<Float>, count: Int, beta1: Float, beta2: Float, eps: Float,
        stepSize: Float, correction2: Float
    ) {
        typealias V = SIMD8<Float>
        let a1 = V(repeating: 1 - beta1), b2 = V(repeating: beta2), a2 = V(repeating: 1 - beta2)
        // √v / √(1−β₂ᵗ) as √v · (1 / √(1−β₂ᵗ)): one division less per element (divisions and
        // square roots share one slow unit); the product differs from PyTorch's quotient by at
        // most an ulp of the denominator, far inside the golden tests' 1e-4.
        let step = V(repeating: stepSize), c2 = V(repeating: 1 / correction2), e = V(repeating: eps)
        var i = 0
        while i + 8 <= count {
            let gi = UnsafeRawPointer(g + i).loadUnaligned(as: V.self)
            var mi = UnsafeRawPointer(m + i).loadUnaligned(as: V.self)
            var vi = UnsafeRawPointer(v + i).loadUnaligned(as: V.self)
            var wi = UnsafeRawPointer(w + i).loadUnaligned(as: V.self)
            mi = mi + a1 * (gi - mi)
            vi = b2 * vi + a2 * (gi * gi)
            wi = wi - step * mi / (vi.squareRoot() * c2 + e)
            UnsafeMutableRawPointer(m + i).storeBytes(of: mi, as: V.self)
            UnsafeMutableRawPointer(v + i).storeBytes(of: vi, as: V.self)
            UnsafeMutableRawPointer(w + i).storeBytes(of: wi, as: V.self)
            i += 8
        }
        while i < count {
            let gi = g[i]
            let mi = m[i] + (1 - beta1) * (gi - m[i])
            let vi = beta2 * v[i] + (1 - beta2) * (gi * gi)
            m[i] = mi
            v[i] = vi
            w[i] -= stepSize * mi / (vi.squareRoot() * (1 / correction2) + eps)
            i += 1
        }
    }
}
