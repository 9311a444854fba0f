/// An 8-bit RGB image, row-major, channels interleaved (`R G B R G B …`).
///
/// What a colour photo (PNG, JPEG, PPM) decodes to before it is reduced to
/// ``GrayImage``; the colour network input (three planes) is built from it with
/// ``channel(_:)`` and `Resize/networkInput(_:width:height:invert:matching:)-(RGBImage,_,_,_,_)`.
public struct RGBImage: Equatable, Sendable {
    /// Number of columns.
    public let width: Int
    /// Number of rows.
    public let height: Int
    /// `3 * width * height` samples; pixel (x, y) is at `3 * (y * width + x)` (R, then G, then B).
    public let pixels: [UInt8]

    /// Wraps existing samples. `pixels.count` must be `3 * width * height`.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0, "RGBImage needs a positive size, got \(width)x\(height)")
        precondition(
            pixels.count == 3 * width * height,
            "RGBImage \(width)x\(height) needs \(3 * width * height) samples, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// A gray image as RGB (R = G = B), as Pillow's `convert("RGB")` of an "L" image.
    public init(_ gray: GrayImage) {
        var rgb = [UInt8](repeating: 0, count: 3 * gray.pixels.count)
        for (i, v) in gray.pixels.enumerated() {
            rgb[3 * i] = v
            rgb[3 * i + 1] = v
            rgb[3 * i + 2] = v
        }
        self.init(width: gray.width, height: gray.height, pixels: rgb)
    }

    /// Three gray planes of one size (R, G, B) interleaved into one image.
    public init(planes: [GrayImage]) {
        precondition(planes.count == 3, "RGBImage needs 3 planes, got \(planes.count)")
        let (w, h) = (planes[0].width, planes[0].height)
        precondition(planes.allSatisfy { $0.width == w && $0.height == h }, "RGB planes of different sizes")
        var rgb = [UInt8](repeating: 0, count: 3 * w * h)
        for c in 0..<3 { for (i, v) in planes[c].pixels.enumerated() { rgb[3 * i + c] = v } }
        self.init(width: w, height: h, pixels: rgb)
    }

    /// The pixel at column `x`, row `y`.
    public subscript(x: Int, y: Int) -> RGBPixel {
        let i = 3 * (y * width + x)
        return RGBPixel(r: pixels[i], g: pixels[i + 1], b: pixels[i + 2])
    }

    /// Pillow's `convert("L")`: ITU-R 601-2 luma in 16-bit fixed point,
    /// `L = (R·19595 + G·38470 + B·7471 + 0x8000) >> 16`
    /// (R·299/1000 + G·587/1000 + B·114/1000, rounded half up).
    public var gray: GrayImage {
        let count = width * height
        let luma = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            pixels.withUnsafeBufferPointer { src in
                for i in 0..<count {
                    let r = UInt32(src[3 * i]), g = UInt32(src[3 * i + 1]), b = UInt32(src[3 * i + 2])
                    buffer[i] = UInt8((r &* 19595 &+ g &* 38470 &+ b &* 7471 &+ 0x8000) >> 16)
                }
            }
            initialized = count
        }
        return GrayImage(width: width, height: height, pixels: luma)
    }

    /// One channel (0 red, 1 green, 2 blue) as a gray image: Pillow resizes an
    /// RGB image band by band with the same arithmetic as an "L" image, so
    /// resizing each channel with `Resize` gives what Pillow gives for the RGB image.
    public func channel(_ c: Int) -> GrayImage {
        precondition((0..<3).contains(c), "RGB channel \(c) is not 0, 1 or 2")
        let count = width * height
        let plane = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            pixels.withUnsafeBufferPointer { src in
                for i in 0..<count { buffer[i] = src[3 * i + c] }
            }
            initialized = count
        }
        return GrayImage(width: width, height: height, pixels: plane)
    }
}

extension Resize {
    /// The colour network's view of an RGB image: each channel resized as
    /// ``networkInput(_:width:height:invert:matching:)`` resizes a gray image,
    /// then the three planes one after the other (`[3 × height × width]`, R, G, B),
    /// as torchvision's `ToTensor` lays out an RGB image.
    package static func networkInput(
        _ image: RGBImage, width: Int, height: Int, invert: Bool = false,
        matching pillow: PillowVersion = .pillow13
    ) -> [Float] {
        (0..<3).flatMap { networkInput(image.channel($0), width: width, height: height, invert: invert, matching: pillow) }
    }
}

extension RGBImage {
    /// The image without `fraction` of each side, as ``GrayImage/inset(_:)`` cuts a gray one.
    public func inset(_ fraction: Double) -> RGBImage {
        guard let (l, t) = GrayImage.insetMargins(width: width, height: height, fraction: fraction) else { return self }
        let w = width - 2 * l, h = height - 2 * t
        var out = [UInt8](repeating: 0, count: 3 * w * h)
        for y in 0..<h {
            let src = 3 * ((y + t) * width + l)
            out.replaceSubrange(3 * y * w..<3 * (y + 1) * w, with: pixels[src..<src + 3 * w])
        }
        return RGBImage(width: w, height: h, pixels: out)
    }
}

/// One pixel of an ``RGBImage``.
public struct RGBPixel: Equatable, Sendable {
    public var r: UInt8
    public var g: UInt8
    public var b: UInt8

    public init(r: UInt8, g: UInt8, b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }
}
