import CImageCodecs
import CNetpbm

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The image file formats FaceTwin reads, told apart by their first bytes.
public enum ImageFormat: String, Sendable, CustomStringConvertible, CaseIterable {
    /// PBM, PGM, PPM (plain or raw) and PAM: `P1` … `P7`.
    case netpbm = "Netpbm"
    /// PNG: the 8-byte signature `89 50 4E 47 0D 0A 1A 0A`.
    case png = "PNG"
    /// JPEG (JFIF, Exif): `FF D8 FF`.
    case jpeg = "JPEG"
    /// WebP (lossy, lossless or extended): `RIFF`, a 4-byte size, `WEBP`.
    case webp = "WebP"

    public var description: String { rawValue }

    /// File name extensions (lower case) that an identity folder treats as images.
    /// Only which files are *listed* depends on them; how a file is decoded depends
    /// on its first bytes (a PNG named `.jpg` decodes as PNG).
    public static let fileExtensions: Set<String> = ["pgm", "ppm", "pnm", "pam", "png", "jpg", "jpeg", "webp"]

    /// The format whose signature `bytes` (the start of a file) begins with, or `nil`.
    /// A file starting with `P` is taken as Netpbm so that a bad `P9` is reported by the
    /// Netpbm reader ("bad magic number").
    public static func detect<C: Collection>(_ bytes: C) -> ImageFormat? where C.Element == UInt8 {
        let b = Array(bytes.prefix(12))
        if b.count >= 3, b[0] == 0xFF, b[1] == 0xD8, b[2] == 0xFF { return .jpeg }
        if b.count >= 4, b[0] == 0x89, b[1] == 0x50, b[2] == 0x4E, b[3] == 0x47 { return .png }
        if b.count >= 12, b[0..<4].elementsEqual("RIFF".utf8), b[8..<12].elementsEqual("WEBP".utf8) { return .webp }
        if b.first == UInt8(ascii: "P") { return .netpbm }
        return nil
    }
}

/// A decoded image as the file holds it: gray or RGB, after any EXIF rotation.
public struct DecodedImage: Equatable, Sendable {
    /// Gray sources (PGM, gray PNG/JPEG) stay gray; colour ones keep their colour.
    public enum Pixels: Equatable, Sendable {
        case gray(GrayImage)
        case rgb(RGBImage)
    }

    /// What the file's first bytes said it is.
    public let format: ImageFormat
    /// The pixels, upright.
    public let pixels: Pixels
    /// The EXIF orientation (1…8) that was applied to make it upright; 1 when none.
    public let orientation: Int

    public var width: Int {
        switch pixels {
        case .gray(let g): return g.width;
        case .rgb(let c): return c.width
        }
    }

    public var height: Int {
        switch pixels {
        case .gray(let g): return g.height;
        case .rgb(let c): return c.height
        }
    }

    /// Whether the file holds colour (3 channels).
    public var isColor: Bool {
        if case .rgb = pixels { return true }
        return false
    }

    /// As Pillow's `convert("L")`: gray stays as it is; RGB becomes
    /// `(R·19595 + G·38470 + B·7471 + 0x8000) >> 16`.
    public var gray: GrayImage {
        switch pixels {
        case .gray(let g): return g;
        case .rgb(let c): return c.gray
        }
    }

    /// As Pillow's `convert("RGB")`: gray is copied into R, G and B.
    public var rgb: RGBImage {
        switch pixels {
        case .gray(let g): return RGBImage(g);
        case .rgb(let c): return c
        }
    }
}

/// Reads image files: Netpbm (PBM, PGM, PPM in plain or raw form, and PAM)
/// through libnetpbm, PNG through libpng, JPEG through libjpeg-turbo and WebP
/// through libwebp. The format is chosen from the file's first bytes, not its name
/// (a `.jpg` that holds a WebP decodes as WebP).
///
/// Every library call sits behind `setjmp` error recovery in a C shim
/// (`CNetpbm`, `CImageCodecs`): a bad file becomes a thrown ``ImageError`` with
/// a one-line message, never an `exit()` or a crash. The header's
/// `width × height` is checked against `maxPixels` before any pixel memory is
/// allocated, whatever the format. Files are opened with `InputFile`, so a named
/// pipe, socket or device is refused rather than waited on.
///
/// Conversion rules, chosen to match what `PIL.Image.open(path)` then
/// `ImageOps.exif_transpose` and `convert("L")` give the PyTorch reference:
/// - colour becomes gray as `L = (R·19595 + G·38470 + B·7471 + 0x8000) >> 16`;
/// - alpha (PAM, PNG) and PNG transparency are dropped;
/// - samples wider than 8 bits are scaled to 0…255 as `round(v·255/maxval)` (Netpbm
///   maxval ≠ 255, 16-bit PNG) — here Pillow differs (it keeps the high byte of 16-bit
///   RGB PNG and clips 16-bit gray), and rounding is the better choice;
/// - PNG bit depths 1, 2, 4 are scaled to 0…255 (as Pillow's "L;2", "L;4");
/// - JPEG: libjpeg's ISLOW IDCT and fancy upsampling (Pillow's settings); CMYK is
///   read as Adobe (inverted) CMYK and converted with Pillow's `cmyk2rgb`; the EXIF
///   orientation tag rotates/flips the image upright (`ImageOps.exif_transpose`), as
///   does the orientation in a PNG `eXIf` chunk or a WebP `EXIF` chunk;
/// - WebP: libwebp's RGB output with its default (fancy) upsampling, as Pillow decodes it.
public enum ImageDecoder {
    /// Default cap on `width × height`: 64 megapixels, far above any face
    /// photo, low enough that a hostile header cannot make us allocate gigabytes.
    public static let defaultMaxPixels = 64 * 1024 * 1024

