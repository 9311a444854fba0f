import ArgumentParser
import FaceTwin
import Foundation

/// `facetwin verify --pairs pairs.csv --model M [--out results.csv]`: batch verification of
/// listed pairs, without a gallery.
extension VerifyCommand {
    /// Scores every pair of the CSV (image1,image2[,same], see `PairList`) and writes
    /// `image1,image2[,same],distance,verdict` rows (verdict `match` or `no_match`, at the
    /// --threshold or the model's stored one) to `out`, or to standard output when `out` is
    /// nil. A summary line follows (on standard error when the CSV goes to standard output):
    /// how many matched, and the accuracy, FAR and FRR when the list has labels.
    func runPairsMode(model: String, pairs: String, out: String?, json: Bool) throws {
        let m = try FaceModel.load(path: model)
        guard let limit = threshold ?? m.info.threshold else {
            throw CLIError("\(model): the model has no stored threshold; pass --threshold T or run facetwin calibrate first")
        }
        let method = threshold != nil ? "--threshold" : (m.info.thresholdMethod ?? "stored in the model")
        let list = try PairList(contentsOf: pairs)
        let distances = try Evaluation.score(model: m, pairList: list).distances

        var csv = list.hasLabels ? "image1,image2,same,distance,verdict\n" : "image1,image2,distance,verdict\n"
        var matches = 0, correct = 0, falseAccepts = 0, falseRejects = 0, genuine = 0
        for (pair, d) in zip(list.pairs, distances) {
            let match = d <= limit
            if match { matches += 1 }
            var row = "\(Self.csvField(pair.image1)),\(Self.csvField(pair.image2)),"
            if let same = pair.same {
                row += same ? "1," : "0,"
                if same { genuine += 1 }
                if match == same { correct += 1 } else if match { falseAccepts += 1 } else { falseRejects += 1 }
            }
            row += "\(d),\(match ? "match" : "no_match")\n"
            csv += row
        }
        let n = list.count
        var summary = "\(n) pair\(n == 1 ? "" : "s"): \(matches) match, \(n - matches) no match at threshold \(EvalFormat.threshold(limit)) (\(method))"
        if list.hasLabels {
            summary += "; accuracy \(EvalFormat.percent(Double(correct) / Double(n))) (\(correct)/\(n))"
            if n - genuine > 0 { summary += ", FAR \(EvalFormat.percent(Double(falseAccepts) / Double(n - genuine)))" }
            if genuine > 0 { summary += ", FRR \(EvalFormat.percent(Double(falseRejects) / Double(genuine)))" }
        }
        if let out {
            try writeAtomically(csv, to: out)
            summary += "; results: \(out)"
        }

        if json {
            struct Row: Encodable { let image1: String, image2: String, same: Bool?, distance: Float, match: Bool }
            struct Output: Encodable {
                let threshold: Float, thresholdMethod: String, pairs: Int, matches: Int
                let accuracy: Double?, out: String?, results: [Row]
            }
            let rows = zip(list.pairs, distances).map { Row(image1: $0.image1, image2: $0.image2, same: $0.same, distance: $1, match: $1 <= limit) }
            let o = Output(threshold: limit, thresholdMethod: method, pairs: n, matches: matches,
                           accuracy: list.hasLabels ? Double(correct) / Double(n) : nil, out: out, results: rows)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(o), as: UTF8.self))
        } else if out == nil {
            print(csv, terminator: "")
            printError(summary)
        } else {
            print(summary)
        }
    }

    /// Quotes a CSV field when it holds a comma, quote or line break.
    static func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
