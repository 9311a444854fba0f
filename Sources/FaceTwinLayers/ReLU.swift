/// max(0, x), elementwise. Computed in place on its input (PyTorch's `inplace=True`): the
/// backward needs only the output's sign, so no copy of the input is kept.
package final class ReLU: Layer {
    private var output: Tensor?

    package init() {}

    package func forward(_ input: Tensor, mode: Mode) -> Tensor {
        let p = input.pointer
        Parallel.chunks(input.count / 4096 + 1) { _, blocks in
            let lo = blocks.lowerBound * 4096, hi = min(input.count, blocks.upperBound * 4096)
            for i in lo..<hi { p[i] = max(p[i], 0) }
        }
        output = input
        return input
    }

    package func backward(_ gradOutput: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient, let out = output?.pointer else { return nil }
        // In place on the incoming gradient: nothing upstream reads it again.
        let g = gradOutput.pointer, n = gradOutput.count
        Parallel.chunks(n / 4096 + 1) { _, blocks in
            let lo = blocks.lowerBound * 4096, hi = min(n, blocks.upperBound * 4096)
            for i in lo..<hi where !(out[i] > 0) { g[i] = 0 }
        }
        return gradOutput
    }
}
