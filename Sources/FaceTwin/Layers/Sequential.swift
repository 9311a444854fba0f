/// Layers applied in order. Parameter names come from the composition, as in PyTorch's
/// `nn.Sequential`: the layer's index, then its own name (`3.running_mean`).
public final class Sequential: Layer {
    public let layers: [Layer]

    public init(_ layers: [Layer]) { self.layers = layers }

    /// Runs the layers in order, fusing the seed's ReflectionPad2d → Conv2d → ReLU (→ BatchNorm2d
    /// in evaluation) into the convolution: it pads each image into cache and applies the rest
    /// in its store. The same arithmetic per element, without a pass over memory for each of
    /// the other layers.
    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
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
