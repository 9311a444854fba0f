import ArgumentParser
import FaceTwin
import Foundation

/// `facetwin verify --pairs pairs.csv --model M [--out results.csv]`: batch verification of
/// listed pairs, without a gallery.
extension VerifyCommand {
    /// Judges every pair of the CSV (image1,image2[,same], see `PairList`) at the --threshold
    /// or the model's stored one, and writes `image1,image2[,same],distance,verdict` rows
    /// (verdict `match` or `no_match`) to `out`, or to standard output when `out` is nil. A
    /// summary line follows (on standard error when the CSV goes to standard output): how
    /// many matched, and the accuracy, FMR and FNMR when the list has labels; then the
    /// failures to acquire, one a line with the reason (pairs with such an image are not
    /// scored; --strict stops at the first instead).
    func runPairsMode(model: String, list: PairList, out: String?, json: Bool) throws {
        let m = try FaceModel.load(path: model)
        try detectOptions.apply(to: m)
        let (limit, method) = try thresholdOption.resolve(for: m, path: model)
        let result = try PairVerification(model: m, pairList: list, threshold: limit, countUnusableImages: !strict)
        if result.count == 0, let first = result.failuresToAcquire.first {
            throw CLIError(
                "\(list.file): none of the \(result.notScored.count) pairs could be scored: each has an image without a usable face or that cannot be decoded (first: \(first.description))"
            )
        }
        let csv = Self.resultsCSV(result)
        var summary = Self.summary(result, method: method)
        if let out {
            try writeAtomically(csv, to: out)
            summary += "; results: \(out)"
        }

        if json {
            struct Row: Encodable { let image1: String, image2: String, same: Bool?, distance: Float, match: Bool }
            struct Output: Encodable {
                let threshold: Float, thresholdMethod: String, pairs: Int, matches: Int
                let accuracy: Double?, out: String?, results: [Row]
                let attemptedImages: Int, failureToAcquireRate: Double, failuresToAcquire: [FailureToAcquire]
                let pairsNotScored: [FailureToAcquire.Pair]
            }
            let rows = result.verdicts.map {
                Row(image1: $0.pair.image1, image2: $0.pair.image2, same: $0.pair.same, distance: $0.distance, match: $0.isMatch)
            }
            try printJSON(
                Output(
                    threshold: limit, thresholdMethod: method, pairs: result.count, matches: result.matchCount,
                    accuracy: result.accuracy, out: out, results: rows, attemptedImages: result.attemptedImages,
                    failureToAcquireRate: result.failureToAcquireRate,
                    failuresToAcquire: result.failuresToAcquire.map(FailureToAcquire.init),
                    pairsNotScored: result.notScored.map(FailureToAcquire.Pair.init)))
        } else if out == nil {
            Swift.print(terminalSafe(csv), terminator: "")  // rows on their lines; fields quoted
            printError(summary)
            for l in Self.failureLines(result) { printError(l) }
        } else {
            print(summary)
            for l in Self.failureLines(result) { print(l) }
        }
    }

    /// A failure to acquire as --json gives it: the image and the one-line error.
    struct FailureToAcquire: Encodable {
        let path: String, reason: String
        init(_ e: ImageError) {
            path = e.path
            reason = e.description
        }
        /// A pair not scored, and the path of its image that failed.
        struct Pair: Encodable {
            let image1: String, image2: String, same: Bool?, failed: String
            init(_ n: PairVerification.NotScored) {
                image1 = n.pair.image1
                image2 = n.pair.image2
                same = n.pair.same
                failed = n.failure.path
            }
        }
    }

    /// The failures to acquire of a pair run, one line each after a count (none without any).
    static func failureLines(_ result: PairVerification) -> [String] {
        guard !result.failuresToAcquire.isEmpty else { return [] }
        let n = result.notScored.count
        return [
            "failures to acquire (no usable face, or not decodable): \(result.failuresToAcquire.count) of \(result.attemptedImages) images (FTA \(EvalFormat.percent(result.failureToAcquireRate))); \(n) pair\(n == 1 ? "" : "s") not scored"
        ] + result.failuresToAcquire.map { "  \($0.description)" }
    }

    /// One row per pair: image1,image2[,same],distance,verdict, under a header.
    static func resultsCSV(_ result: PairVerification) -> String {
        var csv = result.hasLabels ? "image1,image2,same,distance," : "image1,image2,distance,"
        csv += result.hasHeadScores ? "score,match_probability,verdict\n" : "verdict\n"
        for v in result.verdicts {
            var row = "\(CSV.field(v.pair.image1)),\(CSV.field(v.pair.image2)),"
            if let same = v.pair.same { row += same ? "1," : "0," }
            row += "\(v.distance),"
            if let s = v.headScore { row += "\(s),\(1 - s)," }
            row += "\(v.isMatch ? "match" : "no_match")\n"
            csv += row
        }
        // Pairs with a failure to acquire: no distance (nor score), verdict failure_to_acquire.
        for n in result.notScored {
            var row = "\(CSV.field(n.pair.image1)),\(CSV.field(n.pair.image2)),"
            if let same = n.pair.same { row += same ? "1," : "0," }
            row += result.hasHeadScores ? ",,," : ","
            csv += row + "failure_to_acquire\n"
        }
        return csv
    }

    /// "N pairs: M match, K no match at threshold T (method)", then the accuracy, FMR and FNMR
    /// when the list has labels.
    static func summary(_ result: PairVerification, method: String) -> String {
        let n = result.count, matches = result.matchCount
        var summary =
            "\(n) pair\(n == 1 ? "" : "s"): \(matches) match, \(n - matches) no match at threshold \(EvalFormat.threshold(result.threshold)) (\(method))"
        if let accuracy = result.accuracy {
            summary += "; accuracy \(EvalFormat.percent(accuracy)) (\(result.correctCount)/\(n))"
            if let fmr = result.fmr { summary += ", FMR \(EvalFormat.percent(fmr))" }
            if let fnmr = result.fnmr { summary += ", FNMR \(EvalFormat.percent(fnmr))" }
        }
        return summary
    }
}
