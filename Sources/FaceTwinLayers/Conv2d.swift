import CKernels

/// 2-D convolution, stride 1, no padding (the reference pads with a separate ReflectionPad2d).
/// Weights are PyTorch's [out, in, kh, kw].
///
/// With few input channels (the reference's 1→4→8→8) computed directly (`DirectConvolution`):
/// im2col + GEMM would multiply matrices 4–8 rows tall and move a column matrix 9× the input.
/// From ``gemmMinimumDepth`` input values per output (16 channels of a 3×3 kernel, the default
/// recipe's inner blocks) each image goes through im2col and OpenBLAS GEMMs instead, which keep
/// the FMA units busier at those sizes than the direct kernels. Images are split across the
/// cores; each worker sums its images' weight gradients into its own partial sums, which are
/// added at the end, so the result does not depend on thread timing.
package final class Conv2d: Layer {
    package let inChannels: Int, outChannels: Int, kernel: Int
    package let weight: Parameter
    package let bias: Parameter

    /// Cache for backward: the forward's input.
    private var input: Tensor?
    private var workspace = Workspace()

    package init(
        _ inChannels: Int, _ outChannels: Int, kernel: Int, rng: inout some RandomNumberGenerator, initialize: Bool = true
    ) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        weight = Parameter(shape: [outChannels, inChannels, kernel, kernel])
        bias = Parameter(shape: [outChannels])
        let bound = 1 / Float(inChannels * kernel * kernel).squareRoot()
        if initialize {
            initializeUniform(weight.value, bound: bound, rng: &rng)
            initializeUniform(bias.value, bound: bound, rng: &rng)
        }
    }

    package var parameters: [(name: String, parameter: Parameter)] { [("weight", weight), ("bias", bias)] }

    package func forward(_ input: Tensor, mode: Mode) -> Tensor {
        self.input = input
        return Self.forward(input, weight: weight, bias: bias, padding: 0, epilogue: .none, workspace: &workspace)
    }

    package func backward(_ gradOutput: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard let input else { preconditionFailure("Conv2d.backward before forward") }
        return Self.backward(
            gradOutput, input: input, weight: weight, bias: bias, padding: 0,
            needsInputGradient: needsInputGradient, workspace: &workspace)
    }
}

extension Conv2d {
    /// The buffers of one convolution's passes, kept between calls: its output and input
    /// gradient, the flipped weights, and per worker the zero-padded output gradient of one
    /// image, weight/bias gradient partial sums, and with reflection padding one padded image
    /// and one padded input gradient (each image is padded in cache, never a whole padded batch
    /// in memory).
    struct Workspace {
        var output: Tensor?
        var gradInput: Tensor?
        var flipped: Tensor?
        var paddedGrad: [Tensor] = []
        var paddedGradShape: [Int] = []
        var weightGrads: [Tensor] = []
        var biasGrads: [Tensor] = []
        var weightGradScratch: [Tensor] = []
        var paddedImages: [Tensor] = []
        var paddedGradInputs: [Tensor] = []
        /// Per worker, one image's column matrix (im2col) and its gradient, for the GEMM path.
        var columns: [Tensor] = []
        var gradColumns: [Tensor] = []

        /// One buffer of `count` floats per worker in `buffers`, renewed when the count changes.
        static func perWorker(_ buffers: inout [Tensor], count: Int) {
            if buffers.count != Parallel.workers || buffers.first?.count != count {
                buffers = (0..<Parallel.workers).map { _ in Tensor(shape: [count]) }
            }
        }
    }

    /// Input values per output (in × k × k) from which a convolution runs as im2col + GEMM.
    static let gemmMinimumDepth = 144

    /// Whether a convolution of `cin` input channels and `k`×`k` kernels runs as im2col + GEMM.
    static func usesGEMM(cin: Int, k: Int) -> Bool { cin * k * k >= gemmMinimumDepth }

    /// The column matrix of one image `x` [cin, h, w]: row (ci·k + ky)·k + kx holds
    /// x[ci, y + ky, x + kx] for every output position (y, x), `ho`·`wo` of them.
    static func im2col(
        _ x: UnsafePointer<Float>, cin: Int, h: Int, w: Int, k: Int, into col: UnsafeMutablePointer<Float>
    ) {
        let ho = h - k + 1, wo = w - k + 1
        for ci in 0..<cin {
            for ky in 0..<k {
                for kx in 0..<k {
                    let row = col + ((ci * k + ky) * k + kx) * ho * wo
                    for y in 0..<ho { (row + y * wo).update(from: x + (ci * h + y + ky) * w + kx, count: wo) }
                }
            }
        }
    }

    /// The adjoint of `im2col`: `grad` [cin, h, w] = the column gradient summed back onto the
    /// input positions each column entry was copied from.
    static func col2im(
        _ col: UnsafePointer<Float>, cin: Int, h: Int, w: Int, k: Int, into grad: UnsafeMutablePointer<Float>
    ) {
        facetwin_col2im(col, Int32(cin), Int32(h), Int32(w), Int32(k), grad)
    }

