import ArgumentParser
import FaceTwin
import Foundation

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract:
            "Judge listed pairs and write result.csv: x1,x2,label,predict (the Keras recipe's columns), similar and distance.",
        discussion: """
            Scores every pair of --pair-folders or --pairs with the model and writes, through \
            one atomic write, a CSV with the columns x1 and x2 (the images as the list names \
            them), label (1 = similar, 0 = different, empty for an unlabelled pair), predict (the \
            model's output, as in the Keras recipe: for a model with a sigmoid head its score in \
            (0, 1), below 0.5 = similar; for a distance model the distance of the two \
            embeddings, small = similar), similar (the verdict: 1 when the pair is judged \
            similar, its predict at or below the threshold, the model's unless --threshold) and \
            distance (of the two embeddings). Its accuracy, the share of rows whose similar \
            equals label, is what evaluate reports as the accuracy at the model's threshold on \
            the same pairs.

            A listed image that cannot be decoded, or (with detection) holds no usable face, is a \
            failure to acquire: its pairs get no row, each failed image is listed with its reason \
            after the summary, and the rest go on; --strict stops at the first such image instead.
            """
    )

    @Option(help: "Model file.")
    var model: String

    @Option(help: "CSV of pairs (image1,image2[,same]; or label with --label-means); paths relative to the CSV.")
    var pairs: String?

    @OptionGroup var pairFolders: PairFoldersOption

    @OptionGroup var thresholdOption: ThresholdOption
    @OptionGroup var detectOptions: DetectOptionsGroup

    @Option(help: "Where to write the results (CSV).")
    var out: String = "result.csv"

    @Flag(help: "Stop at the first image that cannot be decoded (default: a failure to acquire).")
    var strict = false

    func validate() throws {
        guard (pairs != nil) != (pairFolders.pairFolders != nil) else {
            throw ValidationError("give --pairs FILE.csv or --pair-folders DIR")
        }
    }

    func run() throws {
        let m = try FaceModel.load(path: model)
        try detectOptions.apply(to: m)
        let (limit, method) = try thresholdOption.resolve(for: m, path: model)
        guard let list = try pairFolders.list(pairs: pairs) else { return }
        let result = try PairVerification(model: m, pairList: list, threshold: limit, countUnusableImages: !strict)
        var csv = "x1,x2,label,predict,similar,distance\n"
        for v in result.verdicts {
            csv += "\(CSV.field(v.pair.image1)),\(CSV.field(v.pair.image2)),"
            csv += "\(v.pair.same.map { $0 ? "1" : "0" } ?? ""),\(v.headScore ?? v.distance),\(v.isMatch ? 1 : 0),\(v.distance)\n"
        }
        try writeAtomically(csv, to: out)
        var line =
            "\(result.count) pairs: \(result.matchCount) predicted similar at threshold \(EvalFormat.threshold(limit)) (\(method))"
        if let accuracy = result.accuracy {
            line += "; accuracy \(EvalFormat.percent(accuracy)) (\(result.correctCount)/\(result.count))"
        }
        print(line + "; results: \(out)")
        for l in VerifyCommand.failureLines(result) { print(l) }
    }
}
