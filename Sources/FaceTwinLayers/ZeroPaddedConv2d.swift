/// 2-D convolution with zero padding and a stride, as dlib's `con` layer computes it: weights
/// [out, in, k, k] (dlib's filter layout, PyTorch's too), a bias per output channel, output side
/// 1 + (side + 2·padding − k) / stride (rounded down).
///
/// Computed as im2col + OpenBLAS GEMMs over groups of images: the column matrix of a group
/// [in·k·k, images·positions] is multiplied by the weights at once, so the deep layers of a
/// ResNet, whose maps are 4×4 or 2×2, still give the GEMM a wide matrix. With fewer images than
/// cores (one chip) the GEMM is split between the cores by output channels or by columns; with
/// more, each core takes its own images. Weight-gradient partial sums are per worker and added
/// at the end, so the result does not depend on thread timing.
package final class ZeroPaddedConv2d: Layer {
    package let inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int
    package let weight: Parameter
    package let bias: Parameter

    /// Cache for backward: the forward's input.
    private var input: Tensor?
    private var output: Tensor?
    private var gradInput: Tensor?
    /// Per worker: a group's column matrix, its gradient, the GEMM's [out, group·positions]
    /// result (or output gradient), and the weight and bias gradient partial sums.
    private var columns: [Tensor] = []
    private var gradColumns: [Tensor] = []
    private var products: [Tensor] = []
    private var weightGrads: [Tensor] = []
    private var biasGrads: [Tensor] = []

    /// Floats a group's column matrix may hold: the images of a group are as many as fit, at
    /// least one. 512 KB, within a core's L2 cache: against 4 MB, the whole network took 7.2
    /// instead of 7.7 CPU ms a chip at batch 32 (facetwin-bench --resnet).
    static let columnBudget = 1 << 17

    package init(
        _ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
        rng: inout some RandomNumberGenerator, initialize: Bool = true
    ) {
        precondition(inChannels > 0 && outChannels > 0 && kernel > 0 && stride > 0 && padding >= 0)
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        weight = Parameter(shape: [outChannels, inChannels, kernel, kernel])
        bias = Parameter(shape: [outChannels])
        let bound = 1 / Float(inChannels * kernel * kernel).squareRoot()
        if initialize {
            initializeUniform(weight.value, bound: bound, rng: &rng)
            initializeUniform(bias.value, bound: bound, rng: &rng)
        }
    }

    package var parameters: [(name: String, parameter: Parameter)] { [("weight", weight), ("bias", bias)] }

    /// The output side for an input side: 1 + (side + 2·padding − kernel) / stride.
    package func outputSide(_ side: Int) -> Int { 1 + (side + 2 * padding - kernel) / stride }

    private var depth: Int { inChannels * kernel * kernel }

    /// Images per group for maps of `positions` output positions, within `columnBudget`.
    private func groupSize(positions: Int, images: Int) -> Int {
        max(1, min(images, Self.columnBudget / max(1, depth * positions)))
    }

    private static func perWorker(_ buffers: inout [Tensor], count: Int) {
        if buffers.count != Parallel.workers || buffers.first?.count != count {
            buffers = (0..<Parallel.workers).map { _ in Tensor(shape: [count]) }
        }
    }

    /// Per output channel y ← y · scale + shift, then max(y, 0) with `relu`: a following
    /// ``ChannelAffine`` (and ReLU) applied as the outputs are stored, in the order dlib computes
    /// them, so evaluation needs no pass over memory for them and no buffer of its own.
    package struct Epilogue {
        package var scale: UnsafePointer<Float>
        package var shift: UnsafePointer<Float>
        package var relu: Bool

        package init(_ affine: ChannelAffine, relu: Bool) {
            scale = UnsafePointer(affine.weight.value.pointer)
            shift = UnsafePointer(affine.bias.value.pointer)
            self.relu = relu
        }
    }

    package func forward(_ input: Tensor, mode: Mode) -> Tensor { forward(input, epilogue: nil) }

    /// The forward with `epilogue` applied to each output (the backward is the plain
    /// convolution's: use it in evaluation).
    package func forward(_ input: Tensor, epilogue: Epilogue?) -> Tensor {
        precondition(
            input.shape.count == 4 && input.shape[1] == inChannels,
            "ZeroPaddedConv2d expects [N, \(inChannels), H, W], got \(input.shape)")
        let (n, h, w) = (input.shape[0], input.shape[2], input.shape[3])
        precondition(
            h + 2 * padding >= kernel && w + 2 * padding >= kernel, "ZeroPaddedConv2d: input \(h)×\(w) is smaller than the kernel"
        )
        let (ho, wo) = (outputSide(h), outputSide(w))
        let out = Tensor.reuse(output, shape: [n, outChannels, ho, wo])
        output = out
        self.input = input
        let hw = ho * wo, group = groupSize(positions: hw, images: n)
        Self.perWorker(&columns, count: depth * group * hw)
        Self.perWorker(&products, count: outChannels * group * hw)
        let geometry = Geometry(cin: inChannels, h: h, w: w, k: kernel, stride: stride, padding: padding, ho: ho, wo: wo)
        let (cout, k, wgt, b) = (outChannels, depth, weight.value.pointer, bias.value.pointer)
        let groups = (n + group - 1) / group
        let (columns, products) = (self.columns, self.products)
        let x = input.pointer, y = out.pointer
        /// One group's product: out[img, co, p] = bias[co] + Σ W[co, :] · col[:, img·hw + p].
        /// `positions`: the output positions the product holds, each image's side by side.
        func scatter(
            _ product: UnsafePointer<Float>, first: Int, count: Int, channels: Range<Int>, positions: Range<Int>? = nil
        ) {
            let at = positions ?? 0..<hw
            let width = count * at.count
            for co in channels {
                for i in 0..<count {
                    let dst = y + ((first + i) * cout + co) * hw + at.lowerBound, src = product + co * width + i * at.count
                    let bc = b[co]
                    guard let epilogue else {
                        for p in 0..<at.count { dst[p] = src[p] + bc }
                        continue
                    }
                    let (a, t) = (epilogue.scale[co], epilogue.shift[co])
                    if epilogue.relu {
                        for p in 0..<at.count { dst[p] = max(a * (src[p] + bc) + t, 0) }
                    } else {
                        for p in 0..<at.count { dst[p] = a * (src[p] + bc) + t }
                    }
                }
            }
        }
        BLAS.setThreads(1)
        if groups >= Parallel.workers && Parallel.workers > 1 {
            // Each core its own groups of images.
            Parallel.chunks(groups) { worker, range in
                let col = columns[worker].pointer, product = products[worker].pointer
                for g in range {
                    let first = g * group, count = min(group, n - first)
                    for i in 0..<count {
                        geometry.im2col(x + (first + i) * geometry.imageSize, into: col + i * hw, ld: count * hw)
                    }
                    BLAS.gemm(m: cout, n: count * hw, k: k, a: wgt, b: col, c: product)
                    scatter(product, first: first, count: count, channels: 0..<cout)
                }
            }
            return out
        }
        // Fewer groups than cores (a single chip): each core its share of the outputs, from
        // im2col to the stored values with no barrier between: rows of the maps when each core
        // gets at least 128 positions, else output channels (each core then forms the whole,
        // small, column matrix, and reads only its share of the weights: the deep layers' GEMMs
        // of a few columns are bound by reading their weights).
        for g in 0..<groups {
            let first = g * group, count = min(group, n - first)
            if ho >= 2 * Parallel.workers && hw >= 128 * Parallel.workers {
                Parallel.chunks(ho) { worker, rows in
                    let col = columns[worker].pointer, product = products[worker].pointer
                    let span = rows.count * wo, width = count * span
                    for i in 0..<count {
                        geometry.im2col(x + (first + i) * geometry.imageSize, into: col + i * span, ld: width, rows: rows)
                    }
                    BLAS.gemm(m: cout, n: width, k: k, a: wgt, b: col, c: product)
                    scatter(
                        product, first: first, count: count, channels: 0..<cout,
                        positions: (rows.lowerBound * wo)..<(rows.upperBound * wo))
                }
            } else {
                Parallel.chunks(cout) { worker, channels in
                    let col = columns[worker].pointer, product = products[worker].pointer
                    let width = count * hw
                    for i in 0..<count { geometry.im2col(x + (first + i) * geometry.imageSize, into: col + i * hw, ld: width) }
                    BLAS.gemm(
                        m: channels.count, n: width, k: k, a: wgt + channels.lowerBound * k, b: col,
                        c: product + channels.lowerBound * width)
                    scatter(product, first: first, count: count, channels: channels)
                }
            }
        }
        return out
    }

    package func backward(_ gradOutput: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard let input else { preconditionFailure("ZeroPaddedConv2d.backward before forward") }
        let (n, h, w) = (input.shape[0], input.shape[2], input.shape[3])
        let (ho, wo) = (outputSide(h), outputSide(w))
        let hw = ho * wo, group = groupSize(positions: hw, images: n)
        let geometry = Geometry(cin: inChannels, h: h, w: w, k: kernel, stride: stride, padding: padding, ho: ho, wo: wo)
        let (cout, k) = (outChannels, depth)
        Self.perWorker(&columns, count: k * group * hw)
        Self.perWorker(&products, count: cout * group * hw)
        if needsInputGradient { Self.perWorker(&gradColumns, count: k * group * hw) }
        Self.perWorker(&weightGrads, count: cout * k)
        Self.perWorker(&biasGrads, count: cout)
        var gin: Tensor? = nil
        if needsInputGradient {
            gin = Tensor.reuse(gradInput, shape: input.shape)
            gradInput = gin
        }
        let groups = (n + group - 1) / group
        let workers = min(Parallel.workers, groups)
        let (columns, products, gradColumns, weightGrads, biasGrads) =
            (self.columns, self.products, self.gradColumns, self.weightGrads, self.biasGrads)
        let (x, g, wgt) = (input.pointer, gradOutput.pointer, weight.value.pointer)
        Parallel.chunks(groups, workers: workers) { worker, range in
            let col = columns[worker].pointer, gOut = products[worker].pointer
            let dW = weightGrads[worker].pointer, db = biasGrads[worker].pointer
            dW.update(repeating: 0, count: cout * k)
            db.update(repeating: 0, count: cout)
            for grp in range {
                let first = grp * group, count = min(group, n - first), width = count * hw
                // The group's output gradient as [out, images·positions], like its product.
                for co in 0..<cout {
                    for i in 0..<count {
                        (gOut + co * width + i * hw).update(from: g + ((first + i) * cout + co) * hw, count: hw)
                    }
                    db[co] += sum(gOut + co * width, width)
                }
                for i in 0..<count { geometry.im2col(x + (first + i) * geometry.imageSize, into: col + i * hw, ld: width) }
                // dW += gOut · colᵀ
                BLAS.gemm(transB: true, m: cout, n: k, k: width, a: gOut, b: col, beta: 1, c: dW)
                if let gin {
                    // dcol = Wᵀ · gOut, summed back onto the input positions.
                    let dcol = gradColumns[worker].pointer
                    BLAS.gemm(transA: true, m: k, n: width, k: cout, a: wgt, b: gOut, c: dcol)
                    for i in 0..<count {
                        geometry.col2im(dcol + i * hw, ld: width, into: gin.pointer + (first + i) * geometry.imageSize)
                    }
                }
            }
        }
        let gW = weight.gradPointerForAccumulation(), gb = bias.gradPointerForAccumulation()
        for worker in 0..<workers {
            let dW = weightGrads[worker].pointer, db = biasGrads[worker].pointer
            for j in 0..<(cout * k) { gW[j] += dW[j] }
            for c in 0..<cout { gb[c] += db[c] }
        }
        return gin
    }
}

