import CKernels

/// One stage of the reference CNN, ReflectionPad2d → Conv2d → ReLU → BatchNorm2d, computed as
/// one layer: the convolution pads each image into cache itself and applies the ReLU (and in
/// evaluation BatchNorm's affine map) in registers as it stores each output, and the backward
/// applies the ReLU's mask in BatchNorm's input-gradient pass. The same arithmetic per element
/// as the four layers one after the other, without a pass over memory for each of the others.
///
/// The default recipe's blocks end with a 2×2 max pooling (`pool`), a fifth module that runs
/// after the BatchNorm on the block's output.
///
/// `modules` are the four (or five) PyTorch modules it stands for; their parameters are the block's, so a
/// block in a container takes four state-dict indices (`1.weight` is the convolution's,
/// `3.running_mean` the BatchNorm's), and run one by one they compute what the block does.
package final class ConvBlock: Layer {
    package let pad: ReflectionPad2d
    package let conv: Conv2d
    package let relu: ReLU
    package let norm: BatchNorm2d
    package let pool: MaxPool2d?

    /// Cache for backward: the block's input, and what BatchNorm's training forward keeps
    /// (its input is the ReLU's output).
    private var input: Tensor?
    private var normBatch = BatchNorm2d.Batch()
    private var convWorkspace = Conv2d.Workspace()
    private var output: Tensor?
    /// The gradient with respect to the ReLU's output, masked by it: the convolution's output gradient.
    private var gradActivations: Tensor?

    package init(
        _ inChannels: Int, _ outChannels: Int, kernel: Int = 3, padding: Int = 1, pool: Int = 0,
        rng: inout some RandomNumberGenerator, initialize: Bool = true
    ) {
        pad = ReflectionPad2d(padding)
        conv = Conv2d(inChannels, outChannels, kernel: kernel, rng: &rng, initialize: initialize)
        relu = ReLU()
        norm = BatchNorm2d(outChannels)
        self.pool = pool > 1 ? MaxPool2d(pool) : nil
    }

    package var modules: [Layer] { [pad, conv, relu, norm] + (pool.map { [$0] } ?? []) }
    package var parameters: [(name: String, parameter: Parameter)] { sequentialParameters(modules) }
    package var buffers: [(name: String, tensor: Tensor)] { sequentialBuffers(modules) }

    package func forward(_ input: Tensor, mode: Mode) -> Tensor {
        switch mode {
        case .training:
            self.input = input
            let activations = Conv2d.forward(
                input, weight: conv.weight, bias: conv.bias, padding: pad.padding,
                epilogue: ConvolutionEpilogue(relu: true), workspace: &convWorkspace)
            let out = Tensor.reuse(output, shape: activations.shape)
            output = out
            norm.normalizeBatch(activations, into: out, batch: &normBatch)
            return pool?.forward(out, mode: mode) ?? out
        case .evaluation:
            let (scale, shift) = norm.evaluationAffine()
            let out = scale.withUnsafeBufferPointer { sp in
                shift.withUnsafeBufferPointer { tp in
                    Conv2d.forward(
                        input, weight: conv.weight, bias: conv.bias, padding: pad.padding,
                        epilogue: ConvolutionEpilogue(relu: true, scale: sp.baseAddress, shift: tp.baseAddress),
                        workspace: &convWorkspace)
                }
            }
            return pool?.forward(out, mode: mode) ?? out
        }
    }

    package func backward(_ gradOutput: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard let input, let activations = normBatch.input else {
            preconditionFailure("ConvBlock.backward without a training forward")
        }
        let gradOutput = pool?.backward(gradOutput, needsInputGradient: true) ?? gradOutput
        norm.addParameterGradients(gradOutput, batch: &normBatch)
        let gradient = Tensor.reuse(gradActivations, shape: activations.shape)
        gradActivations = gradient
        // BatchNorm's input gradient (as in BatchNorm2d.backward) and the ReLU's backward in one
        // pass: zero where the ReLU's output, BatchNorm's input, is not positive.
        let (a, dy, da) = (activations.pointer, gradOutput.pointer, gradient.pointer)
        let hw = activations.shape[2] * activations.shape[3]
        norm.forEachPlaneGradient(batch: normBatch) { plane, c in
            // da = a > 0 ? k · (m·dy − Σdy − x̂·Σdy·x̂) : 0, x̂ = (a − mean) · invStd (Sources/CKernels/vector.c).
            facetwin_bn_relu_backward(
                a + plane * hw, dy + plane * hw, da + plane * hw, hw, c.mean, c.invStd, c.k, c.m, c.sumDy, c.sumDyXhat)
        }
        return Conv2d.backward(
            gradient, input: input, weight: conv.weight, bias: conv.bias, padding: pad.padding,
            needsInputGradient: needsInputGradient, workspace: &convWorkspace)
    }
}

