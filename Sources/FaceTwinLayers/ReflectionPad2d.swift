/// Pads the two spatial dimensions of an NCHW tensor by reflecting at the border, without
/// repeating the edge (PyTorch's `ReflectionPad2d`): with padding 1, row -1 is row 1.
package final class ReflectionPad2d: Layer {
    package let padding: Int
    private var output: Tensor?
    private var gradInput: Tensor?
    private var inputShape: [Int] = []

    package init(_ padding: Int) { self.padding = padding }

    @inline(__always)
    static func reflect(_ i: Int, _ n: Int) -> Int {
        i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i)
    }

    package func forward(_ input: Tensor, mode: Mode) -> Tensor {
        let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        precondition(padding < h && padding < w, "reflection padding \(padding) needs an input larger than \(h)×\(w)")
        let p = padding, ho = h + 2 * p, wo = w + 2 * p
        let out = Tensor.reuse(output, shape: [n, c, ho, wo])
        output = out
        inputShape = input.shape
        let src = input.pointer, dst = out.pointer
        Parallel.chunks(n * c) { _, planes in
            for plane in planes {
                Self.pad(src + plane * h * w, planes: 1, h: h, w: w, padding: p, into: dst + plane * ho * wo)
            }
        }
        return out
    }

    /// Pads `planes` consecutive h × w planes into (h + 2p) × (w + 2p) ones.
    static func pad(
        _ src: UnsafePointer<Float>, planes: Int, h: Int, w: Int, padding p: Int, into dst: UnsafeMutablePointer<Float>
    ) {
        let ho = h + 2 * p, wo = w + 2 * p
        for plane in 0..<planes {
            let s = src + plane * h * w, d = dst + plane * ho * wo
            for y in 0..<ho {
                let row = s + reflect(y - p, h) * w
                let drow = d + y * wo
                (drow + p).update(from: row, count: w)
                for x in 0..<p {
                    drow[x] = row[reflect(x - p, w)]
                    drow[p + w + x] = row[reflect(w + x, w)]
                }
            }
        }
    }

    /// The padding's backward for `planes` consecutive planes: each padded-plane gradient
    /// (h + 2p) × (w + 2p) summed into the h × w entries it was copied from.
    static func unpad(
        gradient src: UnsafePointer<Float>, planes: Int, h: Int, w: Int, padding p: Int,
        into dst: UnsafeMutablePointer<Float>
    ) {
        let ho = h + 2 * p, wo = w + 2 * p
        for plane in 0..<planes {
            let d = dst + plane * h * w, s = src + plane * ho * wo
            // Each input row gets its own padded row's interior, then the reflected border
            // rows' interiors are added, in padded-row order as the scatter would; then the
            // border columns of every padded row are added into the columns they reflect.
            for y in 0..<h { (d + y * w).update(from: s + (y + p) * wo + p, count: w) }
            for y in 0..<ho where y < p || y >= p + h {
                let row = d + reflect(y - p, h) * w, srow = s + y * wo + p
                for x in 0..<w { row[x] += srow[x] }
            }
            for y in 0..<ho {
                let row = d + reflect(y - p, h) * w, srow = s + y * wo
                for x in 0..<p {
                    row[reflect(x - p, w)] += srow[x]
                    row[reflect(w + x, w)] += srow[p + w + x]
                }
            }
        }
    }

    package func backward(_ gradOutput: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient else { return nil }
        let (n, c, h, w) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        let p = padding, ho = h + 2 * p, wo = w + 2 * p
        let gin = Tensor.reuse(gradInput, shape: inputShape)
        gradInput = gin
        let src = gradOutput.pointer, dst = gin.pointer
        Parallel.chunks(n * c) { _, planes in
            for plane in planes {
                Self.unpad(gradient: src + plane * ho * wo, planes: 1, h: h, w: w, padding: p, into: dst + plane * h * w)
            }
        }
        return gin
    }
}
