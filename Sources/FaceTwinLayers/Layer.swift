/// A learnable tensor and the gradient accumulated into it by `backward`.
public final class Parameter {
    public let value: Tensor
    /// Allocated on first use: a model loaded only to embed faces, or a frozen backbone, never
    /// needs gradients.
    public var grad: Tensor {
        if let gradStorage { return gradStorage }
        let g = Tensor(shape: value.shape)
        gradStorage = g
        return g
    }
    private var gradStorage: Tensor?
    /// Whether `grad` was ever allocated.
    public var hasGradientBuffer: Bool { gradStorage != nil }
    /// True when `grad` is to be read as all zeros although its memory was not cleared: set by
    /// `Adam.zeroGradients` for large tensors, so that the first backward can write its
    /// gradient instead of adding to zeros (for the 80 000 × 500 weight that saves clearing
    /// and re-reading 160 MB every step). Whoever writes `grad` next must honour and clear it;
    /// `gradPointerForAccumulation()` does both.
    public var gradIsZero = false

    /// The gradient's storage for a backward that adds into it, cleared first if it is lazily
    /// zero. Layers that can overwrite instead check `gradIsZero` themselves.
    public func gradPointerForAccumulation() -> UnsafeMutablePointer<Float> {
        if gradIsZero {
            grad.fill(0)
            gradIsZero = false
        }
        return grad.pointer
    }

    /// Set by `Adam.zeroGradients(fuseIntoBackward: true)` on a large parameter: this step's
    /// Adam update, for a layer's backward to apply as it forms the gradient (Linear does, for
    /// its weight) instead of writing the gradient. The layer then clears it and sets
    /// `updatedInBackward`, and `Adam.update` leaves the parameter alone.
    package var fusedUpdate: FusedAdamUpdate?
    /// True from a fused update in backward until the `Adam.update` of the same step.
    package var updatedInBackward = false

    public init(_ value: Tensor) {
        self.value = value
    }

    public convenience init(shape: [Int]) { self.init(Tensor(shape: shape)) }
}

/// One step's Adam update of one parameter, handed to the layer that forms its gradient
/// (`Parameter.fusedUpdate`): where its moments are, and the step's constants.
package struct FusedAdamUpdate {
    let firstMoment: UnsafeMutablePointer<Float>
    let secondMoment: UnsafeMutablePointer<Float>
    let beta1: Float, beta2: Float, eps: Float
    let stepSize: Float
    let inverseCorrection2: Float

    package init(
        firstMoment: UnsafeMutablePointer<Float>, secondMoment: UnsafeMutablePointer<Float>, beta1: Float,
        beta2: Float, eps: Float, stepSize: Float, inverseCorrection2: Float
    ) {
        self.firstMoment = firstMoment
        self.secondMoment = secondMoment
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.stepSize = stepSize
        self.inverseCorrection2 = inverseCorrection2
    }
}

/// Whether a forward pass trains (BatchNorm uses batch statistics and updates its running ones)
/// or evaluates (BatchNorm uses its running statistics).
package enum Mode: Sendable {
    case training
    case evaluation
}

/// A network layer with an explicit backward pass, in the style of llm.c: the layer keeps what
/// its backward needs from the last forward (named in each layer), and owns its output tensors.
///
/// `forward` returns a tensor the layer owns and overwrites on its next call. `backward` adds
/// the parameter gradients into each `Parameter.grad` (as PyTorch accumulates `.grad`) and
/// returns the gradient with respect to the forward's input, or `nil` when
/// `needsInputGradient` is false (the first layers of a network need none).
package protocol Layer: AnyObject {
    func forward(_ input: Tensor, mode: Mode) -> Tensor
    func backward(_ gradOutput: Tensor, needsInputGradient: Bool) -> Tensor?
    /// Learnable parameters under their PyTorch names (`weight`, `bias`).
    var parameters: [(name: String, parameter: Parameter)] { get }
    /// Non-learnable state saved with the model (`running_mean`, …).
    var buffers: [(name: String, tensor: Tensor)] { get }
    /// The PyTorch modules this layer computes, in the order an `nn.Sequential` lists them: the
    /// layer itself, or for a layer that fuses several (`ConvBlock`), each of them. A container
    /// numbers its parameters by these modules, as PyTorch's state dict does.
    var modules: [Layer] { get }
}

extension Layer {
    package var parameters: [(name: String, parameter: Parameter)] { [] }
    package var buffers: [(name: String, tensor: Tensor)] { [] }
    package var modules: [Layer] { [self] }
}

/// `modules` numbered as an `nn.Sequential` numbers its children in the state dict: each module's
/// index, then its own parameter or buffer name (`3.running_mean`).
package func sequentialParameters(_ modules: [Layer]) -> [(name: String, parameter: Parameter)] {
    modules.enumerated().flatMap { i, module in module.parameters.map { ("\(i).\($0.name)", $0.parameter) } }
}

func sequentialBuffers(_ modules: [Layer]) -> [(name: String, tensor: Tensor)] {
    modules.enumerated().flatMap { i, module in module.buffers.map { ("\(i).\($0.name)", $0.tensor) } }
}

/// PyTorch's default initialization for Conv2d and Linear: weights and biases uniform in
/// ±1/√fan_in (kaiming_uniform with a = √5 reduces to that bound).
func initializeUniform(_ t: Tensor, bound: Float, rng: inout some RandomNumberGenerator) {
    let p = t.pointer
    for i in 0..<t.count { p[i] = Float.random(in: -bound...bound, using: &rng) }
}
