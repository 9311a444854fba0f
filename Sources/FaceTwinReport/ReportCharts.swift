import Foundation

/// The report's SVG charts: ROC, DET and distance histograms.
extension EvaluationReport {
    static let genuineColor = "#1f77b4"  // blue
    static let impostorColor = "#ff7f0e"  // orange
    static let curveColor = "#1f4e9c"
    static let eerColor = "#d62728"
    static let fmrColor = "#2ca02c"
    static let storedColor = "#000000"

    /// The threshold the pictures use for verdicts: the model's own if it has one, else the
    /// EER threshold of these pairs.
    static func pairsThreshold(_ e: Evaluation) -> (value: Float, name: String, stored: Bool) {
        if let t = e.storedThreshold {
            return (t, "the model's threshold: \(e.storedThresholdMethod ?? "method not recorded")", true)
        }
        return (e.metrics.eerThreshold, "the EER threshold of these pairs; the model has none stored", false)
    }

    static func subtitle(_ e: Evaluation) -> String {
        let what: String
        switch e.source {
        case .identities(_, let names): what = Evaluation.compactList(names, limit: 8)
        case .pairList(let file): what = URL(fileURLWithPath: file).lastPathComponent
        }
        return
            "\(what): \(e.imagePaths.count) images, \(e.metrics.genuineCount) genuine and \(e.metrics.impostorCount) impostor pairs"
    }

    /// Keeps the points that move at least `step` (in plot units 0…1) from the last kept one,
    /// and the last point, so a curve of 80 000 points is drawn with a few hundred.
    static func thin(_ points: [(Double, Double)], step: Double = 0.002) -> [(Double, Double)] {
        guard var last = points.first else { return [] }
        var out = [last]
        for p in points.dropFirst() where abs(p.0 - last.0) >= step || abs(p.1 - last.1) >= step {
            out.append(p)
            last = p
        }
        if let end = points.last, out.last! != end { out.append(end) }
        return out
    }

    // MARK: ROC

    /// A log axis of rates for `count` trials: from the decade below one trial (at most 1 %) to
    /// 100 %, a tick per decade.
    static func logRateAxis(count: Double) -> (lowest: Double, ticks: [(Double, String)]) {
        let lowest = min(1e-2, pow(10, floor(log10(1 / count))))
        var ticks: [(Double, String)] = []
        var decade = lowest
        while decade <= 1.0001 {
            ticks.append((decade, SVGPlot.tickLabel(decade * 100) + "%"))
            decade *= 10
        }
        return (lowest, ticks)
    }

