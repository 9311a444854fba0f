import Foundation

/// A small 2-D chart written as standalone SVG: a title, two labelled axes with ticks and
/// grid lines, lines, markers, histogram bars, vertical reference lines and a legend. Just
/// what the evaluation report needs; every text is XML-escaped, so the output is valid XML.
struct SVGPlot {
    /// How values map onto an axis.
    enum Scale {
        case linear(ClosedRange<Double>)
        /// Normal deviate (probit) scale for probabilities, as DET plots use: the axis is
        /// linear in Φ⁻¹(p). The range is in probabilities (0 < p < 1).
        case probit(ClosedRange<Double>)
        /// Logarithmic scale (base 10) for positive values; 0 and below lie off the axis.
        case log10(ClosedRange<Double>)

        /// Position along the axis, 0 at the lower bound and 1 at the upper (may fall outside
        /// for values outside the range; the plot clips).
        func unit(_ v: Double) -> Double {
            switch self {
            case .linear(let r):
                return (v - r.lowerBound) / (r.upperBound - r.lowerBound)
            case .probit(let r):
                let lo = SVGPlot.probit(r.lowerBound), hi = SVGPlot.probit(r.upperBound)
                let clamped = min(max(v, 1e-7), 1 - 1e-7)
                return (SVGPlot.probit(clamped) - lo) / (hi - lo)
            case .log10(let r):
                let lo = Foundation.log10(r.lowerBound), hi = Foundation.log10(r.upperBound)
                let v = Foundation.log10(max(v, r.lowerBound * 1e-3))
                return (v - lo) / (hi - lo)
            }
        }
    }

    struct Axis {
        var label: String
        var scale: Scale
        var ticks: [(value: Double, label: String)]
    }

    enum LegendPosition {
        case topLeft, topRight, bottomRight
        /// Under the plot, outside the data: never hides the curve.
        case below
    }

    enum Element {
        case line(points: [(Double, Double)], color: String, width: Double, dash: String?, legend: String?)
        case marker(x: Double, y: Double, color: String, label: String?, legend: String?)
        /// A hollow circle around a point, so a marker at the same place stays visible.
        case ring(x: Double, y: Double, color: String, legend: String?)
        /// Histogram bars: bin edges (count + 1) and heights (count).
        case bars(edges: [Double], heights: [Double], color: String, legend: String?)
        case verticalLine(x: Double, color: String, dash: String?, label: String, legend: String?)
    }

    var title: String
    var subtitle: String?
    var x: Axis
    var y: Axis
    var width = 720.0
    var height = 540.0
    var legendPosition = LegendPosition.bottomRight
    var elements: [Element] = []
    /// Extra lines of small text under the plot (notes).
    var notes: [String] = []

    private let left = 78.0, right = 24.0, top = 64.0, bottomBase = 62.0
    private var bottom: Double { bottomBase + Double(notes.count) * 16 + (legendPosition == .below ? legendHeight + 8 : 0) }
    private var legendHeight: Double { Double(legendEntries.count) * 18 + 10 }
    private var plotWidth: Double { width - left - right }
    private var plotHeight: Double { height - top - bottom }

    func px(_ v: Double) -> Double { left + x.scale.unit(v) * plotWidth }
    func py(_ v: Double) -> Double { top + (1 - y.scale.unit(v)) * plotHeight }

