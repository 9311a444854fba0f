import Foundation

/// What a run trains or validates on: identity folders (pairs drawn from the identities) or
/// labelled pairs (each epoch takes every pair once, in a seeded shuffled order).
public enum TrainingData: Sendable {
    case identities(ImageFolder)
    case pairs(PairImages)

    /// The folder or pair list it was read from.
    public var source: String {
        switch self {
        case .identities(let f): return f.root
        case .pairs(let p): return p.source
        }
    }

    var width: Int {
        switch self {
        case .identities(let f): return f.width
        case .pairs(let p): return p.width
        }
    }
    var height: Int {
        switch self {
        case .identities(let f): return f.height
        case .pairs(let p): return p.height
        }
    }
    var channels: Int {
        switch self {
        case .identities(let f): return f.channels
        case .pairs(let p): return p.channels
        }
    }
    var invert: Bool {
        switch self {
        case .identities(let f): return f.invert
        case .pairs(let p): return p.invert
        }
    }
    var standardize: Bool {
        switch self {
        case .identities(let f): return f.standardize
        case .pairs(let p): return p.standardize
        }
    }
    /// The identity folder, for identity data.
    public var folder: ImageFolder? {
        if case .identities(let f) = self { return f }
        return nil
    }
    /// Images in memory (each distinct image once).
    var imageCount: Int {
        switch self {
        case .identities(let f): return f.count
        case .pairs(let p): return p.paths.count
        }
    }
    var pixels: [Float] {
        switch self {
        case .identities(let f): return f.pixels
        case .pairs(let p): return p.pixels
        }
    }
    /// Pairs an epoch trains on: as many as there are images for identity folders (the
    /// reference's epoch), every pair once for a pair list.
    var epochPairs: Int {
        switch self {
        case .identities(let f): return f.count
        case .pairs(let p): return p.count
        }
    }
}

extension TrainingData {
    /// How the images of `training` and `validation` were prepared, as a model trained on them
    /// records it (``ModelInfo/preparation``): faces detected and aligned by a ``FacePreparer``,
    /// or crops taken as given (with their size when they all share one). Nil for pairs.
    static func preparationRecord(training: TrainingData, validation: TrainingData?) -> FacePreparationRecord? {
        guard case .identities(let folder) = training else { return nil }
        var folders = [folder]
        if case .identities(let v)? = validation { folders.append(v) }
        if let preparer = folder.preparer as? FacePreparer {
            return FacePreparationRecord(
                detect: .always, aligner: preparer.aligner, faces: preparer.policy,
                failedToAcquire: folders.reduce(0) { $0 + $1.failedToAcquire.count })
        }
        let sizes = Set(folders.map(\.sourceSize))
        let size = sizes.count == 1 ? sizes.first! : nil
        return FacePreparationRecord(
            detect: .never, cropSize: size, aligner: FaceAligner(width: size?.width ?? 92, height: size?.height ?? 112))
    }
}
