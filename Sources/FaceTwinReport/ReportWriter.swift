import Foundation

/// Writes an evaluation report folder that a person can read by opening `index.html`:
///
/// | file | what it shows |
/// |---|---|
/// | `index.html` | the headline numbers, warnings, and the pictures below |
/// | `roc.svg` | ROC curve: true accept rate against false match rate, with the EER and TAR@FMR=1 % points |
/// | `det.svg` | DET curve: false non-match against false match rate on normal-deviate axes |
/// | `distances.svg` | histograms of genuine and impostor pair distances, with the thresholds |
/// | `zoo.csv` | each identity's genuine and impostor distances, goats and lambs/wolves (images in identity folders) |
/// | `cmc.svg`, `fnir.svg` | with identification: the CMC and the FNIR–FPIR curve |
/// | `training.svg` | the training run's genuine and impostor distance bands by epoch (when the model's history CSV is beside it) |
/// | `roc.csv` | every ROC point: threshold, fmr, tar (and the counts) |
/// | `pairs.png` | 12 pairs of faces side by side with distance and verdict, incl. the hardest errors |
/// | `summary.json` | the numbers of `index.html`, for machines |
///
/// Every file is written to a temporary file in the folder and renamed over its name, so a
/// reader never sees half a file.
public enum EvaluationReport {
    /// The files written, in order.
    public static let files = ["roc.svg", "det.svg", "distances.svg", "roc.csv", "pairs.png", "summary.json", "index.html"]

