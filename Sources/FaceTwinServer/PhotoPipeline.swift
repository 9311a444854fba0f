import FaceTwin
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// An uploaded photo: the multipart part's file name (or field name) and its bytes.
struct UploadedPhoto: Sendable {
    var name: String
    var bytes: [UInt8]
}

/// A photo turned into the model's embedding, with the aligned crop the network saw.
struct EmbeddedPhoto: Sendable {
    var name: String
    var sha256: String
    var embedding: [Float]
    /// The crop as a `data:image/png;base64,…` URL, when asked for.
    var cropPNG: String?
}

/// How an uploaded photo becomes an embedding, on a worker thread: decoded from memory (an
/// anonymous in-memory file, never a file on disk: the photo is never stored), the face found
/// and aligned as the CLI's `--detect`/`--faces` say, resized as the model's inputs are, and
/// run through the one shared network (one forward at a time: its layers reuse buffers).
/// (Unchecked `Sendable`: `FaceModel` is not; its network runs only under `forward`, the rest
/// of it is read.)
final class PhotoPipeline: @unchecked Sendable {
    let model: FaceModel
    let maxPixels: Int
    private let forward = NSLock()

    init(model: FaceModel, maxPixels: Int) {
        self.model = model
        self.maxPixels = maxPixels
    }

    /// The embedding of `photo`, prepared by `preparer` (the worker's own face detector).
    /// - Throws: ``ImageError`` naming the photo by its upload name.
    func embed(_ photo: UploadedPhoto, preparer: FacePreparer?, wantCrop: Bool) throws(ImageError) -> EmbeddedPhoto {
        let memory: MemoryFile
        do {
            memory = try MemoryFile(photo.bytes)
        } catch {
            throw .cannotOpen(path: photo.name, reason: "cannot hold the upload in memory: \(error.message)")
        }
        defer { memory.close() }
        do {
            return try embed(at: memory.path, photo: photo, preparer: preparer, wantCrop: wantCrop)
        } catch {
            throw Self.renamed(error, from: memory.path, to: photo.name)
        }
    }

    private func embed(at path: String, photo: UploadedPhoto, preparer: FacePreparer?, wantCrop: Bool) throws(ImageError)
        -> EmbeddedPhoto
    {
        let config = model.config
        let decoded = try ImageDecoder.decodeImage(path: path, maxPixels: maxPixels, keepColor: config.isColor)
        var gray = decoded.gray
        var rgb = config.isColor ? decoded.rgb : nil
        if let preparer { (gray, rgb) = try preparer.prepare(gray, rgb: rgb, path: path) }
        let crop: String? = wantCrop ? Self.pngDataURL(gray: gray, rgb: rgb) : nil
        let (w, h, inset) = (config.inputWidth, config.inputHeight, config.inputInset ?? 0)
        var pixels =
            rgb.map { Resize.networkInput($0.inset(inset), width: w, height: h, invert: config.invert) }
            ?? Resize.networkInput(gray.inset(inset), width: w, height: h, invert: config.invert)
        if config.standardize {
            pixels.withUnsafeMutableBufferPointer { Standardization.apply($0.baseAddress!, count: $0.count) }
        }
        forward.lock()
        let embedding = model.embed(pixels: pixels, count: 1)[0]
        forward.unlock()
        guard embedding.allSatisfy({ (x: Float) in x.isFinite }) else { throw .nonFiniteEmbedding(path: path) }
        return EmbeddedPhoto(
            name: photo.name, sha256: SHA256.hexDigest(of: photo.bytes), embedding: embedding, cropPNG: crop)
    }

    /// The crop the network saw, as a PNG data URL (colour when the network takes colour).
    static func pngDataURL(gray: GrayImage, rgb: RGBImage?) -> String {
        let png =
            rgb.map { PNGEncoder.encode(width: $0.width, height: $0.height, channels: 3, pixels: $0.pixels) }
            ?? PNGEncoder.encode(width: gray.width, height: gray.height, channels: 1, pixels: gray.pixels)
        return "data:image/png;base64," + Data(png).base64EncodedString()
    }

    /// The same error with the in-memory file's path replaced by the upload's name.
    static func renamed(_ error: ImageError, from path: String, to name: String) -> ImageError {
        func r(_ text: String) -> String { text.replacingOccurrences(of: path, with: name) }
        switch error {
        case .cannotOpen(_, let reason): return .cannotOpen(path: name, reason: r(reason))
        case .empty: return .empty(path: name)
        case .notNetpbm(_, let reason): return .notNetpbm(path: name, reason: r(reason))
        case .unrecognized(_, let reason): return .unrecognized(path: name, reason: r(reason))
        case .truncated(_, let reason): return .truncated(path: name, reason: r(reason))
        case .malformed(_, let reason): return .malformed(path: name, reason: r(reason))
        case .malformedPhoto(_, let format, let reason): return .malformedPhoto(path: name, format: format, reason: r(reason))
        case .tooLarge(_, let width, let height, let limit):
            return .tooLarge(path: name, width: width, height: height, limit: limit)
        case .unsupported(_, let reason): return .unsupported(path: name, reason: r(reason))
        case .outOfMemory(_, let width, let height): return .outOfMemory(path: name, width: width, height: height)
        case .nonFiniteEmbedding: return .nonFiniteEmbedding(path: name)
        case .noFace: return .noFace(path: name)
        case .blankImage: return .blankImage(path: name)
        case .multipleFaces(_, let count): return .multipleFaces(path: name, count: count)
        case .detectionFailed(_, let reason): return .detectionFailed(path: name, reason: r(reason))
        }
    }
}

/// An anonymous file in memory (`memfd_create`), seen by path as `/proc/self/fd/N`, so the
/// decoders that read files read the upload without it ever reaching a disk.
struct MemoryFile {
    let fd: Int32
    var path: String { "/proc/self/fd/\(fd)" }

    struct Failure: Error { let message: String }

    private typealias MemfdCreate = @convention(c) (UnsafePointer<CChar>, UInt32) -> Int32
    private static let memfdCreate: MemfdCreate? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "memfd_create") else { return nil }
        return unsafeBitCast(symbol, to: MemfdCreate.self)
    }()

    init(_ bytes: [UInt8]) throws(Failure) {
        guard let create = Self.memfdCreate else { throw Failure(message: "memfd_create is not available") }
        let fd = create("facetwin-upload", 1)  // MFD_CLOEXEC
        guard fd >= 0 else { throw Failure(message: String(cString: strerror(errno))) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                let message = String(cString: strerror(errno))
                Glibc.close(fd)
                throw Failure(message: message)
            }
            written += n
        }
        self.fd = fd
    }

    func close() { _ = Glibc.close(fd) }
}