extension ZeroPaddedConv2d {
    /// Where a convolution's column matrix entries come from: row (ci·k + ky)·k + kx, column
    /// oy·wo + ox holds x[ci, oy·stride + ky − padding, ox·stride + kx − padding], or 0 outside
    /// the image.
    struct Geometry {
        let cin: Int, h: Int, w: Int, k: Int, stride: Int, padding: Int, ho: Int, wo: Int

        var imageSize: Int { cin * h * w }

        /// The output columns ox whose input column ox·stride + kx − padding lies in 0..<w.
        @inline(__always)
        func validColumns(_ kx: Int) -> Range<Int> {
            let shift = kx - padding
            let lo = shift >= 0 ? 0 : (-shift + stride - 1) / stride
            let hi = w - 1 - shift < 0 ? 0 : min(wo, (w - 1 - shift) / stride + 1)
            return lo..<max(lo, hi)
        }

        /// The column matrix of one image `x` [cin, h, w] into `col`, whose rows are `ld` apart
        /// (a group's images side by side), for the input channels `channels` and the output
        /// rows `rows` (their positions only, from the first of them).
        func im2col(
            _ x: UnsafePointer<Float>, into col: UnsafeMutablePointer<Float>, ld: Int, channels: Range<Int>? = nil,
            rows: Range<Int>? = nil
        ) {
            let rows = rows ?? 0..<ho
            if stride > 1 && padding == 0 {
                im2colPhases(x, into: col, ld: ld, channels: channels ?? 0..<cin, rows: rows)
                return
            }
            for ci in channels ?? 0..<cin {
                let plane = x + ci * h * w
                for ky in 0..<k {
                    for kx in 0..<k {
                        let row = col + ((ci * k + ky) * k + kx) * ld
                        let valid = validColumns(kx)
                        for oy in rows {
                            let dst = row + (oy - rows.lowerBound) * wo
                            let iy = oy * stride + ky - padding
                            guard iy >= 0 && iy < h, !valid.isEmpty else {
                                dst.update(repeating: 0, count: wo)
                                continue
                            }
                            if valid.lowerBound > 0 { dst.update(repeating: 0, count: valid.lowerBound) }
                            if valid.upperBound < wo {
                                (dst + valid.upperBound).update(repeating: 0, count: wo - valid.upperBound)
                            }
                            let src = plane + iy * w + kx - padding
                            if stride == 1 {
                                (dst + valid.lowerBound).update(from: src + valid.lowerBound, count: valid.count)
                            } else {
                                for ox in valid { dst[ox] = src[ox * stride] }
                            }
                        }
                    }
                }
            }
        }

