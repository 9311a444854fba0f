import Foundation

/// The headline figures of an ``Evaluation`` as plain values: what `facetwin evaluate --json`
/// prints and the report's `summary.json` holds. Rates are fractions (0…1).
public struct EvaluationSummary: Codable, Equatable, Sendable {
    public var model: String?
    /// "identities" or "pairs".
    public var mode: String
    /// The identity folders' root (identities mode).
    public var data: String?
    /// The pair list file (pairs mode).
    public var pairs: String?
    /// Identities evaluated (pairs mode: the folder names holding the images).
    public var identities: [String]
    public var images: Int
    public var genuinePairs: Int
    public var impostorPairs: Int
    public var eer: Double
    public var eerThreshold: Float
    public var auc: Double
    /// TAR at FMR 1 % and 0.1 %: null TAR and threshold, and a reason, when the impostor
    /// pairs cannot support the operating point (``TARAtFMR``).
    public var tarAtFMR1Percent: TARAtFMR
    public var tarAtFMR0_1Percent: TARAtFMR
    public var bestAccuracy: Double
    public var bestAccuracyThreshold: Float
    public var storedThreshold: Float?
    public var storedThresholdMethod: String?
    public var accuracyAtStoredThreshold: Double?
    /// 95 % intervals of EER and the TARs (bootstrap); nil when not computed.
    public var intervals: BootstrapIntervals?
    /// False match and false non-match rates at the stored threshold.
    public var fmrAtStoredThreshold: Double?
    public var fnmrAtStoredThreshold: Double?
    /// With face detection, or when an image of a pair list could not be decoded: images
    /// attempted, the failures to acquire (their paths, and each one's one-line error), the
    /// pairs they took out of scoring, and FAR/FRR (a pair not scored counted as a rejection) at
    /// the EER threshold and at the stored threshold. nil otherwise.
    public var attemptedImages: Int?
    public var failuresToAcquire: [String]?
    public var failureToAcquireReasons: [String]?
    public var failureToAcquireRate: Double?
    public var genuinePairsNotScored: Int?
    public var impostorPairsNotScored: Int?
    public var farAtEERThreshold: Double?
    public var frrAtEERThreshold: Double?
    public var farAtStoredThreshold: Double?
    public var frrAtStoredThreshold: Double?
    /// Evaluated identities the model was trained on (its figures are optimistic then);
    /// nil when that cannot be told.
    public var trainingIdentitiesIncluded: [String]?
    /// LFW's fold protocol (`evaluate --lfw-pairs`): per-fold accuracy with thresholds fitted
    /// on the other folds, mean ± standard error; nil otherwise.
    public var lfw: LFWProtocolResult?
    /// Open-set identification (`evaluate --identification`): CMC and FNIR at FPIR; nil otherwise.
    public var identification: IdentificationEvaluation?
    /// Each identity's genuine and impostor distances and the zoo (goats, lambs, wolves) at the
    /// model's threshold (else the EER threshold); nil for images outside identity folders.
    public var zoo: IdentityZoo?
    /// Things the reader must know (training identities included, a threshold missing…).
    public var warnings: [String]

    public init(
        _ e: Evaluation, model: String? = nil, warnings: [String] = [], trainingIdentitiesIncluded: [String]? = nil,
        intervals: BootstrapIntervals? = nil
    ) {
        self.model = model
        switch e.source {
        case .identities(let root, _):
            mode = "identities"; data = root; pairs = nil
        case .pairList(let file):
            mode = "pairs"; data = nil; pairs = file
        }
        identities = e.identities
        images = e.imagePaths.count
        let m = e.metrics
        genuinePairs = m.genuineCount
        impostorPairs = m.impostorCount
        eer = m.eer
        eerThreshold = m.eerThreshold
        auc = m.auc
        tarAtFMR1Percent = m.tarAtFMR1Percent
        tarAtFMR0_1Percent = m.tarAtFMR0_1Percent
        self.intervals = intervals
        bestAccuracy = m.bestAccuracy
        bestAccuracyThreshold = m.bestAccuracyThreshold
        storedThreshold = e.storedThreshold
        storedThresholdMethod = e.storedThresholdMethod
        accuracyAtStoredThreshold = e.accuracyAtStoredThreshold
        if let t = e.storedThreshold {
            let rates = e.errorRates(atThreshold: t)
            fmrAtStoredThreshold = rates.fmr
            fnmrAtStoredThreshold = rates.fnmr
        }
        if let a = e.acquisition {
            attemptedImages = a.attemptedImages
            failuresToAcquire = a.failures.map(\.path)
            failureToAcquireReasons = a.failures.map(\.description)
            failureToAcquireRate = a.rate
            genuinePairsNotScored = a.genuinePairsNotScored
            impostorPairsNotScored = a.impostorPairsNotScored
            if let r = e.transactionRates(atThreshold: m.eerThreshold) {
                farAtEERThreshold = r.far
                frrAtEERThreshold = r.frr
            }
            if let t = e.storedThreshold, let r = e.transactionRates(atThreshold: t) {
                farAtStoredThreshold = r.far
                frrAtStoredThreshold = r.frr
            }
        }
        self.trainingIdentitiesIncluded = trainingIdentitiesIncluded
        self.warnings = warnings
        zoo = IdentityZoo(evaluation: e, threshold: e.storedThreshold ?? m.eerThreshold)
    }

    /// Pretty-printed JSON with sorted keys.
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return (try? String(decoding: encoder.encode(self), as: UTF8.self)) ?? "{}"
    }
}

extension Evaluation {
    /// False match rate (impostor pairs accepted) and false non-match rate (genuine pairs
    /// rejected) of "match iff distance ≤ threshold" on these pairs.
    public func errorRates(atThreshold threshold: Float) -> ErrorRates {
        var falseAccepts = 0, falseRejects = 0
        for k in distances.indices {
            let accepted = distances[k] <= threshold
            if genuine[k] && !accepted { falseRejects += 1 }
            if !genuine[k] && accepted { falseAccepts += 1 }
        }
        return ErrorRates(
            fmr: Double(falseAccepts) / Double(metrics.impostorCount), fnmr: Double(falseRejects) / Double(metrics.genuineCount))
    }
}

/// The false match rate (impostor pairs accepted) and false non-match rate (genuine pairs
/// rejected) at one threshold.
public struct ErrorRates: Equatable, Sendable {
    public var fmr: Double
    public var fnmr: Double

    public init(fmr: Double, fnmr: Double) {
        self.fmr = fmr
        self.fnmr = fnmr
    }
}
