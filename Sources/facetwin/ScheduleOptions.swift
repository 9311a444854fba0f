import ArgumentParser
import FaceTwin
import Foundation

extension KeepPolicy: ExpressibleByArgument {}

/// `--reduce-lr-on-plateau FACTOR,PATIENCE` and `--keep` of `train`: the learning-rate schedule
/// and the checkpoint kept, both judged on the validation data.
struct ScheduleOptions: ParsableArguments {
    @Option(
        help:
            "FACTOR,PATIENCE: multiply the learning rate by FACTOR when the validation loss has not improved for PATIENCE epochs (Keras's ReduceLROnPlateau, e.g. 0.1,10). Needs validation data."
    )
    var reduceLrOnPlateau: String?

    @Option(help: "The epoch kept: best-eer (lowest validation EER, default), best-loss (lowest validation loss) or last.")
    var keep: KeepPolicy = .bestEER

    func validate() throws { _ = try plateau() }

    /// The parsed --reduce-lr-on-plateau, or nil.
    func plateau() throws -> PlateauReduction? {
        guard let text = reduceLrOnPlateau else { return nil }
        let parts = CommaList.items(text)
        guard parts.count == 2, let factor = Float(parts[0]), let patience = Int(parts[1]),
            PlateauReduction(factor: factor, patience: patience).isValid
        else {
            throw ValidationError(
                "--reduce-lr-on-plateau takes FACTOR,PATIENCE with FACTOR in (0, 1) and PATIENCE at least 1 epoch, e.g. 0.1,10 (got \"\(text.prefix(40))\")"
            )
        }
        return PlateauReduction(factor: factor, patience: patience)
    }

    func apply(to options: inout TrainingOptions) throws {
        options.reduceOnPlateau = try plateau()
        options.keep = keep
    }
}
