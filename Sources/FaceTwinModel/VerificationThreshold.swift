/// The one check every verification threshold passes, wherever it comes from (`--threshold`,
/// a model's stored value, a calibration): a finite number, not negative, and at most
/// ``maximum``. A negative threshold matches nobody and a huge one matches everybody, so both
/// are refused rather than used.
public enum VerificationThreshold {
    /// Far above any distance between embeddings of a working model (the reference model's
    /// thresholds are around 1); a distance beyond it means a model that diverged.
    public static let maximum: Float = 1e6

    /// Why `t` cannot be used as a threshold, or nil when it can. 0 is allowed: only
    /// identical embeddings match.
    public static func problem(_ t: Float) -> String? {
        guard t.isFinite else { return "threshold \(t) is not a finite number" }
        guard t >= 0 else { return "threshold \(t) is negative, so nothing would match" }
        guard t <= maximum else { return "threshold \(t) is above \(Int(maximum)), so everyone would match" }
        return nil
    }
}
