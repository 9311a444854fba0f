/// Max pooling over non-overlapping k × k windows (PyTorch's `MaxPool2d(k)`: stride k, no
/// padding, rows and columns that do not fill a window dropped). The forward keeps, for each
/// output, the offset of its winning input within the plane, so the backward routes each
/// gradient to exactly one input, as PyTorch does (the first maximum wins ties).
package final class MaxPool2d: Layer {
    package let kernel: Int
    private var output: Tensor?
    private var argmax: [Int32] = []
    private var inputShape: [Int] = []
    private var gradInput: Tensor?

    package init(_ kernel: Int = 2) {
        precondition(kernel >= 1)
        self.kernel = kernel
    }

    package func forward(_ input: Tensor, mode: Mode) -> Tensor {
        precondition(input.shape.count == 4, "MaxPool2d takes [N, C, H, W], got \(input.shape)")
        let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let k = kernel, ho = h / k, wo = w / k
        let out = Tensor.reuse(output, shape: [n, c, ho, wo])
        output = out
        inputShape = input.shape
        if argmax.count != out.count { argmax = [Int32](repeating: 0, count: out.count) }
        let x = input.pointer, y = out.pointer
        argmax.withUnsafeMutableBufferPointer { best in
            let best = best.baseAddress!
            Parallel.chunks(n * c) { _, planes in
                for plane in planes {
                    let src = x + plane * h * w, dst = plane * ho * wo
                    if k == 2 {
                        Self.pool2x2(src, w: w, ho: ho, wo: wo, into: y + dst, argmax: best + dst)
                        continue
                    }
                    for oy in 0..<ho {
                        for ox in 0..<wo {
                            var at = oy * k * w + ox * k
                            var m = src[at]
                            for dy in 0..<k {
                                for dx in 0..<k {
                                    let i = (oy * k + dy) * w + ox * k + dx
                                    if src[i] > m { m = src[i]; at = i }
                                }
                            }
                            y[dst + oy * wo + ox] = m
                            best[dst + oy * wo + ox] = Int32(at)
                        }
                    }
                }
            }
        }
        return out
    }

    /// One plane's 2 × 2 windows, the generic loop written out: the same comparisons in the
    /// same order (the first maximum wins), without the inner loops' index arithmetic.
    @inline(__always)
    private static func pool2x2(
        _ src: UnsafePointer<Float>, w: Int, ho: Int, wo: Int, into y: UnsafeMutablePointer<Float>,
        argmax best: UnsafeMutablePointer<Int32>
    ) {
        for oy in 0..<ho {
            let top = 2 * oy * w, out = oy * wo
            for ox in 0..<wo {
                let i = top + 2 * ox
                var m = src[i], at = i
                if src[i + 1] > m { (m, at) = (src[i + 1], i + 1) }
                if src[i + w] > m { (m, at) = (src[i + w], i + w) }
                if src[i + w + 1] > m { (m, at) = (src[i + w + 1], i + w + 1) }
                y[out + ox] = m
                best[out + ox] = Int32(at)
            }
        }
    }

    package func backward(_ gradOutput: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient else { return nil }
        let gin = Tensor.reuse(gradInput, shape: inputShape)
        gradInput = gin
        gin.fill(0)
        let plane = inputShape[2] * inputShape[3], outPlane = gradOutput.count / max(inputShape[0] * inputShape[1], 1)
        let g = gradOutput.pointer, d = gin.pointer
        argmax.withUnsafeBufferPointer { best in
            Parallel.chunks(inputShape[0] * inputShape[1]) { _, planes in
                for p in planes {
                    for o in 0..<outPlane { d[p * plane + Int(best[p * outPlane + o])] += g[p * outPlane + o] }
                }
            }
        }
        return gin
    }
}
