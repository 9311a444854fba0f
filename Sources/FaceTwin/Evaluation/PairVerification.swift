/// The verdicts on a list of image pairs at one threshold: what `facetwin verify --pairs`
/// reports. A pair is a match when its distance is at most the threshold; when the list is
/// labelled, the verdicts are also counted against the labels (accuracy, FMR, FNMR).
public struct PairVerification: Sendable, Equatable {
    /// One pair's distance and verdict.
    public struct Verdict: Sendable, Equatable {
        public let pair: PairListEntry
        public let distance: Float
        /// `distance <= threshold`.
        public let isMatch: Bool
    }

    public let threshold: Float
    public let verdicts: [Verdict]
    /// Whether every pair has a `same` label (then the error counts below are set).
    public let hasLabels: Bool
    /// Pairs judged a match.
    public let matchCount: Int
    /// Labelled pairs of the same person.
    public let genuineCount: Int
    /// Labelled pairs of two different people.
    public let impostorCount: Int
    /// Verdicts that agree with the label.
    public let correctCount: Int
    /// Impostor pairs judged a match.
    public let falseAcceptCount: Int
    /// Genuine pairs judged no match.
    public let falseRejectCount: Int

    public var count: Int { verdicts.count }

    /// Fraction of verdicts that agree with the labels; `nil` without labels.
    public var accuracy: Double? {
        hasLabels && count > 0 ? Double(correctCount) / Double(count) : nil
    }

    /// false match rate: impostor pairs judged a match, over impostor pairs; `nil` without
    /// labels or without impostor pairs.
    public var fmr: Double? {
        hasLabels && impostorCount > 0 ? Double(falseAcceptCount) / Double(impostorCount) : nil
    }

    /// false non-match rate: genuine pairs judged no match, over genuine pairs; `nil` without
    /// labels or without genuine pairs.
    public var fnmr: Double? {
        hasLabels && genuineCount > 0 ? Double(falseRejectCount) / Double(genuineCount) : nil
    }

    /// Judges already scored pairs: `distances[k]` is the distance of `pairs[k]`.
    public init(pairs: [PairListEntry], distances: [Float], threshold: Float) {
        precondition(pairs.count == distances.count, "one distance per pair")
        self.threshold = threshold
        verdicts = zip(pairs, distances).map { Verdict(pair: $0, distance: $1, isMatch: $1 <= threshold) }
        hasLabels = !pairs.isEmpty && pairs.allSatisfy { $0.same != nil }
        var matches = 0, genuine = 0, impostors = 0, correct = 0, falseAccepts = 0, falseRejects = 0
        for v in verdicts {
            if v.isMatch { matches += 1 }
            guard let same = v.pair.same else { continue }
            if same { genuine += 1 } else { impostors += 1 }
            if v.isMatch == same { correct += 1 } else if v.isMatch { falseAccepts += 1 } else { falseRejects += 1 }
        }
        matchCount = matches
        genuineCount = genuine
        impostorCount = impostors
        correctCount = correct
        falseAcceptCount = falseAccepts
        falseRejectCount = falseRejects
    }

    /// Scores every pair of `pairList` with `model` (each distinct image embedded once) and
    /// judges it at `threshold`.
    public init(model: FaceModel, pairList: PairList, threshold: Float) throws(EvaluationError) {
        let distances = try Evaluation.score(model: model, pairList: pairList).distances
        self.init(pairs: pairList.pairs, distances: distances, threshold: threshold)
    }
}
