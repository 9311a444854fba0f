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
            best epoch's weights are kept and its EER threshold is stored in the model. Without \
            --holdout, --validation-share carves that validation set from the training \
            identities (seeded by --seed); --patience stops the run after that many epochs \
            without a better validation EER. The loss \
            history is written beside the model as CSV (model.history.csv), each row ending with \
            the model's fingerprint so a history that does not belong to the model shows.

            --detect always detects and aligns the face in every training image first (as \
            facetwin detect does); images without a usable face are left out and listed. The \
            model records how its training images were prepared (facetwin info shows it), and \
            --detect auto on evaluate, enroll, verify, identify and compare prepares photos the \
            same way.

            --backbone with dlib's ResNet fine-tunes it on its chips of the training images (cut \
            as --detect says; images without a usable face are left out and listed): margin 1 \
            contrastive on the distance (or on a fresh sigmoid head), the backbone at \
            --backbone-lr-scale of --lr; --freeze-backbone --head sigmoid trains the head alone \
            on embeddings computed once. The model keeps the ResNet's chip record and records \
            the backbone's fingerprint (facetwin info shows it).
            """
    )

    @Option(help: "Root of the identity folders (DIR/<identity>/<image>.pgm).")
    var data: String?

    @OptionGroup var pairData: TrainingPairsOptions

    @OptionGroup var backbone: BackboneOptions

    @OptionGroup var schedule: ScheduleOptions

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

    func validate() throws {
        guard (data != nil) != pairData.isGiven else {
            throw ValidationError("give --data DIR (identity folders) or --pairs/--pair-folders (labelled pairs)")
        }
        if pairData.isGiven, !holdout.isEmpty {
            throw ValidationError("--holdout goes with --data; with pairs use --validation-pairs")
        }
    }

    func run() throws {
        // Where the model and its history go must be writable before any training is done.
        try OutputFile.checkWritable(out)
        try OutputFile.checkWritable(TrainingFiles.historyPath(for: out))
        let config: NetworkConfig, backboneNetwork: SiameseNetwork?
        switch try backbone.resolve(recipe) {
        case .none(let c): (config, backboneNetwork) = (c, nil)
        case .twin(let c, let network): (config, backboneNetwork) = (c, network)
        case .resnet(let model, let head): return try fineTune(model, head: head)
        }
        if pairData.isGiven {
            try train(config: config, backbone: backboneNetwork, data: try trainingPairs(config))
            return
        }
        guard let data else { return }
        let held = Set(CommaList.items(holdout).filter { !$0.isEmpty })
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
        let failed = trainSet.failedToAcquire + (validation?.failedToAcquire ?? [])
        var notes: [String] = []
        if trainSet.skippedFiles > 0 { notes.append("skipped \(trainSet.skippedFiles) non-image files") }
        if preparer != nil { notes.append("faces detected and aligned, \(failed.count) image(s) without a usable face left out") }
        try train(
            config: config, backbone: backboneNetwork, data: (.identities(trainSet), validation.map { .identities($0) }),
            notes: notes, failed: failed)
    }

    /// The pair data (training and validation), loaded for `config` (through `preparer`), with a summary line.
    func trainingPairs(_ config: NetworkConfig, preparer: FacePreparer? = nil) throws -> (TrainingData, TrainingData?) {
        guard let list = try pairData.trainingList() else { throw CLIError("no training pairs") }
        let train = try PairImages(list, for: config, preparer: preparer)
        let validation = try pairData.validationList().map { try PairImages($0, for: config, preparer: preparer) }
        var summary = "data: \(train.count) pairs (\(train.genuineCount) similar) of \(train.paths.count) images for training"
        if let validation {
            summary += "; validation \(validation.count) pairs (\(validation.genuineCount) similar) from \(validation.source)"
        }
        if !quiet { printError(summary) }
        return (.pairs(train), validation.map { .pairs($0) })
    }

    func train(
        config: NetworkConfig, backbone network: SiameseNetwork?, data: (TrainingData, TrainingData?),
        notes: [String] = [], failed: [ImageError] = []
    ) throws {
        var options = recipe.trainingOptions(seed: seed)
        options.freezeBackbone = backbone.freezeBackbone
        try schedule.apply(to: &options)
        let trainer = try Trainer(config: config, options: options, data: data.0, validation: data.1)
        trainer.backbone = network
        trainer.backbonePath = backbone.backbone
        if case .identities(let t) = trainer.training {
            var summary = "data: \(t.identities.count) identities, \(t.count) images for training"
            if case .identities(let v) = trainer.validation {
                summary +=
                    "; \(trainer.validationIsCarved ? "validation" : "held out") \(v.identities.joined(separator: ",")) (\(v.count) images)"
            }
            for note in notes { summary += "; " + note }
            if !quiet {
                printError(summary)
                for e in failed { printError("  \(e.description) (failure to acquire)") }
            }
        }
        let result = try trainer.run { r in
            guard !quiet else { return }
            var line = String(format: "epoch %3d/%d  loss %.4f", r.epoch, r.epochs, r.meanLoss)
            if let v = r.validation { line += String(format: "  val EER %5.2f%%  AUC %.4f", 100 * v.eer, v.auc) }
            if let loss = r.validationLoss { line += String(format: "  val loss %.4f  lr %.2g", loss, r.learningRate) }
            line += bandsText(r)
            line += String(format: "  %6.0f pairs/s  %5.1fs", r.pairsPerSecond, r.seconds)
            line += "  eta \(formatDuration(r.secondsLeft))"
            if r.isBest && r.validation != nil { line += "  *" }
            printError(line)
            if let note = collapseText(r) { printError(note) }
        }
        // The model and its history as a pair: see TrainingFiles for the order and the check.
        let historyPath = TrainingFiles.historyPath(for: out)
        try TrainingFiles.save(result.model, historyCSV: result.historyCSV, modelPath: out, historyPath: historyPath)

        let t = result.model.info.training!
        print("model: \(out)")
        print("history: \(historyPath)")
        print(String(format: "loss: %.4f (epoch 1) -> %.4f (epoch %d)", result.history.first!.meanLoss, t.finalLoss, t.epochs))
        if let run = t.epochsRun, run < t.epochs {
            print("stopped early: epoch \(run), \(t.patience ?? 0) epochs without a better validation EER")
        }
        if let eer = t.validationEER, let auc = t.validationAUC, let last = result.history.last?.validation {
            print(String(format: "held-out EER, last epoch: %.2f%% (AUC %.4f)", 100 * last.eer, last.auc))
            print(
                String(
                    format: "kept epoch %d: held-out EER %.2f%%, AUC %.4f, threshold %.4f", t.bestEpoch, 100 * eer, auc,
                    result.model.info.threshold ?? .nan))
            print(
                "  (the kept epoch was chosen on these held-out \(t.validationPairs == nil ? "identities" : "pairs"), so its EER is optimistic; use crossval for an unbiased figure)"
            )
        }
        print(String(format: "time: %.1fs", t.seconds))
    }

    /// `--backbone` with dlib's ResNet: its chips of the training images (cut as the model cuts
    /// them: --detect auto finds the face in a photo, or in an image taken as a crop), then
    /// ResNetFineTuner.
    func fineTune(_ model: FaceModel, head: HeadKind) throws {
        var options = backbone.resNetOptions(recipe, seed: seed)
        try schedule.apply(to: &options)
        let path = backbone.backbone ?? ""
        guard let landmarks = model.landmarkModel else {
            throw CLIError(
                "\(path): the model file carries no landmark model (landmarks.shape_predictor_5) to cut chips with: convert it again with facetwin import-dlib"
            )
        }
        let preparer = FacePreparer(
            chipsWith: landmarks, modelName: "landmarks.shape_predictor_5", mode: detectOptions.detect,
            policy: detectOptions.faces)
        let config = model.config
        let data: (TrainingData, TrainingData?)
        var failed: [ImageError] = []
        if pairData.isGiven {
            data = try trainingPairs(config, preparer: preparer)
        } else {
            guard let root = self.data else { return }
            let held = Set(CommaList.items(holdout).filter { !$0.isEmpty })
            let trainSet = try ImageFolder(root: root, for: config, excluding: held, preparer: preparer)
            let validation = held.isEmpty ? nil : try ImageFolder(root: root, for: config, only: held, preparer: preparer)
            failed = trainSet.failedToAcquire + (validation?.failedToAcquire ?? [])
            data = (.identities(trainSet), validation.map { .identities($0) })
        }
        let tuner = try ResNetFineTuner(backbone: model, head: head, options: options, data: data.0, validation: data.1)
        tuner.backbonePath = path
        if !quiet {
            var summary = "fine-tuning dlib's ResNet \(path)"
            summary +=
                options.freezeBackbone
                ? " (frozen: the head alone, on embeddings computed once)"
                : String(format: " (backbone at %g x the head's learning rate)", options.backboneLearningRateScale)
            if case .identities(let t) = tuner.training {
                summary += "; \(t.identities.count) identities, \(t.count) chips"
                if case .identities(let v) = tuner.validation {
                    summary += "; validation \(v.identities.joined(separator: ",")) (\(v.count) chips)"
                }
            }
            if !failed.isEmpty { summary += "; \(failed.count) image(s) without a usable face left out" }
            printError(summary)
            for e in failed { printError("  \(e.description) (failure to acquire)") }
        }
        let result = try tuner.run { r in
            guard !quiet else { return }
            var line = String(format: "epoch %3d/%d  loss %.4f", r.epoch, r.epochs, r.meanLoss)
            if let v = r.validation { line += String(format: "  val EER %5.2f%%  AUC %.4f", 100 * v.eer, v.auc) }
            line += bandsText(r)
            line += String(format: "  %6.0f pairs/s  %5.1fs", r.pairsPerSecond, r.seconds)
            line += "  eta \(formatDuration(r.secondsLeft))"
            if r.isBest && r.validation != nil { line += "  *" }
            printError(line)
        }
        let historyPath = TrainingFiles.historyPath(for: out)
        try TrainingFiles.save(result.model, historyCSV: result.historyCSV, modelPath: out, historyPath: historyPath)
        let t = result.model.info.training!
        print("model: \(out)")
        print("history: \(historyPath)")
        print(
            String(
                format: "loss: %.4f (epoch 1) -> %.4f (epoch %d)", result.history.first!.meanLoss, t.finalLoss,
                t.epochsRun ?? t.epochs))
        if let eer = t.validationEER, let auc = t.validationAUC {
            print(String(format: "kept epoch %d: validation EER %.2f%%, AUC %.4f", t.bestEpoch, 100 * eer, auc))
        }
        if let threshold = result.model.info.threshold {
            print("threshold: \(threshold) (\(result.model.info.thresholdMethod ?? ""))")
        } else {
            print("threshold: none (facetwin calibrate chooses one on identities not trained on)")
        }
        print(String(format: "time: %.1fs", t.seconds))
    }
}
