import Foundation

/// One pair shown in the report's picture.
struct PairsPictureEntry {
    /// Indices into `Evaluation.imagePaths`.
    var a: Int
    var b: Int
    var genuine: Bool
    var distance: Float
    var match: Bool
    var correct: Bool { match == genuine }
}

/// The "Dissimilarity" grid of the PyTorch siamese tutorial, for an evaluation: pairs of
/// faces side by side, each with its distance and verdict, wrong verdicts framed in red.
extension EvaluationReport {
    /// Chooses up to `count` pairs: the hardest genuine pairs (largest distances, so the false
    /// rejects if any), the hardest impostor pairs (smallest distances, so the false accepts),
    /// and typical ones of each kind (at the quartiles of their distances); sorted by distance.
    static func choosePairs(_ e: Evaluation, threshold: Float, count: Int = 12) -> [PairsPictureEntry] {
        let genuineIndex = e.distances.indices.filter { e.genuine[$0] }.sorted { e.distances[$0] < e.distances[$1] }
        let impostorIndex = e.distances.indices.filter { !e.genuine[$0] }.sorted { e.distances[$0] < e.distances[$1] }
        let hard = count / 4, typical = count / 4
        var chosen: [Int] = []
        var seen = Set<Int>()
        func take(_ k: Int) { if seen.insert(k).inserted { chosen.append(k) } }
        func quantiles(_ list: [Int], _ n: Int) -> [Int] {
            guard !list.isEmpty else { return [] }
            return (1...n).map { list[min(list.count - 1, Int(Double($0) / Double(n + 1) * Double(list.count)))] }
        }
        for k in genuineIndex.suffix(hard).reversed() { take(k) }
        for k in impostorIndex.prefix(hard) { take(k) }
        for k in quantiles(genuineIndex, typical) { take(k) }
        for k in quantiles(impostorIndex, typical) { take(k) }
        // Fill up (small evaluations) from whatever is left, alternating kinds.
        var gi = genuineIndex.makeIterator(), ii = impostorIndex.makeIterator()
        while chosen.count < min(count, e.pairCount) {
            if let k = gi.next() { take(k) }
            if chosen.count < count, let k = ii.next() { take(k) }
        }
        return chosen.sorted { e.distances[$0] < e.distances[$1] }.map { k in
            PairsPictureEntry(
                a: Int(e.first[k]), b: Int(e.second[k]), genuine: e.genuine[k], distance: e.distances[k],
                match: e.distances[k] <= threshold)
        }
    }

    /// Draws the chosen pairs, 3 a row, from the original image files.
    static func pairsPicture(_ e: Evaluation) throws(ReportError) -> (png: [UInt8], pairs: [PairsPictureEntry]) {
        let threshold = pairsThreshold(e)
        let pairs = choosePairs(e, threshold: threshold.value)
        // Decode each image once; faces are drawn at the size of the first, at most 112 high.
        var images: [Int: GrayImage] = [:]
        for p in pairs {
            for i in [p.a, p.b] where images[i] == nil {
                do { images[i] = try ImageDecoder.decode(path: e.imagePaths[i]) } catch {
                    throw ReportError(path: e.imagePaths[i], "cannot draw the pairs picture: \(error.description)")
                }
            }
        }
        let firstImage = images[pairs[0].a]!
        let faceHeight = min(112, firstImage.height)
        let faceWidth = max(1, Int((Double(firstImage.width) * Double(faceHeight) / Double(firstImage.height)).rounded()))

        let scale = 2, lineHeight = PNGCanvas.textHeight(scale: scale) + 6
        let columns = 3, pad = 10, gap = 6
        let cellWidth = max(2 * faceWidth + gap + 2 * pad, PNGCanvas.textWidth("same person: WRONG", scale: scale) + 2 * pad)
        let cellHeight = pad + faceHeight + 8 + 3 * lineHeight + pad
        let rows = (pairs.count + columns - 1) / columns
        let margin = 16
        let headerHeight = 3 * lineHeight + 12
        let footerHeight = 2 * lineHeight + 8
        let width = columns * cellWidth + (columns - 1) * margin + 2 * margin
        let height = headerHeight + rows * cellHeight + (rows - 1) * margin + footerHeight + 2 * margin
        var canvas = PNGCanvas(width: width, height: height)

        let maxChars = (width - 2 * margin) / (PNGFont.advance * scale)
        func fit(_ s: String, _ limit: Int = maxChars) -> String { s.count <= limit ? s : String(s.prefix(limit - 1)) + "…" }
        var y = margin
        canvas.text(fit("FaceTwin: \(pairs.count) pairs, sorted by distance"), x: margin, y: y, scale: scale)
        y += lineHeight
        canvas.text(fit(String(format: "Match if distance ≤ %.3f", threshold.value)), x: margin, y: y, scale: scale)
        y += lineHeight
        canvas.text(
            fit(threshold.stored ? "(\(e.storedThresholdMethod ?? "model's threshold"))" : "(EER threshold of these pairs)"),
            x: margin, y: y, scale: scale, .gray)

        for (k, p) in pairs.enumerated() {
            let cx = margin + (k % columns) * (cellWidth + margin)
            let cy = margin + headerHeight + (k / columns) * (cellHeight + margin)
            let frame: PNGCanvas.Color = p.correct ? .green : .red
            canvas.fill(x: cx, y: cy, width: cellWidth, height: cellHeight, .lightGray)
            canvas.stroke(x: cx, y: cy, width: cellWidth, height: cellHeight, thickness: p.correct ? 2 : 5, frame)
            let facesX = cx + (cellWidth - (2 * faceWidth + gap)) / 2
            canvas.draw(images[p.a]!, x: facesX, y: cy + pad, width: faceWidth, height: faceHeight)
            canvas.draw(images[p.b]!, x: facesX + faceWidth + gap, y: cy + pad, width: faceWidth, height: faceHeight)
            var ty = cy + pad + faceHeight + 8
            canvas.text(
                fit("\(shortLabel(e, p.a)) vs \(shortLabel(e, p.b))", (cellWidth - 2 * pad) / (PNGFont.advance * scale)),
                x: cx + pad, y: ty, scale: scale)
            ty += lineHeight
            canvas.text(
                String(format: "%.3f ", p.distance) + (p.match ? "MATCH" : "NO MATCH"), x: cx + pad, y: ty, scale: scale, frame)
            ty += lineHeight
            let truth = p.genuine ? "same person" : "different"
            canvas.text(
                p.correct ? "\(truth): right" : "\(truth): WRONG", x: cx + pad, y: ty, scale: scale, p.correct ? .gray : .red)
        }
        var fy = height - margin - footerHeight + 8
        canvas.text(fit("Green frame: verdict right. Red frame: verdict wrong."), x: margin, y: fy, scale: scale, .gray)
        fy += lineHeight
        canvas.text(fit("Distance = Euclidean distance of the two embeddings."), x: margin, y: fy, scale: scale, .gray)
        return (canvas.png(), pairs)
    }

    /// "s5/3": the image's identity folder and file name without extension.
    static func shortLabel(_ e: Evaluation, _ index: Int) -> String {
        let url = URL(fileURLWithPath: e.imagePaths[index])
        return url.deletingLastPathComponent().lastPathComponent + "/" + url.deletingPathExtension().lastPathComponent
    }
}
