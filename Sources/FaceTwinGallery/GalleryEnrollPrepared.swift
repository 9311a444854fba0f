import Foundation

/// A photo already decoded, checked and embedded by the gallery's model somewhere else (the
/// uploads of `facetwin serve`, which never touch the disk): what it is called, the SHA-256 of
/// its bytes and its embedding.
public struct PreparedPhoto: Sendable, Equatable {
    public let name: String
    public let sha256: String
    public let embedding: [Float]

    public init(name: String, sha256: String, embedding: [Float]) {
        self.name = name
        self.sha256 = sha256
        self.embedding = embedding
    }
}

extension Gallery {
    /// An enroll of one person from photos embedded elsewhere, not yet written (``enroll(_:)``
    /// writes it in one transaction). A photo given twice (same SHA-256) is a duplicate;
    /// `skipped` are photos that failed before (failures to enroll), reported with the rest.
    /// - Throws: ``GalleryError/invalidName(name:reason:)``; ``GalleryError/nothingToEnroll(path:reason:)``
    ///   when no photo is given; ``GalleryError/badPhoto(gallery:identity:error:)`` for an
    ///   embedding that holds NaN or infinity.
    public static func plan(name: String, prepared: [PreparedPhoto], skipped: [SkippedPhoto] = [], gallery: String)
        throws(GalleryError) -> EnrollPlan
    {
        try validate(name: name)
        guard !prepared.isEmpty || !skipped.isEmpty else {
            throw .nothingToEnroll(path: gallery, reason: "no photos given for \"\(name)\"")
        }
        let stored = normalized(name)
        var items: [EnrollPlan.Item] = []
        var embeddings: [[Float]] = []
        var duplicates: [SkippedPhoto] = []
        var seen: [String: String] = [:]
        for photo in prepared {
            guard photo.embedding.allSatisfy(\.isFinite) else {
                throw .badPhoto(gallery: gallery, identity: stored, error: .nonFiniteEmbedding(path: photo.name))
            }
            if let first = seen[photo.sha256] {
                duplicates.append(SkippedPhoto(path: photo.name, reason: "same photo as \(first)"))
                continue
            }
            seen[photo.sha256] = photo.name
            items.append(EnrollPlan.Item(batch: 0, path: photo.name, sha: photo.sha256))
            embeddings.append(photo.embedding)
        }
        return EnrollPlan(
            batches: [EnrollBatch(name: stored, photos: prepared.map(\.name), skipped: skipped)], items: items,
            embeddings: embeddings, skipped: [skipped], duplicates: [duplicates], dropped: [])
    }
}
