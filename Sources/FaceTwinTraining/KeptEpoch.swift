import Foundation

/// The epoch whose weights a run keeps, by its `KeepPolicy`: the lowest validation EER (then
/// the highest AUC), the lowest validation loss, or the last healthy epoch (always the last one
/// without validation).
struct KeptEpoch {
    let epoch: Int
    let loss: Float
    let validationLoss: Float?
    let eer: Double, auc: Double
    /// Whether `eer` and `auc` were measured (validation data with genuine and impostor pairs).
    let measured: Bool
    let threshold: Float?
    /// A copy of the network's state, taken only with validation: without it every epoch
    /// improves and the last one is kept, which is the network as it ends, so nothing is copied.
    private let state: NetworkSnapshot?

    /// The kept epoch `epoch` of `network` as it is now. With `snapshot`, its state is copied,
    /// into the tensors of `previous` when there is one: one snapshot (160 MB for the reference
    /// network) is overwritten in place, never two held at once.
    init(
        epoch: Int, loss: Float, metrics: VerificationMetrics?, validationLoss: Float? = nil, network: SiameseNetwork,
        snapshot: Bool, reusing previous: KeptEpoch?
    ) {
        self.epoch = epoch
        self.loss = loss
        self.validationLoss = validationLoss
        (eer, auc, threshold) = (metrics?.eer ?? 0, metrics?.auc ?? 0, metrics?.eerThreshold)
        measured = metrics != nil
        if snapshot, var state = previous?.state {
            state.update(from: network)
            self.state = state
        } else {
            state = snapshot ? NetworkSnapshot(network) : nil
        }
    }

    /// Whether an epoch with `metrics` and `validationLoss` is better than this one under
    /// `policy` (any epoch is, without validation or with `.last`).
    func isImproved(by metrics: VerificationMetrics?, validationLoss: Float? = nil, policy: KeepPolicy = .bestEER) -> Bool {
        switch policy {
        case .last: return true
        case .bestLoss:
            guard let validationLoss, let kept = self.validationLoss else { return true }
            return validationLoss < kept
        case .bestEER:
            guard let metrics else { return true }
            return metrics.eer < eer || (metrics.eer == eer && metrics.auc >= auc)
        }
    }

    /// Puts the kept weights back into `network` (nothing to do without a snapshot).
    func restore(into network: SiameseNetwork) {
        state?.restore(into: network)
    }
}

/// A copy of a network's state tensors and BatchNorm counters, to put back later.
struct NetworkSnapshot {
    private var state: [Tensor]
    private var batchesTracked: [Int64]

    init(_ network: SiameseNetwork) {
        state = network.stateTensors.map { $0.tensor.clone() }
        batchesTracked = network.batchStatisticLayers.map(\.numBatchesTracked)
    }

    /// Overwrites the copy with the network as it is now (in place: no second copy is held).
    mutating func update(from network: SiameseNetwork) {
        for ((_, tensor), saved) in zip(network.stateTensors, state) { saved.copy(from: tensor) }
        batchesTracked = network.batchStatisticLayers.map(\.numBatchesTracked)
    }

    func restore(into network: SiameseNetwork) {
        network.thaw()
        for ((_, tensor), saved) in zip(network.stateTensors, state) { tensor.copy(from: saved) }
        for (bn, n) in zip(network.batchStatisticLayers, batchesTracked) { bn.numBatchesTracked = n }
    }
}
