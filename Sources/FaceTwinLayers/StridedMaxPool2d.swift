/// Max pooling over k × k windows moved by a stride, without padding, as dlib's `max_pool` with
/// padding 0 computes it (`max_pool<3,3,2,2>`: 72 → 35): output side 1 + (side − k) / stride,
/// every window inside the image. In training the forward keeps each output's winning input (the
/// first maximum in row-major window order), so the backward routes each gradient to exactly one
/// input; in evaluation it keeps nothing and takes each window's maximum as the maximum over its
/// columns of the maxima over its rows (the same value), without the winners' bookkeeping.
package final class StridedMaxPool2d: Layer {
    package let kernel: Int, stride: Int
    private var output: Tensor?
    private var argmax: [Int32] = []
    private var inputShape: [Int] = []
    private var gradInput: Tensor?

    package init(kernel: Int, stride: Int) {
        precondition(kernel >= 1 && stride >= 1)
        self.kernel = kernel
        self.stride = stride
    }

    /// The output side for an input side.
    package func outputSide(_ side: Int) -> Int { 1 + (side - kernel) / stride }

    package func forward(_ input: Tensor, mode: Mode) -> Tensor {
        precondition(input.shape.count == 4, "StridedMaxPool2d takes [N, C, H, W], got \(input.shape)")
        let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        precondition(h >= kernel && w >= kernel, "StridedMaxPool2d: input \(h)×\(w) is smaller than the window")
        let (k, s, ho, wo) = (kernel, stride, outputSide(h), outputSide(w))
        let out = Tensor.reuse(output, shape: [n, c, ho, wo])
        output = out
        inputShape = input.shape
        let x = input.pointer, y = out.pointer
        if mode == .evaluation {
            Parallel.chunks(n * c, workers: input.count >= 1 << 15 ? Parallel.workers : 1) { _, planes in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: w) { buffer in
                    let rowMax = buffer.baseAddress!
                    for plane in planes {
                        let src = x + plane * h * w, dst = y + plane * ho * wo
                        for oy in 0..<ho {
                            rowMax.update(from: src + oy * s * w, count: w)
                            for dy in 1..<max(k, 1) {
                                let row = src + (oy * s + dy) * w
                                for i in 0..<w { rowMax[i] = max(rowMax[i], row[i]) }
                            }
                            for ox in 0..<wo {
                                var m = rowMax[ox * s]
                                for dx in 1..<max(k, 1) { m = max(m, rowMax[ox * s + dx]) }
                                dst[oy * wo + ox] = m
                            }
                        }
                    }
                }
            }
            return out
        }
        if argmax.count != out.count { argmax = [Int32](repeating: 0, count: out.count) }
        argmax.withUnsafeMutableBufferPointer { best in
            let best = best.baseAddress!
            Parallel.chunks(n * c) { _, planes in
                for plane in planes {
                    let src = x + plane * h * w, dst = plane * ho * wo
                    for oy in 0..<ho {
                        for ox in 0..<wo {
                            var at = oy * s * w + ox * s
                            var m = src[at]
                            for dy in 0..<k {
                                let row = (oy * s + dy) * w + ox * s
                                for dx in 0..<k where src[row + dx] > m {
                                    m = src[row + dx]
                                    at = row + dx
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

    package func backward(_ gradOutput: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient else { return nil }
        let gin = Tensor.reuse(gradInput, shape: inputShape)
        gradInput = gin
        gin.fill(0)
        let planes = inputShape[0] * inputShape[1]
        let plane = inputShape[2] * inputShape[3], outPlane = gradOutput.count / max(planes, 1)
        let g = gradOutput.pointer, d = gin.pointer
        argmax.withUnsafeBufferPointer { best in
            Parallel.chunks(planes) { _, range in
                for p in range {
                    for o in 0..<outPlane { d[p * plane + Int(best[p * outPlane + o])] += g[p * outPlane + o] }
                }
            }
        }
        return gin
    }
}
