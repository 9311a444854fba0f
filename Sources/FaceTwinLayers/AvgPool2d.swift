/// Average pooling over k × k windows moved by a stride, without padding, as dlib's `avg_pool`
/// with padding 0 computes it (`avg_pool<2,2,2,2>` on a ResNet's shortcut: 35 → 17): output side
/// 1 + (side − k) / stride, each output the mean of its k² inputs.
package final class AvgPool2d: Layer {
    package let kernel: Int, stride: Int
    private var output: Tensor?
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
        precondition(input.shape.count == 4, "AvgPool2d takes [N, C, H, W], got \(input.shape)")
        let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        precondition(h >= kernel && w >= kernel, "AvgPool2d: input \(h)×\(w) is smaller than the window")
        let (k, s, ho, wo) = (kernel, stride, outputSide(h), outputSide(w))
        let out = Tensor.reuse(output, shape: [n, c, ho, wo])
        output = out
        inputShape = input.shape
        let x = input.pointer, y = out.pointer
        let scale = 1 / Float(k * k)
        Parallel.chunks(n * c, workers: input.count >= 1 << 15 ? Parallel.workers : 1) { _, planes in
            for plane in planes {
                let src = x + plane * h * w, dst = y + plane * ho * wo
                for oy in 0..<ho {
                    for ox in 0..<wo {
                        var total: Float = 0
                        for dy in 0..<k {
                            let row = src + (oy * s + dy) * w + ox * s
                            for dx in 0..<k { total += row[dx] }
                        }
                        dst[oy * wo + ox] = total * scale
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
        let (n, c, h, w) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        let (k, s, ho, wo) = (kernel, stride, outputSide(h), outputSide(w))
        let scale = 1 / Float(k * k)
        let g = gradOutput.pointer, d = gin.pointer
        for plane in 0..<(n * c) {
            let src = g + plane * ho * wo, dst = d + plane * h * w
            for oy in 0..<ho {
                for ox in 0..<wo {
                    let v = src[oy * wo + ox] * scale
                    for dy in 0..<k {
                        let row = dst + (oy * s + dy) * w + ox * s
                        for dx in 0..<k { row[dx] += v }
                    }
                }
            }
        }
        return gin
    }
}
