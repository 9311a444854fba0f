/// Why verification metrics could not be computed. `description` is one line.
public enum MetricsError: Error, CustomStringConvertible, Equatable, Sendable {
    /// `distances` and `genuine` differ in length.
    case lengthMismatch(distances: Int, labels: Int)
    /// No pairs at all.
    case noPairs
    /// No pair of the same identity: TAR (and so EER, AUC) is undefined.
    case noGenuinePairs
    /// No pair of different identities: FMR (and so EER, AUC) is undefined.
    case noImpostorPairs
    /// A distance that is NaN or infinite (a diverged model gives those).
    case nonFiniteDistance(index: Int, value: Float)
    /// An embedding dimension below 1.
    case invalidDimension(Int)
    /// The flat embedding array does not hold `labels × dimension` values.
    case embeddingCountMismatch(values: Int, dimension: Int, labels: Int)

    public var description: String {
        switch self {
        case let .lengthMismatch(distances, labels):
            return "verification metrics: \(distances) distances but \(labels) genuine/impostor labels"
        case .noPairs:
            return "verification metrics: no pairs to evaluate"
        case .noGenuinePairs:
            return "verification metrics: no genuine pairs (every pair is of two different identities)"
        case .noImpostorPairs:
            return "verification metrics: no impostor pairs (every pair is of the same identity)"
        case let .nonFiniteDistance(index, value):
            return "verification metrics: distance \(index) is \(value) (the embeddings hold NaN or infinity?)"
        case let .invalidDimension(dimension):
            return "verification pairs: embedding dimension \(dimension) is not positive"
        case let .embeddingCountMismatch(values, dimension, labels):
            return "verification pairs: \(values) embedding values are not \(labels) labels × dimension \(dimension)"
        }
    }
}
