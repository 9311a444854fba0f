import ArgumentParser

/// `--threshold T` of compare, verify and identify: a distance threshold that overrides the one
/// stored in the model, checked to be a finite number ≥ 0 before the command runs.
struct ThresholdOption: ParsableArguments {
    @Option(help: "Distance threshold (default: the one stored in the model).")
    var threshold: Float?

    func validate() throws {
        if let threshold, !(threshold.isFinite && threshold >= 0) {
            throw ValidationError("--threshold must be a number ≥ 0 (got \(threshold))")
        }
    }
}