    static func rocSVG(_ e: Evaluation) -> String {
        // FMR on a log axis, as face verification reports it (TAR at FMR = 1 %, 0.1 % …): from
        // the decade below one false match to 100 %.
        let n = Double(e.metrics.impostorCount)
        let (lowest, xTicks) = logRateAxis(count: n)
        let yTicks = stride(from: 0.0, through: 1.0001, by: 0.1).map { ($0, SVGPlot.tickLabel($0 * 100) + "%") }
        var plot = SVGPlot(
            title: "ROC curve",
            subtitle: subtitle(e),
            x: .init(label: "False match rate: impostor pairs accepted (log scale)", scale: .log10(lowest...1), ticks: xTicks),
            y: .init(label: "True accept rate: genuine pairs accepted", scale: .linear(0...1.02), ticks: yTicks))
        plot.legendPosition = .below
        plot.height = 640
        // An FMR of 0 has no place on a log axis: such markers sit on the left edge.
        func onAxis(_ fmr: Double) -> Double { max(fmr, lowest) }
        let chance = (0...60).map { k -> (Double, Double) in
            let fmr = lowest * pow(1 / lowest, Double(k) / 60)
            return (fmr, fmr)
        }
        plot.elements.append(.line(points: chance, color: "#999999", width: 1, dash: "5,4", legend: "chance (random scores)"))
        // Thin in plot units (log FMR), so the low-FMR end keeps its detail.
        let scale = SVGPlot.Scale.log10(lowest...1)
        var kept: [(Double, Double)] = []
        var last: (Double, Double)? = nil
        let raw = e.curve.points.map { ($0.fmr, $0.tar) }
        for (k, p) in raw.enumerated() {
            let u = (scale.unit(p.0), p.1)
            if let l = last, abs(u.0 - l.0) < 0.002 && abs(u.1 - l.1) < 0.002 && k != raw.count - 1 { continue }
            kept.append(p)
            last = u
        }
        plot.elements.append(
            .line(
                points: kept, color: curveColor, width: 2.2, dash: nil,
                legend: String(format: "this model (AUC %.4f)", e.metrics.auc)))
        let eer = e.curve.equalErrorPoint()
        plot.elements.append(
            .marker(
                x: onAxis(eer.fmr), y: eer.tar, color: eerColor, label: nil,
                legend: String(format: "equal error rate %.2f %% (threshold %.3f)", 100 * e.metrics.eer, e.metrics.eerThreshold)))
        // Only an operating point the impostor pairs support (rule of three: ≥ 300 for 1 %).
        if e.metrics.tarAtFMR1Percent.isSupported {
            let at1 = e.curve.tar(atFMR: 0.01)
            plot.elements.append(
                .marker(
                    x: onAxis(at1.fmr), y: at1.tar, color: fmrColor, label: nil,
                    legend: String(format: "TAR at FMR ≤ 1 %%: %.2f %% (threshold %.3f)", 100 * at1.tar, at1.threshold)))
        }
        if let t = e.storedThreshold {
            let r = e.errorRates(atThreshold: t)
            plot.elements.append(
                .ring(
                    x: onAxis(r.fmr), y: 1 - r.fnmr, color: storedColor,
                    legend: String(format: "model's threshold %.3f: FMR %.2f %%, TAR %.2f %%", t, 100 * r.fmr, 100 * (1 - r.fnmr))
                ))
        }
        plot.notes = [
            "A point per threshold; up and left is better. An FMR of 0 lies off the log scale: points there sit on the left edge.",
            "Match iff distance ≤ threshold. 1 false match = \(String(format: "%.3g", 100 / n)) %."
        ]
        return plot.render()
    }

    // MARK: DET

