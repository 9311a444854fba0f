/// Layers applied in order. Parameter names come from the composition, as in PyTorch's
/// `nn.Sequential`: the layer's index, then its own name (`3.running_mean`).
public final class Sequential: Layer {
    public let layers: [Layer]

    public init(_ layers: [Layer]) { self.layers = layers }

    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
        var x = input
        for layer in layers { x = layer.forward(x, mode: mode) }
        return x
    }

    public func backward(_ gradOutput: Tensor, needsInputGradient: Bool) -> Tensor? {
        // The first layer that has parameters is the last one whose input gradient is needed,
        // unless the caller needs it: no work is spent on gradients nobody reads.
        let firstLearnable = layers.firstIndex { !$0.parameters.isEmpty } ?? layers.count
        var g: Tensor? = gradOutput
        for (i, layer) in layers.enumerated().reversed() {
            guard let grad = g else { break }
            g = layer.backward(grad, needsInputGradient: needsInputGradient || i > firstLearnable)
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
