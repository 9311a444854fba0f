/// A contact sheet for face detection: per photo, a thumbnail with its detected boxes (green:
/// kept, red: not kept) and eye marks, the aligned crops beside it, and a caption.
public enum ContactSheet {
    public struct Entry: Sendable {
        public var caption: String
        public var photo: GrayImage
        public var acquisition: FaceAcquisition
        /// The photo and its crops in colour, drawn instead of the grey ones when given.
        public var colorPhoto: RGBImage?
        public var colorCrops: [RGBImage]
        public init(
            caption: String, photo: GrayImage, acquisition: FaceAcquisition, colorPhoto: RGBImage? = nil,
            colorCrops: [RGBImage] = []
        ) {
            self.caption = caption
            self.photo = photo
            self.acquisition = acquisition
            self.colorPhoto = colorPhoto
            self.colorCrops = colorCrops
        }
    }

    static let thumbWidth = 192, thumbHeight = 144, maxCrops = 3, columns = 2
    static let cropWidth = 74, cropHeight = 90

    /// The sheet as PNG bytes: two photos a row.
    public static func png(_ entries: [Entry]) -> [UInt8] {
        let captionHeight = PNGCanvas.textHeight(scale: 1) + 6
        let cellWidth = thumbWidth + 8 + maxCrops * (cropWidth + 4) + 16
        let cellHeight = captionHeight + thumbHeight + 12
        let rows = max(1, (entries.count + columns - 1) / columns)
        var canvas = PNGCanvas(width: columns * cellWidth, height: rows * cellHeight, background: .white)
        let yellow = PNGCanvas.Color(240, 200, 0)
        for (n, e) in entries.enumerated() {
            let x0 = (n % columns) * cellWidth + 6, y0 = (n / columns) * cellHeight + 4
            let a = e.acquisition
            let color: PNGCanvas.Color = a.status == .ok ? .black : .red
            canvas.text(e.caption, x: x0, y: y0, scale: 1, color)
            // Thumbnail, aspect kept.
            let f = min(Double(thumbWidth) / Double(e.photo.width), Double(thumbHeight) / Double(e.photo.height))
            let tw = max(1, Int(Double(e.photo.width) * f)), th = max(1, Int(Double(e.photo.height) * f))
            let ty = y0 + captionHeight
            if let color = e.colorPhoto {
                canvas.draw(color, x: x0, y: ty, width: tw, height: th)
            } else {
                canvas.draw(e.photo, x: x0, y: ty, width: tw, height: th)
            }
            for (i, face) in a.faces.enumerated() {
                let b = face.box
                let kept = a.kept.contains(i)
                canvas.stroke(
                    x: x0 + Int(b.x * f), y: ty + Int(b.y * f), width: max(3, Int(b.width * f)),
                    height: max(3, Int(b.height * f)), thickness: 2, kept ? .green : .red)
                let eyes = FaceAligner.eyes(of: face)
                for p in [eyes.left, eyes.right] {
                    canvas.fill(x: x0 + Int(p.x * f) - 1, y: ty + Int(p.y * f) - 1, width: 3, height: 3, yellow)
                }
            }
            for (k, crop) in a.crops.prefix(maxCrops).enumerated() {
                let x = x0 + thumbWidth + 8 + k * (cropWidth + 4)
                if k < e.colorCrops.count {
                    canvas.draw(e.colorCrops[k], x: x, y: ty, width: cropWidth, height: cropHeight)
                } else {
                    canvas.draw(crop, x: x, y: ty, width: cropWidth, height: cropHeight)
                }
            }
            if a.crops.isEmpty {
                canvas.text(
                    a.status == .noFace ? "no face" : "refused: \(a.faces.count) faces",
                    x: x0 + thumbWidth + 8, y: ty + 4, scale: 1, .red)
            }
        }
        return canvas.png()
    }
}
