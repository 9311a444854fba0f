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
            FNMR (per comparison), FAR and FRR with those pairs counted as rejections. With \
            --pairs or --pair-folders, so is a listed image that cannot be read or decoded, \
            each listed with its reason; --strict stops at the first such image instead.

            LFW's protocol (--lfw-pairs pairs.txt --data LFW_ROOT): View 2's pairs.txt (first \
            line "10 300": 10 folds of 300 matched then 300 mismatched pairs) or View 1's \
            pairsDevTrain.txt / pairsDevTest.txt (first line "1100" or "500"), images \
            LFW_ROOT/name/name_0001.jpg. Besides the figures over all pairs, each fold's accuracy \
            at the threshold of highest accuracy on the other folds, and their mean ± standard \
            error (σ/√folds), the figure papers report. Pairs with an image without a usable \
            face are not scored; the mean counting them as errors is printed beside.

            Identification (--identification --gallery-images N): the first N images of each \
            identity are enrolled, its other images searched against every enrolled identity \
            (nearest template). CMC (rank 1 to 10: the share of searches whose own identity is \
            among the first k) and, for open-set use, FNIR at FPIR 1 % and 10 % (a search of \
            someone not enrolled must not come within the threshold; FNIR is the share of \
            enrolled people's searches not found first within it). Non-mated searches are the \
            --non-mated identities' images (never enrolled), or else each search against the \
            gallery without its own identity. Intervals: a bootstrap over the searched identities.

            The zoo: each identity's genuine and impostor distances (the report's zoo.csv), and \
            the goats (mean genuine distance in the top quartile: hard to match) and lambs (mean \
            impostor distance in the bottom quartile: easy to imitate; with a symmetric distance \
            the wolves, good at imitating, are the same identities).

            --scores FILE.csv writes the distance of every image to every other (a header of \
            image paths, then a row per image), to compare with other tools' score matrices.

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

    @Option(help: "Write the all-against-all distance matrix of the evaluated images to this CSV (at most 4096 images).")
    var scores: String?

    @Flag(help: "Also measure open-set identification (CMC, FNIR at FPIR) on the identities of --data.")
    var identification = false

    @Option(name: .customLong("gallery-images"), help: "With --identification: images of each identity enrolled (its first N).")
    var galleryImages: Int = 1

    @Option(
        name: .customLong("non-mated"),
        help: "With --identification: comma-separated identities never enrolled, searched as strangers.")
    var nonMated: String?

    @Option(
        name: .customLong("lfw-pairs"),
        help: "LFW pair file (View 2 pairs.txt, or View 1 pairsDevTrain/DevTest.txt); images under --data.")
    var lfwPairs: String?

    @Flag(help: "Print JSON.")
    var json = false

    @Option(help: "Bootstrap resamples for the 95 % intervals (0: no intervals).")
    var bootstrap: Int = 1000

    @Option(name: .customLong("bootstrap-seed"), help: "Seed of the bootstrap resampling.")
    var bootstrapSeed: UInt64 = 0

    @Option(help: "Write a report folder: index.html, roc.svg, det.svg, distances.svg, roc.csv, pairs.png.")
    var report: String?

    @OptionGroup var detectOptions: DetectOptionsGroup

    @Flag(help: "With --pairs/--pair-folders: stop at the first image that cannot be decoded (default: a failure to acquire).")
    var strict = false

    func validate() throws {
        if lfwPairs != nil {
            guard pairs == nil, pairFolders.pairFolders == nil, identities == nil, root == nil else {
                throw ValidationError(
                    "--lfw-pairs takes its images from --data; give no --pairs, --pair-folders, --identities or --root")
            }
            guard data != nil else {
                throw ValidationError("--lfw-pairs needs --data LFW_ROOT (the folder of the people's folders)")
            }
        } else if pairs != nil || pairFolders.pairFolders != nil {
            guard identities == nil else { throw ValidationError("give --identities or --pairs/--pair-folders, not both") }
        } else {
            guard data != nil else {
                throw ValidationError("give --data DIR (identity folders), --pairs pairs.csv or --pair-folders DIR")
            }
            guard root == nil else { throw ValidationError("--root goes with --pairs") }
        }
        if let identities { _ = try EvalFormat.identityList(identities) }
        if identification {
            guard data != nil, pairs == nil, pairFolders.pairFolders == nil else {
                throw ValidationError("--identification searches the identity folders of --data: give --data, not pairs")
            }
            guard (1...NetworkConfig.limits.top.upperBound).contains(galleryImages) else {
                throw ValidationError(
                    "--gallery-images must be from 1 to \(NetworkConfig.limits.top.upperBound) (got \(galleryImages))")
            }
        } else if nonMated != nil || galleryImages != 1 {
            throw ValidationError("--gallery-images and --non-mated go with --identification")
        }
        if let nonMated { _ = try EvalFormat.identityList(nonMated) }
        if strict, pairs == nil, pairFolders.pairFolders == nil, lfwPairs == nil {
            throw ValidationError("--strict goes with --pairs or --pair-folders")
        }
        let resamples = NetworkConfig.limits.bootstrap
        guard resamples.contains(bootstrap) else {
            throw ValidationError(
                "--bootstrap must be between \(resamples.lowerBound) and \(resamples.upperBound) (got \(bootstrap))")
        }
    }

    func run() throws {
        if let report { try checkWritableFolder(report, option: "--report") }
        if let scores { try OutputFile.checkWritable(scores) }
        let m = try FaceModel.load(path: model)
        try detectOptions.apply(to: m)
        let lfw = try lfwPairs.map { try LFWPairs(contentsOf: $0, root: data!) }
        let list = try lfw?.list ?? pairFolders.list(pairs: pairs, root: root ?? data)
        let strangers = try Set(nonMated.map { try EvalFormat.identityList($0) } ?? [])
        let evaluated = try identities.map {
            try EvalFormat.identityList($0).joined(separator: ",")
                + (strangers.isEmpty ? "" : "," + strangers.joined(separator: ","))
        }
        let evaluation = try EvalFormat.evaluation(
            model: m, data: data, identities: evaluated, pairList: list, countUnusableImages: !strict)
        var warnings: [String] = []
        let check = TrainingIdentities(info: m.info)
        let included = check.overlap(with: evaluation.identities)
        if let included, !included.isEmpty {
            warnings.append(
                "the model trained on \(included.count) of the \(evaluation.identities.count) evaluated identities (\(Evaluation.compactList(included))); figures on them are optimistic — evaluate on held-out identities\(EvalFormat.heldOutHint(check))"
            )
        } else if included == nil {
            warnings.append(EvalFormat.cannotCheck(check, model: m))
        }
        if m.info.threshold == nil {
            warnings.append(
                "the model has no stored threshold, so there is no accuracy at it (run facetwin calibrate on held-out identities)"
            )
        }
        let intervals = bootstrap > 0 ? evaluation.bootstrapIntervals(resamples: bootstrap, seed: bootstrapSeed) : nil
        var summary = EvaluationSummary(
            evaluation, model: model, warnings: warnings, trainingIdentitiesIncluded: included,
            intervals: intervals)
        summary.lfw = try lfw?.result(of: evaluation)
        if identification {
            summary.identification = try IdentificationEvaluation(
                evaluation: evaluation, galleryImages: galleryImages, nonMated: strangers, resamples: bootstrap,
                seed: bootstrapSeed)
        }
        for w in warnings { printError("facetwin: warning: \(w)") }
        if let scores { try evaluation.writeScoreMatrix(to: scores) }

        var reportIndex: String? = nil
        if let report {
            // The training run's distance bands, when the model's history is beside it.
            // Drawn only from a history whose fingerprint is this model's.
            let historyPath = TrainingFiles.historyPath(for: model)
            var history = (try? InputFile.read(historyPath)).map { String(decoding: $0, as: UTF8.self) }
            if let text = history, TrainingFiles.check(m, historyCSV: text) != .consistent {
                printError("facetwin: warning: \(historyPath) does not record this model's fingerprint; training.svg not drawn")
                history = nil
            }
            try EvaluationReport.write(
                evaluation, summary: summary, training: history.flatMap(TrainingBands.init(historyCSV:)), to: report)
            reportIndex = (report as NSString).appendingPathComponent("index.html")
        }
        if json {
            Swift.print(summary.json())  // JSON escapes its control characters; printed over its lines
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
        if let z = summary.zoo { EvalFormat.printZoo(z) }
        if let l = summary.lfw { EvalFormat.printLFW(l) }
        if let i = summary.identification { EvalFormat.printIdentification(i) }
        if let reportIndex { print("report: \(reportIndex)") }
    }
}
