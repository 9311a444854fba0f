/// Direct 2-D convolution kernels (stride 1, no padding) for the small channel counts of the
/// seed CNN, vectorized along image rows.
///
/// For 1→4→8→8 channels, im2col + GEMM multiplies matrices only 4–8 rows tall and spends
/// most of its time writing and reading the 9×-larger column matrix. These kernels read each
/// input row straight from the image and keep 32 outputs of a row in registers while they
/// accumulate every (input channel, ky, kx) term into them with fused multiply-adds.
enum DirectConvolution {
    /// out[co, y, x] = bias[co] + Σ_ci Σ_ky Σ_kx w[co, ci, ky, kx] · in[ci, y + ky, x + kx]
    /// for one image: `input` [cin, h, w], `output` [cout, h − k + 1, w − k + 1].
    static func forward(input: UnsafePointer<Float>, cin: Int, h: Int, w: Int,
                        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, cout: Int, k: Int,
                        output: UnsafeMutablePointer<Float>) {
        let ho = h - k + 1, wo = w - k + 1
        for co in 0..<cout {
            let wc = weight + co * cin * k * k
            let b = bias?[co] ?? 0
            for y in 0..<ho {
                let out = output + (co * ho + y) * wo
                var x0 = 0
                while x0 + 32 <= wo {
                    row32(input + y * w + x0, cin: cin, planeStride: h * w, rowStride: w, weight: wc, k: k, bias: b, out: out + x0)
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
                        row8(input + y * w + xs, cin: cin, planeStride: h * w, rowStride: w, weight: wc, k: k, bias: b, out: out + xs)
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

    /// 32 outputs of one row (then, below, 8), as four 8-lane accumulators: Swift lowers
    /// `addProduct` to a vector FMA for SIMD8 but lane by lane for SIMD32.
    @inline(__always)
    private static func row32(_ input: UnsafePointer<Float>, cin: Int, planeStride: Int, rowStride: Int,
                              weight: UnsafePointer<Float>, k: Int, bias: Float, out: UnsafeMutablePointer<Float>) {
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
    private static func row8(_ input: UnsafePointer<Float>, cin: Int, planeStride: Int, rowStride: Int,
                             weight: UnsafePointer<Float>, k: Int, bias: Float, out: UnsafeMutablePointer<Float>) {
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
    static func weightGradient(input: UnsafePointer<Float>, cin: Int, h: Int, w: Int,
                               gradOutput: UnsafePointer<Float>, cout: Int, k: Int,
                               gradWeight: UnsafeMutablePointer<Float>, gradBias: UnsafeMutablePointer<Float>) {
        let ho = h - k + 1, wo = w - k + 1
        for co in 0..<cout {
            let g = gradOutput + co * ho * wo
            gradBias[co] += sum(g, ho * wo)
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

    /// The 3×3 case with nine vector accumulators held in registers.
    @inline(__always)
    private static func weightGradient3x3(plane: UnsafePointer<Float>, w: Int, g: UnsafePointer<Float>, ho: Int, wo: Int,
                                          into dw: UnsafeMutablePointer<Float>) {
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
    /// k − 1 (`padded`, scratch of cout · (ho + 2k − 2) · (wo + 2k − 2) floats) with the
    /// flipped, transposed weights (`flipped` [cin, cout, k, k], see `flipWeights`).
    static func inputGradient(gradOutput: UnsafePointer<Float>, cout: Int, ho: Int, wo: Int,
                              flipped: UnsafePointer<Float>, cin: Int, k: Int,
                              padded: UnsafeMutablePointer<Float>, gradInput: UnsafeMutablePointer<Float>) {
        let p = k - 1, hp = ho + 2 * p, wp = wo + 2 * p
        padded.update(repeating: 0, count: cout * hp * wp)
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
                        out[((ci * cout + co) * k + (k - 1 - ky)) * k + (k - 1 - kx)] = weight[((co * cin + ci) * k + ky) * k + kx]
                    }
                }
            }
        }
    }
}
