/// The verdicts on a list of image pairs at one threshold: what `facetwin verify --pairs`
/// reports. A pair is a match when its distance is at most the threshold; when the list is
/// labelled, the verdicts are also counted against the labels (accuracy, FMR, FNMR).
public struct PairVerification: Sendable, Equatable {
    /// One pair's distance and verdict.
    public struct Verdict: Sendable, Equatable {
        public let pair: PairListEntry
        public let distance: Float
        /// `distance <= threshold` (`headScore <= threshold` for a sigmoid head).
        public let isMatch: Bool
        /// For a model with a sigmoid head: its score of `distance`, in (0, 1), small for a match.
        public var headScore: Float? = nil
        /// 1 − `headScore`.
        public var matchProbability: Float? { headScore.map { 1 - $0 } }
    }

    /// A pair that was not scored: one of its images is a failure to acquire.
    public struct NotScored: Sendable, Equatable {
        public let pair: PairListEntry
        /// Why (the first of its two images that failed).
        public let failure: ImageError
    }

    public let threshold: Float
    /// The scored pairs, in list order.
    public let verdicts: [Verdict]
    /// Pairs with an image that could not be decoded or held no usable face, in list order
    /// (only when unusable images were counted; empty otherwise).
    public private(set) var notScored: [NotScored] = []
    /// The failures to acquire: one error per failed image, in the order first listed.
    public private(set) var failuresToAcquire: [ImageError] = []
    /// Distinct images the pairs name (those that failed included).
    public private(set) var attemptedImages = 0
    /// Whether every pair has a `same` label (then the error counts below are set).
    public private(set) var hasLabels: Bool
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

    /// Whether the verdicts are on a sigmoid head's scores.
    public let hasHeadScores: Bool

    /// Judges already scored pairs: `distances[k]` is the distance of `pairs[k]`, and with a
    /// sigmoid head `headScores[k]` its score, which the threshold then applies to.
    public init(pairs: [PairListEntry], distances: [Float], headScores: [Float]? = nil, threshold: Float) {
        precondition(pairs.count == distances.count, "one distance per pair")
        precondition(headScores.map { $0.count == distances.count } ?? true, "one score per pair")
        self.threshold = threshold
        verdicts = pairs.indices.map { k in
            let s = headScores?[k]
            return Verdict(pair: pairs[k], distance: distances[k], isMatch: (s ?? distances[k]) <= threshold, headScore: s)
        }
        hasLabels = !pairs.isEmpty && pairs.allSatisfy { $0.same != nil }
        hasHeadScores = headScores != nil
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
    /// judges it at `threshold`. With `countUnusableImages`, an image that cannot be decoded or
    /// holds no usable face (``ImageError/isUnusableImage``) is a failure to acquire: its pairs
    /// go to ``notScored`` and the rest are judged; without, it stops with its error.
    public init(model: FaceModel, pairList: PairList, threshold: Float, countUnusableImages: Bool = false)
        throws(EvaluationError)
    {
        let scored = try Evaluation.score(
            model: model, pairList: pairList, failuresToAcquire: countUnusableImages, unusableImages: countUnusableImages)
        var pairs: [PairListEntry] = [], distances: [Float] = [], notScored: [NotScored] = []
        for (k, pair) in pairList.pairs.enumerated() {
            if let failure = scored.failures[scored.first[k]] ?? scored.failures[scored.second[k]] {
                notScored.append(NotScored(pair: pair, failure: failure))
            } else {
                pairs.append(pair)
                distances.append(scored.distances[k])
            }
        }
        let scores = model.network.head?.scores(distances)
        self.init(pairs: pairs, distances: distances, headScores: scores, threshold: threshold)
        self.notScored = notScored
        // Whether the list is labelled, whichever pairs could be scored.
        hasLabels = pairList.hasLabels && !pairList.pairs.isEmpty
        failuresToAcquire = scored.failures.sorted { $0.key < $1.key }.map(\.value)
        attemptedImages = scored.imagePaths.count
    }

    /// The failure-to-acquire rate: failed images over the distinct images listed.
    public var failureToAcquireRate: Double {
        attemptedImages == 0 ? 0 : Double(failuresToAcquire.count) / Double(attemptedImages)
    }
}
