import ArgumentParser
import FaceTwin
import Foundation

extension MultiFacePolicy: ExpressibleByArgument {}

struct DetectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "Find faces in photos and write aligned crops (an identity folder) and a contact sheet.",
        discussion: """
            --in is a folder of identity folders (IN/<name>/<photo>) or of loose photos. Each face \
            is found with dlib's HOG detector, its eyes with dlib's 68-point landmarks, and it is \
            cut out by a similarity transform that puts the eyes where they sit in ORL's crops, \
            resampled bilinearly, as PGM: OUT/<name>/<photo>.pgm (loose photos: OUT/<photo>.pgm; \
            with --faces all, the second face of a photo is <photo>-2.pgm, and so on). A photo \
            without a face is reported and counted (a failure to acquire); the run goes on. The \
            contact sheet shows each photo with its boxes (green kept, red not kept), eye marks \
            and crops. Needs libdlib-data for the landmark model.
            """
    )

    @Option(name: .customLong("in"), help: "Folder of photos: identity folders, or loose photos.")
    var input: String

    @Option(help: "Folder for the aligned crops (created).")
    var out: String

    @Option(help: "Crop size WxH.")
    var size: String = "92x112"

    @Option(help: "Several faces in a photo: largest (keep the largest), refuse (keep none), all (keep every one).")
    var faces: MultiFacePolicy = .largest

    @Option(help: "Contact sheet PNG (default: OUT/contact-sheet.png).")
    var sheet: String?

    @Option(help: "Landmark model (dlib's 68-point shape predictor).")
    var landmarks: String = FaceDetector.defaultLandmarkModel

    @Flag(help: "Print JSON (every photo, its faces, boxes, eyes and crops) instead of text.")
    var json = false

    func validate() throws { _ = try Self.parseSize(size) }

    static func parseSize(_ s: String) throws -> (width: Int, height: Int) {
        let d = s.lowercased().replacingOccurrences(of: "×", with: "x").split(separator: "x").map { Int($0) }
        guard d.count == 2, let w = d[0], let h = d[1], w >= 8, h >= 8, w <= 4096, h <= 4096 else {
            throw ValidationError("--size must be WxH with sides from 8 to 4096 (got \"\(s)\")")
        }
        return (w, h)
    }

    struct PhotoReport: Encodable {
        var path: String
        var identity: String?
        var status: FaceAcquisition.Status
        var faces: [DetectedFace]
        var crops: [String]
        var milliseconds: Double
    }

    struct Summary: Encodable {
        var photos = 0, facesFound = 0, cropsWritten = 0, noFace = 0, multiFace = 0, refused = 0
        var meanMilliseconds = 0.0
    }

    func run() throws {
        let (w, h) = try Self.parseSize(size)
        let photos = try PhotoList.list(input)
        guard !photos.isEmpty else { throw CLIError("\(input): no photos (.pgm, .ppm, .pnm or .pam files)") }
        let cropper = FaceCropper(
            detector: try FaceDetector(landmarkModel: landmarks),
            aligner: FaceAligner(width: w, height: h), policy: faces)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        var reports: [PhotoReport] = []
        var entries: [ContactSheet.Entry] = []
        var summary = Summary()
        var totalMs = 0.0
        for photo in photos {
            let image = try ImageDecoder.decode(path: photo.path)
            let start = DispatchTime.now().uptimeNanoseconds
            let a = try cropper.acquire(image)
            let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            totalMs += ms
            let folder = photo.identity.map { (out as NSString).appendingPathComponent($0) } ?? out
            if !a.crops.isEmpty { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
            var written: [String] = []
            for (k, crop) in a.crops.enumerated() {
                let name = photo.stem + (k == 0 ? "" : "-\(k + 1)") + ".pgm"
                let path = (folder as NSString).appendingPathComponent(name)
                try OutputFile.write(PGMEncoder.encode(crop), to: path)
                written.append(path)
            }
            summary.photos += 1
            summary.facesFound += a.faces.count
            summary.cropsWritten += written.count
            if a.status == .noFace { summary.noFace += 1 }
            if a.isMultiFace { summary.multiFace += 1 }
            if a.status == .refused { summary.refused += 1 }
            reports.append(
                PhotoReport(
                    path: photo.path, identity: photo.identity, status: a.status, faces: a.faces,
                    crops: written, milliseconds: ms))
            let caption = (photo.identity.map { $0 + "/" } ?? "") + photo.name
            entries.append(ContactSheet.Entry(caption: caption, photo: image, acquisition: a))
            if !json {
                switch a.status {
                case .noFace: print("\(photo.path): no face found (failure to acquire)")
                case .refused: print("\(photo.path): \(a.faces.count) faces, refused (--faces refuse)")
                case .ok where a.isMultiFace:
                    print("\(photo.path): \(a.faces.count) faces, kept \(a.crops.count) (--faces \(faces.rawValue))")
                case .ok: break
                }
            }
        }
        summary.meanMilliseconds = (totalMs / Double(max(1, summary.photos)) * 10).rounded() / 10
        let sheetPath = sheet ?? (out as NSString).appendingPathComponent("contact-sheet.png")
        try OutputFile.write(Data(ContactSheet.png(entries)), to: sheetPath)
        if json {
            struct Output: Encodable { var photos: [PhotoReport]; var summary: Summary; var contactSheet: String }
            try printJSON(Output(photos: reports, summary: summary, contactSheet: sheetPath))
            return
        }
        print(
            "photos \(summary.photos), faces found \(summary.facesFound), crops written \(summary.cropsWritten), "
                + "no face \(summary.noFace), multi-face \(summary.multiFace)"
                + (summary.refused > 0 ? " (\(summary.refused) refused)" : ""))
        print(String(format: "detection + alignment: %.1f ms per photo (mean)", summary.meanMilliseconds))
        print("crops in \(out), contact sheet \(sheetPath)")
    }
}

/// The photos of a `--in` folder: identity folders (IN/<name>/<photo>) and loose photos (IN/<photo>),
/// natural order, hidden entries skipped.
enum PhotoList {
    struct Photo { var path: String; var identity: String?; var name: String; var stem: String }

    static func isPhoto(_ name: String) -> Bool {
        !name.hasPrefix(".") && ImageFolder.imageExtensions.contains((name as NSString).pathExtension.lowercased())
    }

    static func list(_ root: String) throws -> [Photo] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDir) else { throw CLIError("\(root): no such folder") }
        guard isDir.boolValue else { throw CLIError("\(root): not a folder (give a folder of photos)") }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: root) } catch {
            throw CLIError("\(root): cannot list: \(error.localizedDescription)")
        }
        var photos: [Photo] = []
        for name in NaturalOrder.sorted(names) where !name.hasPrefix(".") {
            let path = (root as NSString).appendingPathComponent(name)
            var sub: ObjCBool = false
            FileManager.default.fileExists(atPath: path, isDirectory: &sub)
            if sub.boolValue {
                let inner = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                for f in NaturalOrder.sorted(inner) where isPhoto(f) {
                    photos.append(
                        Photo(
                            path: (path as NSString).appendingPathComponent(f), identity: name, name: f,
                            stem: (f as NSString).deletingPathExtension))
                }
            } else if isPhoto(name) {
                photos.append(Photo(path: path, identity: nil, name: name, stem: (name as NSString).deletingPathExtension))
            }
        }
        return photos
    }
}
