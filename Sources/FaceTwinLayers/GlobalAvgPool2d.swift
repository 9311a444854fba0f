/// The mean of each channel's map: [N, C, H, W] → [N, C] (dlib's `avg_pool_everything`).
package final class GlobalAvgPool2d: Layer {
    private var output: Tensor?
    private var inputShape: [Int] = []
    private var gradInput: Tensor?

    package init() {}

    package func forward(_ input: Tensor, mode: Mode) -> Tensor {
        precondition(input.shape.count == 4, "GlobalAvgPool2d takes [N, C, H, W], got \(input.shape)")
        let (n, c) = (input.shape[0], input.shape[1]), plane = input.shape[2] * input.shape[3]
        let out = Tensor.reuse(output, shape: [n, c])
        output = out
        inputShape = input.shape
        let x = input.pointer, y = out.pointer
        let scale = 1 / Float(plane)
        for p in 0..<(n * c) {
            var total: Float = 0
            for i in 0..<plane { total += x[p * plane + i] }
            y[p] = total * scale
        }
        return out
    }

    package func backward(_ gradOutput: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient else { return nil }
        let gin = Tensor.reuse(gradInput, shape: inputShape)
        gradInput = gin
        let planes = inputShape[0] * inputShape[1], plane = inputShape[2] * inputShape[3]
        let scale = 1 / Float(plane)
        let g = gradOutput.pointer, d = gin.pointer
        for p in 0..<planes { (d + p * plane).update(repeating: g[p] * scale, count: plane) }
        return gin
    }
}