    /// Writes the report into `directory` (created if needed). `summary` carries the model path
    /// and warnings shown on the page.
    ///
    /// - Returns: the paths written.
    @discardableResult
    public static func write(
        _ evaluation: Evaluation, summary: EvaluationSummary, training: TrainingBands? = nil,
        to directory: String
    ) throws(ReportError) -> [String] {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ReportError(path: directory, "cannot create the report folder: \(error.localizedDescription)")
        }
        let picture = try pairsPicture(evaluation)
        var contents: [(String, Data)] =
            [
                ("roc.svg", Data(rocSVG(evaluation).utf8)),
                ("det.svg", Data(detSVG(evaluation).utf8)),
                ("distances.svg", Data(distancesSVG(evaluation).utf8)),
                ("roc.csv", Data(rocCSV(evaluation).utf8)),
                ("pairs.png", Data(picture.png)),
                ("summary.json", Data((summary.json() + "\n").utf8)),
                (
                    "index.html",
                    Data(indexHTML(evaluation, summary: summary, pairs: picture.pairs, training: training != nil).utf8)
                )
            ]
        // Optional files go before index.html, which is written last.
        let index = contents.removeLast()
        if let training { contents.append(("training.svg", Data(training.svg().utf8))) }
        if let zoo = summary.zoo { contents.append(("zoo.csv", Data(zoo.csv().utf8))) }
        if let i = summary.identification {
            contents.append(("cmc.svg", Data(cmcSVG(i).utf8)))
            contents.append(("fnir.svg", Data(fnirSVG(i).utf8)))
        }
        contents.append(index)
        var written: [String] = []
        for (name, data) in contents {
            let path = (directory as NSString).appendingPathComponent(name)
            try writeAtomically(data, to: path)
            written.append(path)
        }
        return written
    }

    /// Writes `data` through ``OutputFile`` (temporary beside `path`, renamed over it; 0600
    /// for a new file: a report shows faces).
    static func writeAtomically(_ data: Data, to path: String) throws(ReportError) {
        try OutputFile.write(data, to: path)
    }

    /// Every ROC point, from "accept nothing" to "accept everything".
    public static func rocCSV(_ e: Evaluation) -> String {
        var s = "threshold,fmr,tar,false_matches,true_matches\n"
        s.reserveCapacity(e.curve.points.count * 40)
        for p in e.curve.points {
            let t = p.threshold.isFinite ? "\(p.threshold)" : (p.threshold < 0 ? "-inf" : "inf")
            s += "\(t),\(p.fmr),\(p.tar),\(p.falsePositives),\(p.truePositives)\n"
        }
        return s
    }

    // MARK: index.html

    static func indexHTML(_ e: Evaluation, summary s: EvaluationSummary, pairs: [PairsPictureEntry], training: Bool = false)
        -> String
    {
        func h(_ t: String) -> String { SVGPlot.escape(t) }
        func pct(_ v: Double) -> String { String(format: "%.2f %%", 100 * v) }
        func thr(_ v: Float) -> String { String(format: "%.4f", v) }
        func interval(_ i: ConfidenceInterval?) -> String {
            guard let i, let b = s.intervals else { return "" }
            return "; 95 % interval \(pct(i.lower)) – \(pct(i.upper)) (\(h(b.method)))"
        }
        func tarRow(_ t: TARAtFMR, interval i: ConfidenceInterval?) -> (String, String, String) {
            guard let tar = t.tar, let threshold = t.threshold else {
                return ("TAR at FMR = \(t.targetText)", "—", h(t.unsupportedReason ?? ""))
            }
            return ("TAR at FMR = \(t.targetText)", pct(tar), "threshold \(thr(threshold))" + interval(i))
        }
        let what: String
        switch e.source {
        case .identities(let root, let names):
            what =
                "all pairs of the images of \(names.count) identities (\(h(Evaluation.compactList(names, limit: 40)))) in <code>\(h(root))</code>"
        case .pairList(let file):
            what = "the pairs listed in <code>\(h(file))</code>"
        }
        var rows: [(String, String, String)] = [
            ("Images", "\(s.images)", ""),
            ("Genuine pairs (same person)", "\(s.genuinePairs)", ""),
            ("Impostor pairs (different people)", "\(s.impostorPairs)", ""),
            ("Equal error rate (EER)", pct(s.eer), "threshold \(thr(s.eerThreshold))" + interval(s.intervals?.eer)),
            ("ROC AUC", String(format: "%.4f", s.auc), "1 = perfect, 0.5 = chance"),
            tarRow(s.tarAtFMR1Percent, interval: s.intervals?.tarAtFMR1Percent),
            tarRow(s.tarAtFMR0_1Percent, interval: s.intervals?.tarAtFMR0_1Percent),
            (
                "Best accuracy", pct(s.bestAccuracy),
                "threshold \(thr(s.bestAccuracyThreshold)) (chosen on these pairs: optimistic)"
            )
        ]
        if let t = s.storedThreshold, let acc = s.accuracyAtStoredThreshold {
            rows.append(
                (
                    "Accuracy at the model's threshold", pct(acc),
                    "threshold \(thr(t)) (\(h(s.storedThresholdMethod ?? "method not recorded"))); FMR \(pct(s.fmrAtStoredThreshold ?? 0)), FNMR \(pct(s.fnmrAtStoredThreshold ?? 0))"
                ))
        } else {
            rows.append(("Accuracy at the model's threshold", "—", "the model has no stored threshold (run facetwin calibrate)"))
        }
        var html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>FaceTwin evaluation</title>
            <style>
            body { font-family: Helvetica, Arial, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
            table { border-collapse: collapse; } td, th { padding: 4px 12px; border-bottom: 1px solid #ddd; text-align: left; }
            td.num { text-align: right; font-weight: bold; } .warn { background: #fff0f0; border: 2px solid #c00; padding: 0.6em 1em; }
            figure { margin: 1.5em 0; } figcaption { color: #444; max-width: 760px; } img { border: 1px solid #ccc; }
            </style></head><body>
            <h1>FaceTwin evaluation</h1>
            <p>Model <code>\(h(s.model ?? "?"))</code>, scored on \(what).
            A pair is a <b>match</b> when the distance between the two faces' embeddings is at most the threshold.</p>

            """
        for w in s.warnings { html += "<p class=\"warn\"><b>Warning:</b> \(h(w))</p>\n" }
        html += "<table>\n"
        for (name, value, note) in rows {
            html += "<tr><th>\(h(name))</th><td class=\"num\">\(value)</td><td>\(note)</td></tr>\n"
        }
        html += "</table>\n"
        let verdictThreshold = pairsThreshold(e)
        html += """
            <figure><img src="roc.svg" alt="ROC curve" width="720"><figcaption><b>ROC curve.</b> Each point is one threshold: to the right it accepts more impostors (false match rate), upwards more genuine pairs (true accept rate). The false match rate is on a log scale, so the strict thresholds that matter in practice (FMR 1 %, 0.1 %) are spread out. The higher the curve, the better; the dashed curve is guessing. Points: <a href="roc.csv">roc.csv</a>.</figcaption></figure>
            <figure><img src="det.svg" alt="DET curve" width="720"><figcaption><b>DET curve.</b> The same thresholds as errors: false non-matches against false matches, both on normal-deviate (probit) scales so the low-error region is spread out. Lower-left is better; the curve crosses the dotted diagonal at the EER. Rates of 0 lie off these scales, so there the curve leaves the plot through its edge.</figcaption></figure>
            <figure><img src="distances.svg" alt="Distance histograms" width="720"><figcaption><b>Distances.</b> How far apart the embeddings of genuine pairs (same person) and of impostor pairs (different people) are, each as a share of its own pairs. The less the two overlap, the better any threshold works.</figcaption></figure>\(training ? "\n            <figure><img src=\"training.svg\" alt=\"Distances during training\" width=\"720\"><figcaption><b>Training.</b> Genuine and impostor distances of the monitored images after each epoch (the model's history CSV). Bands that fall together to zero are a collapse; bands that draw together on held-out people while the loss falls are an overfit.</figcaption></figure>" : "")\(s.identification == nil ? "" : "\n            <figure><img src=\"cmc.svg\" alt=\"CMC\" width=\"720\"><figcaption><b>Identification: CMC.</b> Each identity's first images enrolled, its other images searched against everyone enrolled: the share found among the first k.</figcaption></figure>\n            <figure><img src=\"fnir.svg\" alt=\"FNIR against FPIR\" width=\"720\"><figcaption><b>Open-set identification.</b> At each threshold: searches of people not enrolled that come within it (FPIR), against searches of enrolled people not found first within it (FNIR).</figcaption></figure>")
            <figure><img src="pairs.png" alt="Example pairs"><figcaption><b>Example pairs</b>, sorted by distance: typical and hardest genuine and impostor pairs. Verdicts use threshold \(thr(verdictThreshold.value)) (\(h(verdictThreshold.name))); a red frame marks a wrong verdict.</figcaption></figure>
            <h2>The pairs in the picture</h2>
            <table><tr><th>image 1</th><th>image 2</th><th>same person</th><th>distance</th><th>verdict</th></tr>

            """
        for p in pairs {
            html +=
                "<tr><td>\(h(e.imagePaths[p.a]))</td><td>\(h(e.imagePaths[p.b]))</td><td>\(p.genuine ? "yes" : "no")</td><td>\(String(format: "%.4f", p.distance))</td><td>\(p.match ? "match" : "no match")\(p.correct ? "" : " (wrong)")</td></tr>\n"
        }
        html += "</table>\n"
        if let z = s.zoo, z.goatAbove != nil {
            html +=
                "<h2>Identities: goats, lambs and wolves</h2>\n<p>Goats are hard to match (mean genuine distance in the top quartile), lambs easy to imitate (mean impostor distance in the bottom quartile); the distance is symmetric, so the wolves, good at imitating, are the lambs. Every identity: <a href=\"zoo.csv\">zoo.csv</a>.</p>\n"
            html +=
                "<table><tr><th>identity</th><th>images</th><th>mean genuine distance</th><th>FNMR</th><th>mean impostor distance</th><th>FMR</th><th>zoo</th></tr>\n"
            for r in z.rows where r.goat || r.lamb {
                let kind = [r.goat ? "goat" : nil, r.lamb ? "lamb / wolf" : nil].compactMap { $0 }.joined(separator: ", ")
                html +=
                    "<tr><td>\(h(r.identity))</td><td>\(r.images)</td><td>\(r.meanGenuineDistance.map { String(format: "%.4f", $0) } ?? "—")</td><td>\(r.fnmr.map(pct) ?? "—")</td><td>\(r.meanImpostorDistance.map { String(format: "%.4f", $0) } ?? "—")</td><td>\(r.fmr.map(pct) ?? "—")</td><td>\(kind)</td></tr>\n"
            }
            html += "</table>\n"
        }
        html += "<p>Numbers for machines: <a href=\"summary.json\">summary.json</a>.</p>\n</body></html>\n"
        return html
    }
}

/// A report could not be written.
public typealias ReportError = FileError
