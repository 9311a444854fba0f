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
            The identities of --data are shuffled with --seed and dealt into K folds (fold f tests \
            on shuffled[f], shuffled[f+K], …). Each fold trains a fresh network on the other \
            identities for all the epochs, with no validation set and no epoch selection (the \
            test identities influence nothing), using seed + f, then scores all pairs of its own \
            unseen identities. Prints each fold and the mean ± sample standard deviation of EER, \
            ROC AUC and TAR at FAR = 1 %: the project's headline quality figure.

            Progress per epoch goes to stderr. --models DIR saves each fold's model as \
            fold-N.safetensors (its training record names the fold's test identities as held out; \
            its threshold is the EER threshold on them).
            """
    )

    @Option(help: "Root of the identity folders (DIR/<identity>/<image>.pgm).")
    var data: String

    @Option(help: "Number of folds (each needs at least 2 identities).")
    var folds: Int = 5

    @Option(help: "Seed for the fold split; fold f trains with seed + f.")
    var seed: UInt64 = 0

    @OptionGroup var training: TrainingOptionsGroup

    @Option(help: "Save each fold's model in this folder (fold-1.safetensors, …).")
    var models: String?

    @Flag(help: "Print JSON.")
    var json = false

    @Flag(help: "No progress lines.")
    var quiet = false

    func validate() throws {
        let range = NetworkConfig.limits.folds
        guard range.contains(folds) else {
            throw ValidationError("--folds must be between \(range.lowerBound) and \(range.upperBound) (got \(folds))")
        }
    }

    func run() throws {
        let config = try training.networkConfig()
        let cv = try CrossValidation(root: data, config: config, options: training.trainingOptions(seed: seed), folds: folds)
        if let models { try createFolder(models) }
        let (result, modelPaths) = try runFolds(cv)
        if json {
            try printJSON(jsonOutput(result, modelPaths: modelPaths, config: config))
        } else {
            printTable(result)
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
    func runFolds(_ cv: CrossValidation) throws -> (CrossValidationResult, modelPaths: [String?]) {
        var results: [CrossValidationFoldResult] = []
        var modelPaths: [String?] = []
        for fold in cv.folds {
            let r = try cv.run(fold) { event in
                if !quiet { printError(Self.progressLine(event)) }
            }
            var path: String? = nil
            if let models, let model = r.model {
                path = (models as NSString).appendingPathComponent("fold-\(fold.index + 1).safetensors")
                try model.save(to: path!)
            }
            modelPaths.append(path)
            results.append(r.withoutModel())
        }
        return (CrossValidationResult(folds: results), modelPaths)
    }

    /// The stderr line for a fold starting, an epoch, or a fold's result.
    static func progressLine(_ event: CrossValidationEvent) -> String {
        switch event {
        case .foldStarted(let fold, let trainImages, let testImages):
            return "fold \(fold.index + 1)/\(fold.count): test \(fold.testIdentities.joined(separator: ",")) (\(testImages) images); "
                + "training on \(fold.trainIdentities.count) identities (\(trainImages) images)"
        case .epoch(let fold, let r):
            let number: Int = fold.index + 1
            let loss: Double = Double(r.meanLoss)
            var line: String = String(format: "fold %d/%d  epoch %3d/%d  loss %.4f", number, fold.count, r.epoch, r.epochs, loss)
            line += String(format: "  %6.0f pairs/s  %5.1fs", r.pairsPerSecond, r.seconds)
            line += "  eta " + formatDuration(r.secondsLeft)
            return line
        case .foldFinished(let f):
            let number: Int = f.fold.index + 1
            let eer: Double = percentOf(f.metrics.eer), tar: Double = percentOf(f.metrics.tarAtFAR1)
            return String(format: "fold %d/%d: EER %.2f%%  AUC %.4f  TAR@FAR=1%% %.2f%%  (%.1fs)", number, f.fold.count,
                          eer, f.metrics.auc, tar, f.seconds)
        }
    }

    struct JSONFold: Encodable {
        let fold: Int, testIdentities: [String], testImages: Int, trainImages: Int, genuinePairs: Int, impostorPairs: Int
        let eer: Double, eerThreshold: Float, auc: Double, tarAtFAR1: Double, tarAtFAR01: Double, bestAccuracy: Double
        let finalLoss: Float, seconds: Double, model: String?
    }

    struct JSONOutput: Encodable {
        let data: String, folds: Int, seed: UInt64, epochs: Int, batch: Int, lr: Float, margin: Float, network: NetworkConfig
        let results: [JSONFold]
        let eer: CrossValidationStatistic, auc: CrossValidationStatistic, tarAtFAR1: CrossValidationStatistic
        let bestAccuracy: CrossValidationStatistic
    }

    func jsonOutput(_ result: CrossValidationResult, modelPaths: [String?], config: NetworkConfig) -> JSONOutput {
        let rows = zip(result.folds, modelPaths).map { f, path in
            JSONFold(fold: f.fold.index + 1, testIdentities: f.fold.testIdentities, testImages: f.testImages, trainImages: f.trainImages,
                     genuinePairs: f.metrics.genuineCount, impostorPairs: f.metrics.impostorCount, eer: f.metrics.eer,
                     eerThreshold: f.metrics.eerThreshold, auc: f.metrics.auc, tarAtFAR1: f.metrics.tarAtFAR1,
                     tarAtFAR01: f.metrics.tarAtFAR01, bestAccuracy: f.metrics.bestAccuracy, finalLoss: f.finalLoss,
                     seconds: f.seconds, model: path)
        }
        return JSONOutput(data: data, folds: folds, seed: seed, epochs: training.epochs, batch: training.batch, lr: training.lr,
                          margin: training.margin, network: config, results: rows, eer: result.eer, auc: result.auc,
                          tarAtFAR1: result.tarAtFAR1, bestAccuracy: result.bestAccuracy)
    }

    /// One row per fold, then the mean ± standard deviation of the figures.
    func printTable(_ result: CrossValidationResult) {
        print("crossval: \(folds) subject-disjoint folds of \(data), seed \(seed), \(training.epochs) epochs each (last epoch kept)")
        print("fold  test identities                     EER      AUC     TAR@FAR=1%  final loss   time")
        for f in result.folds {
            let ids = Evaluation.compactList(f.fold.testIdentities, limit: 10)
            let padded = ids.count >= 34 ? ids : ids + String(repeating: " ", count: 34 - ids.count)
            let number: Int = f.fold.index + 1
            let eer: Double = percentOf(f.metrics.eer), tar: Double = percentOf(f.metrics.tarAtFAR1), loss: Double = Double(f.finalLoss)
            var row: String = String(format: "%4d  ", number)
            row += padded
            row += String(format: "  %6.2f%%  %.4f  %8.2f%%  %10.4f  %6.1fs", eer, f.metrics.auc, tar, loss, f.seconds)
            print(row)
        }
        let e = result.eer, a = result.auc, t = result.tarAtFAR1
        let eerMean: Double = percentOf(e.mean), eerSD: Double = percentOf(e.standardDeviation)
        let eerMin: Double = percentOf(e.minimum), eerMax: Double = percentOf(e.maximum)
        print(String(format: "mean ± sd   EER %.2f%% ± %.2f  (min %.2f, max %.2f)", eerMean, eerSD, eerMin, eerMax))
        print(String(format: "            AUC %.4f ± %.4f", a.mean, a.standardDeviation))
        let tarMean: Double = percentOf(t.mean), tarSD: Double = percentOf(t.standardDeviation)
        print(String(format: "            TAR@FAR=1%% %.2f%% ± %.2f", tarMean, tarSD))
        if let models { print("models: \(models)/fold-1…\(folds).safetensors") }
    }
}