        /// `im2col` for a stride s > 1 without padding: each input plane is first split into its
        /// s² phases (the pixels at rows ≡ py, columns ≡ px mod s), so that every kernel tap reads
        /// one phase at an offset and its rows are contiguous copies instead of strided gathers
        /// (x[oy·s + ky, ox·s + kx] is phase (ky mod s, kx mod s) at (oy + ky/s, ox + kx/s)).
        private func im2colPhases(
            _ x: UnsafePointer<Float>, into col: UnsafeMutablePointer<Float>, ld: Int, channels: Range<Int>, rows: Range<Int>
        ) {
            let s = stride, hp = (h + s - 1) / s, wp = (w + s - 1) / s
            withUnsafeTemporaryAllocation(of: Float.self, capacity: s * s * hp * wp) { buffer in
                let phases = buffer.baseAddress!
                for ci in channels {
                    let plane = x + ci * h * w
                    for py in 0..<s {
                        for px in 0..<s {
                            let phase = phases + (py * s + px) * hp * wp
                            var i = 0, y = py
                            while y < h {
                                let src = plane + y * w, dst = phase + i * wp
                                var j = 0, xx = px
                                while xx < w {
                                    dst[j] = src[xx]
                                    j += 1
                                    xx += s
                                }
                                i += 1
                                y += s
                            }
                        }
                    }
                    for ky in 0..<k {
                        for kx in 0..<k {
                            let row = col + ((ci * k + ky) * k + kx) * ld
                            let phase = phases + ((ky % s) * s + kx % s) * hp * wp + (ky / s) * wp + kx / s
                            for oy in rows { (row + (oy - rows.lowerBound) * wo).update(from: phase + oy * wp, count: wo) }
                        }
                    }
                }
            }
        }

        /// The adjoint of `im2col`: `grad` [cin, h, w] = the column gradient (rows `ld` apart)
        /// summed back onto the input positions each entry was copied from.
        func col2im(_ col: UnsafePointer<Float>, ld: Int, into grad: UnsafeMutablePointer<Float>) {
            grad.update(repeating: 0, count: cin * h * w)
            for ci in 0..<cin {
                let plane = grad + ci * h * w
                for ky in 0..<k {
                    for kx in 0..<k {
                        let row = col + ((ci * k + ky) * k + kx) * ld
                        let valid = validColumns(kx)
                        for oy in 0..<ho {
                            let iy = oy * stride + ky - padding
                            guard iy >= 0 && iy < h else { continue }
                            let src = row + oy * wo, dst = plane + iy * w + kx - padding
                            for ox in valid { dst[ox * stride] += src[ox] }
                        }
                    }
                }
            }
        }
    }
}
