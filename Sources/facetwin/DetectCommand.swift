import ArgumentParser
import FaceTwin
import Foundation

extension MultiFacePolicy: ExpressibleByArgument {}

struct DetectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "Find faces in photos and write aligned crops (an identity folder) and a contact sheet.",
        discussion: """
            --in is a folder of identity folders (IN/<name>/<photo>) or of loose photos, or one \
            photo. Each face is found with dlib's HOG detector, its eyes with dlib's 68-point \
            landmarks, and it is cut out by a similarity transform that puts the eyes where they \
            sit in ORL's crops, resampled bilinearly, as PGM: OUT/<name>/<photo>.pgm (loose photos: \
            OUT/<photo>.pgm; with --faces all, the second face of a photo is <photo>-2.pgm, and so \
            on; a name already taken in this run gets the photo's extension, then ~2, ~3, ...). \
            With --color, colour photos give colour crops (PPM, .ppm). A photo without a face is \
            reported and counted (a failure to acquire), and so is one that cannot be read or \
            whose crop cannot be written; the run goes on. The contact sheet shows each photo, in \
            colour if it is, with its boxes (green kept, red not kept), eye marks and crops. The \
            output folder and the sheet are not read as input. Needs libdlib-data for the \
            landmark model.
            """
    )

    @Option(name: .customLong("in"), help: "Photos: a folder of identity folders or of loose photos, or one photo.")
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

    @Flag(help: "Crops of colour photos in colour (PPM) rather than grey (PGM), for colour models.")
    var color = false

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
        /// `ok`, `no-face`, `multi-face-refused`, or `failed` (unreadable, or a crop not written).
        var status: String
        var faces: [DetectedFace]
        var crops: [String]
        var milliseconds: Double
        var error: String?
    }

    struct Summary: Encodable {
        var photos = 0, facesFound = 0, cropsWritten = 0, noFace = 0, multiFace = 0, refused = 0, failed = 0
        var meanMilliseconds = 0.0
    }

    /// The output folder, made (or found) before any photo is read: one line if it cannot be.
    static func makeOutputFolder(_ out: String) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: out, isDirectory: &isDir) {
            guard isDir.boolValue else { throw CLIError("\(out): not a folder (--out is the folder the crops go to)") }
        } else {
            do { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) } catch {
                let reason = (error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription
                throw CLIError("\(out): cannot create the folder: \(reason)")
            }
        }
        guard access(out, W_OK) == 0 else {
            throw CLIError("\(out): cannot write in this folder: \(String(cString: strerror(errno)))")
        }
    }

    /// A crop's file name in `folder` not yet used in this run: `stem[-k].ext`, else with the
    /// photo's own extension (`a.png.pgm`), else numbered (`a~2.pgm`).
    static func uniqueName(_ photo: PhotoList.Photo, face k: Int, ext: String, in folder: String, used: inout Set<String>)
        -> String
    {
        let suffix = k == 0 ? "" : "-\(k + 1)"
        var candidates = [photo.stem + suffix, photo.name + suffix]
        var n = 2
        while true {
            for base in candidates {
                let path = (folder as NSString).appendingPathComponent(base + "." + ext)
                if used.insert(path).inserted { return path }
            }
            candidates = [photo.stem + suffix + "~\(n)"]
            n += 1
        }
    }

    func run() throws {
        let (w, h) = try Self.parseSize(size)
        let sheetPath = sheet ?? (out as NSString).appendingPathComponent("contact-sheet.png")
        let photos = try PhotoList.list(input, excluding: [out, sheetPath])
        guard !photos.isEmpty else {
            throw CLIError("\(input): no photos (.pgm, .ppm, .pnm, .pam, .png, .jpg or .jpeg files)")
        }
        let cropper = FaceCropper(
            detector: try FaceDetector(landmarkModel: landmarks),
            aligner: FaceAligner(width: w, height: h), policy: faces)
        try Self.makeOutputFolder(out)
        try OutputFile.checkWritable(sheetPath)
        var reports: [PhotoReport] = []
        var entries: [ContactSheet.Entry] = []
        var summary = Summary()
        var totalMs = 0.0, timed = 0
        var used = Set<String>()
        for photo in photos {
            summary.photos += 1
            let decoded: DecodedImage
            do { decoded = try ImageDecoder.decodeImage(path: photo.path, keepColor: true) } catch {
                summary.failed += 1
                reports.append(
                    PhotoReport(
                        path: photo.path, identity: photo.identity, status: "failed", faces: [], crops: [], milliseconds: 0,
                        error: error.description))
                if !json { print("\(error.description) (skipped)") }
                continue
            }
            let image = decoded.gray
            let colorPhoto = decoded.isColor ? decoded.rgb : nil
            let start = DispatchTime.now().uptimeNanoseconds
            let a: FaceAcquisition
            do { a = try cropper.acquire(image, color: colorPhoto) } catch {
                summary.failed += 1
                reports.append(
                    PhotoReport(
                        path: photo.path, identity: photo.identity, status: "failed", faces: [], crops: [], milliseconds: 0,
                        error: "\(photo.path): \(error)"))
                if !json { print("\(photo.path): \(error) (skipped)") }
                continue
            }
            let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            totalMs += ms
            timed += 1
            let folder = photo.identity.map { (out as NSString).appendingPathComponent($0) } ?? out
            let colorCrops = a.colorCrops
            var written: [String] = []
            var failure: String? = nil
            do {
                if !a.crops.isEmpty { try Self.makeOutputFolder(folder) }
                for (k, crop) in a.crops.enumerated() {
                    let colour = color && k < colorCrops.count
                    let path = Self.uniqueName(photo, face: k, ext: colour ? "ppm" : "pgm", in: folder, used: &used)
                    try OutputFile.write(colour ? PGMEncoder.encode(colorCrops[k]) : PGMEncoder.encode(crop), to: path)
                    written.append(path)
                }
            } catch {
                failure = "\(error)"
            }
            summary.facesFound += a.faces.count
            summary.cropsWritten += written.count
            if failure != nil { summary.failed += 1 }
            if a.status == .noFace { summary.noFace += 1 }
            if a.isMultiFace { summary.multiFace += 1 }
            if a.status == .refused { summary.refused += 1 }
            reports.append(
                PhotoReport(
                    path: photo.path, identity: photo.identity, status: failure == nil ? a.status.rawValue : "failed",
                    faces: a.faces, crops: written, milliseconds: ms, error: failure))
            let caption = (photo.identity.map { $0 + "/" } ?? "") + photo.name
            entries.append(
                ContactSheet.Entry(
                    caption: caption, photo: image, acquisition: a, colorPhoto: colorPhoto, colorCrops: colorCrops))
            if !json {
                if let failure { print("\(failure) (crop of \(photo.path) not written)") }
                switch a.status {
                case .noFace: print("\(photo.path): no face found (failure to acquire)")
                case .refused: print("\(photo.path): \(a.faces.count) faces, refused (--faces refuse)")
                case .ok where a.isMultiFace:
                    print("\(photo.path): \(a.faces.count) faces, kept \(a.crops.count) (--faces \(faces.rawValue))")
                case .ok: break
                }
            }
        }
        summary.meanMilliseconds = (totalMs / Double(max(1, timed)) * 10).rounded() / 10
        try OutputFile.write(Data(ContactSheet.png(entries)), to: sheetPath)
        if summary.failed == summary.photos, let first = reports.lazy.compactMap(\.error).first {
            throw CLIError("\(input): every photo failed (\(summary.failed)); the first: \(first)")
        }
        if json {
            struct Output: Encodable { var photos: [PhotoReport]; var summary: Summary; var contactSheet: String }
            try printJSON(Output(photos: reports, summary: summary, contactSheet: sheetPath))
            return
        }
        print(
            "photos \(summary.photos), faces found \(summary.facesFound), crops written \(summary.cropsWritten), "
                + "no face \(summary.noFace), multi-face \(summary.multiFace)"
                + (summary.refused > 0 ? " (\(summary.refused) refused)" : "")
                + (summary.failed > 0 ? ", failed \(summary.failed)" : ""))
        print(String(format: "detection + alignment: %.1f ms per photo (mean)", summary.meanMilliseconds))
        print("crops in \(out), contact sheet \(sheetPath)")
    }
}

