import Foundation

/// How a probe's distances to an identity's templates become one score.
public enum MatchScore: String, Sendable, Codable, CaseIterable {
    /// The smallest distance to any template: one good photo is enough (the usual choice,
    /// and the one whose threshold behaves like a pair threshold for a single template).
    case min
    /// The mean distance over templates: steadier with many templates, but one odd photo
    /// pulls it up.
    case mean
}

/// The answer to "is this probe the person it claims to be?".
public struct VerificationResult: Sendable, Equatable, Codable {
    public let probe: String
    public let claim: String
    /// The score: min or mean distance to the claimed identity's templates.
    public let distance: Float
    public let threshold: Float
    /// `distance <= threshold` (`headScore <= threshold` for a sigmoid head).
    public let isMatch: Bool
    public let score: MatchScore
    public let templatesCompared: Int
    /// The claimed identity's stored templates skipped because they hold NaN or infinity.
    public var skippedTemplates: Int = 0
    /// For a model with a sigmoid head: its score of `distance`, in (0, 1), small for a match.
    public var headScore: Float? = nil {
        didSet { matchProbability = headScore.map { 1 - $0 } }
    }
    /// 1 − `headScore`.
    public private(set) var matchProbability: Float? = nil
}

/// One ranked identity of an identification.
public struct IdentificationCandidate: Sendable, Equatable, Codable {
    public let name: String
    /// The score used for ranking (min or mean distance).
    public let distance: Float
    public let minDistance: Float
    public let meanDistance: Float
    public let templateCount: Int
    /// `distance <= threshold` (`headScore <= threshold` for a sigmoid head).
    public let isMatch: Bool
    /// For a model with a sigmoid head: its score of `distance`; the ranking follows it.
    public var headScore: Float? = nil {
        didSet { matchProbability = headScore.map { 1 - $0 } }
    }
    /// 1 − `headScore`.
    public private(set) var matchProbability: Float? = nil
}

/// The answer to "who is this?", open set: the best candidate is only an answer when it is
/// within the threshold.
public struct IdentificationResult: Sendable, Equatable, Codable {
    public let probe: String
    public let threshold: Float
    public let score: MatchScore
    /// The best candidates, nearest first (ties in natural name order).
    public let candidates: [IdentificationCandidate]
    /// The identity found, or nil for "unknown" (even the nearest is above the threshold).
    public let identity: String?
    /// Identities in the gallery compared (those with at least one usable template).
    public let identitiesCompared: Int
    /// Stored templates skipped because they hold NaN or infinity, and whose they are.
    public var skippedTemplates: Int = 0
    public var identitiesWithSkippedTemplates: [String] = []
}

/// Verifies claimed identities and identifies probes against a gallery, with the model
/// bound to the gallery and a threshold (given, or the model's stored one).
///
/// Note on thresholds: a model's threshold is chosen on pairs of single photos. With
/// `.min` over several templates a probe gets several chances, so an impostor is accepted a
/// little more often than the pair FAR says; `.mean` is stricter for impostors but rejects
/// genuine probes with one bad template more often.
///
/// Identification goes through a ``TemplateIndex`` of the gallery, read on first use and read
/// again when the gallery's ``GalleryStore/generation()`` changes (an enroll, remove or rename
/// by any process). A Verifier may be shared between threads.
public final class Verifier: @unchecked Sendable {
    // @unchecked Sendable: `cachedIndex`, the one mutable field, is read and written under
    // `indexLock`; `gallery` and `model` are not `Sendable` types, but both stores and the model
    // serialize or only read what a verify or identify touches.
    public let gallery: any GalleryStore
    public let threshold: Float
    let model: FaceModel
    private let indexLock = NSLock()
    private var cachedIndex: TemplateIndex?

    /// - Parameters:
    ///   - gallery: a gallery opened with its model.
    ///   - threshold: overrides the model's stored threshold.
    /// - Throws: ``GalleryError/noModel(path:)`` for a gallery opened without a model;
    ///   ``GalleryError/noThreshold(modelPath:)`` when neither a threshold is given nor the
    ///   model has one; `GalleryError/invalidThreshold(_:)` for a negative or non-finite one.
    public init(gallery: any GalleryStore, threshold: Float? = nil) throws(GalleryError) {
        guard let model = gallery.model else { throw .noModel(path: gallery.path) }
        guard let t = threshold ?? model.info.threshold else {
            throw .noThreshold(modelPath: gallery.modelPath ?? gallery.info.modelPath)
        }
        if VerificationThreshold.problem(t) != nil {
            throw .invalidThreshold(t, modelPath: threshold == nil ? gallery.modelPath ?? gallery.info.modelPath : nil)
        }
        self.gallery = gallery
        self.model = model
        self.threshold = t
    }

