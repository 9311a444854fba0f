import CKernels

/// Direct 2-D convolution (stride 1, no padding) for the small channel counts of the reference
/// CNN, vectorized along image rows; the loops are C kernels (Sources/CKernels/conv.c) built for
/// AVX2/FMA and for baseline x86-64, chosen at run time.
///
/// For 1→4→8→8 channels, im2col + GEMM multiplies matrices only 4–8 rows tall and spends
/// most of its time writing and reading the 9×-larger column matrix. These kernels read each
/// input row straight from the image and keep 32 outputs of a row in registers while they
/// accumulate every (input channel, ky, kx) term into them with multiply-adds.
/// What a convolution does to its outputs before storing them, in registers: the layers that
/// follow it in the reference (ReLU, and in evaluation BatchNorm's per-channel affine map) fused
/// into its store, so they cost no pass over memory.
struct ConvolutionEpilogue {
    var relu = false
    /// Per output channel y ← y · scale + shift, after the ReLU.
    var scale: UnsafePointer<Float>? = nil
    var shift: UnsafePointer<Float>? = nil

    static var none: ConvolutionEpilogue { ConvolutionEpilogue() }

    @inline(__always)
    func apply(_ v: SIMD8<Float>, channel: Int) -> SIMD8<Float> {
        var r = v
        if relu { r.replace(with: 0, where: r .< 0) }
        if let scale, let shift { r = r * SIMD8(repeating: scale[channel]) + SIMD8(repeating: shift[channel]) }
        return r
    }

    @inline(__always)
    func apply(_ v: Float, channel: Int) -> Float {
        var r = v
        if relu { r = max(r, 0) }
        if let scale, let shift { r = r * scale[channel] + shift[channel] }
        return r
    }
}

enum DirectConvolution {
    /// out[co, y, x] = bias[co] + Σ_ci Σ_ky Σ_kx w[co, ci, ky, kx] · in[ci, y + ky, x + kx]
    /// for one image: `input` [cin, h, w], `output` [cout, h − k + 1, w − k + 1]. The kernels
    /// are C (`facetwin_conv_forward`, Sources/CKernels/conv.c), in an AVX2/FMA and a portable
    /// build chosen at run time: four output channels × 16 outputs of a row at a time, so every
    /// input vector loaded feeds four multiply-adds, else 32 or 8 outputs of one channel.
    static func forward(
        input: UnsafePointer<Float>, cin: Int, h: Int, w: Int,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, cout: Int, k: Int,
        output: UnsafeMutablePointer<Float>, epilogue: ConvolutionEpilogue = .none
    ) {
        facetwin_conv_forward(
            input, Int32(cin), Int32(h), Int32(w), weight, bias, Int32(cout), Int32(k), output, epilogue.relu ? 1 : 0,
            epilogue.scale, epilogue.shift)
    }

    /// dW[co, ci, ky, kx] += Σ_y Σ_x g[co, y, x] · in[ci, y + ky, x + kx] for one image, and
    /// db[co] += Σ g[co]. `input` [cin, h, w], `gradOutput` [cout, h − k + 1, w − k + 1].
    /// `scratch` holds `weightGradientScratch(cin:cout:k:)` floats.
    static func weightGradient(
        input: UnsafePointer<Float>, cin: Int, h: Int, w: Int,
        gradOutput: UnsafePointer<Float>, cout: Int, k: Int,
        gradWeight: UnsafeMutablePointer<Float>, gradBias: UnsafeMutablePointer<Float>,
        scratch: UnsafeMutablePointer<Float>
    ) {
        let ho = h - k + 1, wo = w - k + 1
        var blocked = 0
        if k == 3 && wo >= 8 && cout >= 4 {
            blocked = cout / 4 * 4
            weightGradient3x3Channels4(
                input: input, cin: cin, h: h, w: w, gradOutput: gradOutput, blocks: cout / 4,
                gradWeight: gradWeight, partial: scratch)
        }
        for co in 0..<cout {
            let g = gradOutput + co * ho * wo
            gradBias[co] += sum(g, ho * wo)
            if co < blocked { continue }
            for ci in 0..<cin {
                let plane = input + ci * h * w
                let dw = gradWeight + (co * cin + ci) * k * k
                if k == 3 {
                    weightGradient3x3(plane: plane, w: w, g: g, ho: ho, wo: wo, into: dw)
                } else {
                    for ky in 0..<k {
                        for kx in 0..<k {
                            var s: Float = 0
                            for y in 0..<ho { s += Float(dotDouble(g + y * wo, plane + (y + ky) * w + kx, wo)) }
                            dw[ky * k + kx] += s
                        }
                    }
                }
            }
        }
    }

