import CNetpbm

/// Reads Netpbm images (PBM, PGM, PPM in plain or raw form, and PAM) into
/// ``GrayImage``.
///
/// Decoding goes through libnetpbm, the reference implementation of the
/// format family, via the `CNetpbm` shim: the shim installs a `setjmp` buffer
/// around every libnetpbm call (otherwise libnetpbm's `pm_error` would `exit()`
/// the process on a bad file) and serializes calls with one lock because
/// libnetpbm's error state is global. Conversion rules, chosen to match what
/// `PIL.Image.open(path).convert("L")` gives the PyTorch reference:
/// - maxval ≠ 255 (e.g. 16-bit) is scaled to 0…255 as `round(v·255/maxval)`;
/// - RGB becomes `L = (R·19595 + G·38470 + B·7471 + 0x8000) >> 16`;
/// - PAM alpha is dropped.
public enum ImageDecoder {
    /// Default cap on `width × height`: 64 megapixels, far above any face
    /// photo, low enough that a hostile header cannot make us allocate gigabytes.
    public static let defaultMaxPixels = 64 * 1024 * 1024

    /// Decodes the image at `path` to 8-bit gray.
    ///
    /// - Parameter maxPixels: images whose header declares more than this many
    ///   pixels are rejected with ``ImageError/tooLarge(path:width:height:limit:)``
    ///   before any pixel memory is allocated.
    /// - Throws: ``ImageError`` naming `path`; never prints, never exits.
    public static func decode(path: String, maxPixels: Int = defaultMaxPixels) throws(ImageError) -> GrayImage {
        var width: Int32 = 0
        var height: Int32 = 0
        var raw: UnsafeMutablePointer<UInt8>? = nil
        var message = [CChar](repeating: 0, count: 512)
        let status = message.withUnsafeMutableBufferPointer { buffer in
            facetwin_netpbm_read_gray8(path, Int64(max(0, maxPixels)), &width, &height, &raw,
                                buffer.baseAddress, buffer.count)
        }
        let reason = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }

        switch status {
        case FACETWIN_NETPBM_OK:
            guard let raw else { throw .outOfMemory(path: path, width: Int(width), height: Int(height)) }
            defer { facetwin_netpbm_free(raw) }
            let count = Int(width) * Int(height)
            let pixels = [UInt8](UnsafeBufferPointer(start: raw, count: count))
            return GrayImage(width: Int(width), height: Int(height), pixels: pixels)
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
}
