import Foundation

/// Encodes images as binary Netpbm: grey as PGM (P5, maxval 255, the format of ORL's crops),
/// colour as PPM (P6).
package enum PGMEncoder {
    package static func encode(_ image: GrayImage) -> Data {
        var data = Data("P5\n\(image.width) \(image.height)\n255\n".utf8)
        data.append(contentsOf: image.pixels)
        return data
    }

    /// Encodes an ``RGBImage`` as binary PPM (P6, maxval 255).
    package static func encode(_ image: RGBImage) -> Data {
        var data = Data("P6\n\(image.width) \(image.height)\n255\n".utf8)
        data.append(contentsOf: image.pixels)
        return data
    }
}
