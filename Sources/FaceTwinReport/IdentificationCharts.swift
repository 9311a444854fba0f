import Foundation

extension EvaluationReport {
    /// CMC: the share of mated searches whose own identity is among the first k, with its 95 %
    /// interval band as two dashed lines.
    static func cmcSVG(_ r: IdentificationEvaluation) -> String {
        let k = r.cmc.count
        let xTicks = (1...k).map { (Double($0), "\($0)") }
        let yTicks = stride(from: 0.0, through: 1.0001, by: 0.1).map { ($0, SVGPlot.tickLabel($0 * 100) + "%") }
        var plot = SVGPlot(
            title: "CMC: rank-k identification rate",
            subtitle:
                "\(r.galleryIdentities.count) identities enrolled (\(r.templatesPerIdentity == 1 ? "first image" : "first \(r.templatesPerIdentity) images") each), \(r.matedSearches) mated searches",
            x: .init(label: "Rank k", scale: .linear(0.8...(Double(k) + 0.2)), ticks: xTicks),
            y: .init(label: "Searches whose identity is among the first k", scale: .linear(0...1.02), ticks: yTicks))
        plot.legendPosition = .below
        let points = r.cmc.enumerated().map { (Double($0 + 1), $1) }
        if let bands = r.cmcIntervals {
            plot.elements.append(
                .line(
                    points: bands.enumerated().map { (Double($0 + 1), $1.lower) }, color: "#999999", width: 1, dash: "4,3",
                    legend: "95 % interval (bootstrap over searched identities, at least Wilson's)"))
            plot.elements.append(
                .line(
                    points: bands.enumerated().map { (Double($0 + 1), $1.upper) }, color: "#999999", width: 1, dash: "4,3",
                    legend: nil))
        }
        plot.elements.append(
            .line(
                points: points, color: curveColor, width: 2.2, dash: nil,
                legend: String(format: "rank 1: %.2f %%", 100 * r.cmc[0])))
        for p in points { plot.elements.append(.marker(x: p.0, y: p.1, color: curveColor, label: nil, legend: nil)) }
        plot.notes = ["A search is ranked by its distance to each enrolled identity's nearest template."]
        return plot.render()
    }

    /// FNIR against FPIR (log scale): the open-set trade-off, one point per non-mated score.
    static func fnirSVG(_ r: IdentificationEvaluation) -> String {
        let n = Double(r.nonMatedSearches)
        let (lowest, xTicks) = logRateAxis(count: n)
        let yTicks = stride(from: 0.0, through: 1.0001, by: 0.1).map { ($0, SVGPlot.tickLabel($0 * 100) + "%") }
        var plot = SVGPlot(
            title: "FNIR against FPIR",
            subtitle: "\(r.matedSearches) mated and \(r.nonMatedSearches) non-mated searches (\(r.nonMatedSource))",
            x: .init(
                label: "FPIR: non-mated searches wrongly identified (log scale)", scale: .log10(lowest...1), ticks: xTicks),
            y: .init(label: "FNIR: mated searches not identified", scale: .linear(0...1.02), ticks: yTicks))
        plot.legendPosition = .below
        plot.elements.append(
            .line(
                points: r.curve.map { (max($0.fpir, lowest), $0.fnir) }, color: curveColor, width: 2.2, dash: nil,
                legend: "this model"))
        for p in r.fnirAtFPIR {
            guard let fnir = p.fnir, let fpir = p.fpir else { continue }
            plot.elements.append(
                .marker(
                    x: max(fpir, lowest), y: fnir, color: fmrColor, label: nil,
                    legend: String(format: "FNIR at FPIR %@: %.2f %%", Calibration.percent(p.targetFPIR), 100 * fnir)))
        }
        plot.notes = ["Lower-left is better. 1 non-mated search = \(String(format: "%.3g", 100 / n)) %."]
        return plot.render()
    }
}
