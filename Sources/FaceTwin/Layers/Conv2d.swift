/// 2-D convolution, stride 1, no padding (the seed pads with a separate ReflectionPad2d), as
/// im2col + one GEMM per image. Weights are PyTorch's [out, in, kh, kw], which is the row-major
/// [out × in·kh·kw] matrix the GEMM wants.
///
/// Images are split across the cores, each worker running single-threaded GEMMs on its own
/// images with its own im2col scratch: for these small matrices that beats one multi-threaded
/// GEMM. The backward recomputes im2col rather than keeping it for the whole batch (it is cheap
/// next to the GEMMs and saves 9× the input's memory).
public final class Conv2d: Layer {
    public let inChannels: Int, outChannels: Int, kernel: Int
    public let weight: Parameter
    public let bias: Parameter

    /// Cache for backward: the forward's input.
    private var input: Tensor?
    private var output: Tensor?
    private var gradInput: Tensor?
    /// Per-worker im2col scratch, and per-worker weight/bias gradient partial sums.
    private var columns: [Tensor] = []
    private var gradColumns: [Tensor] = []
    private var workerWeightGrads: [Tensor] = []
    private var workerBiasGrads: [Tensor] = []

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, rng: inout some RandomNumberGenerator) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        weight = Parameter(shape: [outChannels, inChannels, kernel, kernel])
        bias = Parameter(shape: [outChannels])
        let bound = 1 / Float(inChannels * kernel * kernel).squareRoot()
        initializeUniform(weight.value, bound: bound, rng: &rng)
        initializeUniform(bias.value, bound: bound, rng: &rng)
    }

    public var parameters: [(name: String, parameter: Parameter)] { [("weight", weight), ("bias", bias)] }

    private var patchSize: Int { inChannels * kernel * kernel }

    private func prepareScratch(pixels: Int, workers: Int) {
        if columns.count != workers || columns[0].count != patchSize * pixels {
            columns = (0..<workers).map { _ in Tensor(shape: [patchSize, pixels]) }
            gradColumns = (0..<workers).map { _ in Tensor(shape: [patchSize, pixels]) }
            workerWeightGrads = (0..<workers).map { _ in Tensor(shape: weight.value.shape) }
            workerBiasGrads = (0..<workers).map { _ in Tensor(shape: [outChannels]) }
        }
    }

    /// Unfolds one image [C, H, W] into columns [C·k·k, Ho·Wo].
    private func im2col(_ image: UnsafePointer<Float>, h: Int, w: Int, into col: UnsafeMutablePointer<Float>) {
        let k = kernel, ho = h - k + 1, wo = w - k + 1
        var row = 0
        for c in 0..<inChannels {
            let plane = image + c * h * w
            for ky in 0..<k {
                for kx in 0..<k {
                    let dst = col + row * ho * wo
                    for y in 0..<ho { (dst + y * wo).update(from: plane + (y + ky) * w + kx, count: wo) }
                    row += 1
                }
            }
        }
    }

    /// Folds columns back, adding into one image's gradient [C, H, W] (which it zeroes first).
    private func col2im(_ col: UnsafePointer<Float>, h: Int, w: Int, into image: UnsafeMutablePointer<Float>) {
        let k = kernel, ho = h - k + 1, wo = w - k + 1
        image.update(repeating: 0, count: inChannels * h * w)
        var row = 0
        for c in 0..<inChannels {
            let plane = image + c * h * w
            for ky in 0..<k {
                for kx in 0..<k {
                    let src = col + row * ho * wo
                    for y in 0..<ho {
                        let d = plane + (y + ky) * w + kx, s = src + y * wo
                        for x in 0..<wo { d[x] += s[x] }
                    }
                    row += 1
                }
            }
        }
    }

    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
        precondition(input.shape.count == 4 && input.shape[1] == inChannels, "Conv2d expects [N, \(inChannels), H, W], got \(input.shape)")
        let (n, h, w) = (input.shape[0], input.shape[2], input.shape[3])
        let ho = h - kernel + 1, wo = w - kernel + 1, pixels = ho * wo
        let out = Tensor.reuse(output, shape: [n, outChannels, ho, wo])
        output = out
        self.input = input
        let workers = min(Parallel.workers, n)
        prepareScratch(pixels: pixels, workers: workers)
        BLAS.setThreads(1)
        let (cout, kk) = (outChannels, patchSize)
        let wgt = weight.value.pointer, b = bias.value.pointer
        Parallel.chunks(n, workers: workers) { worker, images in
            let col = self.columns[worker].pointer
            for i in images {
                self.im2col(input.pointer + i * self.inChannels * h * w, h: h, w: w, into: col)
                let o = out.pointer + i * cout * pixels
                for c in 0..<cout { (o + c * pixels).update(repeating: b[c], count: pixels) }
                BLAS.gemm(m: cout, n: pixels, k: kk, a: wgt, b: col, beta: 1, c: o)
            }
        }
        return out
    }

    public func backward(_ gradOutput: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard let input else { preconditionFailure("Conv2d.backward before forward") }
        let (n, h, w) = (input.shape[0], input.shape[2], input.shape[3])
        let ho = h - kernel + 1, wo = w - kernel + 1, pixels = ho * wo
        let workers = min(Parallel.workers, n)
        prepareScratch(pixels: pixels, workers: workers)
        var gin: Tensor? = nil
        if needsInputGradient {
            gin = Tensor.reuse(gradInput, shape: input.shape)
            gradInput = gin
        }
        BLAS.setThreads(1)
        let (cout, kk) = (outChannels, patchSize)
        let wgt = weight.value.pointer
        Parallel.chunks(n, workers: workers) { worker, images in
            let col = self.columns[worker].pointer, dcol = self.gradColumns[worker].pointer
            let dW = self.workerWeightGrads[worker].pointer, db = self.workerBiasGrads[worker].pointer
            dW.update(repeating: 0, count: cout * kk)
            db.update(repeating: 0, count: cout)
            for i in images {
                let g = gradOutput.pointer + i * cout * pixels
                self.im2col(input.pointer + i * self.inChannels * h * w, h: h, w: w, into: col)
                // dW += dOut · colsᵀ ; db += row sums of dOut.
                BLAS.gemm(transB: true, m: cout, n: kk, k: pixels, a: g, b: col, beta: 1, c: dW)
                for c in 0..<cout { db[c] += sum(g + c * pixels, pixels) }
                if let gin {
                    // dcols = Wᵀ · dOut, folded back into the input's gradient.
                    BLAS.gemm(transA: true, m: kk, n: pixels, k: cout, a: wgt, b: g, c: dcol)
                    self.col2im(dcol, h: h, w: w, into: gin.pointer + i * self.inChannels * h * w)
                }
            }
        }
        let gW = weight.grad.pointer, gb = bias.grad.pointer
        for worker in 0..<workers {
            let dW = workerWeightGrads[worker].pointer, db = workerBiasGrads[worker].pointer
            for j in 0..<(cout * kk) { gW[j] += dW[j] }
            for c in 0..<cout { gb[c] += db[c] }
        }
        return gin
    }
}
