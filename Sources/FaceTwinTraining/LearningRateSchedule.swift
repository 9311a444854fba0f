import Foundation

/// The learning rate at each step: constant (the reference recipe), or a linear warm-up over
/// the first steps followed by a cosine decay to zero at the last step. The warm-up keeps
/// Adam's first, badly estimated steps from throwing a fresh network around; the decay lets
/// the last epochs settle instead of ending on a noisy step.
struct LearningRateSchedule: Sendable, Equatable, Codable {
    var peak: Float
    var warmupSteps: Int
    /// Whether the rate decays along a half cosine after the warm-up.
    var cosineDecay: Bool

    init(peak: Float, warmupSteps: Int = 0, cosineDecay: Bool = false) {
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.cosineDecay = cosineDecay
    }

    static func constant(_ rate: Float) -> LearningRateSchedule { LearningRateSchedule(peak: rate) }

    /// The rate for step `step` (0-based) of `total`.
    func rate(step: Int, total: Int) -> Float {
        var r = peak
        if warmupSteps > 0, step < warmupSteps { r *= Float(step + 1) / Float(warmupSteps) }
        if cosineDecay, total > 0 {
            r *= Float(0.5 * (1 + cos(Double.pi * Double(step) / Double(total))))
        }
        return r
    }
}
