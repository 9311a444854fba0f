import ArgumentParser
import FaceTwin
import Foundation

struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Choose the model's verification threshold on held-out identities and store it in the model file.",
        discussion: """
            Scores all pairs of --identities (or the pairs of --pairs, CSV image1,image2,same as \
            for evaluate), chooses the threshold at the equal error rate (--eer) or at a false \
            match rate (--target-fmr 0.01: the most accepting threshold that lets through at \
            most 1 % of impostor pairs), and records it with how it was chosen (e.g. "EER on \
            s5,s6,s7 (30 images, 435 pairs)") in the model's metadata. The model file is rewritten \
            atomically (or written to --out); the weights are not touched.

            Beside the threshold it stores the calibration pairs' error rates at every distance \
            (FMR: impostor pairs at or below it; FNMR: genuine pairs above it; 95 % intervals by a \
            bootstrap over the calibration identities, widened to Wilson's interval where that is \
            wider), so verify, identify and compare can say how often an answer at their distance \
            was wrong on the calibration set. The estimate holds for people like the calibration \
            people.

            Calibrating on identities the model trained on gives a threshold that is too strict \
            for new people, so it is refused unless --allow-training-identities; so is a model \
            whose file cannot tell which identities it trained on.
            """
    )

    @Option(help: "Model file (rewritten in place unless --out).")
    var model: String

    @Option(help: "Root of the identity folders.")
    var data: String?

    @Option(help: "Comma-separated held-out identities to calibrate on, e.g. s5,s6,s7.")
    var identities: String?

    @Option(help: "Instead of --identities: CSV of labelled pairs (image1,image2,same).")
    var pairs: String?

    @Option(help: "Folder that relative image paths in --pairs resolve against (default: --data, else the CSV's folder).")
    var root: String?

    @Flag(help: "Threshold at the equal error rate (false non-matches ≈ false matches).")
    var eer = false

    @Option(
        name: [.customLong("target-fmr"), .customLong("target-far")],
        help: "Threshold for this false match rate (impostor pairs accepted), e.g. 0.01 for 1 %. (--target-far: the former name.)"
    )
    var targetFMR: Double?

    @Option(help: "Write the calibrated model here instead of rewriting --model.")
    var out: String?

    @Flag(
        help:
            "Calibrate even on identities the model trained on (the threshold will be too strict), or when that cannot be checked."
    )
    var allowTrainingIdentities = false

    @OptionGroup var detectOptions: DetectOptionsGroup

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        guard eer != (targetFMR != nil) else { throw ValidationError("give exactly one of --eer or --target-fmr F") }
        if let targetFMR, !(targetFMR > 0 && targetFMR < 1) {
            throw ValidationError("--target-fmr must be a fraction between 0 and 1, e.g. 0.01 for 1 % (got \(targetFMR))")
        }
        guard (identities != nil) != (pairs != nil) else {
            throw ValidationError(
                "give --identities (with --data) or --pairs: the identities to calibrate on, held out of training")
        }
        if identities != nil, data == nil { throw ValidationError("--identities needs --data") }
        if let identities { _ = try EvalFormat.identityList(identities) }
    }

    func run() throws {
        let m = try FaceModel.load(path: model)
        try detectOptions.apply(to: m)
        let list = try pairs.map { try PairList(contentsOf: $0, root: root ?? data) }
        let evaluation = try EvalFormat.evaluation(model: m, data: data, identities: identities, pairList: list)
        let check = TrainingIdentities(info: m.info)
        if let trained = check.overlap(with: evaluation.identities), !trained.isEmpty {
            let message =
                "the model trained on \(Evaluation.compactList(trained)); a threshold chosen on them is too strict for new people"
            guard allowTrainingIdentities else {
                throw CLIError(
                    "\(model): \(message) — calibrate on held-out identities\(EvalFormat.heldOutHint(check)), or pass --allow-training-identities"
                )
            }
            printError("facetwin: WARNING: \(message); calibrating anyway (--allow-training-identities)")
        } else if check.overlap(with: evaluation.identities) == nil, m.resnet != nil, m.info.training == nil {
            printError("facetwin: warning: \(EvalFormat.trainedOutside)")
        } else if check.overlap(with: evaluation.identities) == nil {
            guard allowTrainingIdentities else {
                throw CLIError(
                    "\(model): \(EvalFormat.cannotCheck(check)); pass --allow-training-identities to calibrate anyway")
            }
            printError("facetwin: warning: \(EvalFormat.cannotCheck(check)); calibrating anyway (--allow-training-identities)")
        }
        let previous = (m.info.threshold, m.info.thresholdMethod)
        let calibration = try Calibration(evaluation: evaluation, target: eer ? .eer : .fmr(targetFMR!))
        if calibration.targetBelowResolution {
            printError(
                "facetwin: warning: only \(calibration.impostorCount) impostor pairs: a FMR of \(Calibration.percent(targetFMR!)) cannot be measured (one false match is \(Calibration.percent(1 / Double(calibration.impostorCount)))); the threshold admits none of them"
            )
        }
        let images = evaluation.imagePaths
        let table = ErrorRateTable(evaluation: evaluation, calibrationSet: try ErrorRateTable.hash(ofImages: images))
        calibration.apply(to: m, errorRates: table)
        let destination = out ?? model
        try m.save(to: destination)

        let point = calibration.point
        if json {
            struct Output: Encodable {
                let model: String, threshold: Float, method: String
                let fmr: Double, fnmr: Double, tar: Double, accuracy: Double
                let genuinePairs: Int, impostorPairs: Int
                let previousThreshold: Float?, previousMethod: String?
            }
            let o = Output(
                model: destination, threshold: calibration.threshold, method: calibration.method, fmr: point.fmr,
                fnmr: point.fnmr,
                tar: point.tar, accuracy: point.accuracy, genuinePairs: point.genuineCount, impostorPairs: point.impostorCount,
                previousThreshold: previous.0, previousMethod: previous.1)
            try printJSON(o)
            return
        }
        print("threshold: \(EvalFormat.threshold(calibration.threshold)) (\(calibration.method))")
        print(
            "on these pairs: FMR \(EvalFormat.percent(point.fmr)), FNMR \(EvalFormat.percent(point.fnmr)), accuracy \(EvalFormat.percent(point.accuracy))"
        )
        if let t = previous.0 {
            print("previous threshold: \(EvalFormat.threshold(t)) (\(previous.1 ?? "method not recorded"))")
        } else {
            print("previous threshold: none")
        }
        print("model: \(destination) (threshold stored; weights unchanged)")
    }
}
