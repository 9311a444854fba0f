import Foundation

/// Chooses a verification threshold on an evaluation's pairs and records it in a model.
///
/// The threshold should be chosen on identities the model never trained on (the CLI refuses
/// otherwise): on training identities the genuine distances are too small and the threshold
/// comes out too strict for new people.
public struct Calibration: Sendable {
    /// How to choose the threshold.
    public enum Target: Sendable, Equatable {
        /// The equal error rate point: false non-matches ≈ false matches.
        case eer
        /// The most accepting threshold whose false match rate is at most this (0…1).
        case fmr(Double)
    }

    public let target: Target
    /// Accept iff distance ≤ threshold.
    public let threshold: Float
    /// The ROC point the threshold reproduces on the calibration pairs.
    public let point: ROCOperatingPoint
    /// How it was chosen, as stored in the model: "EER on s5,s6,s7 (30 images, 435 pairs)".
    public let method: String
    /// Impostor pairs available: a FMR target below 1 / this cannot be resolved.
    public let impostorCount: Int

    public init(evaluation: Evaluation, target: Target) throws(CalibrationError) {
        let chosen: ROCOperatingPoint
        switch target {
        case .eer:
            chosen = evaluation.curve.equalErrorPoint()
            method = "EER on \(evaluation.summary)"
        case .fmr(let fmr):
            guard fmr > 0, fmr < 1, fmr.isFinite else { throw .invalidTarget(fmr) }
            chosen = evaluation.curve.tar(atFMR: fmr)
            method = "FMR \(Self.percent(fmr)) on \(evaluation.summary)"
        }
        self.target = target
        threshold = chosen.threshold
        point = chosen
        impostorCount = evaluation.metrics.impostorCount
    }

    /// True when the target FMR is below what the impostor pairs can measure (1 / N).
    public var targetBelowResolution: Bool {
        if case .fmr(let f) = target { return f < 1 / Double(impostorCount) }
        return false
    }

    /// Stores the threshold and method in the model's metadata (the weights are untouched),
    /// with `errorRates` (``ErrorRateTable``, measured on the same pairs) or none; save the
    /// model afterwards.
    public func apply(to model: FaceModel, errorRates: ErrorRateTable? = nil) {
        model.info.threshold = threshold
        model.info.thresholdMethod = method
        model.info.errorRates = errorRates
    }

    /// 0.01 → "1 %", 0.001 → "0.1 %", 0.025 → "2.5 %".
    public static func percent(_ fraction: Double) -> String {
        let p = fraction * 100
        var s = String(format: "%.4f", p)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s + " %"
    }
}

/// Why a threshold could not be chosen.
public enum CalibrationError: Error, CustomStringConvertible, Equatable, Sendable {
    case invalidTarget(Double)

    public var description: String {
        switch self {
        case .invalidTarget(let f): return "target FMR must be between 0 and 1 exclusive, e.g. 0.01 for 1 % (got \(f))"
        }
    }
}
