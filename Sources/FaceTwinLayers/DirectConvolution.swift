/// Direct 2-D convolution kernels (stride 1, no padding) for the small channel counts of the
/// reference CNN, vectorized along image rows.
///
/// For 1→4→8→8 channels, im2col + GEMM multiplies matrices only 4–8 rows tall and spends
/// most of its time writing and reading the 9×-larger column matrix. These kernels read each
/// input row straight from the image and keep 32 outputs of a row in registers while they
/// accumulate every (input channel, ky, kx) term into them with fused multiply-adds.
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
    /// for one image: `input` [cin, h, w], `output` [cout, h − k + 1, w − k + 1].
    static func forward(
        input: UnsafePointer<Float>, cin: Int, h: Int, w: Int,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, cout: Int, k: Int,
        output: UnsafeMutablePointer<Float>, epilogue: ConvolutionEpilogue = .none
    ) {
        let ho = h - k + 1, wo = w - k + 1
        var co = 0
        // Four output channels at a time, 16 outputs of a row each: every input vector loaded
        // feeds four FMAs, so the kernel is bound by the FMA units, not by loads.
        if wo >= 16 {
            while co + 4 <= cout {
                if k == 3 {
                    channels4(
                        input: input, cin: cin, h: h, w: w, weight: weight, bias: bias, co: co, k: 3, output: output,
                        epilogue: epilogue)
                } else {
                    channels4(
                        input: input, cin: cin, h: h, w: w, weight: weight, bias: bias, co: co, k: k, output: output,
                        epilogue: epilogue)
                }
                co += 4
            }
        }
        while co < cout {
            defer {
                if epilogue.relu || epilogue.scale != nil {
                    let plane = output + co * ho * wo
                    for i in 0..<(ho * wo) { plane[i] = epilogue.apply(plane[i], channel: co) }
                }
                co += 1
            }
            let wc = weight + co * cin * k * k
            let b = bias?[co] ?? 0
            for y in 0..<ho {
                let out = output + (co * ho + y) * wo
                var x0 = 0
                while x0 + 32 <= wo {
                    row32(
                        input + y * w + x0, cin: cin, planeStride: h * w, rowStride: w, weight: wc, k: k, bias: b, out: out + x0)
                    x0 += 32
                }
                while x0 + 8 <= wo {
                    row8(input + y * w + x0, cin: cin, planeStride: h * w, rowStride: w, weight: wc, k: k, bias: b, out: out + x0)
                    x0 += 8
                }
                if x0 < wo {
                    if wo >= 8 {
                        // An overlapping last vector: recomputes a few outputs, with the same values.
                        let xs = wo - 8
                        row8(
                            input + y * w + xs, cin: cin, planeStride: h * w, rowStride: w, weight: wc, k: k, bias: b,
                            out: out + xs)
                    } else {
                        for x in x0..<wo {
                            var s = b
                            for ci in 0..<cin {
                                for ky in 0..<k {
                                    for kx in 0..<k {
                                        s += wc[(ci * k + ky) * k + kx] * input[ci * h * w + (y + ky) * w + x + kx]
                                    }
                                }
                            }
                            out[x] = s
                        }
                    }
                }
            }
        }
    }

    /// Output channels co..<co+4 of one image, in blocks of 16 outputs of a row (the last block
    /// of a row overlaps the one before when the width is not a multiple of 16; it recomputes
    /// the same values). Each output sums its terms in the same order as `row8`.
    @inline(__always)
    private static func channels4(
        input: UnsafePointer<Float>, cin: Int, h: Int, w: Int, weight: UnsafePointer<Float>,
        bias: UnsafePointer<Float>?, co: Int, k: Int, output: UnsafeMutablePointer<Float>,
        epilogue: ConvolutionEpilogue
    ) {
        typealias V = SIMD8<Float>
        let ho = h - k + 1, wo = w - k + 1, taps = cin * k * k, plane = h * w, outPlane = ho * wo
        let w0 = weight + co * taps
        let b0 = bias?[co] ?? 0, b1 = bias?[co + 1] ?? 0, b2 = bias?[co + 2] ?? 0, b3 = bias?[co + 3] ?? 0
        for y in 0..<ho {
            var x0 = 0
            while x0 < wo {
                let xs = min(x0, wo - 16)
                var a00 = V(repeating: b0), a01 = a00, a10 = V(repeating: b1), a11 = a10
                var a20 = V(repeating: b2), a21 = a20, a30 = V(repeating: b3), a31 = a30
                var wp = w0
                let base = input + y * w + xs
                for ci in 0..<cin {
                    for ky in 0..<k {
                        let r = UnsafeRawPointer(base + ci * plane + ky * w)
                        for kx in 0..<k {
                            let o = kx &* 4
                            let v0 = r.loadUnaligned(fromByteOffset: o, as: V.self)
                            let v1 = r.loadUnaligned(fromByteOffset: o &+ 32, as: V.self)
                            var wv = V(repeating: wp[0])
                            a00.addProduct(wv, v0); a01.addProduct(wv, v1)
                            wv = V(repeating: wp[taps])
                            a10.addProduct(wv, v0); a11.addProduct(wv, v1)
                            wv = V(repeating: wp[2 &* taps])
                            a20.addProduct(wv, v0); a21.addProduct(wv, v1)
                            wv = V(repeating: wp[3 &* taps])
                            a30.addProduct(wv, v0); a31.addProduct(wv, v1)
                            wp += 1
                        }
                    }
                }
                if epilogue.relu || epilogue.scale != nil {
                    a00 = epilogue.apply(a00, channel: co); a01 = epilogue.apply(a01, channel: co)
                    a10 = epilogue.apply(a10, channel: co + 1); a11 = epilogue.apply(a11, channel: co + 1)
                    a20 = epilogue.apply(a20, channel: co + 2); a21 = epilogue.apply(a21, channel: co + 2)
                    a30 = epilogue.apply(a30, channel: co + 3); a31 = epilogue.apply(a31, channel: co + 3)
                }
                let d = UnsafeMutableRawPointer(output + co * outPlane + y * wo + xs)
                let ps = outPlane &* 4
                d.storeBytes(of: a00, as: V.self); d.storeBytes(of: a01, toByteOffset: 32, as: V.self)
                d.storeBytes(of: a10, toByteOffset: ps, as: V.self); d.storeBytes(of: a11, toByteOffset: ps &+ 32, as: V.self)
                d.storeBytes(of: a20, toByteOffset: 2 &* ps, as: V.self);
                d.storeBytes(of: a21, toByteOffset: 2 &* ps &+ 32, as: V.self)
                d.storeBytes(of: a30, toByteOffset: 3 &* ps, as: V.self);
                d.storeBytes(of: a31, toByteOffset: 3 &* ps &+ 32, as: V.self)
                x0 = xs + 16
            }
        }
    }

    /// 32 outputs of one row (then, below, 8), as four 8-lane accumulators: Swift lowers
    /// `addProduct` to a vector FMA for SIMD8 but lane by lane for SIMD32.
    @inline(__always)
    private static func row32(
        _ input: UnsafePointer<Float>, cin: Int, planeStride: Int, rowStride: Int,
        weight: UnsafePointer<Float>, k: Int, bias: Float, out: UnsafeMutablePointer<Float>
    ) {
        typealias V = SIMD8<Float>
        var a0 = V(repeating: bias), a1 = a0, a2 = a0, a3 = a0
        var wp = weight
        for ci in 0..<cin {
            let plane = input + ci * planeStride
            for ky in 0..<k {
                let r = UnsafeRawPointer(plane + ky * rowStride)
                for kx in 0..<k {
                    let wv = V(repeating: wp.pointee)
                    let o = kx &* 4
                    a0.addProduct(wv, r.loadUnaligned(fromByteOffset: o, as: V.self))
                    a1.addProduct(wv, r.loadUnaligned(fromByteOffset: o &+ 32, as: V.self))
                    a2.addProduct(wv, r.loadUnaligned(fromByteOffset: o &+ 64, as: V.self))
                    a3.addProduct(wv, r.loadUnaligned(fromByteOffset: o &+ 96, as: V.self))
                    wp += 1
                }
            }
        }
        let d = UnsafeMutableRawPointer(out)
        d.storeBytes(of: a0, as: V.self)
        d.storeBytes(of: a1, toByteOffset: 32, as: V.self)
        d.storeBytes(of: a2, toByteOffset: 64, as: V.self)
        d.storeBytes(of: a3, toByteOffset: 96, as: V.self)
    }

    @inline(__always)
    private static func row8(
        _ input: UnsafePointer<Float>, cin: Int, planeStride: Int, rowStride: Int,
        weight: UnsafePointer<Float>, k: Int, bias: Float, out: UnsafeMutablePointer<Float>
    ) {
        typealias V = SIMD8<Float>
        var acc = V(repeating: bias)
        var wp = weight
        for ci in 0..<cin {
            let plane = input + ci * planeStride
            for ky in 0..<k {
                let r = UnsafeRawPointer(plane + ky * rowStride)
                for kx in 0..<k {
                    acc.addProduct(V(repeating: wp.pointee), r.loadUnaligned(fromByteOffset: kx &* 4, as: V.self))
                    wp += 1
                }
            }
        }
        UnsafeMutableRawPointer(out).storeBytes(of: acc, as: V.self)
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

    /// dW for output channels 0..<4·blocks of one image, 3×3 kernels: for each (input channel,
    /// block of four output channels, kernel row) twelve vector accumulators (4 channels × 3
    /// kernel columns), so one input vector feeds four FMAs and one gradient vector three. The
    /// image is walked in bands of rows that stay in L1 while every (ci, block, ky) passes over
    /// them; the accumulators live in `partial` between bands. Each weight's sum is per image,
    /// per lane, then the eight lanes are added into `gradWeight`, as `weightGradient3x3` does.
    private static func weightGradient3x3Channels4(
        input: UnsafePointer<Float>, cin: Int, h: Int, w: Int,
        gradOutput: UnsafePointer<Float>, blocks: Int,
        gradWeight: UnsafeMutablePointer<Float>,
        partial: UnsafeMutablePointer<Float>
    ) {
        typealias V = SIMD8<Float>
        let ho = h - 2, wo = w - 2, outPlane = ho * wo, plane = h * w
        let units = cin * blocks * 3
        partial.update(repeating: 0, count: units * 12 * 8)
        let vecs = wo / 8, rem = wo - vecs * 8
        // The last, partial vector of a row is loaded ending at the row's end, its first
        // 8 − rem lanes (already counted) zeroed.
        let tailMask = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7) .< SIMD8<Int32>(repeating: Int32(8 - rem))
        let band = 4
        var y0 = 0
        while y0 < ho {
            let y1 = min(y0 + band, ho)
            for ci in 0..<cin {
                for blk in 0..<blocks {
                    for ky in 0..<3 {
                        let acc = UnsafeMutableRawPointer(partial + ((ci * blocks + blk) * 3 + ky) * 96)
                        var a00 = acc.load(fromByteOffset: 0, as: V.self), a01 = acc.load(fromByteOffset: 32, as: V.self)
                        var a02 = acc.load(fromByteOffset: 64, as: V.self), a10 = acc.load(fromByteOffset: 96, as: V.self)
                        var a11 = acc.load(fromByteOffset: 128, as: V.self), a12 = acc.load(fromByteOffset: 160, as: V.self)
                        var a20 = acc.load(fromByteOffset: 192, as: V.self), a21 = acc.load(fromByteOffset: 224, as: V.self)
                        var a22 = acc.load(fromByteOffset: 256, as: V.self), a30 = acc.load(fromByteOffset: 288, as: V.self)
                        var a31 = acc.load(fromByteOffset: 320, as: V.self), a32 = acc.load(fromByteOffset: 352, as: V.self)
                        for y in y0..<y1 {
                            let r = UnsafeRawPointer(input + ci * plane + (y + ky) * w)
                            let g = UnsafeRawPointer(gradOutput + blk * 4 * outPlane + y * wo)
                            let gs = outPlane &* 4
                            @inline(__always) func step(_ xb: Int, _ mask: Bool) {
                                var g0 = g.loadUnaligned(fromByteOffset: xb, as: V.self)
                                var g1 = g.loadUnaligned(fromByteOffset: xb &+ gs, as: V.self)
                                var g2 = g.loadUnaligned(fromByteOffset: xb &+ 2 &* gs, as: V.self)
                                var g3 = g.loadUnaligned(fromByteOffset: xb &+ 3 &* gs, as: V.self)
                                if mask {
                                    g0.replace(with: 0, where: tailMask); g1.replace(with: 0, where: tailMask)
                                    g2.replace(with: 0, where: tailMask); g3.replace(with: 0, where: tailMask)
                                }
                                let i0 = r.loadUnaligned(fromByteOffset: xb, as: V.self)
                                let i1 = r.loadUnaligned(fromByteOffset: xb &+ 4, as: V.self)
                                let i2 = r.loadUnaligned(fromByteOffset: xb &+ 8, as: V.self)
                                a00.addProduct(g0, i0); a01.addProduct(g0, i1); a02.addProduct(g0, i2)
                                a10.addProduct(g1, i0); a11.addProduct(g1, i1); a12.addProduct(g1, i2)
                                a20.addProduct(g2, i0); a21.addProduct(g2, i1); a22.addProduct(g2, i2)
                                a30.addProduct(g3, i0); a31.addProduct(g3, i1); a32.addProduct(g3, i2)
                            }
                            var xb = 0
                            for _ in 0..<vecs { step(xb, false); xb &+= 32 }
                            if rem > 0 { step((wo - 8) &* 4, true) }
                        }
                        acc.storeBytes(of: a00, toByteOffset: 0, as: V.self);
                        acc.storeBytes(of: a01, toByteOffset: 32, as: V.self)
                        acc.storeBytes(of: a02, toByteOffset: 64, as: V.self);
                        acc.storeBytes(of: a10, toByteOffset: 96, as: V.self)
                        acc.storeBytes(of: a11, toByteOffset: 128, as: V.self);
                        acc.storeBytes(of: a12, toByteOffset: 160, as: V.self)
                        acc.storeBytes(of: a20, toByteOffset: 192, as: V.self);
                        acc.storeBytes(of: a21, toByteOffset: 224, as: V.self)
                        acc.storeBytes(of: a22, toByteOffset: 256, as: V.self);
                        acc.storeBytes(of: a30, toByteOffset: 288, as: V.self)
                        acc.storeBytes(of: a31, toByteOffset: 320, as: V.self);
                        acc.storeBytes(of: a32, toByteOffset: 352, as: V.self)
                    }
                }
            }
            y0 = y1
        }
        for ci in 0..<cin {
            for blk in 0..<blocks {
                for ky in 0..<3 {
                    let acc = UnsafeRawPointer(partial + ((ci * blocks + blk) * 3 + ky) * 96)
                    for c in 0..<4 {
                        for kx in 0..<3 {
                            let v = acc.load(fromByteOffset: (c * 3 + kx) * 32, as: V.self)
                            gradWeight[((blk * 4 + c) * cin + ci) * 9 + ky * 3 + kx] += v.sum()
                        }
                    }
                }
            }
        }
    }

    /// The 3×3 case with nine vector accumulators held in registers.
    @inline(__always)
    private static func weightGradient3x3(
        plane: UnsafePointer<Float>, w: Int, g: UnsafePointer<Float>, ho: Int, wo: Int,
        into dw: UnsafeMutablePointer<Float>
    ) {
        typealias V = SIMD8<Float>
        var a0 = V(), a1 = V(), a2 = V(), a3 = V(), a4 = V(), a5 = V(), a6 = V(), a7 = V(), a8 = V()
        var t0: Float = 0, t1: Float = 0, t2: Float = 0, t3: Float = 0, t4: Float = 0
        var t5: Float = 0, t6: Float = 0, t7: Float = 0, t8: Float = 0
        for y in 0..<ho {
            let gr = g + y * wo
            let r0 = plane + y * w, r1 = r0 + w, r2 = r1 + w
            var x = 0
            while x + 8 <= wo {
                let gv = UnsafeRawPointer(gr + x).loadUnaligned(as: V.self)
                @inline(__always) func ld(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p + x).loadUnaligned(as: V.self) }
                a0.addProduct(gv, ld(r0)); a1.addProduct(gv, ld(r0 + 1)); a2.addProduct(gv, ld(r0 + 2))
                a3.addProduct(gv, ld(r1)); a4.addProduct(gv, ld(r1 + 1)); a5.addProduct(gv, ld(r1 + 2))
                a6.addProduct(gv, ld(r2)); a7.addProduct(gv, ld(r2 + 1)); a8.addProduct(gv, ld(r2 + 2))
                x += 8
            }
            while x < wo {
                let gv = gr[x]
                t0 += gv * r0[x]; t1 += gv * r0[x + 1]; t2 += gv * r0[x + 2]
                t3 += gv * r1[x]; t4 += gv * r1[x + 1]; t5 += gv * r1[x + 2]
                t6 += gv * r2[x]; t7 += gv * r2[x + 1]; t8 += gv * r2[x + 2]
                x += 1
            }
        }
        dw[0] += a0.sum() + t0; dw[1] += a1.sum() + t1; dw[2] += a2.sum() + t2
        dw[3] += a3.sum() + t3; dw[4] += a4.sum() + t4; dw[5] += a5.sum() + t5
        dw[6] += a6.sum() + t6; dw[7] += a7.sum() + t7; dw[8] += a8.sum() + t8
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
