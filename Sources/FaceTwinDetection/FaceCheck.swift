import Foundation

/// The checks an image taken as a face crop goes through before it is embedded (``FacePreparer``):
/// it is not blank, and dlib's detector finds a face in it. The crop itself is then used
/// unchanged, so a model trained on crops scores them exactly as before.
///
/// A crop fills its frame with the face, where dlib's detector (an 80 px window, HOG features
/// that need some context around the face) misses many: on ORL's 400 crops as they are it finds
/// 388. The crop is therefore looked at as ``detectorView(of:)`` makes it: scaled to about
/// 224 px high and framed by a seventh of its height of its own edge pixels (the detector then
/// doubles it as it does every small image). Found in all 400 of ORL's crops; at half size
/// (46×56) in 398, at a third 395, at a quarter (23×28) 386, so crops lower than
/// ``minimumHeight`` are not looked at (only the blank check applies to them).
package enum FaceCheck {
    /// Pixel standard deviation, in grey levels of 255, below which an image is blank (a lens
    /// cap, a black or grey frame): no face can be in it. ORL's 400 crops lie between 32.4 and 64.3.
    package static let blankDeviation = 4.0
    /// Crops lower than this are too small for the face check.
    package static let minimumHeight = 56
    /// The height a crop is scaled to for the detector.
    package static let detectorHeight = 224

    /// The standard deviation of the image's grey levels.
    package static func deviation(_ image: GrayImage) -> Double {
        var sum = 0.0, squares = 0.0
        for p in image.pixels {
            let v = Double(p)
            sum += v
            squares += v * v
        }
        let n = Double(image.pixels.count)
        let mean = sum / n
        return max(0, squares / n - mean * mean).squareRoot()
    }

    /// Whether the image is (nearly) one grey level.
    package static func isBlank(_ image: GrayImage) -> Bool { deviation(image) < blankDeviation }

    /// The crop as the detector is shown it: scaled by a whole factor to about
    /// ``detectorHeight`` (not shrunk), then padded on every side by a seventh of its height with
    /// its edge pixels repeated.
    package static func detectorView(of crop: GrayImage) -> GrayImage {
        let factor = max(1, Int((Double(detectorHeight) / Double(crop.height)).rounded()))
        let scaled = factor == 1 ? crop : Resize.bilinear(crop, width: crop.width * factor, height: crop.height * factor)
        let pad = scaled.height / 7
        let w = scaled.width + 2 * pad, h = scaled.height + 2 * pad
        var out = [UInt8](repeating: 0, count: w * h)
        scaled.pixels.withUnsafeBufferPointer { src in
            for y in 0..<h {
                let sy = min(max(y - pad, 0), scaled.height - 1)
                for x in 0..<w {
                    let sx = min(max(x - pad, 0), scaled.width - 1)
                    out[y * w + x] = src[sy * scaled.width + sx]
                }
            }
        }
        return GrayImage(width: w, height: h, pixels: out)
    }

    /// Whether dlib's detector finds a face in `crop` (a crop lower than ``minimumHeight``
    /// passes unlooked at).
    /// - Throws: ``FaceDetectionError`` when the detector cannot be made or fails.
    package static func findsFace(inCrop crop: GrayImage) throws(FaceDetectionError) -> Bool {
        try facesInCrop(crop) > 0
    }

    /// How many faces dlib's detector finds in `crop` as ``detectorView(of:)`` frames it (a crop
    /// lower than ``minimumHeight`` counts as one face, unlooked at). Each of ORL's 400 crops
    /// gives exactly one.
    /// - Throws: ``FaceDetectionError`` when the detector cannot be made or fails.
    package static func facesInCrop(_ crop: GrayImage) throws(FaceDetectionError) -> Int {
        guard crop.height >= minimumHeight else { return 1 }
        return try CropDetectors.shared.detect(detectorView(of: crop)).count
    }

}

/// dlib's detector without landmarks (boxes are all the check needs), one per thread at work: a
/// detector serializes its calls, and folders of crops are checked on every core.
private final class CropDetectors: @unchecked Sendable {
    // @unchecked Sendable: `idle`, the one mutable field, is read and written under `lock`.
    static let shared = CropDetectors()
    private let lock = NSLock()
    private var idle: [FaceDetector] = []

    func detect(_ image: GrayImage) throws(FaceDetectionError) -> [DetectedFace] {
        lock.lock()
        let reused = idle.popLast()
        lock.unlock()
        let detector: FaceDetector
        if let reused { detector = reused } else { detector = try FaceDetector(landmarkModel: nil) }
        defer {
            lock.lock()
            idle.append(detector)
            lock.unlock()
        }
        return try detector.detect(image)
    }
}