    /// One image's convolution through its column matrix: out[cout, ho·wo] = W[cout, cin·k·k] ·
    /// col + bias, then `epilogue`.
    static func gemmForward(
        input x: UnsafePointer<Float>, cin: Int, h: Int, w: Int, weight: UnsafePointer<Float>,
        bias: UnsafePointer<Float>, cout: Int, k: Int, output: UnsafeMutablePointer<Float>,
        epilogue: ConvolutionEpilogue, columns: UnsafeMutablePointer<Float>
    ) {
        let hw = (h - k + 1) * (w - k + 1)
        im2col(x, cin: cin, h: h, w: w, k: k, into: columns)
        for co in 0..<cout { (output + co * hw).update(repeating: bias[co], count: hw) }
        BLAS.gemm(m: cout, n: hw, k: cin * k * k, a: weight, b: columns, beta: 1, c: output)
        guard epilogue.relu || epilogue.scale != nil else { return }
        for co in 0..<cout {
            facetwin_conv_epilogue(output + co * hw, hw, Int32(co), epilogue.relu ? 1 : 0, epilogue.scale, epilogue.shift)
        }
    }

    /// The convolution of `input` [N, in, H, W] with `weight` [out, in, k, k] and `bias`, each
    /// image first padded as `ReflectionPad2d(padding)` would (none for 0), with `epilogue`
    /// applied as each output is stored. Returns `workspace.output`.
    static func forward(
        _ input: Tensor, weight: Parameter, bias: Parameter, padding p: Int,
        epilogue: ConvolutionEpilogue, workspace: inout Workspace
    ) -> Tensor {
        let (cout, cin, k) = (weight.value.shape[0], weight.value.shape[1], weight.value.shape[2])
        precondition(input.shape.count == 4 && input.shape[1] == cin, "Conv2d expects [N, \(cin), H, W], got \(input.shape)")
        let (n, hIn, wIn) = (input.shape[0], input.shape[2], input.shape[3])
        precondition(p < hIn && p < wIn, "reflection padding \(p) needs an input larger than \(hIn)×\(wIn)")
        let h = hIn + 2 * p, w = wIn + 2 * p
        precondition(h >= k && w >= k, "Conv2d: input \(h)×\(w) is smaller than the kernel")
        let ho = h - k + 1, wo = w - k + 1
        let out = Tensor.reuse(workspace.output, shape: [n, cout, ho, wo])
        workspace.output = out
        let wgt = weight.value.pointer, b = bias.value.pointer
        if p > 0 { Workspace.perWorker(&workspace.paddedImages, count: cin * h * w) }
        let gemm = usesGEMM(cin: cin, k: k)
        if gemm { Workspace.perWorker(&workspace.columns, count: cin * k * k * ho * wo) }
        let (paddedImages, columns) = (workspace.paddedImages, workspace.columns)
        Parallel.chunks(n) { worker, images in
            for i in images {
                var x = UnsafePointer(input.pointer + i * cin * hIn * wIn)
                if p > 0 {
                    let padded = paddedImages[worker].pointer
                    ReflectionPad2d.pad(x, planes: cin, h: hIn, w: wIn, padding: p, into: padded)
                    x = UnsafePointer(padded)
                }
                if gemm {
                    gemmForward(
                        input: x, cin: cin, h: h, w: w, weight: wgt, bias: b, cout: cout, k: k,
                        output: out.pointer + i * cout * ho * wo, epilogue: epilogue, columns: columns[worker].pointer)
                } else {
                    DirectConvolution.forward(
                        input: x, cin: cin, h: h, w: w, weight: wgt, bias: b,
                        cout: cout, k: k, output: out.pointer + i * cout * ho * wo, epilogue: epilogue)
                }
            }
        }
        return out
    }