    static func detSVG(_ e: Evaluation) -> String {
        let range = 0.0005...0.6
        let tickValues = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4]
        let ticks = tickValues.map { ($0, SVGPlot.tickLabel($0 * 100) + "%") }
        var plot = SVGPlot(
            title: "DET curve",
            subtitle: subtitle(e),
            x: .init(
                label: "False match rate: impostor pairs accepted (normal-deviate scale)", scale: .probit(range), ticks: ticks),
            y: .init(label: "False non-match rate (normal-deviate scale)", scale: .probit(range), ticks: ticks))
        plot.legendPosition = .below
        plot.height = 640
        plot.elements.append(
            .line(
                points: [(range.lowerBound, range.lowerBound), (range.upperBound, range.upperBound)],
                color: "#999999", width: 1, dash: "2,3", legend: "FMR = FNMR"))
        // Work in plot units for thinning, then map back through the (monotone) values.
        let raw = e.curve.points.map { ($0.fmr, $0.fnmr) }
        let scale = SVGPlot.Scale.probit(range)
        var kept: [(Double, Double)] = []
        var last: (Double, Double)? = nil
        for (k, p) in raw.enumerated() {
            let u = (scale.unit(p.0), scale.unit(p.1))
            if let l = last, abs(u.0 - l.0) < 0.002 && abs(u.1 - l.1) < 0.002 && k != raw.count - 1 { continue }
            kept.append(p)
            last = u
        }
        plot.elements.append(.line(points: kept, color: curveColor, width: 2.2, dash: nil, legend: "this model"))
        let eer = e.curve.equalErrorPoint()
        plot.elements.append(
            .marker(
                x: eer.fmr, y: eer.fnmr, color: eerColor,
                label: String(format: "EER %.2f %%", 100 * e.metrics.eer),
                legend: String(format: "equal error rate %.2f %%", 100 * e.metrics.eer)))
        if let t = e.storedThreshold {
            let r = e.errorRates(atThreshold: t)
            plot.elements.append(
                .ring(
                    x: r.fmr, y: r.fnmr, color: storedColor,
                    legend: String(format: "model's threshold %.3f: FMR %.2f %%, FNMR %.2f %%", t, 100 * r.fmr, 100 * r.fnmr)))
        }
        plot.notes = [
            "Lower left is better. Error rates of 0 lie off these scales: there the curve leaves the plot through its edge.",
            "Resolution: 1 false non-match = \(String(format: "%.3g", 100 / Double(e.metrics.genuineCount))) %, 1 false match = \(String(format: "%.3g", 100 / Double(e.metrics.impostorCount))) %."
        ]
        return plot.render()
    }

    // MARK: Distances

    static func distancesSVG(_ e: Evaluation, bins: Int = 40) -> String {
        let maxDistance = Double(e.distances.max() ?? 1)
        let upper = maxDistance > 0 ? maxDistance * 1.02 : 1
        let width = upper / Double(bins)
        var genuine = [Double](repeating: 0, count: bins), impostor = [Double](repeating: 0, count: bins)
        for k in e.distances.indices {
            let b = min(bins - 1, max(0, Int(Double(e.distances[k]) / width)))
            if e.genuine[k] { genuine[b] += 1 } else { impostor[b] += 1 }
        }
        let g = Double(e.metrics.genuineCount), n = Double(e.metrics.impostorCount)
        genuine = genuine.map { 100 * $0 / g }
        impostor = impostor.map { 100 * $0 / n }
        let top = max(genuine.max()!, impostor.max()!) * 1.12
        let edges = (0...bins).map { Double($0) * width }
        let xTicks = SVGPlot.niceTicks(0...upper, count: 8).map { ($0, SVGPlot.tickLabel($0)) }
        let yTicks = SVGPlot.niceTicks(0...top, count: 6).map { ($0, SVGPlot.tickLabel($0) + "%") }
        var plot = SVGPlot(
            title: "Distances of genuine and impostor pairs",
            subtitle: subtitle(e),
            x: .init(
                label: "Euclidean distance between the two embeddings (smaller = more alike)", scale: .linear(0...upper),
                ticks: xTicks),
            y: .init(label: "Share of the pairs of its kind, per bin", scale: .linear(0...top), ticks: yTicks))
        plot.legendPosition = .below
        plot.height = 640
        plot.elements.append(
            .bars(
                edges: edges, heights: impostor, color: impostorColor,
                legend: "impostor pairs (different people): \(e.metrics.impostorCount)"))
        plot.elements.append(
            .bars(
                edges: edges, heights: genuine, color: genuineColor,
                legend: "genuine pairs (same person): \(e.metrics.genuineCount)"))
        // Two labels on nearly the same line would print over each other: then the legend alone names it.
        let crowded = e.storedThreshold.map { abs(Double($0) - Double(e.metrics.eerThreshold)) < 0.04 * upper } ?? false
        plot.elements.append(
            .verticalLine(
                x: Double(e.metrics.eerThreshold), color: eerColor, dash: "6,4",
                label: crowded ? "" : String(format: "EER threshold %.3f", e.metrics.eerThreshold),
                legend: String(format: "EER threshold %.3f (EER %.2f %%)", e.metrics.eerThreshold, 100 * e.metrics.eer)))
        if let t = e.storedThreshold {
            let r = e.errorRates(atThreshold: t)
            plot.elements.append(
                .verticalLine(
                    x: Double(t), color: storedColor, dash: nil,
                    label: String(format: "model's threshold %.3f", t),
                    legend: String(format: "model's threshold %.3f (FMR %.1f %%, FNMR %.1f %%)", t, 100 * r.fmr, 100 * r.fnmr)))
        }
        plot.notes = [
            "Pairs left of a threshold are called a match: genuine pairs right of it are false non-matches,",
            "impostor pairs left of it false matches."
        ]
        return plot.render()
    }
}
