import ArgumentParser
import FaceTwin
import Foundation

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract:
            "Score a model on identities or listed pairs: EER, ROC AUC, TAR at FMR, accuracy, 95 % intervals; optionally a report.",
        discussion: """
            Embeds every image once and scores all pairs of the chosen identities (every identity \
            folder of --data unless --identities), or the pairs of --pairs. A pair is a match when \
            the distance between its two embeddings is at most the threshold.

            Honest figures need identities the model never trained on: when the model's training \
            record shows that some evaluated identities were trained on, a warning says so.

            Rates are per comparison: FMR (false match rate, impostor pairs accepted) and FNMR \
            (false non-match rate, genuine pairs rejected). TAR at FMR x is printed only when there \
            are at least 3/x impostor pairs (rule of three: 300 for 1 %, 3000 for 0.1 %); below \
            that an FMR of x cannot be told from 0, and the line says so instead of a number.

            95 % intervals (--bootstrap N resamples, 0 = none): a percentile bootstrap over \
            identities — draw the identities with replacement, score the pairs among the drawn \
            identities' images, recompute EER and TAR. For --pairs, identities are the images' \
            folders when those agree with every pair's label; otherwise the pairs are resampled, \
            and the output says so.

            Pair list (--pairs): CSV, one pair a line, image1,image2,same where same is 1 for two \
            photos of the same person and 0 for two different people (the opposite of the \
            contrastive loss's internal label). A header line image1,image2,same is optional; a \
            header naming the third column anything else (e.g. "label") is rejected as ambiguous. \
            Blank lines and lines starting with # are skipped; fields may be "quoted". Relative \
            image paths resolve against --root, else --data, else the folder holding the CSV.

            --detect (auto: as the model's training images were prepared; see facetwin info): \
            with face detection, an image without a usable face is a failure to acquire (FTA): \
            its pairs are not scored, and the output gives the FTA rate and, beside FMR and \
            FNMR (per comparison), FAR and FRR with those pairs counted as rejections.

            --report DIR writes index.html (open it), roc.svg, det.svg, distances.svg, roc.csv \
            (every ROC point: threshold, fmr, tar), pairs.png (example pairs with verdicts) and \
            summary.json.
            """
    )

    @Option(help: "Model file.")
    var model: String

    @Option(help: "Root of the identity folders (DIR/<identity>/<image>.pgm).")
    var data: String?

    @Option(help: "Comma-separated identities to evaluate, e.g. s5,s6,s7 (default: all in --data).")
    var identities: String?

    @Option(help: "CSV of labelled pairs (image1,image2,same; same: 1 = same person, 0 = different) instead of all pairs.")
    var pairs: String?

    @Option(help: "Folder that relative image paths in --pairs resolve against (default: --data, else the CSV's folder).")
    var root: String?

    @OptionGroup var pairFolders: PairFoldersOption

    @Flag(help: "Print JSON.")
    var json = false

    @Option(help: "Bootstrap resamples for the 95 % intervals (0: no intervals).")
    var bootstrap: Int = 1000

    @Option(name: .customLong("bootstrap-seed"), help: "Seed of the bootstrap resampling.")
    var bootstrapSeed: UInt64 = 0

    @Option(help: "Write a report folder: index.html, roc.svg, det.svg, distances.svg, roc.csv, pairs.png.")
    var report: String?

    @OptionGroup var detectOptions: DetectOptionsGroup

    func validate() throws {
        if pairs != nil || pairFolders.pairFolders != nil {
            guard identities == nil else { throw ValidationError("give --identities or --pairs/--pair-folders, not both") }
        } else {
            guard data != nil else {
                throw ValidationError("give --data DIR (identity folders), --pairs pairs.csv or --pair-folders DIR")
            }
            guard root == nil else { throw ValidationError("--root goes with --pairs") }
        }
        if let identities { _ = try EvalFormat.identityList(identities) }
        guard bootstrap >= 0 else { throw ValidationError("--bootstrap must be 0 (no intervals) or a number of resamples") }
    }

    func run() throws {
        if let report { try checkWritableFolder(report, option: "--report") }
        let m = try FaceModel.load(path: model)
        try detectOptions.apply(to: m)
        let list = try pairFolders.list(pairs: pairs, root: root ?? data)
        let evaluation = try EvalFormat.evaluation(model: m, data: data, identities: identities, pairList: list)
        var warnings: [String] = []
        let check = TrainingIdentities(info: m.info)
        let included = check.overlap(with: evaluation.identities)
        if let included, !included.isEmpty {
            warnings.append(
                "the model trained on \(included.count) of the \(evaluation.identities.count) evaluated identities (\(Evaluation.compactList(included))); figures on them are optimistic — evaluate on held-out identities\(EvalFormat.heldOutHint(check))"
            )
        } else if included == nil {
            warnings.append(EvalFormat.cannotCheck(check))
        }
        if m.info.threshold == nil {
            warnings.append(
                "the model has no stored threshold, so there is no accuracy at it (run facetwin calibrate on held-out identities)"
            )
        }
        let intervals = bootstrap > 0 ? evaluation.bootstrapIntervals(resamples: bootstrap, seed: bootstrapSeed) : nil
        let summary = EvaluationSummary(
            evaluation, model: model, warnings: warnings, trainingIdentitiesIncluded: included,
            intervals: intervals)
        for w in warnings { printError("facetwin: warning: \(w)") }

        var reportIndex: String? = nil
        if let report {
            // The training run's distance bands, when the model's history is beside it.
            let history = (try? InputFile.read(TrainingFiles.historyPath(for: model))).map { String(decoding: $0, as: UTF8.self) }
            try EvaluationReport.write(
                evaluation, summary: summary, training: history.flatMap(TrainingBands.init(historyCSV:)), to: report)
            reportIndex = (report as NSString).appendingPathComponent("index.html")
        }
        if json {
            print(summary.json())
            return
        }
        print("model: \(model)")
        switch evaluation.source {
        case .identities(let root, let names):
            print(
                "evaluated: all pairs of \(names.count) identities (\(Evaluation.compactList(names))) in \(root), \(evaluation.imagePaths.count) images"
            )
        case .pairList(let file):
            print("evaluated: the \(evaluation.pairCount) pairs of \(file), \(evaluation.imagePaths.count) images")
        }
        EvalFormat.printFigures(summary)
        if let reportIndex { print("report: \(reportIndex)") }
    }
}