    /// The backward of `forward` with the same `padding`: adds the weight and bias gradients
    /// into theirs and returns the gradient with respect to the unpadded `input`
    /// (`workspace.gradInput`), or nil without `needsInputGradient`.
    static func backward(
        _ gradOutput: Tensor, input: Tensor, weight: Parameter, bias: Parameter, padding p: Int,
        needsInputGradient: Bool, workspace: inout Workspace
    ) -> Tensor? {
        let (cout, cin, k) = (weight.value.shape[0], weight.value.shape[1], weight.value.shape[2])
        let (n, hIn, wIn) = (input.shape[0], input.shape[2], input.shape[3])
        let h = hIn + 2 * p, w = wIn + 2 * p
        let ho = h - k + 1, wo = w - k + 1
        let workers = min(Parallel.workers, n)
        let paddedCount = cout * (ho + 2 * k - 2) * (wo + 2 * k - 2)
        // A new output shape gets new (zeroed) padded-gradient buffers: inputGradient writes
        // only their interior and relies on the border staying zero.
        if workspace.weightGrads.count != workers || workspace.paddedGrad.first?.count != paddedCount
            || workspace.paddedGradShape != [ho, wo]
        {
            workspace.paddedGradShape = [ho, wo]
            workspace.paddedGrad = (0..<workers).map { _ in Tensor(shape: [paddedCount]) }
            workspace.weightGrads = (0..<workers).map { _ in Tensor(shape: weight.value.shape) }
            workspace.biasGrads = (0..<workers).map { _ in Tensor(shape: [cout]) }
            let scratch = max(1, DirectConvolution.weightGradientScratch(cin: cin, cout: cout, k: k))
            workspace.weightGradScratch = (0..<workers).map { _ in Tensor(shape: [scratch]) }
        }
        var gin: Tensor? = nil
        if needsInputGradient {
            gin = Tensor.reuse(workspace.gradInput, shape: input.shape)
            workspace.gradInput = gin
            if workspace.flipped == nil { workspace.flipped = Tensor(shape: [cin, cout, k, k]) }
            DirectConvolution.flipWeights(weight.value.pointer, cout: cout, cin: cin, k: k, into: workspace.flipped!.pointer)
            if p > 0 { Workspace.perWorker(&workspace.paddedGradInputs, count: cin * h * w) }
        }
        if p > 0 { Workspace.perWorker(&workspace.paddedImages, count: cin * h * w) }
        let gemm = usesGEMM(cin: cin, k: k), depth = cin * k * k
        if gemm {
            Workspace.perWorker(&workspace.columns, count: depth * ho * wo)
            if needsInputGradient { Workspace.perWorker(&workspace.gradColumns, count: depth * ho * wo) }
        }
        let (columns, gradColumns) = (workspace.columns, workspace.gradColumns)
        let wgt = weight.value.pointer
        let flippedWeights = workspace.flipped?.pointer
        let (weightGrads, biasGrads, paddedGrad, scratchSpace) =
            (workspace.weightGrads, workspace.biasGrads, workspace.paddedGrad, workspace.weightGradScratch)
        let (paddedImages, paddedGradInputs) = (workspace.paddedImages, workspace.paddedGradInputs)
        Parallel.chunks(n, workers: workers) { worker, images in
            let dW = weightGrads[worker].pointer, db = biasGrads[worker].pointer
            dW.update(repeating: 0, count: cout * cin * k * k)
            db.update(repeating: 0, count: cout)
            let padded = paddedGrad[worker].pointer, scratch = scratchSpace[worker].pointer
            for i in images {
                let g = gradOutput.pointer + i * cout * ho * wo
                var x = UnsafePointer(input.pointer + i * cin * hIn * wIn)
                if p > 0 {
                    let image = paddedImages[worker].pointer
                    ReflectionPad2d.pad(x, planes: cin, h: hIn, w: wIn, padding: p, into: image)
                    x = UnsafePointer(image)
                }
                if gemm {
                    // dW += g · colᵀ, db += the rows' sums; the input gradient is Wᵀ · g summed back by col2im.
                    let col = columns[worker].pointer
                    im2col(x, cin: cin, h: h, w: w, k: k, into: col)
                    BLAS.gemm(transB: true, m: cout, n: depth, k: ho * wo, a: g, b: col, beta: 1, c: dW)
                    for co in 0..<cout { db[co] += sum(g + co * ho * wo, ho * wo) }
                    if let gin {
                        let target = gin.pointer + i * cin * hIn * wIn
                        let gradPadded = p > 0 ? paddedGradInputs[worker].pointer : target
                        let dcol = gradColumns[worker].pointer
                        BLAS.gemm(transA: true, m: depth, n: ho * wo, k: cout, a: wgt, b: g, c: dcol)
                        col2im(dcol, cin: cin, h: h, w: w, k: k, into: gradPadded)
                        if p > 0 {
                            ReflectionPad2d.unpad(gradient: gradPadded, planes: cin, h: hIn, w: wIn, padding: p, into: target)
                        }
                    }
                    continue
                }
                DirectConvolution.weightGradient(
                    input: x, cin: cin, h: h, w: w, gradOutput: g, cout: cout, k: k,
                    gradWeight: dW, gradBias: db, scratch: scratch)
                if let gin, let flippedWeights {
                    let target = gin.pointer + i * cin * hIn * wIn
                    let gradPadded = p > 0 ? paddedGradInputs[worker].pointer : target
                    DirectConvolution.inputGradient(
                        gradOutput: g, cout: cout, ho: ho, wo: wo, flipped: flippedWeights, cin: cin, k: k,
                        padded: padded, gradInput: gradPadded)
                    if p > 0 {
                        ReflectionPad2d.unpad(gradient: gradPadded, planes: cin, h: hIn, w: wIn, padding: p, into: target)
                    }
                }
            }
        }
        let gW = weight.gradPointerForAccumulation(), gb = bias.gradPointerForAccumulation()
        for worker in 0..<workers {
            let dW = weightGrads[worker].pointer, db = biasGrads[worker].pointer
            for j in 0..<(cout * cin * k * k) { gW[j] += dW[j] }
            for c in 0..<cout { gb[c] += db[c] }
        }
        return gin
    }
}
