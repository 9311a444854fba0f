import Foundation

/// Encodes a ``GrayImage`` as binary PGM (P5, maxval 255), the format of ORL's crops.
public enum PGMEncoder {
    public static func encode(_ image: GrayImage) -> Data {
        var data = Data("P5\n\(image.width) \(image.height)\n255\n".utf8)
        data.append(contentsOf: image.pixels)
        return data
    }
}
