import Foundation

/// A template's embedding as stored in a gallery row: little-endian Float32 values. Kept apart
/// from the database code so the fuzzer (scripts/fuzz.sh) can decode stored bytes on its own.
package enum TemplateCodec {
    /// Float32 values → little-endian bytes.
    package static func encode(_ values: [Float]) -> Data {
        var data = Data(capacity: values.count * 4)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        return data
    }

    /// Little-endian Float32 bytes → values; the blob must hold exactly `size` of them.
    package static func decode(_ data: Data, size: Int, path: String) throws(GalleryError) -> [Float] {
        guard size > 0, data.count % 4 == 0, data.count / 4 == size else {
            throw .notAGallery(path: path, reason: "a template has \(data.count) bytes, not \(size) Float32 values")
        }
        return data.withUnsafeBytes { raw in
            (0..<size).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }
}
