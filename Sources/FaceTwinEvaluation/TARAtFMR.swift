import Foundation

/// The true accept rate at a target false match rate, and whether the impostor pairs can
/// support that operating point at all.
///
/// Rule of three: with N impostor comparisons and none of them a false match, the 95 % upper
/// bound of the FMR is about 3 / N. So an FMR below 3 / N cannot be told from 0, and "TAR at
/// FMR x" is only reported when N ≥ ⌈3 / x⌉ (300 pairs for 1 %, 3000 for 0.1 %). Below that,
/// ``tar`` and ``threshold`` are nil and ``unsupportedReason`` says why; the figure read off
/// the curve is kept in ``measuredTAR`` for code that wants it anyway (training logs).
///
/// Comparison-level rates: FMR (impostor pairs accepted) and FNMR (genuine pairs rejected),
/// ISO/IEC 19795-1; FAR and FRR would also count failures to enrol or acquire.
public struct TARAtFMR: Sendable, Equatable {
    /// Equal when they report the same: target, impostor pairs, and TAR and threshold when
    /// supported (an unsupported point's measured figures are not part of what it reports).
    public static func == (a: TARAtFMR, b: TARAtFMR) -> Bool {
        a.targetFMR == b.targetFMR && a.impostorPairs == b.impostorPairs && a.tar == b.tar && a.threshold == b.threshold
    }

    /// The target false match rate (0.01 for 1 %).
    public let targetFMR: Double
    /// TAR at the strictest ROC point reaching the best TAR with FMR ≤ target, whether or not
    /// the point is supported.
    public let measuredTAR: Double
    /// A threshold reproducing that point (accept iff distance ≤ threshold).
    public let measuredThreshold: Float
    /// Impostor pairs the rate was measured on.
    public let impostorPairs: Int

    public init(targetFMR: Double, measuredTAR: Double, measuredThreshold: Float, impostorPairs: Int) {
        self.targetFMR = targetFMR
        self.measuredTAR = measuredTAR
        self.measuredThreshold = measuredThreshold
        self.impostorPairs = impostorPairs
    }

    /// Reads the operating point off a curve.
    public init(curve: ROCCurve, targetFMR: Double) {
        let point = curve.tar(atFMR: targetFMR)
        self.init(
            targetFMR: targetFMR, measuredTAR: point.tar, measuredThreshold: point.threshold, impostorPairs: curve.impostorCount)
    }

    /// Impostor pairs needed to report TAR at FMR `fmr`: ⌈3 / fmr⌉ (rule of three).
    public static func impostorPairsNeeded(forFMR fmr: Double) -> Int {
        precondition(fmr > 0 && fmr.isFinite, "the target FMR must be positive")
        // 3 / 0.001 is 3000.0000000000005 in binary floating point: round off that noise first.
        let exact = (3 / fmr * 1e9).rounded() / 1e9
        return Int(exact.rounded(.up))
    }

    /// Whether `impostorPairs` impostor pairs can support TAR at FMR `fmr`.
    public static func isSupported(fmr: Double, impostorPairs: Int) -> Bool {
        impostorPairs >= impostorPairsNeeded(forFMR: fmr)
    }

    public var impostorPairsNeeded: Int { Self.impostorPairsNeeded(forFMR: targetFMR) }
    public var isSupported: Bool { Self.isSupported(fmr: targetFMR, impostorPairs: impostorPairs) }
    /// The TAR, or nil when the impostor pairs cannot support the operating point.
    public var tar: Double? { isSupported ? measuredTAR : nil }
    /// The threshold, or nil when the operating point is not supported.
    public var threshold: Float? { isSupported ? measuredThreshold : nil }
    /// "not supported by 2800 impostor pairs (needs ≥ 3000)", or nil when supported.
    public var unsupportedReason: String? {
        isSupported ? nil : Self.unsupportedReason(impostorPairs: impostorPairs, needed: impostorPairsNeeded)
    }

    static func unsupportedReason(impostorPairs: Int, needed: Int) -> String {
        "not supported by \(impostorPairs) impostor pairs (needs ≥ \(needed))"
    }

    /// "1 %", "0.1 %".
    public var targetText: String { Calibration.percent(targetFMR) }
}

extension TARAtFMR: Codable {
    enum CodingKeys: String, CodingKey { case fmr, tar, threshold, impostorPairs, impostorPairsNeeded, unsupportedReason }

    /// `{"fmr": 0.001, "tar": null, "threshold": null, "impostorPairs": 2800,
    /// "impostorPairsNeeded": 3000, "unsupportedReason": "not supported by …"}`: an unsupported
    /// point's figures are written as null, never as numbers.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(targetFMR, forKey: .fmr)
        if let tar { try c.encode(tar, forKey: .tar) } else { try c.encodeNil(forKey: .tar) }
        if let threshold { try c.encode(threshold, forKey: .threshold) } else { try c.encodeNil(forKey: .threshold) }
        try c.encode(impostorPairs, forKey: .impostorPairs)
        try c.encode(impostorPairsNeeded, forKey: .impostorPairsNeeded)
        if let unsupportedReason {
            try c.encode(unsupportedReason, forKey: .unsupportedReason)
        } else {
            try c.encodeNil(forKey: .unsupportedReason)
        }
    }

    /// Reads what ``encode(to:)`` wrote; an unsupported point comes back with NaN as its
    /// measured figures.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        targetFMR = try c.decode(Double.self, forKey: .fmr)
        measuredTAR = try c.decodeIfPresent(Double.self, forKey: .tar) ?? .nan
        measuredThreshold = try c.decodeIfPresent(Float.self, forKey: .threshold) ?? .nan
        impostorPairs = try c.decode(Int.self, forKey: .impostorPairs)
    }
}
