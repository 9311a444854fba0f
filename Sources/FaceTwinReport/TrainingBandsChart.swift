import Foundation

/// The genuine and impostor distance bands of a training run, epoch by epoch, read from its
/// history CSV (`model.history.csv`, written by `train`): the chart that shows a collapse (both
/// bands falling to zero) or an overfit (the bands on held-out people drawing together while
/// the loss keeps falling) at a glance.
public struct TrainingBands: Sendable, Equatable {
    public struct Row: Sendable, Equatable {
        public var epoch: Int
        public var genuine: Band
        public var impostor: Band
        public var collapsed: Bool
    }

    /// One band's distances after an epoch: the mean and the 10th and 90th percentiles.
    public struct Band: Sendable, Equatable {
        public var mean: Double
        public var p10: Double
        public var p90: Double
    }

    /// In the order they ran (an epoch appears again after a restart).
    public var rows: [Row]

    /// The rows of a history CSV with distance columns; nil when it has none (a history
    /// written before they were recorded) or no rows.
    public init?(historyCSV: String) {
        let lines = historyCSV.split(whereSeparator: \.isNewline)
        guard let header = lines.first?.split(separator: ",", omittingEmptySubsequences: false).map(String.init) else {
            return nil
        }
        let names = [
            "epoch", "genuine_mean", "genuine_p10", "genuine_p90", "impostor_mean", "impostor_p10", "impostor_p90", "collapsed"
        ]
        let columns = names.compactMap { header.firstIndex(of: $0) }
        guard columns.count == names.count else { return nil }
        var rows: [Row] = []
        for line in lines.dropFirst() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false)
            guard cells.count == header.count, let epoch = Int(cells[columns[0]]) else { continue }
            let v = columns[1...6].map { Double(cells[$0]) ?? .nan }
            rows.append(
                Row(
                    epoch: epoch, genuine: Band(mean: v[0], p10: v[1], p90: v[2]),
                    impostor: Band(mean: v[3], p10: v[4], p90: v[5]),
                    collapsed: cells[columns[7]] == "1"))
        }
        guard !rows.isEmpty else { return nil }
        self.rows = rows
    }

    /// The chart as SVG: each band's mean as a line and its 10th–90th percentiles as dashed
    /// lines, over the epochs as run; collapsed epochs marked.
    public func svg(title: String = "Distances during training") -> String {
        let xs = rows.indices.map { Double($0 + 1) }
        let values = rows.flatMap { [$0.genuine.p90, $0.impostor.p90, $0.impostor.mean] }.filter(\.isFinite)
        let top = max(values.max() ?? 1, 1e-3) * 1.1
        let upperX = Double(max(rows.count, 2))
        var plot = SVGPlot(
            title: title,
            subtitle: "genuine (same person) and impostor (different people) pairs of the monitored images, after each epoch",
            x: .init(
                label: "epoch, in the order run", scale: .linear(1...upperX),
                ticks: SVGPlot.niceTicks(1...upperX, count: 8).map { ($0, SVGPlot.tickLabel($0)) }),
            y: .init(
                label: "Euclidean distance between embeddings", scale: .linear(0...top),
                ticks: SVGPlot.niceTicks(0...top, count: 6).map { ($0, SVGPlot.tickLabel($0)) }))
        plot.legendPosition = .below
        func line(_ value: (Row) -> Double, _ color: String, dash: String?, legend: String?) -> SVGPlot.Element {
            .line(
                points: zip(xs, rows.map(value)).filter { $0.1.isFinite }, color: color, width: dash == nil ? 2 : 1, dash: dash,
                legend: legend)
        }
        let g = EvaluationReport.genuineColor, i = EvaluationReport.impostorColor
        plot.elements += [
            line({ $0.impostor.p90 }, i, dash: "4 3", legend: nil),
            line({ $0.impostor.mean }, i, dash: nil, legend: "impostor pairs: mean, and 10th–90th percentile (dashed)"),
            line({ $0.impostor.p10 }, i, dash: "4 3", legend: nil),
            line({ $0.genuine.p90 }, g, dash: "4 3", legend: nil),
            line({ $0.genuine.mean }, g, dash: nil, legend: "genuine pairs: mean, and 10th–90th percentile (dashed)"),
            line({ $0.genuine.p10 }, g, dash: "4 3", legend: nil)
        ]
        for (x, row) in zip(xs, rows) where row.collapsed {
            plot.elements.append(.verticalLine(x: x, color: "#d62728", dash: "2 2", label: "collapse", legend: nil))
        }
        return plot.render()
    }
}
