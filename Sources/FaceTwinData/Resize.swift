/// Bilinear resizing that reproduces Pillow byte for byte.
///
/// The PyTorch reference loads faces with `Image.open(p).convert("L")` and
/// `resize((100, 100), Image.BILINEAR)`. Pillow's "bilinear" is not the
/// textbook 2×2 interpolation: when shrinking it widens the triangle filter by
/// the scale factor (antialiasing), normalizes the weights per output pixel,
/// and rounds through 22-bit fixed point, in two separable 1-D passes. Any other
/// bilinear gives slightly different pixels, hence different embeddings and a
/// model that does not transfer between the two pipelines, so this is a
/// line-by-line port of `ImagingResample` for 8-bit images
/// (`src/libImaging/Resample.c`): `precompute_coeffs`,
/// `normalize_coeffs_8bpc`, `ImagingResample{Horizontal,Vertical}_8bpc` and
/// `ImagingResampleInner`, with the whole image as the source box.
///
/// The order of the two passes changes the rounding of the intermediate image,
/// and Pillow 13 changed it (python-pillow/Pillow#9549): when the height shrinks
/// by more than twice as many pixels as the width does, the vertical pass runs
/// first. ORL's 92×112 → 100×100 is such a case (about a quarter of the pixels
/// differ by 1 between the two orders), so the order is selectable with
/// ``PillowVersion``; the default matches Pillow 13, the version the reference
/// environment uses.
package enum Resize {
    /// Which Pillow release's pass order to reproduce.
    package enum PillowVersion: Sendable {
        /// Pillow 13.0 and later: vertical pass first when
        /// `inHeight - outHeight > 0` and `> 2 * (inWidth - outWidth)`.
        case pillow13
        /// Pillow 3.4 – 12.x: always horizontal pass first.
        case beforePillow13
    }

    /// Pillow's `PRECISION_BITS`: 8 bits for the result, 2 for headroom in an Int32.
    static let precisionBits = 32 - 8 - 2

    /// `image` resized to `width × height` exactly as Pillow's
    /// `Image.resize((width, height), Image.BILINEAR)` does for mode "L".
    /// A dimension that does not change is not resampled (Pillow skips that
    /// pass), so same-size resizing returns the image unchanged.
    package static func bilinear(
        _ image: GrayImage, width: Int, height: Int,
        matching pillow: PillowVersion = .pillow13
    ) -> GrayImage {
        precondition(width > 0 && height > 0, "resize target must be positive, got \(width)x\(height)")
        let needHorizontal = width != image.width
        let needVertical = height != image.height
        if !needHorizontal && !needVertical { return image }

        let shrinkY = image.height - height
        let shrinkX = image.width - width
        let horizontalFirst = pillow == .beforePillow13 || !(shrinkY > 0 && shrinkY > shrinkX * 2)

        var vertical = Coefficients(inSize: image.height, outSize: height)
        if horizontalFirst {
            var pixels = image.pixels
            var currentWidth = image.width
            if needHorizontal {
                // Only the source rows the vertical pass will read.
                let firstRow = vertical.bounds[0]
                let lastRow = vertical.bounds[2 * (height - 1)] + vertical.bounds[2 * (height - 1) + 1]
                for i in 0..<height { vertical.bounds[2 * i] -= firstRow }
                pixels = horizontalPass(
                    pixels, width: currentWidth, rows: firstRow..<lastRow, outWidth: width,
                    coefficients: Coefficients(inSize: image.width, outSize: width))
                currentWidth = width
            }
            if needVertical {
                pixels = verticalPass(pixels, width: currentWidth, outHeight: height, coefficients: vertical)
            }
            return GrayImage(width: width, height: height, pixels: pixels)
        } else {
            // Here the height shrinks, so the vertical pass is always needed.
            var pixels = verticalPass(image.pixels, width: image.width, outHeight: height, coefficients: vertical)
            if needHorizontal {
                pixels = horizontalPass(
                    pixels, width: image.width, rows: 0..<height, outWidth: width,
                    coefficients: Coefficients(inSize: image.width, outSize: width))
            }
            return GrayImage(width: width, height: height, pixels: pixels)
        }
    }

    /// The network input for `image`: resized with ``bilinear(_:width:height:)``
    /// then mapped to `height*width` floats `pixel/255` (or `1 - pixel/255`).
    package static func networkInput(
        _ image: GrayImage, width: Int, height: Int, invert: Bool = false,
        matching pillow: PillowVersion = .pillow13
    ) -> [Float] {
        bilinear(image, width: width, height: height, matching: pillow).normalized(invert: invert)
    }

    /// Pillow's bilinear (triangle) filter; support 1.
    @inline(__always)
    static func triangle(_ x: Double) -> Double {
        let x = x < 0 ? -x : x
        return x < 1 ? 1 - x : 0
    }

    /// Pillow's `clip8`: drop the fixed-point fraction, clamp to a byte.
    @inline(__always)
    static func clip8(_ value: Int) -> UInt8 {
        let v = value >> precisionBits
        return v < 0 ? 0 : v > 255 ? 255 : UInt8(v)
    }

    /// One output pixel per entry: the first input index (`bounds[2i]`), how
    /// many inputs contribute (`bounds[2i+1]`), and their fixed-point weights
    /// `weights[i*kernelSize ..< i*kernelSize + count]`.
    struct Coefficients {
        var bounds: [Int]
        var weights: [Int32]
        let kernelSize: Int

        /// `precompute_coeffs` followed by `normalize_coeffs_8bpc`, for the
        /// source box `0 ..< inSize` (Pillow's `box` floats are 0 and inSize).
        init(inSize: Int, outSize: Int) {
            let in0: Float = 0
            let in1 = Float(inSize)
            let scale = Double(in1 - in0) / Double(outSize)
            let filterscale = scale < 1 ? 1 : scale
            let support = 1.0 * filterscale
            let ksize = Int(support.rounded(.up)) * 2 + 1

            var bounds = [Int](repeating: 0, count: 2 * outSize)
            var kk = [Double](repeating: 0, count: outSize * ksize)
            for xx in 0..<outSize {
                let center = Double(in0) + (Double(xx) + 0.5) * scale
                var ww = 0.0
                let ss = 1.0 / filterscale
                var xmin = Int(center - support + 0.5)  // C's (int): truncation
                if xmin < 0 { xmin = 0 }
                var xmax = Int(center + support + 0.5)
                if xmax > inSize { xmax = inSize }
                xmax = max(xmax - xmin, 0)  // C leaves it negative, and its loops then do nothing
                let base = xx * ksize
                for x in 0..<xmax {
                    let w = triangle((Double(x + xmin) - center + 0.5) * ss)
                    kk[base + x] = w
                    ww += w
                }
                for x in 0..<xmax where ww != 0 {
                    kk[base + x] /= ww
                }
                bounds[2 * xx] = xmin
                bounds[2 * xx + 1] = xmax
            }

            let one = Double(1 << Resize.precisionBits)
            self.weights = kk.map { $0 < 0 ? Int32(-0.5 + $0 * one) : Int32(0.5 + $0 * one) }
            self.bounds = bounds
            self.kernelSize = ksize
        }
    }

    /// `ImagingResampleHorizontal_8bpc` over source rows `rows`.
    static func horizontalPass(
        _ src: [UInt8], width: Int, rows: Range<Int>, outWidth: Int,
        coefficients c: Coefficients
    ) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: outWidth * rows.count)
        src.withUnsafeBufferPointer { src in
            c.weights.withUnsafeBufferPointer { k in
                out.withUnsafeMutableBufferPointer { out in
                    for yy in 0..<rows.count {
                        let row = (yy + rows.lowerBound) * width
                        for xx in 0..<outWidth {
                            let xmin = c.bounds[2 * xx]
                            let xmax = c.bounds[2 * xx + 1]
                            let kbase = xx * c.kernelSize
                            var ss = 1 << (precisionBits - 1)
                            for x in 0..<xmax {
                                ss += Int(src[row + x + xmin]) * Int(k[kbase + x])
                            }
                            out[yy * outWidth + xx] = clip8(ss)
                        }
                    }
                }
            }
        }
        return out
    }

    /// `ImagingResampleVertical_8bpc`.
    static func verticalPass(
        _ src: [UInt8], width: Int, outHeight: Int,
        coefficients c: Coefficients
    ) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: width * outHeight)
        src.withUnsafeBufferPointer { src in
            c.weights.withUnsafeBufferPointer { k in
                out.withUnsafeMutableBufferPointer { out in
                    for yy in 0..<outHeight {
                        let kbase = yy * c.kernelSize
                        let ymin = c.bounds[2 * yy]
                        let ymax = c.bounds[2 * yy + 1]
                        for xx in 0..<width {
                            var ss = 1 << (precisionBits - 1)
                            for y in 0..<ymax {
                                ss += Int(src[(y + ymin) * width + xx]) * Int(k[kbase + y])
                            }
                            out[yy * width + xx] = clip8(ss)
                        }
                    }
                }
            }
        }
        return out
    }
}
