/// An RGB picture to draw report figures on: filled and outlined rectangles, grayscale
/// photos, and text in the built-in 5×7 font (``PNGFont``), then encoded with ``PNGEncoder``.
struct PNGCanvas: Sendable {
    struct Color: Sendable, Equatable {
        var r: UInt8, g: UInt8, b: UInt8
        init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }
        static let white = Color(255, 255, 255)
        static let black = Color(0, 0, 0)
        static let gray = Color(110, 110, 110)
        static let lightGray = Color(235, 235, 235)
        static let green = Color(0, 130, 40)
        static let red = Color(200, 20, 20)
        static let blue = Color(30, 80, 180)
    }

    let width: Int
    let height: Int
    /// RGB bytes, row-major, top row first.
    private(set) var pixels: [UInt8]

    init(width: Int, height: Int, background: Color = .white) {
        precondition(width > 0 && height > 0)
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<width * height {
            pixels[3 * i] = background.r; pixels[3 * i + 1] = background.g; pixels[3 * i + 2] = background.b
        }
    }

    func pixel(x: Int, y: Int) -> Color {
        let i = 3 * (y * width + x)
        return Color(pixels[i], pixels[i + 1], pixels[i + 2])
    }

    /// Fills a rectangle, clipped to the canvas.
    mutating func fill(x: Int, y: Int, width w: Int, height h: Int, _ c: Color) {
        let x0 = max(0, x), y0 = max(0, y), x1 = min(width, x + w), y1 = min(height, y + h)
        guard x0 < x1, y0 < y1 else { return }
        for yy in y0..<y1 {
            var i = 3 * (yy * width + x0)
            for _ in x0..<x1 {
                pixels[i] = c.r; pixels[i + 1] = c.g; pixels[i + 2] = c.b
                i += 3
            }
        }
    }

    /// Outlines a rectangle with a border `thickness` pixels wide, drawn inside it.
    mutating func stroke(x: Int, y: Int, width w: Int, height h: Int, thickness t: Int, _ c: Color) {
        fill(x: x, y: y, width: w, height: t, c)
        fill(x: x, y: y + h - t, width: w, height: t, c)
        fill(x: x, y: y, width: t, height: h, c)
        fill(x: x + w - t, y: y, width: t, height: h, c)
    }

    /// Draws a grayscale image with its top-left corner at (x, y), scaled to `w × h`
    /// (bilinear, as Pillow), clipped to the canvas.
    mutating func draw(_ image: GrayImage, x: Int, y: Int, width w: Int, height h: Int) {
        let scaled = (image.width == w && image.height == h) ? image : Resize.bilinear(image, width: w, height: h)
        for yy in 0..<h where y + yy >= 0 && y + yy < height {
            for xx in 0..<w where x + xx >= 0 && x + xx < width {
                let v = scaled.pixels[yy * w + xx]
                let i = 3 * ((y + yy) * width + x + xx)
                pixels[i] = v; pixels[i + 1] = v; pixels[i + 2] = v
            }
        }
    }

    /// Draws a colour image with its top-left corner at (x, y), scaled to `w × h` (each channel
    /// bilinearly, as Pillow), clipped to the canvas.
    mutating func draw(_ image: RGBImage, x: Int, y: Int, width w: Int, height h: Int) {
        let planes = (0..<3).map { c -> GrayImage in
            let p = image.channel(c)
            return (p.width == w && p.height == h) ? p : Resize.bilinear(p, width: w, height: h)
        }
        for yy in 0..<h where y + yy >= 0 && y + yy < height {
            for xx in 0..<w where x + xx >= 0 && x + xx < width {
                let i = 3 * ((y + yy) * width + x + xx)
                for c in 0..<3 { pixels[i + c] = planes[c].pixels[yy * w + xx] }
            }
        }
    }

    /// Width in pixels of `text` drawn at `scale`.
    static func textWidth(_ text: String, scale: Int) -> Int {
        let n = text.count
        return n == 0 ? 0 : (n * PNGFont.advance - 1) * scale
    }

    /// Height in pixels of a line of text at `scale`.
    static func textHeight(scale: Int) -> Int { PNGFont.height * scale }

    /// Draws one line of text with its top-left corner at (x, y); each font pixel is a
    /// `scale × scale` square. Lower-case letters are drawn as capitals.
    mutating func text(_ text: String, x: Int, y: Int, scale: Int = 2, _ c: Color = .black) {
        var cx = x
        for ch in text {
            let rows = PNGFont.glyph(ch)
            for (ry, bits) in rows.enumerated() {
                for rx in 0..<PNGFont.width where bits & (1 << UInt8(PNGFont.width - 1 - rx)) != 0 {
                    fill(x: cx + rx * scale, y: y + ry * scale, width: scale, height: scale, c)
                }
            }
            cx += PNGFont.advance * scale
        }
    }

    /// The picture as a PNG file.
    package func png(compression: PNGEncoder.Compression = .fixedHuffman) -> [UInt8] {
        PNGEncoder.encode(width: width, height: height, channels: 3, pixels: pixels, compression: compression)
    }
}
