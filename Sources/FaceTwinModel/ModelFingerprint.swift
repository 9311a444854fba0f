import Foundation

extension FaceModel {
    /// A hex SHA-256 that identifies what this model computes: its network configuration and
    /// every weight and BatchNorm statistic. Two models with the same fingerprint give the
    /// same embeddings, so a gallery records the fingerprint of the model that made its
    /// templates and refuses any other (distances between embeddings of different models
    /// mean nothing).
    ///
    /// Hashed, in order: a version tag, the network's description
    /// (`EmbeddingNetwork/fingerprintDescription`: the twin's configuration, or the ResNet's
    /// architecture, as JSON with sorted keys), then for each tensor of
    /// `EmbeddingNetwork/stateTensors` its name, shape and raw little-endian
    /// Float32 bytes, each part preceded by its length so no two models can run together
    /// into the same byte stream. Metadata (threshold, how it was chosen, training facts) is
    /// deliberately left out: calibrating a model's threshold keeps its galleries valid.
    /// `num_batches_tracked` is left out too: it does not change an embedding.
    ///
    /// It is always computed from the weights in memory: the copy `save` writes into the
    /// file's metadata is only a hint (``recordedFingerprint``), because a gallery that trusted
    /// it would accept a file whose weights were changed with the metadata left alone. `load`
    /// computes it on a second thread while it copies the weights in, each stretch hashed from
    /// the network's memory as soon as it is there (`loadWeights(into:from:)`), so a model
    /// loaded from a file has it at no cost beyond the load; a model built or changed in
    /// memory computes it on first use, then caches it.
    ///
    /// A model that records how its probes are prepared (``ModelInfo/preparation``: detection
    /// mode, crop size, aligned size and eye positions, multi-face policy) has that hashed in
    /// too, after the weights' fingerprint: the same weights preparing probes otherwise give
    /// other embeddings of the same photo, so a gallery refuses them. A model without that
    /// record keeps ``weightsFingerprint`` as its fingerprint.
    public var fingerprint: String {
        let weights = weightsFingerprint
        guard var preparation = info.preparation else { return weights }
        preparation.failedToAcquire = nil  // a training fact: probes are prepared the same either way
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = (try? encoder.encode(preparation)) ?? Data("\(preparation)".utf8)
        var hash = SHA256()
        for part in [Array("facetwin.fingerprint.preparation.v1".utf8), Array(weights.utf8), Array(json)] {
            hash.update(FingerprintHasher.littleEndianBytes(UInt64(part.count)))
            hash.update(part)
        }
        return hash.hexDigest()
    }

    /// The fingerprint of the configuration and weights alone: what galleries made before the
    /// preparation was hashed in recorded, so ``Gallery`` still accepts it from them.
    public var weightsFingerprint: String {
        if let cachedFingerprint { return cachedFingerprint }
        let value = computeFingerprint()
        cachedFingerprint = value
        return value
    }

    /// The fingerprint computed from the weights now in memory.
    public func computeFingerprint() -> String {
        var hash = FingerprintHasher(description: network.fingerprintDescription)
        for (name, tensor) in network.stateTensors {
            hash.beginTensor(name: name, shape: tensor.shape, count: tensor.count)
            let values = UnsafeBufferPointer(start: tensor.pointer, count: tensor.count)
            #if _endian(little)
            hash.update(UnsafeRawBufferPointer(values))
            #else
            var bytes: [UInt8] = []
            bytes.reserveCapacity(values.count * 4)
            for v in values { bytes += FingerprintHasher.littleEndianBytes(v.bitPattern) }
            hash.update(UnsafeRawBufferPointer(bytes))
            #endif
        }
        return hash.hexDigest()
    }
}

/// The byte stream of ``FaceModel/fingerprint``, fed in order: the network's description when
/// made, then for each state tensor ``beginTensor(name:shape:count:)`` and its Float32 bytes.
struct FingerprintHasher {
    private var hash = SHA256()

    init(description: [UInt8]) {
        field(Array("facetwin.fingerprint.v1".utf8))
        field(description)
    }

    private mutating func field(_ bytes: [UInt8]) {
        hash.update(Self.littleEndianBytes(UInt64(bytes.count)))
        hash.update(bytes)
    }

    /// A tensor's name, shape and byte count; its `count × 4` bytes follow through `update`.
    mutating func beginTensor(name: String, shape: [Int], count: Int) {
        field(Array(name.utf8))
        hash.update(Self.littleEndianBytes(UInt64(shape.count)))
        for d in shape { hash.update(Self.littleEndianBytes(UInt64(d))) }
        hash.update(Self.littleEndianBytes(UInt64(count * 4)))
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) { hash.update(bytes) }

    func hexDigest() -> String { hash.hexDigest() }

    static func littleEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }
}
