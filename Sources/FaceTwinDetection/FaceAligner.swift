/// A similarity transform (rotation, uniform scale, translation):
/// `x' = a·x − b·y + tx`, `y' = b·x + a·y + ty`.
struct SimilarityTransform: Equatable, Sendable {
    public var a: Double, b: Double, tx: Double, ty: Double

    public init(a: Double, b: Double, tx: Double, ty: Double) { self.a = a; self.b = b; self.tx = tx; self.ty = ty }

    /// The transform taking `p1` to `q1` and `p2` to `q2` (p1 ≠ p2).
    public init(mapping p1: ImagePoint, to q1: ImagePoint, and p2: ImagePoint, to q2: ImagePoint) {
        // As complex numbers: q = z·(p − p1) + q1 with z = (q2 − q1) / (p2 − p1).
        let dx = p2.x - p1.x, dy = p2.y - p1.y
        let ex = q2.x - q1.x, ey = q2.y - q1.y
        let d = dx * dx + dy * dy
        a = (ex * dx + ey * dy) / d
        b = (ey * dx - ex * dy) / d
        tx = q1.x - (a * p1.x - b * p1.y)
        ty = q1.y - (b * p1.x + a * p1.y)
    }

    public func apply(_ p: ImagePoint) -> ImagePoint {
        ImagePoint(x: a * p.x - b * p.y + tx, y: b * p.x + a * p.y + ty)
    }

    /// The factor lengths are multiplied by.
    public var scale: Double { (a * a + b * b).squareRoot() }
}

/// Cuts an aligned face crop out of a photo: a similarity transform puts the two eye centres
/// where they sit in the training images, and the crop is resampled bilinearly.
///
/// The default eye positions were measured on ORL (all 400 crops, each scaled 3× onto a grey
/// canvas, dlib's detector and 68-point landmarks: `scripts/measure-eyes.py`): the eye on the
/// image's left at (0.310, 0.470) of the 92×112 crop, the other at (0.676, 0.474) (standard
/// deviations about 0.07 across and 0.05 down: ORL's people turn and tilt their heads, so the
/// means are known to ±0.004); the defaults, (0.309, 0.472) and (0.674, 0.472), level them.
public struct FaceAligner: Equatable, Sendable {
    public static let orlLeftEye = ImagePoint(x: 0.309, y: 0.472)
    public static let orlRightEye = ImagePoint(x: 0.674, y: 0.472)
    /// Where the eyes sit in a dlib detector box, as fractions of it: used when a face has no
    /// landmarks. Measured on ORL as the eye positions above (`scripts/measure-eyes.py`, 399 of
    /// the 400 crops with one face found): (0.286, 0.304) and (0.718, 0.310), levelled at 0.307.
    public static let boxLeftEye = ImagePoint(x: 0.286, y: 0.307)
    public static let boxRightEye = ImagePoint(x: 0.718, y: 0.307)

    /// Size of the crops made.
    public var width: Int
    public var height: Int
    /// Where the eyes go, as fractions of the crop's width and height (image left eye first).
    public var leftEye: ImagePoint
    public var rightEye: ImagePoint

    public init(
        width: Int = 92, height: Int = 112, leftEye: ImagePoint = FaceAligner.orlLeftEye,
        rightEye: ImagePoint = FaceAligner.orlRightEye
    ) {
        precondition(width > 0 && height > 0, "FaceAligner needs a positive size")
        precondition(leftEye != rightEye, "FaceAligner needs two distinct eye positions")
        self.width = width
        self.height = height
        self.leftEye = leftEye
        self.rightEye = rightEye
    }

    /// The face's eye centres: its landmarks, else estimated from its box.
    public static func eyes(of face: DetectedFace) -> EyePositions {
        if let l = face.leftEye, let r = face.rightEye { return EyePositions(left: l, right: r) }
        let b = face.box
        return EyePositions(
            left: ImagePoint(x: b.x + boxLeftEye.x * b.width, y: b.y + boxLeftEye.y * b.height),
            right: ImagePoint(x: b.x + boxRightEye.x * b.width, y: b.y + boxRightEye.y * b.height)
        )
    }

