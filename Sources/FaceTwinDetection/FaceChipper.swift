import CDlibNet
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// dlib's face chip for its face-recognition ResNet: the 5-point landmarks of a face box (dlib's
/// `shape_predictor_5_face_landmarks.dat`, run on the colour image), then
/// `extract_image_chip(img, get_face_chip_details(shape, 150, 0.25))`: the face rotated upright,
/// scaled and cropped to a 150×150 RGB chip with dlib's bilinear interpolation. dlib itself
/// computes it (Sources/CDlibNet), so the chip is dlib's pixel for pixel.
///
/// Safe to share between threads (calls are serialized inside).
public final class FaceChipper: @unchecked Sendable {
    // @unchecked Sendable: `handle` is a C pointer the compiler cannot check; the C side
    // serializes every call on it under one mutex (Sources/CDlibNet), and it is freed in deinit.
    /// dlib's inclusive pixel rectangle: columns `left...right`, rows `top...bottom`.
    public struct Rectangle: Codable, Equatable, Sendable {
        public var left: Int
        public var top: Int
        public var right: Int
        public var bottom: Int
        public init(left: Int, top: Int, right: Int, bottom: Int) {
            self.left = left; self.top = top; self.right = right; self.bottom = bottom
        }
        /// The rectangle of a detector box (``FaceBox`` covers `[x, x + width)`), corners
        /// rounded to whole pixels.
        public init(_ box: FaceBox) {
            left = Int(box.x.rounded())
            top = Int(box.y.rounded())
            right = max(left, Int((box.x + box.width).rounded()) - 1)
            bottom = max(top, Int((box.y + box.height).rounded()) - 1)
        }
    }

    /// One chip and the landmarks it was aligned on.
    public struct Chip: Sendable {
        /// `size` × `size` RGB.
        public var image: RGBImage
        /// The 5 landmarks in the photo (two corners of each eye and the base of the nose, in the
        /// model's order), in FaceTwin's pixel-centre coordinates (dlib's point (i, j) is
        /// (i + 0.5, j + 0.5)).
        public var landmarks: [ImagePoint]
        /// The same landmarks as dlib reports them: whole pixel indices.
        public var dlibLandmarks: [PixelIndex]
    }

    /// A pixel's column and row, as dlib reports a landmark.
    public struct PixelIndex: Equatable, Sendable {
        public var x: Int
        public var y: Int
    }

    /// dlib's chip geometry for the ResNet.
    public static let chipSize = 150
    public static let chipPadding = 0.25

    private let handle: OpaquePointer
    /// Where the landmark model came from (a path, or a model file's tensor), for messages.
    public let source: String

    /// Deserialises dlib's 5-point shape predictor from `bytes` (the contents of
    /// shape_predictor_5_face_landmarks.dat) and checks its structure; `source` names it in errors.
    /// - Throws: ``DlibModelError/notLandmarkModel(path:reason:)``.
    public init(landmarkModel bytes: Data, source: String) throws(DlibModelError) {
        var status: Int32 = 0
        var message = [CChar](repeating: 0, count: 512)
        let made: OpaquePointer? = bytes.withUnsafeBytes { raw in
            message.withUnsafeMutableBufferPointer { buf in
                // A non-null pointer even for 0 bytes, so the C side reports an empty model.
                let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(bitPattern: 1)
                return facetwin_chipper_create(base, raw.count, &status, buf.baseAddress, buf.count)
            }
        }
        guard let made else {
            let reason = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            if status == Int32(FACETWIN_DLIBNET_NOT_MODEL) || status == Int32(FACETWIN_DLIBNET_NO_MEMORY) {
                throw .notLandmarkModel(path: source, reason: reason)
            }
            throw .dlibFailed(reason: reason)
        }
        handle = made
        self.source = source
    }

    /// Reads and checks the landmark model at `path` (at most 64 MiB).
    /// - Throws: ``DlibModelError/unreadable(path:reason:)`` or ``DlibModelError/notLandmarkModel(path:reason:)``.
    public convenience init(path: String) throws(DlibModelError) {
        try self.init(landmarkModel: Self.readModelFile(path), source: path)
    }

    deinit { facetwin_chipper_destroy(handle) }

    /// Reads a dlib model file of at most 64 MiB through ``InputFile``.
    package static func readModelFile(_ path: String) throws(DlibModelError) -> Data {
        let limit = Int(FACETWIN_DLIBNET_MAX_FILE_BYTES)
        let fd: Int32
        do { fd = try InputFile.open(path) } catch { throw .unreadable(path: path, reason: error.message) }
        var st = stat()
        let statted = fstat(fd, &st) == 0
        let reason = String(cString: strerror(errno))
        close(fd)
        guard statted else { throw .unreadable(path: path, reason: reason) }
        let size = Int(st.st_size)
        guard size <= limit else {
            throw .notLandmarkModel(path: path, reason: "file of \(size) bytes, larger than any dlib face model (64 MiB)")
        }
        do { return try InputFile.read(path) } catch { throw .unreadable(path: path, reason: error.message) }
    }

    /// The chip of the face in `rectangle` of `image`.
    /// - Throws: ``DlibModelError/dlibFailed(reason:)`` (out of memory).
    public func chip(
        _ image: RGBImage, rectangle: Rectangle, size: Int = FaceChipper.chipSize, padding: Double = FaceChipper.chipPadding
    ) throws(DlibModelError) -> Chip {
        precondition(size > 0 && size <= 4096 && padding >= 0 && padding <= 10, "chip size \(size), padding \(padding)")
        var out = [UInt8](repeating: 0, count: size * size * 3)
        var points = [Float](repeating: 0, count: 10)
        var message = [CChar](repeating: 0, count: 512)
        let status = image.pixels.withUnsafeBufferPointer { px in
            out.withUnsafeMutableBufferPointer { o in
                points.withUnsafeMutableBufferPointer { p in
                    message.withUnsafeMutableBufferPointer { m in
                        facetwin_chipper_chip(
                            handle, px.baseAddress, Int32(image.width), Int32(image.height), Int32(3 * image.width),
                            Int64(rectangle.left), Int64(rectangle.top), Int64(rectangle.right), Int64(rectangle.bottom),
                            Int32(size), padding, o.baseAddress, p.baseAddress, m.baseAddress, m.count)
                    }
                }
            }
        }
        guard status == Int32(FACETWIN_DLIBNET_OK) else {
            throw .dlibFailed(reason: message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
        let dlibPoints = (0..<5).map { PixelIndex(x: Int(points[2 * $0]), y: Int(points[2 * $0 + 1])) }
        return Chip(
            image: RGBImage(width: size, height: size, pixels: out),
            landmarks: dlibPoints.map { ImagePoint(x: Double($0.x) + 0.5, y: Double($0.y) + 0.5) },
            dlibLandmarks: dlibPoints)
    }

    /// The chip of a detected face (its box as a dlib rectangle).
    public func chip(_ image: RGBImage, face: DetectedFace) throws(DlibModelError) -> Chip {
        try chip(image, rectangle: Rectangle(face.box))
    }
}
