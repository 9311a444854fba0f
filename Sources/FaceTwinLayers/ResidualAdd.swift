/// A ResNet's residual sum, as dlib's `add_prev` computes it: the output has, in each of
/// channels, rows and columns, the larger of the two inputs' sizes, and each input is added where
/// it has elements, the elements it lacks counting as zero (a shortcut of fewer channels is
/// zero-padded in channels; a 3×3 block output added to a 4×4 pooled shortcut fills the top-left
/// 3×3). Both inputs must hold the same number of images.
///
/// It takes two inputs, so it is not a ``Layer``: `forward(_:_:)` and `backward(_:)` give the
/// gradient of each input.
package final class ResidualAdd {
    private var output: Tensor?
    private var shapes: (a: [Int], b: [Int]) = ([], [])
    private var gradA: Tensor?
    private var gradB: Tensor?

    package init() {}

    /// The output shape for inputs of shapes `a` and `b` ([N, C, H, W] each).
    package static func outputShape(_ a: [Int], _ b: [Int]) -> [Int] {
        [a[0], max(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
    }

    package func forward(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(
            a.shape.count == 4 && b.shape.count == 4 && a.shape[0] == b.shape[0],
            "ResidualAdd takes two [N, C, H, W] tensors of the same N, got \(a.shape) and \(b.shape)")
        let shape = Self.outputShape(a.shape, b.shape)
        let out = Tensor.reuse(output, shape: shape)
        output = out
        shapes = (a.shape, b.shape)
        if a.shape == b.shape {
            let (x, y, z, count) = (a.pointer, b.pointer, out.pointer, out.count)
            for i in 0..<count { z[i] = x[i] + y[i] }
            return out
        }
        out.fill(0)
        Self.accumulate(a, into: out)
        Self.accumulate(b, into: out)
        return out
    }

    /// out[n, c, y, x] += t[n, c, y, x] over t's extent.
    private static func accumulate(_ t: Tensor, into out: Tensor) {
        let (n, c, h, w) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3])
        let (oc, oh, ow) = (out.shape[1], out.shape[2], out.shape[3])
        let src = t.pointer, dst = out.pointer
        for i in 0..<n {
            for ch in 0..<c {
                for y in 0..<h {
                    let s = src + ((i * c + ch) * h + y) * w, d = dst + ((i * oc + ch) * oh + y) * ow
                    for x in 0..<w { d[x] += s[x] }
                }
            }
        }
    }

    /// The gradients with respect to the last forward's two inputs: each the output gradient
    /// over that input's extent.
    package func backward(_ gradOutput: Tensor) -> (Tensor, Tensor) {
        let ga = Tensor.reuse(gradA, shape: shapes.a), gb = Tensor.reuse(gradB, shape: shapes.b)
        gradA = ga
        gradB = gb
        Self.extract(gradOutput, into: ga)
        Self.extract(gradOutput, into: gb)
        return (ga, gb)
    }

    /// t[n, c, y, x] = g[n, c, y, x] over t's extent.
    private static func extract(_ g: Tensor, into t: Tensor) {
        if g.shape == t.shape {
            t.copy(from: g)
            return
        }
        let (n, c, h, w) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3])
        let (gc, gh, gw) = (g.shape[1], g.shape[2], g.shape[3])
        let src = g.pointer, dst = t.pointer
        for i in 0..<n {
            for ch in 0..<c {
                for y in 0..<h {
                    (dst + ((i * c + ch) * h + y) * w).update(from: src + ((i * gc + ch) * gh + y) * gw, count: w)
                }
            }
        }
    }
}
