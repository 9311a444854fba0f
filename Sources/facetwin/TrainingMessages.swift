import FaceTwin

/// A training error as `train` and `crossval` word it: where the library names a
/// `TrainingOptions` value (the learning rate, the plateau reduction, the kept epoch), the
/// message names the option that gives it. Other errors keep the library's words.
func trainingMessage(_ error: TrainingError) -> String {
    switch error {
    case .diverged, .collapsed:
        return error.description(advice: "try a smaller --lr")
    case .validationLossNeeded(let plateau, _):
        return (plateau != nil ? "--reduce-lr-on-plateau" : "--keep best-loss")
            + " needs validation data (the validation loss): give --holdout, --validation-share or --validation-pairs"
    case .invalidPlateauReduction(let p):
        return
            "--reduce-lr-on-plateau needs a factor in (0, 1) and a patience from 1 to \(NetworkConfig.limits.patience.upperBound) epochs (got \(p.factor),\(p.patience))"
    case .backbone(.nothingToTrain):
        return "--freeze-backbone with --head distance leaves nothing to train; give --head sigmoid"
    default:
        return error.description
    }
}