    func render() -> String {
        var s = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(f(width))" height="\(f(height))" viewBox="0 0 \(f(width)) \(f(height))" font-family="Helvetica, Arial, sans-serif">
            <title>\(esc(title))</title>
            <rect x="0" y="0" width="\(f(width))" height="\(f(height))" fill="white"/>
            <defs><clipPath id="plot-area"><rect x="\(f(left))" y="\(f(top))" width="\(f(plotWidth))" height="\(f(plotHeight))"/></clipPath></defs>
            <text x="\(f(width / 2))" y="26" text-anchor="middle" font-size="18" font-weight="bold">\(esc(title))</text>

            """
        if let subtitle {
            s +=
                "<text x=\"\(f(width / 2))\" y=\"46\" text-anchor=\"middle\" font-size=\"12\" fill=\"#444\">\(esc(subtitle))</text>\n"
        }
        // Grid and ticks.
        s += "<g font-size=\"12\" fill=\"#222\">\n"
        for t in x.ticks {
            let xp = px(t.value)
            s +=
                "<line x1=\"\(f(xp))\" y1=\"\(f(top))\" x2=\"\(f(xp))\" y2=\"\(f(top + plotHeight))\" stroke=\"#e3e3e3\" stroke-width=\"1\"/>\n"
            s +=
                "<line x1=\"\(f(xp))\" y1=\"\(f(top + plotHeight))\" x2=\"\(f(xp))\" y2=\"\(f(top + plotHeight + 5))\" stroke=\"#222\"/>\n"
            s += "<text x=\"\(f(xp))\" y=\"\(f(top + plotHeight + 19))\" text-anchor=\"middle\">\(esc(t.label))</text>\n"
        }
        for t in y.ticks {
            let yp = py(t.value)
            s +=
                "<line x1=\"\(f(left))\" y1=\"\(f(yp))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(yp))\" stroke=\"#e3e3e3\" stroke-width=\"1\"/>\n"
            s += "<line x1=\"\(f(left - 5))\" y1=\"\(f(yp))\" x2=\"\(f(left))\" y2=\"\(f(yp))\" stroke=\"#222\"/>\n"
            s += "<text x=\"\(f(left - 8))\" y=\"\(f(yp + 4))\" text-anchor=\"end\">\(esc(t.label))</text>\n"
        }
        s += "</g>\n"
        // Axis labels.
        s +=
            "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(top + plotHeight + 42))\" text-anchor=\"middle\" font-size=\"14\">\(esc(x.label))</text>\n"
        s +=
            "<text transform=\"translate(\(f(20)),\(f(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\" font-size=\"14\">\(esc(y.label))</text>\n"
        let notesTop = top + plotHeight + 62 + (legendPosition == .below ? legendHeight + 8 : 0)
        for (k, note) in notes.enumerated() {
            s +=
                "<text x=\"\(f(left))\" y=\"\(f(notesTop + Double(k) * 16))\" font-size=\"11\" fill=\"#555\">\(esc(note))</text>\n"
        }

        // Data, clipped to the plot area.
        s += "<g clip-path=\"url(#plot-area)\">\n"
        for e in elements {
            switch e {
            case let .bars(edges, heights, color, _):
                for k in heights.indices where heights[k] > 0 {
                    let x0 = px(edges[k]), x1 = px(edges[k + 1]), y0 = py(heights[k]), y1 = py(0)
                    s +=
                        "<rect x=\"\(f(x0))\" y=\"\(f(y0))\" width=\"\(f(max(0.5, x1 - x0)))\" height=\"\(f(max(0, y1 - y0)))\" fill=\"\(color)\" fill-opacity=\"0.45\" stroke=\"\(color)\" stroke-width=\"0.8\"/>\n"
                }
            case let .line(points, color, width, dash, _):
                guard !points.isEmpty else { continue }
                let coords = points.map { "\(f(px($0.0))),\(f(py($0.1)))" }.joined(separator: " ")
                s +=
                    "<polyline points=\"\(coords)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"\(f(width))\" stroke-linejoin=\"round\"\(dash.map { " stroke-dasharray=\"\($0)\"" } ?? "")/>\n"
            case let .verticalLine(xv, color, dash, _, _):
                let xp = px(xv)
                s +=
                    "<line x1=\"\(f(xp))\" y1=\"\(f(top))\" x2=\"\(f(xp))\" y2=\"\(f(top + plotHeight))\" stroke=\"\(color)\" stroke-width=\"2\"\(dash.map { " stroke-dasharray=\"\($0)\"" } ?? "")/>\n"
            case .marker, .ring:
                break  // drawn unclipped below, so a point on the edge stays whole
            }
        }
        s += "</g>\n"
        // Markers, and labels of markers and vertical lines (not clipped, so they stay readable).
        for e in elements {
            if case let .marker(xv, yv, color, _, _) = e {
                s +=
                    "<circle cx=\"\(f(px(xv)))\" cy=\"\(f(py(yv)))\" r=\"5\" fill=\"\(color)\" stroke=\"white\" stroke-width=\"1.5\"/>\n"
            }
            if case let .ring(xv, yv, color, _) = e {
                s +=
                    "<circle cx=\"\(f(px(xv)))\" cy=\"\(f(py(yv)))\" r=\"8\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2.2\"/>\n"
            }
            switch e {
            case let .marker(xv, yv, color, label?, _):
                let xp = px(xv), yp = py(yv)
                let anchorEnd = xp > left + plotWidth * 0.6
                s +=
                    "<text x=\"\(f(xp + (anchorEnd ? -9 : 9)))\" y=\"\(f(yp - 8))\" font-size=\"12\" fill=\"\(color)\"\(anchorEnd ? " text-anchor=\"end\"" : "")>\(esc(label))</text>\n"
            case let .verticalLine(xv, color, _, label, _) where !label.isEmpty:
                let xp = px(xv)
                s +=
                    "<text transform=\"translate(\(f(xp - 5)),\(f(top + 8))) rotate(-90)\" text-anchor=\"end\" font-size=\"12\" fill=\"\(color)\">\(esc(label))</text>\n"
            default: break
            }
        }
        // Frame.
        s +=
            "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\" fill=\"none\" stroke=\"#222\" stroke-width=\"1\"/>\n"
        s += legend()
        s += "</svg>\n"
        return s
    }

    private var legendEntries: [(swatch: String, text: String)] {
        var entries: [(swatch: String, text: String)] = []
        for e in elements {
            switch e {
            case let .line(_, color, width, dash, text?):
                entries.append(
                    (
                        "<line x1=\"0\" y1=\"0\" x2=\"24\" y2=\"0\" stroke=\"\(color)\" stroke-width=\"\(f(width))\"\(dash.map { " stroke-dasharray=\"\($0)\"" } ?? "")/>",
                        text
                    ))
            case let .verticalLine(_, color, dash, _, text?):
                entries.append(
                    (
                        "<line x1=\"0\" y1=\"0\" x2=\"24\" y2=\"0\" stroke=\"\(color)\" stroke-width=\"2\"\(dash.map { " stroke-dasharray=\"\($0)\"" } ?? "")/>",
                        text
                    ))
            case let .marker(_, _, color, _, text?):
                entries.append(("<circle cx=\"12\" cy=\"0\" r=\"5\" fill=\"\(color)\"/>", text))
            case let .ring(_, _, color, text?):
                entries.append(
                    ("<circle cx=\"12\" cy=\"0\" r=\"6\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"/>", text))
            case let .bars(_, _, color, text?):
                entries.append(
                    (
                        "<rect x=\"2\" y=\"-6\" width=\"20\" height=\"12\" fill=\"\(color)\" fill-opacity=\"0.45\" stroke=\"\(color)\"/>",
                        text
                    ))
            default: break
            }
        }
        return entries
    }

    private func legend() -> String {
        let entries = legendEntries
        guard !entries.isEmpty else { return "" }
        let lineHeight = 18.0
        let boxWidth = 40 + Double(entries.map(\.text.count).max()!) * 6.6
        let boxHeight = Double(entries.count) * lineHeight + 10
        let bx: Double, by: Double
        switch legendPosition {
        case .topLeft: bx = left + 10; by = top + 10
        case .topRight: bx = left + plotWidth - boxWidth - 10; by = top + 10
        case .bottomRight: bx = left + plotWidth - boxWidth - 10; by = top + plotHeight - boxHeight - 10
        case .below: bx = left; by = top + plotHeight + 52
        }
        var s =
            "<g font-size=\"12\">\n<rect x=\"\(f(bx))\" y=\"\(f(by))\" width=\"\(f(boxWidth))\" height=\"\(f(boxHeight))\" fill=\"white\" fill-opacity=\"0.92\" stroke=\"#999\"/>\n"
        for (k, entry) in entries.enumerated() {
            let cy = by + 5 + lineHeight * (Double(k) + 0.5)
            s += "<g transform=\"translate(\(f(bx + 8)),\(f(cy)))\">\(entry.swatch)</g>\n"
            s += "<text x=\"\(f(bx + 38))\" y=\"\(f(cy + 4))\">\(esc(entry.text))</text>\n"
        }
        return s + "</g>\n"
    }

    // MARK: Numbers, text and scales

    private func f(_ v: Double) -> String {
        guard v.isFinite else { return "0" }
        var s = String(format: "%.2f", v)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s == "-0" ? "0" : s
    }

    /// Escapes text for XML content and attribute values.
    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(c)
            }
        }
        return out
    }

    private func esc(_ text: String) -> String { Self.escape(text) }

    /// Φ⁻¹(p), the standard normal quantile (Acklam's rational approximation, relative
    /// error below 1.2e-9, ample for plotting).
    static func probit(_ p: Double) -> Double {
        let a = [
            -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01,
            2.506628277459239e+00
        ]
        let b = [
            -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01
        ]
        let c = [
            -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00,
            2.938163982698783e+00
        ]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        let low = 0.02425
        if p < low {
            let q = (-2 * log(p)).squareRoot()
            return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        if p > 1 - low {
            let q = (-2 * log(1 - p)).squareRoot()
            return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        let q = p - 0.5, r = q * q
        return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
            / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    }

    /// "Nice" tick values covering `range`: steps of 1, 2 or 5 × 10ᵏ, about `count` of them.
    static func niceTicks(_ range: ClosedRange<Double>, count: Int = 6) -> [Double] {
        let span = range.upperBound - range.lowerBound
        guard span > 0, span.isFinite else { return [range.lowerBound] }
        let raw = span / Double(count)
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        var ticks: [Double] = []
        var v = ceil(range.lowerBound / step) * step
        while v <= range.upperBound + step * 1e-9 {
            ticks.append(abs(v) < step * 1e-9 ? 0 : v)
            v += step
        }
        return ticks
    }

    /// A tick label without trailing zeros: 0.5, 1, 2.5.
    static func tickLabel(_ v: Double) -> String {
        var s = String(format: "%.4f", v)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s == "-0" ? "0" : s
    }
}