    /// Decodes the image at `path` to 8-bit gray (colour through Pillow's `convert("L")`).
    ///
    /// - Parameter maxPixels: images whose header declares more than this many
    ///   pixels are rejected with ``ImageError/tooLarge(path:width:height:limit:)``
    ///   before any pixel memory is allocated.
    /// - Throws: ``ImageError`` naming `path`; never prints, never exits.
    public static func decode(path: String, maxPixels: Int = defaultMaxPixels) throws(ImageError) -> GrayImage {
        try decodeImage(path: path, maxPixels: maxPixels, keepColor: false).gray
    }

    /// Decodes the image at `path` to 8-bit RGB (gray files give R = G = B).
    public static func decodeRGB(path: String, maxPixels: Int = defaultMaxPixels) throws(ImageError) -> RGBImage {
        try decodeImage(path: path, maxPixels: maxPixels).rgb
    }

    /// Decodes the image at `path` as it is stored: gray or RGB, upright, with its format.
    ///
    /// - Parameter keepColor: `false` lets a colour Netpbm file be reduced to gray while it
    ///   is read (what ``decode(path:maxPixels:)`` wants); PNG, JPEG and WebP always keep colour.
    public static func decodeImage(
        path: String, maxPixels: Int = defaultMaxPixels,
        keepColor: Bool = true
    ) throws(ImageError) -> DecodedImage {
        // Opened through InputFile: a named pipe, socket or device is refused, not waited on.
        let fd: Int32
        do { fd = try InputFile.open(path) } catch { throw .cannotOpen(path: path, reason: error.message) }
        var head = [UInt8](repeating: 0, count: 12)
        var got = 0
        while true {
            got = head.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, $0.count, 0) }
            if got < 0 && errno == EINTR { continue }
            break
        }
        if got < 0 {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .cannotOpen(path: path, reason: reason)
        }
        if got == 0 {
            close(fd)
            throw .empty(path: path)
        }
        guard let format = ImageFormat.detect(head[0..<got]) else {
            close(fd)
            throw .unrecognized(path: path, reason: "bad magic number \(describe(head[0..<min(got, 4)]))")
        }
        let limit = Int64(max(0, maxPixels))
        switch format {
        case .netpbm: return try decodeNetpbm(fd: fd, path: path, maxPixels: maxPixels, keepColor: keepColor)
        case .png:
            return try decodeCodec(format, fd: fd, path: path, maxPixels: maxPixels) {
                facetwin_decode_png_fd(fd, limit, $0, $1, $2)
            }
        case .jpeg:
            return try decodeCodec(format, fd: fd, path: path, maxPixels: maxPixels) {
                facetwin_decode_jpeg_fd(fd, limit, $0, $1, $2)
            }
        case .webp:
            return try decodeCodec(format, fd: fd, path: path, maxPixels: maxPixels) {
                facetwin_decode_webp_fd(fd, limit, $0, $1, $2)
            }
        }
    }

    /// The EXIF orientation (1…8) in an APP1 segment's payload (`Exif\0\0` + TIFF), 1 when
    /// absent or malformed; what the JPEG decoder applies. Bounded: never reads past `app1`.
    static func exifOrientation(_ app1: [UInt8]) -> Int {
        Int(app1.withUnsafeBufferPointer { facetwin_exif_orientation($0.baseAddress, $0.count) })
    }

    /// `0x89504E47` for unprintable bytes, `"GIF8"` for printable ones.
    static func describe(_ bytes: ArraySlice<UInt8>) -> String {
        if bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
            return "\"" + String(decoding: bytes, as: UTF8.self) + "\""
        }
        return "0x" + bytes.map { String($0, radix: 16, uppercase: true).leftPadded(2) }.joined()
    }

    private static func decodeNetpbm(
        fd: Int32, path: String, maxPixels: Int,
        keepColor: Bool
    ) throws(ImageError) -> DecodedImage {
        var width: Int32 = 0
        var height: Int32 = 0
        var channels: Int32 = 0
        var raw: UnsafeMutablePointer<UInt8>? = nil
        var message = [CChar](repeating: 0, count: 512)
        let status = message.withUnsafeMutableBufferPointer { buffer in
            facetwin_netpbm_read8_fd(
                fd, Int64(max(0, maxPixels)), keepColor ? 1 : 0, &channels, &width, &height, &raw,
                buffer.baseAddress, buffer.count)
        }
        let reason = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }

        switch status {
        case FACETWIN_NETPBM_OK:
            guard let raw else { throw .outOfMemory(path: path, width: Int(width), height: Int(height)) }
            defer { facetwin_netpbm_free(raw) }
            let count = Int(width) * Int(height) * Int(channels)
            let pixels = [UInt8](UnsafeBufferPointer(start: raw, count: count))
            let image: DecodedImage.Pixels =
                channels == 3
                ? .rgb(RGBImage(width: Int(width), height: Int(height), pixels: pixels))
                : .gray(GrayImage(width: Int(width), height: Int(height), pixels: pixels))
            return DecodedImage(format: .netpbm, pixels: image, orientation: 1)
        case FACETWIN_NETPBM_CANNOT_OPEN: throw .cannotOpen(path: path, reason: reason)
        case FACETWIN_NETPBM_EMPTY: throw .empty(path: path)
        case FACETWIN_NETPBM_BAD_MAGIC: throw .notNetpbm(path: path, reason: reason)
        case FACETWIN_NETPBM_TRUNCATED: throw .truncated(path: path, reason: reason)
        case FACETWIN_NETPBM_TOO_LARGE:
            throw .tooLarge(path: path, width: Int(width), height: Int(height), limit: maxPixels)
        case FACETWIN_NETPBM_UNSUPPORTED: throw .unsupported(path: path, reason: reason)
        case FACETWIN_NETPBM_NO_MEMORY: throw .outOfMemory(path: path, width: Int(width), height: Int(height))
        default: throw .malformed(path: path, reason: reason)
        }
    }

    /// Runs a CImageCodecs decoder (which closes `fd`) and wraps its result.
    private static func decodeCodec(
        _ format: ImageFormat, fd: Int32, path: String, maxPixels: Int,
        _ call: (UnsafeMutablePointer<facetwin_image>, UnsafeMutablePointer<CChar>?, Int) -> facetwin_codec_status
    ) throws(ImageError) -> DecodedImage {
        var image = facetwin_image()
        var message = [CChar](repeating: 0, count: 512)
        let status = message.withUnsafeMutableBufferPointer { call(&image, $0.baseAddress, $0.count) }
        let reason = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        let width = Int(image.width), height = Int(image.height)

        switch status {
        case FACETWIN_CODEC_OK:
            defer { facetwin_image_free(&image) }
            guard let raw = image.pixels, width > 0, height > 0, image.channels == 1 || image.channels == 3 else {
                throw .outOfMemory(path: path, width: width, height: height)
            }
            let pixels = [UInt8](UnsafeBufferPointer(start: raw, count: width * height * Int(image.channels)))
            let decoded: DecodedImage.Pixels =
                image.channels == 3
                ? .rgb(RGBImage(width: width, height: height, pixels: pixels))
                : .gray(GrayImage(width: width, height: height, pixels: pixels))
            return DecodedImage(format: format, pixels: decoded, orientation: Int(image.orientation))
        case FACETWIN_CODEC_CANNOT_OPEN: throw .cannotOpen(path: path, reason: reason)
        case FACETWIN_CODEC_EMPTY: throw .empty(path: path)
        case FACETWIN_CODEC_BAD_MAGIC: throw .unrecognized(path: path, reason: reason)
        case FACETWIN_CODEC_TRUNCATED: throw .truncated(path: path, reason: reason)
        case FACETWIN_CODEC_TOO_LARGE: throw .tooLarge(path: path, width: width, height: height, limit: maxPixels)
        case FACETWIN_CODEC_UNSUPPORTED: throw .unsupported(path: path, reason: reason)
        case FACETWIN_CODEC_NO_MEMORY: throw .outOfMemory(path: path, width: width, height: height)
        default: throw .malformedPhoto(path: path, format: format, reason: reason)
        }
    }
}

extension String {
    fileprivate func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