    /// Scratch floats `weightGradient` needs: the vector partial sums of the blocked kernel.
    static func weightGradientScratch(cin: Int, cout: Int, k: Int) -> Int { cin * (cout / 4) * 3 * 12 * 8 }

    /// dW for output channels 0..<4·blocks of one image, 3×3 kernels
    /// (`facetwin_conv_weight_gradient_3x3_blocks`, Sources/CKernels/conv.c): for each (input
    /// channel, block of four output channels, kernel row) twelve vector accumulators (4 channels
    /// × 3 kernel columns), the image walked in bands of rows that stay in L1.
    private static func weightGradient3x3Channels4(
        input: UnsafePointer<Float>, cin: Int, h: Int, w: Int,
        gradOutput: UnsafePointer<Float>, blocks: Int,
        gradWeight: UnsafeMutablePointer<Float>,
        partial: UnsafeMutablePointer<Float>
    ) {
        facetwin_conv_weight_gradient_3x3_blocks(
            input, Int32(cin), Int32(h), Int32(w), gradOutput, Int32(blocks), gradWeight, partial)
    }

    /// The 3×3 case of one channel pair, nine vector accumulators in registers
    /// (`facetwin_conv_weight_gradient_3x3`).
    @inline(__always)
    private static func weightGradient3x3(
        plane: UnsafePointer<Float>, w: Int, g: UnsafePointer<Float>, ho: Int, wo: Int,
        into dw: UnsafeMutablePointer<Float>
    ) {
        facetwin_conv_weight_gradient_3x3(plane, Int32(w), g, Int32(ho), Int32(wo), dw)
    }

    /// The input gradient of one image: gIn[ci, yy, xx] = Σ_co Σ_ky Σ_kx w[co, ci, ky, kx] ·
    /// g[co, yy − ky, xx − kx], as a valid convolution of the output gradient zero-padded by
    /// k − 1 (`padded`, scratch of cout · (ho + 2k − 2) · (wo + 2k − 2) floats whose border
    /// must be zero: only its interior is written) with the flipped, transposed weights
    /// (`flipped` [cin, cout, k, k], see `flipWeights`).
    static func inputGradient(
        gradOutput: UnsafePointer<Float>, cout: Int, ho: Int, wo: Int,
        flipped: UnsafePointer<Float>, cin: Int, k: Int,
        padded: UnsafeMutablePointer<Float>, gradInput: UnsafeMutablePointer<Float>
    ) {
        let p = k - 1, hp = ho + 2 * p, wp = wo + 2 * p
        // Only the interior is written here: the border of `padded` is zero from its allocation
        // and nothing else writes it (the caller keeps one buffer per output shape).
        for co in 0..<cout {
            for y in 0..<ho {
                (padded + (co * hp + y + p) * wp + p).update(from: gradOutput + (co * ho + y) * wo, count: wo)
            }
        }
        forward(input: padded, cin: cout, h: hp, w: wp, weight: flipped, bias: nil, cout: cin, k: k, output: gradInput)
    }

    /// w [cout, cin, k, k] → [cin, cout, k, k] with each kernel rotated by 180°.
    static func flipWeights(_ weight: UnsafePointer<Float>, cout: Int, cin: Int, k: Int, into out: UnsafeMutablePointer<Float>) {
        for co in 0..<cout {
            for ci in 0..<cin {
                for ky in 0..<k {
                    for kx in 0..<k {
                        out[((ci * cout + co) * k + (k - 1 - ky)) * k + (k - 1 - kx)] =
                            weight[((co * cin + ci) * k + ky) * k + kx]
                    }
                }
            }
        }
    }
}
