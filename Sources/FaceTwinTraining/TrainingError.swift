import Foundation

/// Why training could not run.
public enum TrainingError: Error, CustomStringConvertible, Sendable {
    case invalidOption(String)
    case sizeMismatch(String)
    /// The loss exploded: not finite, or more than ``Trainer/divergenceFactor`` times `reference`
    /// (the first step's loss, at least margin²).
    case diverged(epoch: Int, loss: Float, reference: Float)
    /// The embeddings collapsed again after `restarts` restarts at a lower learning rate.
    case collapsed(epoch: Int, restarts: Int)
    /// The kept epoch's held-out AUC is below 0.5: its scores rank impostor pairs as more alike
    /// than genuine ones.
    case inverted(epoch: Int, auc: Double)
    /// The backbone and the run do not agree (``Backbone``).
    case backbone(BackboneError)

    public var description: String {
        switch self {
        case .backbone(let e): return e.description
        case .invalidOption(let m): return m
        case .sizeMismatch(let m): return m
        case .collapsed(let e, let restarts):
            return "training collapsed at epoch \(e): every embedding pulled together (impostor distances near zero)"
                + (restarts > 0 ? " again after \(restarts) restart\(restarts == 1 ? "" : "s") at a lower learning rate" : "")
                + "; no model was written (try a smaller --lr)"
        case .inverted(let e, let auc):
            return
                "the kept epoch \(e) scores held-out impostor pairs as more alike than genuine ones (AUC \(String(format: "%.4f", auc)) < 0.5); no model was written"
        case .diverged(let e, let loss, let reference):
            if !loss.isFinite {
                return
                    "training diverged at epoch \(e): the loss is not a finite number; no model was written (try a smaller --lr)"
            }
            return
                "training diverged at epoch \(e): mean loss \(loss) is more than \(Int(Trainer.divergenceFactor)) times the untrained network's \(reference); no model was written (try a smaller --lr)"
        }
    }
}