    /// The probe's embedding under the gallery's model.
    public func embed(probe path: String) throws(GalleryError) -> [Float] {
        let embedding: [Float]
        do {
            embedding = try model.embed(imagesAt: [path])[0]
        } catch {
            throw .badProbe(error)
        }
        guard embedding.allSatisfy(\.isFinite) else { throw .badProbe(.nonFiniteEmbedding(path: path)) }
        return embedding
    }

    /// Compares a probe image with the templates of the claimed identity.
    /// - Throws: ``GalleryError/unknownIdentity(path:name:)`` for a claim not in the gallery,
    ///   ``GalleryError/badProbe(_:)`` for an unreadable probe.
    public func verify(probe path: String, claim: String, score: MatchScore = .min) throws(GalleryError) -> VerificationResult {
        // Check the claim first: a typo in the name is reported before any image work.
        guard try gallery.contains(identity: claim) else {
            throw .unknownIdentity(path: gallery.path, name: claim)
        }
        return try verify(embedding: try embed(probe: path), probe: path, claim: claim, score: score)
    }

    /// Compares a probe embedding with the templates of the claimed identity.
    public func verify(embedding: [Float], probe: String, claim: String, score: MatchScore = .min) throws(GalleryError)
        -> VerificationResult
    {
        let d = try gallery.distances(probe: embedding, to: claim)
        guard d.templateCount > 0 else { throw .noUsableTemplates(path: gallery.path, name: claim) }
        let distance = score == .min ? d.minDistance : d.meanDistance
        let headScore = model.network.head?.scores([distance])[0]
        return VerificationResult(
            probe: probe, claim: claim, distance: distance, threshold: threshold,
            isMatch: (headScore ?? distance) <= threshold, score: score, templatesCompared: d.templateCount,
            skippedTemplates: d.skippedTemplates, headScore: headScore, matchProbability: headScore.map { 1 - $0 })
    }

    /// Ranks the gallery's identities by distance to a probe image.
    /// - Parameter top: how many candidates to return (at least 1).
    /// - Throws: ``GalleryError/empty(path:)`` when the gallery has no identities.
    public func identify(probe path: String, top: Int = 5, score: MatchScore = .min) throws(GalleryError) -> IdentificationResult
    {
        try identify(embedding: try embed(probe: path), probe: path, top: top, score: score)
    }

    /// Ranks the gallery's identities by distance to a probe embedding.
    public func identify(embedding: [Float], probe: String, top: Int = 5, score: MatchScore = .min) throws(GalleryError)
        -> IdentificationResult
    {
        let found = try index().search(probe: embedding, top: top, score: score)
        let all = found.ranked
        let distances = all.map { score == .min ? $0.minDistance : $0.meanDistance }
        let headScores = model.network.head?.scores(distances)
        let ranked = all.enumerated().map { k, d -> IdentificationCandidate in
            let s = headScores?[k] ?? distances[k]
            return IdentificationCandidate(
                name: d.name, distance: distances[k], minDistance: d.minDistance,
                meanDistance: d.meanDistance, templateCount: d.templateCount,
                isMatch: s <= threshold, headScore: headScores?[k], matchProbability: headScores.map { 1 - $0[k] })
        }
        let best = ranked[0]
        return IdentificationResult(
            probe: probe, threshold: threshold, score: score,
            candidates: ranked, identity: best.isMatch ? best.name : nil, identitiesCompared: found.identitiesCompared,
            skippedTemplates: found.skippedTemplates, identitiesWithSkippedTemplates: found.identitiesWithSkippedTemplates)
    }

    /// The gallery's template index: the one read before while the gallery's generation is
    /// unchanged, else read again.
    public func index() throws(GalleryError) -> TemplateIndex {
        let now = try gallery.generation()
        indexLock.lock()
        defer { indexLock.unlock() }
        if let cachedIndex, cachedIndex.generation == now { return cachedIndex }
        let fresh = try gallery.loadIndex()
        cachedIndex = fresh
        return fresh
    }
}
