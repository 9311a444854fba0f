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
    public var tarAtFAR1: Double
    public var tarAtFAR1Threshold: Float
    public var tarAtFAR01: Double
    public var tarAtFAR01Threshold: Float
    public var bestAccuracy: Double
    public var bestAccuracyThreshold: Float
    public var storedThreshold: Float?
    public var storedThresholdMethod: String?
    public var accuracyAtStoredThreshold: Double?
    /// False accept and false reject rates at the stored threshold.
    public var farAtStoredThreshold: Double?
    public var frrAtStoredThreshold: Double?
    /// Evaluated identities the model was trained on (its figures are optimistic then);
    /// nil when that cannot be told.
    public var trainingIdentitiesIncluded: [String]?
    /// Things the reader must know (training identities included, a threshold missing…).
    public var warnings: [String]

    public init(_ e: Evaluation, model: String? = nil, warnings: [String] = [], trainingIdentitiesIncluded: [String]? = nil) {
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
        tarAtFAR1 = m.tarAtFAR1
        tarAtFAR1Threshold = m.tarAtFAR1Threshold
        tarAtFAR01 = m.tarAtFAR01
        tarAtFAR01Threshold = m.tarAtFAR01Threshold
        bestAccuracy = m.bestAccuracy
        bestAccuracyThreshold = m.bestAccuracyThreshold
        storedThreshold = e.storedThreshold
        storedThresholdMethod = e.storedThresholdMethod
        accuracyAtStoredThreshold = e.accuracyAtStoredThreshold
        if let t = e.storedThreshold {
            let rates = e.errorRates(atThreshold: t)
            farAtStoredThreshold = rates.far
            frrAtStoredThreshold = rates.frr
        }
        self.trainingIdentitiesIncluded = trainingIdentitiesIncluded
        self.warnings = warnings
    }

    /// Pretty-printed JSON with sorted keys.
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return (try? String(decoding: encoder.encode(self), as: UTF8.self)) ?? "{}"
    }
}

extension Evaluation {
    /// False accept rate (impostor pairs accepted) and false reject rate (genuine pairs
    /// rejected) of "match iff distance ≤ threshold" on these pairs.
    public func errorRates(atThreshold threshold: Float) -> (far: Double, frr: Double) {
        var falseAccepts = 0, falseRejects = 0
        for k in distances.indices {
            let accepted = distances[k] <= threshold
            if genuine[k] && !accepted { falseRejects += 1 }
            if !genuine[k] && accepted { falseAccepts += 1 }
        }
        return (Double(falseAccepts) / Double(metrics.impostorCount), Double(falseRejects) / Double(metrics.genuineCount))
    }
}
