/// Layers applied in order, and their backwards in reverse. Parameter names come from the
/// composition, as in PyTorch's `nn.Sequential`: the module's index, then its own name
/// (`3.running_mean`); a layer that computes several modules (`ConvBlock`) takes one index per
/// module.
package final class Sequential: Layer {
    package let layers: [Layer]

    package init(_ layers: [Layer]) { self.layers = layers }

    package func forward(_ input: Tensor, mode: Mode) -> Tensor {
        var x = input
        for layer in layers { x = layer.forward(x, mode: mode) }
        return x
    }

    package func backward(_ gradOutput: Tensor, needsInputGradient: Bool) -> Tensor? {
        // The first layer that has parameters is the last one whose input gradient is needed,
        // unless the caller needs it: no work is spent on gradients nobody reads.
        let firstLearnable = layers.firstIndex { !$0.parameters.isEmpty } ?? layers.count
        var g: Tensor? = gradOutput
        for i in layers.indices.reversed() {
            guard let grad = g else { break }
            g = layers[i].backward(grad, needsInputGradient: needsInputGradient || i > firstLearnable)
        }
        return g
    }

    package var modules: [Layer] { layers.flatMap(\.modules) }
    package var parameters: [(name: String, parameter: Parameter)] { sequentialParameters(modules) }
    package var buffers: [(name: String, tensor: Tensor)] { sequentialBuffers(modules) }
}