    /// The eye targets in crop pixels.
    public var targets: EyePositions {
        EyePositions(
            left: ImagePoint(x: leftEye.x * Double(width), y: leftEye.y * Double(height)),
            right: ImagePoint(x: rightEye.x * Double(width), y: rightEye.y * Double(height))
        )
    }

    /// The map from crop coordinates to photo coordinates for eyes at `left` and `right`.
    func transform(left: ImagePoint, right: ImagePoint) -> SimilarityTransform {
        let t = targets
        return SimilarityTransform(mapping: t.left, to: left, and: t.right, to: right)
    }

    /// The aligned crop of `face` in `image`.
    public func align(_ image: GrayImage, face: DetectedFace) -> GrayImage {
        let e = Self.eyes(of: face)
        return align(image, left: e.left, right: e.right)
    }

    /// The crop with `left` and `right` (photo coordinates) at the eye targets. Outside the
    /// photo the edge pixels are repeated. When the crop shrinks the face by more than 1.5×,
    /// the photo is first shrunk with `Resize/bilinear(_:width:height:)` (which filters, as
    /// Pillow does) so the final bilinear step does not alias.
    public func align(_ image: GrayImage, left: ImagePoint, right: ImagePoint) -> GrayImage {
        var source = image
        var l = left, r = right
        let shrink = transform(left: l, right: r).scale
        if shrink > 1.5 {
            let f = 1.0 / shrink
            let w = max(1, Int((Double(image.width) * f).rounded())), h = max(1, Int((Double(image.height) * f).rounded()))
            source = Resize.bilinear(image, width: w, height: h)
            let sx = Double(w) / Double(image.width), sy = Double(h) / Double(image.height)
            l = ImagePoint(x: l.x * sx, y: l.y * sy)
            r = ImagePoint(x: r.x * sx, y: r.y * sy)
        }
        let t = transform(left: l, right: r)
        return Self.warp(source, t, width: width, height: height)
    }

    /// Output pixel (i, j) is `source` sampled bilinearly at `t((i + 0.5, j + 0.5))` (pixel-centre
    /// coordinates), the edge repeated outside.
    static func warp(_ source: GrayImage, _ t: SimilarityTransform, width: Int, height: Int) -> GrayImage {
        var out = [UInt8](repeating: 0, count: width * height)
        let sw = source.width, sh = source.height
        source.pixels.withUnsafeBufferPointer { src in
            for j in 0..<height {
                for i in 0..<width {
                    let q = t.apply(ImagePoint(x: Double(i) + 0.5, y: Double(j) + 0.5))
                    let fx = min(max(q.x - 0.5, 0), Double(sw - 1)), fy = min(max(q.y - 0.5, 0), Double(sh - 1))
                    let x0 = Int(fx), y0 = Int(fy)
                    let x1 = min(x0 + 1, sw - 1), y1 = min(y0 + 1, sh - 1)
                    let ax = fx - Double(x0), ay = fy - Double(y0)
                    let top = Double(src[y0 * sw + x0]) * (1 - ax) + Double(src[y0 * sw + x1]) * ax
                    let bottom = Double(src[y1 * sw + x0]) * (1 - ax) + Double(src[y1 * sw + x1]) * ax
                    let v = top * (1 - ay) + bottom * ay
                    out[j * width + i] = UInt8(min(max(v.rounded(), 0), 255))
                }
            }
        }
        return GrayImage(width: width, height: height, pixels: out)
    }
}

/// Where a face's two eyes are (or are put), the one on the image's left first.
public struct EyePositions: Equatable, Sendable {
    public var left: ImagePoint
    public var right: ImagePoint

    public init(left: ImagePoint, right: ImagePoint) {
        self.left = left
        self.right = right
    }
}
