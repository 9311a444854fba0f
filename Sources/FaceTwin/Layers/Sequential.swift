/// Layers applied in order. Parameter names come from the composition, as in PyTorch's
/// `nn.Sequential`: the layer's index, then its own name (`3.running_mean`).
public final class Sequential: Layer {
    public let layers: [Layer]

    public init(_ layers: [Layer]) { self.layers = layers }

    /// Whether evaluation runs a Sequential made only of ReflectionPad2d → Conv2d → ReLU →
    /// BatchNorm2d stages image by image (see `evaluateImageByImage`). On by default; tests and
    /// facetwin-bench turn it off to compare. Set it only between passes.
    nonisolated(unsafe) public static var imageByImageEvaluation = true

    /// Per worker, the padded input of a stage and each inner stage's output, for
    /// `evaluateImageByImage`.
    private var imageScratch: [[Tensor]] = []
    private var output: Tensor?

    /// Runs the layers in order, fusing the reference's ReflectionPad2d → Conv2d → ReLU (→ BatchNorm2d
    /// in evaluation) into the convolution: it pads each image into cache and applies the rest
    /// in its store. The same arithmetic per element, without a pass over memory for each of
    /// the other layers.
    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
        if mode == .evaluation, Self.imageByImageEvaluation, let y = evaluateImageByImage(input) { return y }
        var x = input
        var i = 0
        while i < layers.count {
            // ReflectionPad2d → Conv2d: the convolution pads each image into cache itself.
            var padding = 0, c = i
            if let pad = layers[i] as? ReflectionPad2d, i + 1 < layers.count, layers[i + 1] is Conv2d, x.shape.count == 4 {
                padding = pad.padding
                c = i + 1
            }
            if let conv = layers[c] as? Conv2d {
                if c + 1 < layers.count, let relu = layers[c + 1] as? ReLU {
                    if mode == .evaluation, c + 2 < layers.count, let bn = layers[c + 2] as? BatchNorm2d, bn.channels == conv.outChannels {
                        let (scale, shift) = bn.evaluationAffine()
                        let input = x
                        x = scale.withUnsafeBufferPointer { sp in
                            shift.withUnsafeBufferPointer { tp in
                                conv.forward(input, mode: mode, epilogue: ConvolutionEpilogue(relu: true, scale: sp.baseAddress, shift: tp.baseAddress),
                                             reflectionPadding: padding)
                            }
                        }
                        i = c + 3
                    } else {
                        x = conv.forward(x, mode: mode, epilogue: ConvolutionEpilogue(relu: true), reflectionPadding: padding)
                        relu.adoptFusedOutput(x)
                        i = c + 2
                    }
                } else {
                    x = conv.forward(x, mode: mode, epilogue: .none, reflectionPadding: padding)
                    i = c + 1
                }
                continue
            }
            x = layers[i].forward(x, mode: mode)
            i += 1
        }
        return x
    }

    /// One stage of the reference CNN: an optional reflection padding, a convolution, a ReLU and a
    /// BatchNorm2d (applied in evaluation as its affine map).
    private struct Stage {
        let padding: Int
        let conv: Conv2d
        let scale: [Float], shift: [Float]
    }

    /// Evaluation of a Sequential made only of [ReflectionPad2d →] Conv2d → ReLU → BatchNorm2d
    /// stages (the reference's cnn1), image by image: each worker takes its images through every
    /// stage in turn, the intermediate maps (160 and 320 KB for a 100 × 100 image) staying in
    /// its cache, where layer by layer they would go out to memory and back for the whole batch
    /// (30 MB at a batch of 64). The same kernels and epilogues as the layer-by-layer fused
    /// path, so the same numbers to the bit. Returns nil for any other layer list or input.
    private func evaluateImageByImage(_ input: Tensor) -> Tensor? {
        guard input.shape.count == 4, input.shape[0] > 0 else { return nil }
        var stages: [Stage] = []
        var i = 0
        while i < layers.count {
            var padding = 0
            if let pad = layers[i] as? ReflectionPad2d { padding = pad.padding; i += 1 }
            guard i + 2 < layers.count, let conv = layers[i] as? Conv2d, layers[i + 1] is ReLU,
                  let bn = layers[i + 2] as? BatchNorm2d, bn.channels == conv.outChannels else { return nil }
            let (scale, shift) = bn.evaluationAffine()
            stages.append(Stage(padding: padding, conv: conv, scale: scale, shift: shift))
            i += 3
        }
        let (n, channels) = (input.shape[0], input.shape[1])
        var (h, w) = (input.shape[2], input.shape[3])
        // Each stage's input and output shapes; a shape the layers would reject goes their way.
        var shapes: [(cin: Int, h: Int, w: Int, ho: Int, wo: Int)] = []
        var cin = channels
        for stage in stages {
            let (p, k) = (stage.padding, stage.conv.kernel)
            guard stage.conv.inChannels == cin, p < h, p < w, h + 2 * p >= k, w + 2 * p >= k else { return nil }
            shapes.append((cin, h + 2 * p, w + 2 * p, h + 2 * p - k + 1, w + 2 * p - k + 1))
            (cin, h, w) = (stage.conv.outChannels, h + 2 * p - k + 1, w + 2 * p - k + 1)
        }
        guard !stages.isEmpty else { return nil }
        let out = Tensor.reuse(output, shape: [n, cin, h, w])
        output = out
        // Per worker: one padded-input buffer (the largest stage's) and each inner stage's output.
        let sizes = [shapes.map { $0.cin * $0.h * $0.w }.max()!]
            + zip(stages.dropLast(), shapes).map { $0.conv.outChannels * $1.ho * $1.wo }
        if imageScratch.count != Parallel.workers || imageScratch.first?.map(\.count) != sizes {
            imageScratch = (0..<Parallel.workers).map { _ in sizes.map { Tensor(shape: [$0]) } }
        }
        let inputPlane = channels * input.shape[2] * input.shape[3], outputPlane = cin * h * w
        Parallel.chunks(n) { worker, images in
            let scratch = self.imageScratch[worker]
            for image in images {
                var x = UnsafePointer(input.pointer + image * inputPlane)
                var (xh, xw) = (input.shape[2], input.shape[3])
                for (s, stage) in stages.enumerated() {
                    let shape = shapes[s], p = stage.padding
                    if p > 0 {
                        ReflectionPad2d.pad(x, planes: shape.cin, h: xh, w: xw, padding: p, into: scratch[0].pointer)
                        x = UnsafePointer(scratch[0].pointer)
                    }
                    let dest = s == stages.count - 1 ? out.pointer + image * outputPlane : scratch[s + 1].pointer
                    stage.scale.withUnsafeBufferPointer { sp in
                        stage.shift.withUnsafeBufferPointer { tp in
                            DirectConvolution.forward(input: x, cin: shape.cin, h: shape.h, w: shape.w,
                                                      weight: stage.conv.weight.value.pointer, bias: stage.conv.bias.value.pointer,
                                                      cout: stage.conv.outChannels, k: stage.conv.kernel, output: dest,
                                                      epilogue: ConvolutionEpilogue(relu: true, scale: sp.baseAddress, shift: tp.baseAddress))
                        }
                    }
                    x = UnsafePointer(dest)
                    (xh, xw) = (shape.ho, shape.wo)
                }
            }
        }
        return out
    }

    public func backward(_ gradOutput: Tensor, needsInputGradient: Bool) -> Tensor? {
        // The first layer that has parameters is the last one whose input gradient is needed,
        // unless the caller needs it: no work is spent on gradients nobody reads.
        let firstLearnable = layers.firstIndex { !$0.parameters.isEmpty } ?? layers.count
        func needs(_ i: Int) -> Bool { needsInputGradient || i > firstLearnable }
        var g: Tensor? = gradOutput
        var i = layers.count - 1
        while i >= 0, let grad = g {
            // Conv2d that padded its input itself: its backward is the padding's too.
            if let conv = layers[i] as? Conv2d, conv.fusedPadding > 0, i > 0, layers[i - 1] is ReflectionPad2d {
                g = conv.backward(grad, needsInputGradient: needs(i - 1))
                i -= 2
                continue
            }
            // ReLU → BatchNorm2d: the ReLU's backward (zero where its output, the BatchNorm's
            // input, is not positive) is done in the BatchNorm's input-gradient pass.
            if let bn = layers[i] as? BatchNorm2d, i > 0, layers[i - 1] is ReLU, needs(i) {
                let masked = bn.backward(grad, needsInputGradient: true, maskNonPositiveInput: true)
                g = needs(i - 1) ? masked : nil
                i -= 2
                continue
            }
            g = layers[i].backward(grad, needsInputGradient: needs(i))
            i -= 1
        }
        return g
    }

    public var parameters: [(name: String, parameter: Parameter)] {
        layers.enumerated().flatMap { i, layer in layer.parameters.map { ("\(i).\($0.name)", $0.parameter) } }
    }

    public var buffers: [(name: String, tensor: Tensor)] {
        layers.enumerated().flatMap { i, layer in layer.buffers.map { ("\(i).\($0.name)", $0.tensor) } }
    }
}
