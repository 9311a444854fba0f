/// An 8-bit grayscale image, row-major, one byte per pixel.
///
/// This is the one in-memory image form of the data layer: every Netpbm
/// variant is reduced to it by ``ImageDecoder`` (so the rest of the code never
/// sees maxvals, channels or alpha), and `Resize` works on it exactly as
/// Pillow works on a mode "L" image, which keeps us byte-compatible with the
/// PyTorch reference pipeline.
public struct GrayImage: Equatable, Sendable {
    /// Number of columns.
    public let width: Int
    /// Number of rows.
    public let height: Int
    /// `width * height` samples, row `y` at `pixels[y*width ..< (y+1)*width]`;
    /// 0 is black, 255 is white.
    public let pixels: [UInt8]

    /// Wraps existing samples. `pixels.count` must be `width * height`.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0, "GrayImage needs a positive size, got \(width)x\(height)")
        precondition(
            pixels.count == width * height,
            "GrayImage \(width)x\(height) needs \(width * height) pixels, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The sample at column `x`, row `y`.
    public subscript(x: Int, y: Int) -> UInt8 {
        pixels[y * width + x]
    }

    /// The network's view of this image: `width*height` floats `pixel/255`
    /// in [0, 1], or `1 - pixel/255` when `invert` is set.
    ///
    /// Inversion is `1 - x` on the float, as in a PyTorch pipeline that inverts
    /// the tensor. (`PIL.ImageOps.invert` before `ToTensor` gives
    /// `(255 - pixel)/255`, which differs in the last bit for some pixels.)
    public func normalized(invert: Bool = false) -> [Float] {
        [Float](unsafeUninitializedCapacity: pixels.count) { buffer, initialized in
            writeNormalized(into: buffer, invert: invert)
            initialized = pixels.count
        }
    }

    /// Writes ``normalized(invert:)`` into `buffer` (which must hold at least
    /// `width*height` elements), so a dataset can fill one big contiguous
    /// array without temporary copies.
    public func writeNormalized(into buffer: UnsafeMutableBufferPointer<Float>, invert: Bool = false) {
        precondition(buffer.count >= pixels.count, "buffer too small for \(width)x\(height) image")
        pixels.withUnsafeBufferPointer { src in
            if invert {
                for i in 0..<src.count { buffer[i] = 1 - Float(src[i]) / 255 }
            } else {
                for i in 0..<src.count { buffer[i] = Float(src[i]) / 255 }
            }
        }
    }
}

extension GrayImage {
    /// The image without `fraction` of its width cut off each side and `fraction` of its height
    /// off the top and bottom (rounded to whole pixels, at least one pixel kept): Pillow's
    /// `crop((l, t, w - l, h - t))` with `l = round(w·fraction)`, `t = round(h·fraction)`.
    public func inset(_ fraction: Double) -> GrayImage {
        guard let (l, t) = Self.insetMargins(width: width, height: height, fraction: fraction) else { return self }
        let w = width - 2 * l, h = height - 2 * t
        var out = [UInt8](repeating: 0, count: w * h)
        for y in 0..<h {
            let src = (y + t) * width + l
            out.replaceSubrange(y * w..<(y + 1) * w, with: pixels[src..<src + w])
        }
        return GrayImage(width: w, height: h, pixels: out)
    }

    /// The columns and rows ``inset(_:)`` cuts off each side of a `width × height` image (nil
    /// when it cuts nothing); shared with ``RGBImage/inset(_:)``.
    static func insetMargins(width: Int, height: Int, fraction: Double) -> (left: Int, top: Int)? {
        guard fraction > 0 else { return nil }
        let l = min(Int((Double(width) * fraction).rounded()), (width - 1) / 2)
        let t = min(Int((Double(height) * fraction).rounded()), (height - 1) / 2)
        return l > 0 || t > 0 ? (l, t) : nil
    }
}