/// The photos of a `--in` folder: identity folders (IN/<name>/<photo>) and loose photos (IN/<photo>),
/// natural order, hidden entries skipped.
enum PhotoList {
    struct Photo { var path: String; var identity: String?; var name: String; var stem: String }

    /// The photos of `root` (a folder, or one photo), leaving out `excluded` paths (the output
    /// folder and contact sheet, when they lie inside `root`).
    static func list(_ root: String, excluding excluded: [String] = []) throws -> [Photo] {
        let listing: FolderListing
        do { listing = try FolderListing(root) } catch {
            switch error {
            case .rootNotFound: throw CLIError("\(root): no such file or folder")
            case .notADirectory:
                let name = (root as NSString).lastPathComponent
                return [Photo(path: root, identity: nil, name: name, stem: (name as NSString).deletingPathExtension)]
            case .unreadableDirectory(_, let reason): throw CLIError("\(root): cannot list: \(reason)")
            default: throw error
            }
        }
        let skip = Set(excluded.map(canonical))
        var photos: [Photo] = []
        for entry in listing.entries where !skip.contains(canonical(entry.path)) {
            if entry.isDirectory {
                // A folder that cannot be listed holds no photos.
                for file in (try? FolderListing(entry.path))?.images ?? [] where !skip.contains(canonical(file.path)) {
                    photos.append(Photo(path: file.path, identity: entry.name, name: file.name, stem: Self.stem(file.name)))
                }
            } else if entry.hasImageExtension {
                photos.append(Photo(path: entry.path, identity: nil, name: entry.name, stem: Self.stem(entry.name)))
            }
        }
        return photos
    }

    static func stem(_ name: String) -> String { (name as NSString).deletingPathExtension }

    /// `path` absolute, with symbolic links resolved where it exists.
    static func canonical(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return URL(fileURLWithPath: absolute).resolvingSymlinksInPath().standardizedFileURL.path
    }
}
