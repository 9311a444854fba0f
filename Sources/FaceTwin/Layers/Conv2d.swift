/// 2-D convolution, stride 1, no padding (the reference pads with a separate ReflectionPad2d).
/// Weights are PyTorch's [out, in, kh, kw].
///
/// Computed directly (`DirectConvolution`), not as im2col + GEMM: with 1→4→8→8 channels the
/// GEMMs would be 4–8 rows tall and the column matrix 9× the input. Images are split across
/// the cores; each worker sums its images' weight gradients into its own partial sums, which
/// are added at the end, so the result does not depend on thread timing.
public final class Conv2d: Layer {
    public let inChannels: Int, outChannels: Int, kernel: Int
    public let weight: Parameter
    public let bias: Parameter

    /// Cache for backward: the forward's input.
    private var input: Tensor?
    private var output: Tensor?
    private var gradInput: Tensor?
    /// Backward scratch: the flipped weights, and per worker the zero-padded output gradient
    /// of one image and weight/bias gradient partial sums.
    private var flipped: Tensor
    private var paddedGrad: [Tensor] = []
    private var paddedGradShape: [Int] = []
    private var workerWeightGrads: [Tensor] = []
    private var workerBiasGrads: [Tensor] = []
    private var workerScratch: [Tensor] = []
    /// Reflection padding this layer applied itself in the last forward (fused by `Sequential`
    /// from the ReflectionPad2d before it), 0 if none; then `input` is the unpadded input.
    private(set) var fusedPadding = 0
    /// Per worker, one padded image and one padded input gradient: with fused padding each
    /// image is padded into cache, never into a whole padded batch in memory.
    private var paddedImages: [Tensor] = []
    private var paddedGradInputs: [Tensor] = []

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, rng: inout some RandomNumberGenerator, initialize: Bool = true) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        weight = Parameter(shape: [outChannels, inChannels, kernel, kernel])
        bias = Parameter(shape: [outChannels])
        flipped = Tensor(shape: [inChannels, outChannels, kernel, kernel])
        let bound = 1 / Float(inChannels * kernel * kernel).squareRoot()
        if initialize {
            initializeUniform(weight.value, bound: bound, rng: &rng)
            initializeUniform(bias.value, bound: bound, rng: &rng)
        }
    }

    public var parameters: [(name: String, parameter: Parameter)] { [("weight", weight), ("bias", bias)] }

    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
        forward(input, mode: mode, epilogue: .none)
    }

    /// The forward with the following ReLU (and in evaluation BatchNorm's affine map) applied
    /// as each output is stored; `Sequential` fuses them so. With a ReLU, the output returned
    /// is the ReLU's, which is what the backward of a ReLU-followed convolution needs.
    ///
    /// With `reflectionPadding` p > 0 the input is first padded as `ReflectionPad2d(p)` would,
    /// image by image into a per-core buffer that stays in cache (`Sequential` fuses a
    /// ReflectionPad2d before a Conv2d so); the backward then returns the gradient with respect
    /// to the unpadded input.
    func forward(_ input: Tensor, mode: Mode, epilogue: ConvolutionEpilogue, reflectionPadding p: Int = 0) -> Tensor {
        precondition(input.shape.count == 4 && input.shape[1] == inChannels, "Conv2d expects [N, \(inChannels), H, W], got \(input.shape)")
        let (n, hIn, wIn) = (input.shape[0], input.shape[2], input.shape[3])
        precondition(p < hIn && p < wIn, "reflection padding \(p) needs an input larger than \(hIn)×\(wIn)")
        let h = hIn + 2 * p, w = wIn + 2 * p
        precondition(h >= kernel && w >= kernel, "Conv2d: input \(h)×\(w) is smaller than the kernel")
        let ho = h - kernel + 1, wo = w - kernel + 1
        let out = Tensor.reuse(output, shape: [n, outChannels, ho, wo])
        output = out
        self.input = input
        fusedPadding = p
        let (cin, cout, k) = (inChannels, outChannels, kernel)
        let wgt = weight.value.pointer, b = bias.value.pointer
        if p > 0 { ensurePaddedBuffers(&paddedImages, count: cin * h * w) }
        Parallel.chunks(n) { worker, images in
            for i in images {
                var x = UnsafePointer(input.pointer + i * cin * hIn * wIn)
                if p > 0 {
                    let padded = self.paddedImages[worker].pointer
                    ReflectionPad2d.pad(x, planes: cin, h: hIn, w: wIn, padding: p, into: padded)
                    x = UnsafePointer(padded)
                }
                DirectConvolution.forward(input: x, cin: cin, h: h, w: w, weight: wgt, bias: b,
                                          cout: cout, k: k, output: out.pointer + i * cout * ho * wo, epilogue: epilogue)
            }
        }
        return out
    }

    private func ensurePaddedBuffers(_ buffers: inout [Tensor], count: Int) {
        if buffers.count != Parallel.workers || buffers.first?.count != count {
            buffers = (0..<Parallel.workers).map { _ in Tensor(shape: [count]) }
        }
    }

    public func backward(_ gradOutput: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard let input else { preconditionFailure("Conv2d.backward before forward") }
        let p = fusedPadding
        let (n, hIn, wIn) = (input.shape[0], input.shape[2], input.shape[3])
        let h = hIn + 2 * p, w = wIn + 2 * p
        let (cin, cout, k) = (inChannels, outChannels, kernel)
        let ho = h - k + 1, wo = w - k + 1
        let workers = min(Parallel.workers, n)
        let paddedCount = cout * (ho + 2 * k - 2) * (wo + 2 * k - 2)
        // A new output shape gets new (zeroed) padded-gradient buffers: inputGradient writes
        // only their interior and relies on the border staying zero.
        if workerWeightGrads.count != workers || paddedGrad.first?.count != paddedCount || paddedGradShape != [ho, wo] {
            paddedGradShape = [ho, wo]
            paddedGrad = (0..<workers).map { _ in Tensor(shape: [paddedCount]) }
            workerWeightGrads = (0..<workers).map { _ in Tensor(shape: weight.value.shape) }
            workerBiasGrads = (0..<workers).map { _ in Tensor(shape: [cout]) }
            let scratch = max(1, DirectConvolution.weightGradientScratch(cin: cin, cout: cout, k: k))
            workerScratch = (0..<workers).map { _ in Tensor(shape: [scratch]) }
        }
        var gin: Tensor? = nil
        if needsInputGradient {
            gin = Tensor.reuse(gradInput, shape: input.shape)
            gradInput = gin
            DirectConvolution.flipWeights(weight.value.pointer, cout: cout, cin: cin, k: k, into: flipped.pointer)
            if p > 0 { ensurePaddedBuffers(&paddedGradInputs, count: cin * h * w) }
        }
        if p > 0 { ensurePaddedBuffers(&paddedImages, count: cin * h * w) }
        let flippedWeights = flipped.pointer
        Parallel.chunks(n, workers: workers) { worker, images in
            let dW = self.workerWeightGrads[worker].pointer, db = self.workerBiasGrads[worker].pointer
            dW.update(repeating: 0, count: cout * cin * k * k)
            db.update(repeating: 0, count: cout)
            let padded = self.paddedGrad[worker].pointer, scratch = self.workerScratch[worker].pointer
            for i in images {
                let g = gradOutput.pointer + i * cout * ho * wo
                var x = UnsafePointer(input.pointer + i * cin * hIn * wIn)
                if p > 0 {
                    let image = self.paddedImages[worker].pointer
                    ReflectionPad2d.pad(x, planes: cin, h: hIn, w: wIn, padding: p, into: image)
                    x = UnsafePointer(image)
                }
                DirectConvolution.weightGradient(input: x, cin: cin, h: h, w: w, gradOutput: g, cout: cout, k: k,
                                                 gradWeight: dW, gradBias: db, scratch: scratch)
                if let gin {
                    let target = gin.pointer + i * cin * hIn * wIn
                    let gradPadded = p > 0 ? self.paddedGradInputs[worker].pointer : target
                    DirectConvolution.inputGradient(gradOutput: g, cout: cout, ho: ho, wo: wo, flipped: flippedWeights, cin: cin, k: k,
                                                    padded: padded, gradInput: gradPadded)
                    if p > 0 {
                        ReflectionPad2d.unpad(gradient: gradPadded, planes: cin, h: hIn, w: wIn, padding: p, into: target)
                    }
                }
            }
        }
        let gW = weight.gradPointerForAccumulation(), gb = bias.gradPointerForAccumulation()
        for worker in 0..<workers {
            let dW = workerWeightGrads[worker].pointer, db = workerBiasGrads[worker].pointer
            for j in 0..<(cout * cin * k * k) { gW[j] += dW[j] }
            for c in 0..<cout { gb[c] += db[c] }
        }
        return gin
    }
}