/// ConvBlocks applied in order: the reference's `cnn1`. In evaluation it runs them image by
/// image (`imageByImageEvaluation`): each worker takes its images through every block in turn,
/// the intermediate maps (160 and 320 KB for a 100 × 100 image) staying in its cache, where block
/// by block they would go out to memory and back for the whole batch (30 MB at a batch of 64).
/// The same kernels and epilogues as the blocks' own evaluation, so the same numbers to the bit.
package final class ConvStack: Layer {
    package let blocks: [ConvBlock]
    /// Whether evaluation runs image by image (true) or block by block.
    package var imageByImageEvaluation = true

    /// Per worker, the padded input of a block and each inner block's output, for
    /// `evaluateImageByImage`.
    private var imageScratch: [[Tensor]] = []
    private var output: Tensor?

    package init(_ blocks: [ConvBlock]) { self.blocks = blocks }

    package var modules: [Layer] { blocks.flatMap(\.modules) }
    package var parameters: [(name: String, parameter: Parameter)] { sequentialParameters(modules) }
    package var buffers: [(name: String, tensor: Tensor)] { sequentialBuffers(modules) }

    package func forward(_ input: Tensor, mode: Mode) -> Tensor {
        if mode == .evaluation, imageByImageEvaluation, let y = evaluateImageByImage(input) { return y }
        var x = input
        for block in blocks { x = block.forward(x, mode: mode) }
        return x
    }

    package func backward(_ gradOutput: Tensor, needsInputGradient: Bool) -> Tensor? {
        var g: Tensor? = gradOutput
        for i in blocks.indices.reversed() {
            guard let grad = g else { break }
            g = blocks[i].backward(grad, needsInputGradient: needsInputGradient || i > 0)
        }
        return g
    }

    /// One block's part in `evaluateImageByImage`: its padding and convolution, its BatchNorm as
    /// an affine map, and its input and output shapes.
    private struct Stage {
        let padding: Int
        let conv: Conv2d
        let scale: [Float], shift: [Float]
        let cin: Int, h: Int, w: Int, ho: Int, wo: Int
    }

    /// Evaluation image by image; nil for an input the blocks would reject (it then goes block
    /// by block, whose preconditions say what is wrong).
    private func evaluateImageByImage(_ input: Tensor) -> Tensor? {
        // Blocks that run as im2col + GEMM (wide inputs) go block by block, so that both ways give the same numbers.
        guard !blocks.isEmpty,
            blocks.allSatisfy({ $0.pool == nil && !Conv2d.usesGEMM(cin: $0.conv.inChannels, k: $0.conv.kernel) }),
            input.shape.count == 4, input.shape[0] > 0
        else {
            return nil
        }
        let (n, channels) = (input.shape[0], input.shape[1])
        var (cin, h, w) = (channels, input.shape[2], input.shape[3])
        var stages: [Stage] = []
        for block in blocks {
            let (p, k, conv) = (block.pad.padding, block.conv.kernel, block.conv)
            guard conv.inChannels == cin, p < h, p < w, h + 2 * p >= k, w + 2 * p >= k else { return nil }
            let (scale, shift) = block.norm.evaluationAffine()
            stages.append(
                Stage(
                    padding: p, conv: conv, scale: scale, shift: shift,
                    cin: cin, h: h + 2 * p, w: w + 2 * p, ho: h + 2 * p - k + 1, wo: w + 2 * p - k + 1))
            (cin, h, w) = (conv.outChannels, h + 2 * p - k + 1, w + 2 * p - k + 1)
        }
        let out = Tensor.reuse(output, shape: [n, cin, h, w])
        output = out
        // Per worker: one padded-input buffer (the largest stage's) and each inner stage's output.
        let sizes = [stages.map { $0.cin * $0.h * $0.w }.max()!] + stages.dropLast().map { $0.conv.outChannels * $0.ho * $0.wo }
        if imageScratch.count != Parallel.workers || imageScratch.first?.map(\.count) != sizes {
            imageScratch = (0..<Parallel.workers).map { _ in sizes.map { Tensor(shape: [$0]) } }
        }
        let inputPlane = channels * input.shape[2] * input.shape[3], outputPlane = cin * h * w
        let imageScratch = self.imageScratch
        Parallel.chunks(n) { worker, images in
            let scratch = imageScratch[worker]
            for image in images {
                var x = UnsafePointer(input.pointer + image * inputPlane)
                var (xh, xw) = (input.shape[2], input.shape[3])
                for (s, stage) in stages.enumerated() {
                    let p = stage.padding
                    if p > 0 {
                        ReflectionPad2d.pad(x, planes: stage.cin, h: xh, w: xw, padding: p, into: scratch[0].pointer)
                        x = UnsafePointer(scratch[0].pointer)
                    }
                    let dest = s == stages.count - 1 ? out.pointer + image * outputPlane : scratch[s + 1].pointer
                    stage.scale.withUnsafeBufferPointer { sp in
                        stage.shift.withUnsafeBufferPointer { tp in
                            DirectConvolution.forward(
                                input: x, cin: stage.cin, h: stage.h, w: stage.w,
                                weight: stage.conv.weight.value.pointer, bias: stage.conv.bias.value.pointer,
                                cout: stage.conv.outChannels, k: stage.conv.kernel, output: dest,
                                epilogue: ConvolutionEpilogue(relu: true, scale: sp.baseAddress, shift: tp.baseAddress))
                        }
                    }
                    x = UnsafePointer(dest)
                    (xh, xw) = (stage.ho, stage.wo)
                }
            }
        }
        return out
    }
}
