import Foundation

extension FaceModel {
    /// A hex SHA-256 that identifies what this model computes: its network configuration and
    /// every weight and BatchNorm statistic. Two models with the same fingerprint give the
    /// same embeddings, so a gallery records the fingerprint of the model that made its
    /// templates and refuses any other (distances between embeddings of different models
    /// mean nothing).
    ///
    /// Hashed, in order: a version tag, the configuration as JSON with sorted keys, then for
    /// each tensor of ``SiameseNetwork/stateTensors`` its name, shape and raw little-endian
    /// Float32 bytes, each part preceded by its length so no two models can run together
    /// into the same byte stream. Metadata (threshold, how it was chosen, training facts) is
    /// deliberately left out: calibrating a model's threshold keeps its galleries valid.
    /// `num_batches_tracked` is left out too: it does not change an embedding.
    ///
    /// It is always computed from the weights in memory (once per loaded model, then cached):
    /// the copy `save` writes into the file's metadata is only a hint (``recordedFingerprint``),
    /// because a gallery that trusted it would accept a file whose weights were changed with
    /// the metadata left alone. With the SHA-NI instructions hashing the 160 MB reference model
    /// takes about 0.1 s (`SHA256`).
    public var fingerprint: String {
        if let cachedFingerprint { return cachedFingerprint }
        let value = computeFingerprint()
        cachedFingerprint = value
        return value
    }

    /// The fingerprint computed from the weights now in memory.
    public func computeFingerprint() -> String {
        var hash = SHA256()
        func field(_ bytes: [UInt8]) {
            hash.update(Self.littleEndianBytes(UInt64(bytes.count)))
            hash.update(bytes)
        }
        field(Array("facetwin.fingerprint.v1".utf8))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding a struct of integers, arrays and a Bool cannot fail.
        let json = (try? encoder.encode(config)) ?? Data("\(config)".utf8)
        field(Array(json))
        for (name, tensor) in network.stateTensors {
            field(Array(name.utf8))
            hash.update(Self.littleEndianBytes(UInt64(tensor.shape.count)))
            for d in tensor.shape { hash.update(Self.littleEndianBytes(UInt64(d))) }
            hash.update(Self.littleEndianBytes(UInt64(tensor.count * 4)))
            let values = UnsafeBufferPointer(start: tensor.pointer, count: tensor.count)
            if 1.littleEndian == 1 {
                hash.update(UnsafeRawBufferPointer(values))
            } else {
                var bytes: [UInt8] = []
                bytes.reserveCapacity(values.count * 4)
                for v in values { bytes += Self.littleEndianBytes(v.bitPattern) }
                hash.update(bytes)
            }
        }
        return hash.hexDigest()
    }

    private static func littleEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }
}
