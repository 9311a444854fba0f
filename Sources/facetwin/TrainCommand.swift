import ArgumentParser
import FaceTwin
import Foundation

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a siamese network on identity folders (the default recipe unless --recipe reference).",
        discussion: """
            Prints a progress line per epoch on stderr. With --holdout, those identities are \
            kept out of training and scored after every epoch (EER over all their pairs); the \
            best epoch's weights are kept and its EER threshold is stored in the model. The loss \
            history is written beside the model as CSV (model.history.csv), each row ending with \
            the model's fingerprint so a history that does not belong to the model shows.

            --detect always detects and aligns the face in every training image first (as \
            facetwin detect does); images without a usable face are left out and listed. The \
            model records how its training images were prepared (facetwin info shows it), and \
            --detect auto on evaluate, enroll, verify, identify and compare prepares photos the \
            same way.
            """
    )

    @Option(help: "Root of the identity folders (DIR/<identity>/<image>.pgm).")
    var data: String

    @Option(help: "Comma-separated identities kept out of training for validation, e.g. s5,s6,s7.")
    var holdout: String = ""

    @OptionGroup var recipe: TrainingOptionsGroup

    @OptionGroup var detectOptions: TrainDetectOptionsGroup

    @Option(help: "Seed for weight initialization and pair sampling.")
    var seed: UInt64 = 0

    @Option(help: "Where to write the model (safetensors).")
    var out: String = "model.safetensors"

    @Flag(help: "No progress lines.")
    var quiet = false

    func run() throws {
        let config = try recipe.networkConfig()
        let held = Set(holdout.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        let preparer = try detectOptions.preparer()
        let trainSet = try ImageFolder(root: data, for: config, excluding: held, preparer: preparer)
        let validation =
            held.isEmpty
            ? nil
            : try ImageFolder(root: data, for: config, only: held, preparer: preparer)
        for folder in [trainSet] + (validation.map { [$0] } ?? []) {
            if let (label, images) = folder.imagesByLabel.enumerated().first(where: { $0.element.count < 2 }) {
                throw CLIError(
                    "\((folder.root as NSString).appendingPathComponent(folder.identities[label])): \(images.count) of its \(folder.attemptedByLabel[label]) images have a usable face; at least 2 are needed"
                )
            }
        }
        var summary = "data: \(trainSet.identities.count) identities, \(trainSet.count) images for training"
        if let validation { summary += "; held out \(validation.identities.joined(separator: ",")) (\(validation.count) images)" }
        if trainSet.skippedFiles > 0 { summary += "; skipped \(trainSet.skippedFiles) non-image files" }
        let failed = trainSet.failedToAcquire + (validation?.failedToAcquire ?? [])
        if preparer != nil { summary += "; faces detected and aligned, \(failed.count) image(s) without a usable face left out" }
        if !quiet {
            printError(summary)
            for e in failed { printError("  \(e.description) (failure to acquire)") }
        }

        let options = recipe.trainingOptions(seed: seed)
        let trainer = try Trainer(config: config, options: options, training: trainSet, validation: validation)
        let result = try trainer.run { r in
            guard !quiet else { return }
            var line = String(format: "epoch %3d/%d  loss %.4f", r.epoch, r.epochs, r.meanLoss)
            if let v = r.validation { line += String(format: "  val EER %5.2f%%  AUC %.4f", 100 * v.eer, v.auc) }
            line += bandsText(r)
            line += String(format: "  %6.0f pairs/s  %5.1fs", r.pairsPerSecond, r.seconds)
            line += "  eta \(formatDuration(r.secondsLeft))"
            if r.isBest && r.validation != nil { line += "  *" }
            printError(line)
            if let note = collapseText(r) { printError(note) }
        }
        if let preparer {
            result.model.info.preparation = FacePreparationRecord(
                detect: .always, aligner: preparer.aligner, faces: preparer.policy,
                failedToAcquire: failed.count)
        } else {
            // Crops as given: their size (when they share one) tells crops from photos for --detect auto.
            let sizes = Set([trainSet.sourceSize, validation?.sourceSize ?? trainSet.sourceSize])
            let size = sizes.count == 1 ? sizes.first! : nil
            result.model.info.preparation = FacePreparationRecord(
                detect: .never, cropSize: size,
                aligner: FaceAligner(width: size?.width ?? 92, height: size?.height ?? 112))
        }
        // The model and its history as a pair: see TrainingFiles for the order and the check.
        let historyPath = TrainingFiles.historyPath(for: out)
        try TrainingFiles.save(result.model, historyCSV: result.historyCSV, modelPath: out, historyPath: historyPath)

        let t = result.model.info.training!
        print("model: \(out)")
        print("history: \(historyPath)")
        print(String(format: "loss: %.4f (epoch 1) -> %.4f (epoch %d)", result.history.first!.meanLoss, t.finalLoss, t.epochs))
        if let eer = t.validationEER, let auc = t.validationAUC, let last = result.history.last?.validation {
            print(String(format: "held-out EER, last epoch: %.2f%% (AUC %.4f)", 100 * last.eer, last.auc))
            print(
                String(
                    format: "kept epoch %d: held-out EER %.2f%%, AUC %.4f, threshold %.4f", t.bestEpoch, 100 * eer, auc,
                    result.model.info.threshold ?? .nan))
            print(
                "  (the kept epoch was chosen on these held-out identities, so its EER is optimistic; use crossval for an unbiased figure)"
            )
        }
        print(String(format: "time: %.1fs", t.seconds))
    }
}
