import CFaceDetect
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Finds frontal faces and their eyes in grey images, with dlib: its HOG + linear-SVM frontal
/// face detector and its 68-point landmark model (eyes = mean of each eye's six points).
///
/// Chosen over OpenCV's Haar and LBP cascades by measuring both on the same composed photos
/// (scripts/detector-bench.cpp): dlib found 99 of 100 faces with no false detection; the best
/// cascade (Haar frontalface_default) 94 with 11 false detections, at 0.27 s against 0.41 s
/// a 640×480 photo (the cascades: 90 % recall or less for fewer false detections).
///
/// Small faces: dlib's detector window is 80×80 pixels, so images up to ``upsampleLimit`` pixels
/// are first upsampled 2× (faces down to about 40 px wide are found); images larger than
/// ``downscaleLimit`` are shrunk (the Pillow-exact bilinear of `Resize`) before detection and
/// the results mapped back, so the time per photo stays bounded.
///
/// Safe to share between threads (calls are serialized inside).
public final class FaceDetector: @unchecked Sendable {
    // @unchecked Sendable: `handle` is a C pointer the compiler cannot check; the C side
    // serializes every call on it under one mutex (Sources/CFaceDetect), and it is freed in deinit.
    /// Where Debian's libdlib-data puts dlib's 68-point landmark model. It is trained on the
    /// iBUG 300-W data set, whose licence excludes commercial use; the pretrained ResNet's chips
    /// use dlib's CC0 5-point model instead (``FaceChipper``).
    public static let defaultLandmarkModel = "/usr/share/dlib/shape_predictor_68_face_landmarks.dat"
    /// The tensor of a model file that carries the detector (``exportDetector()``'s bytes, U8).
    public static let carriedTensor = "detector.frontal_face"
    /// Images with at most this many pixels are upsampled 2× before detection (640×480 is).
    public static let upsampleLimit = 1_000_000
    /// Images with more pixels are shrunk to about this many before detection.
    public static let downscaleLimit = 2_500_000

    private let handle: OpaquePointer
    /// The landmark model loaded, or nil when detecting boxes only.
    public let landmarkModel: String?

    /// Loads dlib's detector and, unless `landmarkModel` is nil, the landmark model. The detector
    /// is read from `detectorModel` (dlib's serialization of it, ``exportDetector()``; `source`
    /// names it in errors) when given: libdlib's own copy is compressed, and decompressing it
    /// takes about a third of a cold verify's time, reading its serialization about 2 ms.
    /// - Throws: ``FaceDetectionError/landmarkModelUnreadable(path:reason:)``,
    ///   ``FaceDetectionError/detectorUnreadable(source:reason:)``.
    public init(
        landmarkModel: String? = FaceDetector.defaultLandmarkModel, detectorModel: Data? = nil,
        source: String = "detector"
    ) throws(FaceDetectionError) {
        if let landmarkModel {
            // Opened through InputFile first: a FIFO or device is refused, not waited on.
            do { close(try InputFile.open(landmarkModel)) } catch {
                throw .landmarkModelUnreadable(path: landmarkModel, reason: error.message)
            }
        }
        var status: Int32 = 0
        var message = [CChar](repeating: 0, count: 512)
        let made: OpaquePointer? = message.withUnsafeMutableBufferPointer { buf in
            guard let detectorModel else {
                return facetwin_face_detector_create(landmarkModel, &status, buf.baseAddress, buf.count)
            }
            return detectorModel.withUnsafeBytes { bytes in
                // A pointer even for no bytes: NULL would mean "libdlib's own".
                var empty: UInt8 = 0
                let base = bytes.bindMemory(to: UInt8.self).baseAddress ?? withUnsafePointer(to: &empty) { $0 }
                return facetwin_face_detector_create_with(
                    landmarkModel, base, bytes.count, &status, buf.baseAddress, buf.count)
            }
        }
        let reason = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        guard let made else {
            if status == Int32(FACETWIN_DETECT_DETECTOR_UNREADABLE) {
                throw .detectorUnreadable(source: source, reason: reason)
            }
            if let landmarkModel { throw .landmarkModelUnreadable(path: landmarkModel, reason: reason) }
            throw .detectionFailed(reason: reason)
        }
        handle = made
        self.landmarkModel = landmarkModel
    }

    deinit { facetwin_face_detector_destroy(handle) }

    /// dlib's serialization of libdlib's frontal face detector, for a model file to carry
    /// (`detectorModel` of ``init(landmarkModel:detectorModel:source:)``).
    /// - Throws: ``FaceDetectionError/detectionFailed(reason:)`` when dlib fails.
    public static func exportDetector() throws(FaceDetectionError) -> Data {
        var bytes: UnsafeMutablePointer<UInt8>? = nil
        var size = 0
        var message = [CChar](repeating: 0, count: 512)
        let status = message.withUnsafeMutableBufferPointer { buf in
            facetwin_face_detector_export(&bytes, &size, buf.baseAddress, buf.count)
        }
        guard status == Int32(FACETWIN_DETECT_OK), let bytes else {
            throw .detectionFailed(reason: message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
        defer { free(bytes) }
        return Data(bytes: bytes, count: size)
    }

    /// The faces in `image`, most confident first.
    /// - Throws: ``FaceDetectionError/detectionFailed(reason:)`` when dlib fails (out of memory).
    public func detect(_ image: GrayImage) throws(FaceDetectionError) -> [DetectedFace] {
        var work = image
        var scale = 1.0
        if image.width * image.height > Self.downscaleLimit {
            scale = (Double(Self.downscaleLimit) / Double(image.width * image.height)).squareRoot()
            let w = max(1, Int((Double(image.width) * scale).rounded()))
            let h = max(1, Int((Double(image.height) * scale).rounded()))
            work = Resize.bilinear(image, width: w, height: h)
        }
        let upsample: Int32 = work.width * work.height <= Self.upsampleLimit ? 1 : 0
        var faces = [facetwin_face](repeating: facetwin_face(), count: 32)
        var count: Int32 = 0
        var message = [CChar](repeating: 0, count: 512)
        let status = work.pixels.withUnsafeBufferPointer { px in
            faces.withUnsafeMutableBufferPointer { out in
                message.withUnsafeMutableBufferPointer { msg in
                    facetwin_face_detect(
                        handle, px.baseAddress, Int32(work.width), Int32(work.height), Int32(work.width),
                        upsample, out.baseAddress, Int32(out.count), &count, msg.baseAddress, msg.count)
                }
            }
        }
        guard status == FACETWIN_DETECT_OK else {
            throw .detectionFailed(reason: message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
        // Back to the caller's image: x_original = x_work / scale (boxes and pixel-centre points alike,
        // as both images cover the same extent).
        let sx = Double(image.width) / Double(work.width), sy = Double(image.height) / Double(work.height)
        return faces.prefix(Int(min(count, 32))).map { f in
            let box = FaceBox(
                x: Double(f.x) * sx, y: Double(f.y) * sy, width: Double(f.width) * sx, height: Double(f.height) * sy)
            guard f.has_eyes != 0 else { return DetectedFace(box: box, confidence: Double(f.confidence)) }
            return DetectedFace(
                box: box, confidence: Double(f.confidence),
                leftEye: ImagePoint(x: Double(f.left_eye_x) * sx, y: Double(f.left_eye_y) * sy),
                rightEye: ImagePoint(x: Double(f.right_eye_x) * sx, y: Double(f.right_eye_y) * sy))
        }
    }
}
