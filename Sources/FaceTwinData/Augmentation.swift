import Foundation

/// Random, label-preserving changes to a training image, drawn per image on the fly from a
/// seeded generator: a small similarity transform (rotation, scale, shift, optional mirror)
/// sampled bilinearly with the border pixels repeated outside the image, then a brightness
/// and contrast change. Each is a change a new photo of the same person could show; none
/// moves a face so far that alignment would not have caught it.
public struct Augmentation: Sendable, Equatable, Codable {
    /// Largest rotation either way, in degrees.
    public var rotationDegrees: Float
    /// Largest relative change of scale either way (0.05 = ±5 %).
    public var scale: Float
    /// Largest shift either way, as a fraction of the image's width or height.
    public var shift: Float
    /// Whether half of the images are mirrored left to right (faces are nearly symmetric).
    public var mirror: Bool
    /// Largest relative change of contrast (gain) either way, and of brightness (offset, in
    /// units of the pixel range [0, 1]).
    public var contrast: Float
    public var brightness: Float

    public init(
        rotationDegrees: Float = 10, scale: Float = 0.05, shift: Float = 0.06, mirror: Bool = true,
        contrast: Float = 0.2, brightness: Float = 0.1
    ) {
        self.rotationDegrees = rotationDegrees
        self.scale = scale
        self.shift = shift
        self.mirror = mirror
        self.contrast = contrast
        self.brightness = brightness
    }

    /// No change at all.
    public static let none = Augmentation(rotationDegrees: 0, scale: 0, shift: 0, mirror: false, contrast: 0, brightness: 0)

    public var isIdentity: Bool { self == .none }

    /// Writes an augmented copy of `source` (`channels` planes of [height × width], row-major)
    /// into `destination`; every plane gets the same change.
    package func apply(
        _ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>,
        width: Int, height: Int, channels: Int = 1, rng: inout RandomSource
    ) {
        func uniform(_ r: Float) -> Float { r == 0 ? 0 : Float.random(in: -r...r, using: &rng) }
        let angle = uniform(rotationDegrees) * .pi / 180
        let s = 1 + uniform(scale)
        let tx = uniform(shift) * Float(width), ty = uniform(shift) * Float(height)
        let flip: Float = mirror && Bool.random(using: &rng) ? -1 : 1
        let gain = 1 + uniform(contrast), offset = uniform(brightness)
        // Inverse map: destination (x, y) about the centre → source coordinates.
        let (cx, cy) = (Float(width - 1) / 2, Float(height - 1) / 2)
        let (c, sn) = (cos(angle) / s, sin(angle) / s)
        let maxX = Float(width - 1), maxY = Float(height - 1)
        for plane in 0..<channels {
            let offsetPixels = plane * width * height
            transform(
                source + offsetPixels, into: destination + offsetPixels, width: width, height: height,
                map: (c, sn, cx, cy, tx, ty, flip, maxX, maxY), gain: gain, offset: offset)
        }
    }

    private func transform(
        _ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, width: Int, height: Int,
        map: (Float, Float, Float, Float, Float, Float, Float, Float, Float), gain: Float, offset: Float
    ) {
        let (c, sn, cx, cy, tx, ty, flip, maxX, maxY) = map
        for y in 0..<height {
            let dy = Float(y) - cy - ty
            for x in 0..<width {
                let dx = (Float(x) - cx - tx) * flip
                let sx = min(max(c * dx - sn * dy + cx, 0), maxX)
                let sy = min(max(sn * dx + c * dy + cy, 0), maxY)
                let x0 = min(Int(sx), width - 2 < 0 ? 0 : width - 2), y0 = min(Int(sy), height - 2 < 0 ? 0 : height - 2)
                let x1 = min(x0 + 1, width - 1), y1 = min(y0 + 1, height - 1)
                let fx = sx - Float(x0), fy = sy - Float(y0)
                let top = source[y0 * width + x0] * (1 - fx) + source[y0 * width + x1] * fx
                let bottom = source[y1 * width + x0] * (1 - fx) + source[y1 * width + x1] * fx
                destination[y * width + x] = (top * (1 - fy) + bottom * fy) * gain + offset
            }
        }
    }
}

/// Per-image standardisation: each image shifted and scaled to mean 0 and standard deviation 1
/// over its pixels, so that a photo's overall brightness and contrast (camera exposure,
/// lighting) do not reach the network. Constant images become all zeros.
package enum Standardization {
    package static func apply(_ pixels: UnsafeMutablePointer<Float>, count: Int) {
        guard count > 0 else { return }
        var sum: Double = 0, squares: Double = 0
        for i in 0..<count { sum += Double(pixels[i]); squares += Double(pixels[i]) * Double(pixels[i]) }
        let mean = sum / Double(count)
        let variance = max(squares / Double(count) - mean * mean, 0)
        let inverse = Float(1 / (variance.squareRoot() + 1e-5))
        let m = Float(mean)
        for i in 0..<count { pixels[i] = (pixels[i] - m) * inverse }
    }
}
