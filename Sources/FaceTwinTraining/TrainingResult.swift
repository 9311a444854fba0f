import Foundation

/// What one epoch did, for progress lines and the loss history.
public struct EpochReport: Sendable {
    public var epoch: Int
    public var epochs: Int
    public var steps: Int
    public var meanLoss: Float
    public var seconds: Double
    public var pairsPerSecond: Double
    /// Estimated time for the remaining epochs, from the mean epoch time so far.
    public var secondsLeft: Double
    /// Metrics on the held-out identities, when there are any.
    public var validation: VerificationMetrics?
    /// Whether this epoch's weights are now the ones kept.
    public var isBest: Bool
    /// Genuine and impostor distances on the monitoring images after the epoch.
    public var bands: DistanceBands
    /// Whether those distances showed a collapse (every embedding pulled together).
    public var collapsed: Bool
    /// The learning rate of the epoch's last step.
    public var learningRate: Float
    /// After a collapse: the healthy epoch the run goes on from (0: the initial weights).
    public var restartsFrom: Int?
    /// The contrastive loss on the validation data after the epoch (its scores: the distances,
    /// or the sigmoid head's), with the run's margin; nil without validation data. Over listed
    /// pairs, their mean; over held-out identities, the mean of the genuine pairs' mean and the
    /// impostor pairs' mean (each kind weighted equally, as balanced training pairs are).
    public var validationLoss: Float? = nil
}

/// The outcome of `Trainer.run`: the kept model (the best validation epoch, or the last one
/// without validation) and every epoch's report.
public struct TrainingResult {
    public let model: FaceModel
    public let history: [EpochReport]
    public let bestEpoch: Int

    /// The loss history as CSV: one row per epoch.
    public var historyCSV: String {
        var s = "epoch,steps,mean_loss,val_eer,val_auc,val_tar_at_fmr1,seconds,pairs_per_second,kept,learning_rate,"
        s += "genuine_mean,genuine_p10,genuine_p90,impostor_mean,impostor_p10,impostor_p90,collapsed\n"
        for (i, r) in history.enumerated() {
            let v = r.validation, b = r.bands
            // The kept epoch's row: its last occurrence (a restart after a collapse runs epochs again).
            let kept = r.epoch == bestEpoch && !history[(i + 1)...].contains { $0.epoch == bestEpoch }
            s += "\(r.epoch),\(r.steps),\(r.meanLoss),\(v.map { "\($0.eer)" } ?? ""),\(v.map { "\($0.auc)" } ?? ""),"
            s +=
                "\(v.map { "\($0.tarAtFMR1Percent.measuredTAR)" } ?? ""),\(String(format: "%.3f", r.seconds)),\(String(format: "%.1f", r.pairsPerSecond)),"
            s += "\(kept ? 1 : 0),\(r.learningRate),"
            s += [b.genuineMean, b.genuineP10, b.genuineP90, b.impostorMean, b.impostorP10, b.impostorP90]
                .map { String(format: "%.5f", $0) }.joined(separator: ",")
            s += ",\(r.collapsed ? 1 : 0)\n"
        }
        return s
    }
}
