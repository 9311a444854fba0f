import ArgumentParser
import FaceTwin
import Foundation

/// A fraction as a percentage (kept out of format argument lists, where literal arithmetic
/// is slow to type-check).
private func percentOf(_ fraction: Double) -> Double { fraction * 100 }

struct CrossvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crossval",
        abstract: "Subject-disjoint K-fold cross-validation: train on K−1 folds of identities, score the unseen fold.",
        discussion: """
            The identities of --data are shuffled with the seed and dealt into K folds (fold f \
            tests on shuffled[f], shuffled[f+K], …). Each fold trains a fresh network on the other \
            identities for the epochs of the recipe (--recipe, default or reference), using a \
            training seed derived from the seed and f. With --validation-share, a seeded share \
            of that fold's training identities is held out of its training and scored after \
            every epoch: the best epoch's weights are kept and --patience stops early; without \
            it the last epoch (after a collapse the last healthy one) is kept. The test \
            identities influence nothing. Each fold \
            then scores all pairs of its own unseen identities. Before any training, every \
            image file is hashed (SHA-256): a test image with the same bytes as a training image \
            (the same photo under two identities) stops the run, naming both files.

            --seeds 0,1,2 repeats the K folds for each seed (each seed shuffles its own folds). \
            Prints each seed and fold's EER (with a 95 % bootstrap interval over the fold's test \
            identities), ROC AUC and TAR at FMR 1 %; then, over all folds × seeds, the mean EER \
            with the t-interval of the mean, the worst fold, and the mean TAR at FMR 1 %. TAR at \
            FMR 1 % needs at least 300 impostor pairs in a fold (rule of three); with fewer it is \
            reported as not supported, in that fold and in the mean.

            Progress per epoch goes to stderr. --models DIR saves each fold's model as \
            fold-N.safetensors (seed-S-fold-N.safetensors with --seeds; its training record names \
            the fold's test identities as held out; its threshold is the EER threshold on them).

            Over labelled pairs (--pairs or --pair-folders instead of --data), the folds are dealt \
            from the connected groups of images: two images are in one group when a pair joins \
            them or their files have the same bytes, so no image is on both sides. Pair folders \
            whose images appear in no other pair are each their own group. A fold trains on the \
            other groups' pairs and scores its own groups' pairs.

            --backbone with dlib's ResNet cuts its chips of every image once, then each fold \
            fine-tunes it on the fold's training identities as train --backbone does \
            (--freeze-backbone --head sigmoid: the head alone), or with --zero-shot scores the \
            ResNet as it is, on the same folds.
            """
    )

    @Option(help: "Root of the identity folders (DIR/<identity>/<image>.pgm).")
    var data: String?

    @Option(help: "CSV of labelled pairs instead of --data (image1,image2,same, or label with --label-means).")
    var pairs: String?

    @OptionGroup var pairFolders: PairFoldersOption

    @Option(help: "Number of folds (each needs at least 2 identities).")
    var folds: Int = 5

    @Option(help: "Seed for the fold split and training (default 0). Not with --seeds.")
    var seed: UInt64?

    @Option(help: "Comma-separated seeds, e.g. 0,1,2: the K folds are run for each. Not with --seed.")
    var seeds: String?

    @Option(help: "Bootstrap resamples for each fold's 95 % intervals (0: none).")
    var bootstrap: Int = 1000

    @OptionGroup var training: TrainingOptionsGroup

    @OptionGroup var backbone: BackboneOptions

    @Flag(help: "With --backbone (dlib's ResNet): no training; each fold scores the ResNet as it is.")
    var zeroShot = false

    @Option(help: "Save each fold's model in this folder (fold-1.safetensors, …).")
    var models: String?

    @Flag(help: "Print JSON.")
    var json = false

    @Flag(help: "No progress lines.")
    var quiet = false

    func validate() throws {
        guard (data != nil) != (pairs != nil || pairFolders.pairFolders != nil) else {
            throw ValidationError("give --data DIR (identity folders) or --pairs/--pair-folders (labelled pairs)")
        }
        let range = NetworkConfig.limits.folds
        guard range.contains(folds) else {
            throw ValidationError("--folds must be between \(range.lowerBound) and \(range.upperBound) (got \(folds))")
        }
        guard seed == nil || seeds == nil else { throw ValidationError("give --seed N or --seeds A,B,…, not both") }
        _ = try seedList()
        if zeroShot, backbone.backbone == nil { throw ValidationError("--zero-shot goes with --backbone MODEL") }
        if zeroShot, backbone.freezeBackbone {
            throw ValidationError("--zero-shot trains nothing; --freeze-backbone trains a head")
        }
        if backbone.backbone != nil, data == nil {
            throw ValidationError("crossval --backbone takes identity folders (--data DIR)")
        }
        let resamples = NetworkConfig.limits.bootstrap
        guard resamples.contains(bootstrap) else {
            throw ValidationError(
                "--bootstrap must be between \(resamples.lowerBound) and \(resamples.upperBound) (got \(bootstrap))")
        }
    }

    /// --seeds parsed, else [--seed], else [0].
    func seedList() throws -> [UInt64] {
        guard let seeds else { return [seed ?? 0] }
        let parsed = CommaList.items(seeds).map { UInt64($0) }
        guard !parsed.isEmpty, parsed.allSatisfy({ $0 != nil }) else {
            throw ValidationError("--seeds must be non-negative integers separated by commas, e.g. 0,1,2 (got \"\(seeds)\")")
        }
        let list = parsed.map { $0! }
        guard Set(list).count == list.count else { throw ValidationError("--seeds lists a seed twice (\"\(seeds)\")") }
        return list
    }

    /// The training options of seed `seed`: the recipe's, or dlib's ResNet's fine-tuning.
    func runOptions(seed: UInt64) -> TrainingOptions {
        guard backbone.backbone != nil else { return training.trainingOptions(seed: seed) }
        return backbone.resNetOptions(training, seed: seed)
    }

    /// What the folds run, as the output names it: the recipe, or zero-shot (no training).
    func recipeName(_ o: TrainingOptions) -> String { zeroShot ? "zero-shot" : o.recipe.rawValue }

    func run() throws {
        if backbone.backbone != nil { return try runResNet() }
        let config = try training.networkConfig()
        let seedValues = try seedList()
        // Every split (and its duplicate-image check) is made before any training.
        let list = try pairFolders.list(pairs: pairs).map(TrainingPairsOptions.labelled)
        let runs = try seedValues.map { s -> (UInt64, CrossValidation) in
            let options = training.trainingOptions(seed: s)
            let cv =
                try list.map { try CrossValidation(pairs: $0, config: config, options: options, folds: folds) }
                ?? CrossValidation(root: data!, config: config, options: options, folds: folds)
            cv.bootstrapResamples = bootstrap
            return (s, cv)
        }
        if let models { try createFolder(models) }
        var results: [(seed: UInt64, folds: [CrossValidationFoldResult], modelPaths: [String?])] = []
        for (s, cv) in runs {
            if seedValues.count > 1, !quiet { printError("seed \(s): \(folds) folds") }
            let (r, paths) = try runFolds(cv, seed: s, several: seedValues.count > 1)
            results.append((s, r, paths))
        }
        let summary = try CrossValidationSummary(runs: results.map { .init(seed: $0.seed, folds: $0.folds) })
        if json {
            try printJSON(jsonOutput(results, summary: summary, config: config, seeds: seedValues))
        } else {
            printTable(results, summary: summary, seeds: seedValues)
        }
    }

    /// `--backbone` with dlib's ResNet: its chips of every identity cut once, then each seed's
    /// folds zero-shot or fine-tuned.
    func runResNet() throws {
        guard let path = backbone.backbone, let data else { return }
        guard try FaceModel.load(path: path).resnet != nil, case .resnet(let model, let head) = try backbone.resolve(training)
        else {
            throw CLIError("\(path): crossval --backbone takes dlib's ResNet")
        }
        guard let landmarks = model.landmarkModel else {
            throw CLIError(
                "\(path): the model file carries no landmark model (landmarks.shape_predictor_5) to cut chips with: convert it again with facetwin import-dlib"
            )
        }
        let seedValues = try seedList()
        let chips = try ImageFolder(
            root: data, for: model.config,
            preparer: FacePreparer(chipsWith: landmarks, modelName: "landmarks.shape_predictor_5", mode: .auto, policy: .refuse))
        if !quiet, !chips.failedToAcquire.isEmpty {
            printError("\(chips.failedToAcquire.count) image(s) without a usable face left out")
            for e in chips.failedToAcquire { printError("  \(e.description) (failure to acquire)") }
        }
        let runs = try seedValues.map { s -> (UInt64, CrossValidation) in
            let options = runOptions(seed: s)
            let cv = try CrossValidation(
                chips: chips, backbone: model, head: head, training: zeroShot ? .zeroShot : .fineTune, options: options,
                folds: folds)
            cv.bootstrapResamples = bootstrap
            return (s, cv)
        }
        if let models { try createFolder(models) }
        var results: [(seed: UInt64, folds: [CrossValidationFoldResult], modelPaths: [String?])] = []
        for (s, cv) in runs {
            if seedValues.count > 1, !quiet { printError("seed \(s): \(folds) folds") }
            let (r, paths) = try runFolds(cv, seed: s, several: seedValues.count > 1)
            results.append((s, r, paths))
        }
        let summary = try CrossValidationSummary(runs: results.map { .init(seed: $0.seed, folds: $0.folds) })
        if json {
            try printJSON(jsonOutput(results, summary: summary, config: model.config, seeds: seedValues))
        } else {
            printTable(results, summary: summary, seeds: seedValues)
        }
    }

    func createFolder(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw CLIError("\(path): cannot create folder: \(error.localizedDescription)")
        }
    }

    /// Trains and scores every fold, printing progress. Each fold's model is saved under
    /// --models as soon as the fold is done (nothing is lost if a later fold fails) and then
    /// let go, so the folds' models are not all held in memory to the end.
    func runFolds(_ cv: CrossValidation, seed: UInt64, several: Bool) throws -> ([CrossValidationFoldResult], [String?]) {
        var results: [CrossValidationFoldResult] = []
        var modelPaths: [String?] = []
        for fold in cv.folds {
            let r = try cv.run(fold) { event in
                if !quiet { printError(Self.progressLine(event)) }
            }
            var path: String? = nil
            if let models, let model = r.model {
                let name = several ? "seed-\(seed)-fold-\(fold.index + 1).safetensors" : "fold-\(fold.index + 1).safetensors"
                path = (models as NSString).appendingPathComponent(name)
                try model.save(to: path!)
            }
            modelPaths.append(path)
            results.append(r.withoutModel())
        }
        return (results, modelPaths)
    }

    /// How each fold's interval was made (its seed is the fold's split seed).
    static func foldIntervalMethod(_ b: BootstrapIntervals) -> String {
        "percentile bootstrap over the fold's test \(b.unit.rawValue), \(b.resamples) resamples, seeded with the split seed"
    }

    /// "TAR@FMR=1% 85.00%", or "TAR@FMR=1% not supported (120 impostor pairs, needs ≥ 300)".
    static func tarText(_ t: TARAtFMR) -> String {
        guard let tar = t.tar else {
            return "TAR@FMR=1% not supported (\(t.impostorPairs) impostor pairs, needs ≥ \(t.impostorPairsNeeded))"
        }
        return String(format: "TAR@FMR=1%% %.2f%%", percentOf(tar))
    }

    /// The stderr line for a fold starting, an epoch, or a fold's result.
    static func progressLine(_ event: CrossValidationEvent) -> String {
        switch event {
        case .foldStarted(let fold, let trainImages, let testImages):
            return
                "fold \(fold.index + 1)/\(fold.count): test \(fold.testIdentities.joined(separator: ",")) (\(testImages) images); "
                + "training on \(fold.trainIdentities.count) identities (\(trainImages) images)"
        case .epoch(let fold, let r):
            let number: Int = fold.index + 1
            let loss: Double = Double(r.meanLoss)
            var line: String = String(format: "fold %d/%d  epoch %3d/%d  loss %.4f", number, fold.count, r.epoch, r.epochs, loss)
            line += bandsText(r)
            line += String(format: "  %6.0f pairs/s  %5.1fs", r.pairsPerSecond, r.seconds)
            line += "  eta " + formatDuration(r.secondsLeft)
            if let note = collapseText(r) { line += "\nfold \(number)/\(fold.count): " + note }
            return line
        case .foldFinished(let f):
            let number: Int = f.fold.index + 1
            let eer: Double = percentOf(f.metrics.eer)
            var line = String(format: "fold %d/%d: EER %.2f%%  AUC %.4f  ", number, f.fold.count, eer, f.metrics.auc)
            line += tarText(f.metrics.tarAtFMR1Percent) + String(format: "  (%.1fs)", f.seconds)
            return line
        }
    }

    struct JSONFold: Encodable {
        let seed: UInt64, fold: Int, trainingSeed: UInt64, testIdentities: [String], testImages: Int, trainImages: Int
        let genuinePairs: Int, impostorPairs: Int
        let eer: Double, eerThreshold: Float, auc: Double, tarAtFMR1Percent: TARAtFMR, tarAtFMR0_1Percent: TARAtFMR
        /// Bootstrap over the fold's test identities; null with --bootstrap 0.
        let intervals: BootstrapIntervals?
        let bestAccuracy: Double, finalLoss: Float?, seconds: Double, model: String?

        func encode(to encoder: Encoder) throws {
            enum K: String, CodingKey {
                case seed, fold, trainingSeed, testIdentities, testImages, trainImages, genuinePairs, impostorPairs, eer,
                    eerThreshold
                case auc, tarAtFMR1Percent, tarAtFMR0_1Percent, intervals, bestAccuracy, finalLoss, seconds, model
            }
            var c = encoder.container(keyedBy: K.self)
            try c.encode(seed, forKey: .seed); try c.encode(fold, forKey: .fold);
            try c.encode(trainingSeed, forKey: .trainingSeed)
            try c.encode(testIdentities, forKey: .testIdentities); try c.encode(testImages, forKey: .testImages)
            try c.encode(trainImages, forKey: .trainImages); try c.encode(genuinePairs, forKey: .genuinePairs)
            try c.encode(impostorPairs, forKey: .impostorPairs); try c.encode(eer, forKey: .eer)
            try c.encode(eerThreshold, forKey: .eerThreshold); try c.encode(auc, forKey: .auc)
            try c.encode(tarAtFMR1Percent, forKey: .tarAtFMR1Percent);
            try c.encode(tarAtFMR0_1Percent, forKey: .tarAtFMR0_1Percent)
            try c.encode(intervals, forKey: .intervals); try c.encode(bestAccuracy, forKey: .bestAccuracy)
            try c.encode(finalLoss, forKey: .finalLoss); try c.encode(seconds, forKey: .seconds);
            try c.encode(model, forKey: .model)
        }
    }

    struct JSONSummary: Encodable {
        /// Over all folds × seeds: mean, sd, t-interval of the mean.
        let eer: CrossValidationSummary.Mean
        let worstFold: CrossValidationSummary.FoldFigures
        /// Null mean and a reason unless every fold supports TAR at FMR 1 %.
        let tarAtFMR1Percent: CrossValidationSummary.Mean
        let intervalMethod: String
        let foldIntervalMethod: String?
    }

    struct JSONOutput: Encodable {
        let data: String, folds: Int, seeds: [UInt64], recipe: String, epochs: Int, batch: Int, lr: Float, margin: Float,
            network: NetworkConfig
        let bootstrapResamples: Int
        let results: [JSONFold]
        let summary: JSONSummary
        /// Over all folds × seeds.
        let eer: CrossValidationStatistic, auc: CrossValidationStatistic, bestAccuracy: CrossValidationStatistic
    }

    func jsonOutput(
        _ runs: [(seed: UInt64, folds: [CrossValidationFoldResult], modelPaths: [String?])], summary: CrossValidationSummary,
        config: NetworkConfig, seeds: [UInt64]
    ) -> JSONOutput {
        var rows: [JSONFold] = []
        for run in runs {
            for (f, path) in zip(run.folds, run.modelPaths) {
                let m = f.metrics
                rows.append(
                    JSONFold(
                        seed: run.seed, fold: f.fold.index + 1, trainingSeed: f.trainingSeed,
                        testIdentities: f.fold.testIdentities,
                        testImages: f.testImages, trainImages: f.trainImages, genuinePairs: m.genuineCount,
                        impostorPairs: m.impostorCount, eer: m.eer, eerThreshold: m.eerThreshold, auc: m.auc,
                        tarAtFMR1Percent: m.tarAtFMR1Percent, tarAtFMR0_1Percent: m.tarAtFMR0_1Percent, intervals: f.intervals,
                        bestAccuracy: m.bestAccuracy, finalLoss: f.finalLoss.isNaN ? nil : f.finalLoss, seconds: f.seconds,
                        model: path))
            }
        }
        let all = runs.flatMap(\.folds)
        let foldMethod = all.first?.intervals.map { Self.foldIntervalMethod($0) }
        let o = runOptions(seed: seeds[0])
        return JSONOutput(
            data: data ?? pairs ?? pairFolders.pairFolders ?? "", folds: folds, seeds: seeds, recipe: recipeName(o),
            epochs: o.epochs,
            batch: o.batchSize, lr: o.learningRate,
            margin: o.margin, network: config, bootstrapResamples: bootstrap, results: rows,
            summary: JSONSummary(
                eer: summary.eer, worstFold: summary.worstFold, tarAtFMR1Percent: summary.tarAtFMR1Percent,
                intervalMethod: summary.intervalMethod, foldIntervalMethod: foldMethod),
            eer: CrossValidationStatistic(all.map(\.metrics.eer)), auc: CrossValidationStatistic(all.map(\.metrics.auc)),
            bestAccuracy: CrossValidationStatistic(all.map(\.metrics.bestAccuracy)))
    }

    /// One row per seed and fold, then the figures over all of them.
    func printTable(
        _ runs: [(seed: UInt64, folds: [CrossValidationFoldResult], modelPaths: [String?])], summary: CrossValidationSummary,
        seeds: [UInt64]
    ) {
        let seedText = seeds.count == 1 ? "seed \(seeds[0])" : "seeds \(seeds.map(String.init).joined(separator: ","))"
        let o = runOptions(seed: seeds[0])
        let kept =
            o.validationShare > 0
            ? "the best epoch on \(o.validationShare) of each fold's training identities kept"
                + (o.patience > 0 ? ", patience \(o.patience)" : "")
            : backbone.backbone != nil ? "last epoch kept" : "last healthy epoch kept"
        var what = "\(recipeName(o)) recipe, \(seedText), \(o.epochs) epochs each (\(kept))"
        if let path = backbone.backbone {
            what =
                zeroShot
                ? "dlib's ResNet \(path) as it is (no training), \(seedText)"
                : "\(recipeName(o)) of \(path) (\(o.freezeBackbone ? "frozen, a sigmoid head trained" : String(format: "backbone lr %g x %g", o.backboneLearningRateScale, o.learningRate))), \(seedText), \(o.epochs) epochs each (\(kept))"
        }
        print("crossval: \(folds) subject-disjoint folds of \(data ?? pairs ?? pairFolders.pairFolders ?? ""), \(what)")
        print("seed  fold  test identities                     EER     (95 % interval)    AUC     TAR@FMR=1%  final loss   time")
        for run in runs {
            for f in run.folds {
                let ids = Evaluation.compactList(f.fold.testIdentities, limit: 10)
                let padded = ids.count >= 34 ? ids : ids + String(repeating: " ", count: 34 - ids.count)
                let number: Int = f.fold.index + 1
                let eer: Double = percentOf(f.metrics.eer), loss: Double = Double(f.finalLoss)
                var row: String = String(format: "%4llu  %4d  ", run.seed, number)
                row += padded
                row += String(format: "  %6.2f%%", eer)
                if let i = f.intervals?.eer {
                    let lo: Double = percentOf(i.lower), hi: Double = percentOf(i.upper)
                    row += String(format: "  (%5.2f – %5.2f%%)", lo, hi)
                } else {
                    row += "                  "
                }
                row += String(format: "  %.4f  ", f.metrics.auc)
                if let tar = f.metrics.tarAtFMR1Percent.tar {
                    let t: Double = percentOf(tar)
                    row += String(format: "%8.2f%%", t)
                } else {
                    row += "     n/s "
                }
                row += f.finalLoss.isNaN ? "           –" : String(format: "  %10.4f", loss)
                row += String(format: "  %6.1fs", f.seconds)
                print(row)
            }
        }
        let n = summary.folds.count
        print("over \(n) folds × seeds:")
        if let mean = summary.eer.mean {
            let m: Double = percentOf(mean), sd: Double = percentOf(summary.eer.standardDeviation ?? 0)
            var line = String(format: "  mean EER %.2f%% (sd %.2f)", m, sd)
            if let i = summary.eer.interval {
                let lo: Double = percentOf(i.lower), hi: Double = percentOf(i.upper)
                line += String(format: ", 95 %% interval of the mean %.2f – %.2f%%", lo, hi)
            }
            print(line)
        }
        let worst: Double = percentOf(summary.worstFold.eer)
        print(
            String(format: "  worst fold: seed %llu fold %d, EER %.2f%%", summary.worstFold.seed, summary.worstFold.fold, worst))
        if let mean = summary.tarAtFMR1Percent.mean {
            let m: Double = percentOf(mean)
            var line = String(format: "  mean TAR at FMR 1 %%: %.2f%%", m)
            if let i = summary.tarAtFMR1Percent.interval {
                let lo: Double = percentOf(i.lower), hi: Double = percentOf(i.upper)
                line += String(format: ", 95 %% interval of the mean %.2f – %.2f%%", lo, hi)
            }
            print(line)
        } else {
            print("  mean TAR at FMR 1 %: not supported (\(summary.tarAtFMR1Percent.unsupportedReason ?? ""))")
        }
        let all = runs.flatMap(\.folds)
        let auc = CrossValidationStatistic(all.map(\.metrics.auc))
        print(String(format: "  mean AUC %.4f (sd %.4f)", auc.mean, auc.standardDeviation))
        print(
            "intervals: of the mean, \(summary.intervalMethod)"
                + (all.first?.intervals.map { "; per fold, " + Self.foldIntervalMethod($0) } ?? ""))
        if all.contains(where: { !$0.metrics.tarAtFMR1Percent.isSupported }) {
            print("n/s: TAR at FMR 1 % not supported by the fold's impostor pairs (rule of three: needs ≥ 300)")
        }
        if let models {
            print(
                seeds.count == 1 ? "models: \(models)/fold-1…\(folds).safetensors" : "models: \(models)/seed-S-fold-N.safetensors"
            )
        }
    }
}
