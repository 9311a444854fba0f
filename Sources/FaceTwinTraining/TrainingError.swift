import Foundation

/// Why training could not run. Values are named as ``TrainingOptions`` holds them (the learning
/// rate, the plateau reduction, the kept epoch), never as command-line options: the caller words
/// them for its users.
public enum TrainingError: Error, CustomStringConvertible, Sendable {
    /// An option out of bounds (``NetworkConfig/limits``), or a network too small or too
    /// large for the run: the message names the value.
    case invalidOption(String)
    case sizeMismatch(String)
    /// The loss exploded: not finite, or more than ``Trainer/divergenceFactor`` times `reference`
    /// (the first step's loss, at least margin²), at the run's peak `learningRate`.
    case diverged(epoch: Int, loss: Float, reference: Float, learningRate: Float)
    /// The embeddings collapsed again after `restarts` restarts at a lower learning rate than
    /// the run's peak `learningRate`.
    case collapsed(epoch: Int, restarts: Int, learningRate: Float)
    /// The kept epoch's held-out AUC is below 0.5: its scores rank impostor pairs as more alike
    /// than genuine ones.
    case inverted(epoch: Int, auc: Double)
    /// The backbone and the run do not agree (``Backbone``), or a training step was asked to
    /// train a frozen backbone without a score head (``BackboneError/nothingToTrain``).
    case backbone(BackboneError)
    /// ``TrainingOptions/reduceOnPlateau`` (when given) or ``TrainingOptions/keep``
    /// ``KeepPolicy/bestLoss`` without validation data: both follow the validation loss.
    case validationLossNeeded(reduceOnPlateau: PlateauReduction?, keep: KeepPolicy)
    /// A ``PlateauReduction`` whose factor is outside (0, 1) or whose patience is below 1 epoch
    /// (or above ``NetworkLimits/patience``).
    case invalidPlateauReduction(PlateauReduction)

    public var description: String {
        switch self {
        case .backbone(let e): return e.description
        case .invalidOption(let m): return m
        case .sizeMismatch(let m): return m
        case .collapsed(_, _, let rate), .diverged(_, _, _, let rate):
            return description(advice: "learning rate \(rate): try a smaller one")
        case .inverted(let e, let auc):
            return
                "the kept epoch \(e) scores held-out impostor pairs as more alike than genuine ones (AUC \(String(format: "%.4f", auc)) < 0.5); no model was written"
        case .validationLossNeeded(let plateau, let keep):
            let what =
                plateau.map { "the plateau reduction of the learning rate (factor \($0.factor), patience \($0.patience))" }
                ?? "keeping the epoch of \(keep.rawValue) (the lowest validation loss)"
            return "\(what) needs validation data: it follows the validation loss"
        case .invalidPlateauReduction(let p):
            return
                "plateau reduction factor \(p.factor), patience \(p.patience): the factor must be in (0, 1) and the patience from 1 to \(NetworkConfig.limits.patience.upperBound) epochs"
        }
    }

    /// The description of a run stopped by its loss (``diverged(epoch:loss:reference:learningRate:)``, ``collapsed(epoch:restarts:learningRate:)``), with `advice`
    /// in the parentheses that close it: the library names the learning rate, the CLI its option.
    package func description(advice: String) -> String {
        switch self {
        case .collapsed(let e, let restarts, _):
            return "training collapsed at epoch \(e): every embedding pulled together (impostor distances near zero)"
                + (restarts > 0 ? " again after \(restarts) restart\(restarts == 1 ? "" : "s") at a lower learning rate" : "")
                + "; no model was written (\(advice))"
        case .diverged(let e, let loss, let reference, _):
            if !loss.isFinite {
                return "training diverged at epoch \(e): the loss is not a finite number; no model was written (\(advice))"
            }
            return
                "training diverged at epoch \(e): mean loss \(loss) is more than \(Int(Trainer.divergenceFactor)) times the untrained network's \(reference); no model was written (\(advice))"
        default:
            return description
        }
    }
}
