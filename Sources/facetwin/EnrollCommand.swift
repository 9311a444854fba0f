import ArgumentParser
import FaceTwin
import FaceTwinPostgres
import Foundation

struct EnrollCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enroll",
        abstract: "Enroll photos of people into a gallery (created if it does not exist).",
        discussion: """
            One template per photo: its embedding, path and SHA-256. Either --name with photos of \
            one person, or --folder with a folder of identity folders (DIR/<name>/<photo>.pgm), \
            which enrolls everyone in it. An enroll is all or nothing: a photo that cannot be read \
            fails it and nothing is written, unless --skip-bad. A photo already enrolled for the \
            same person is skipped as a duplicate. A new gallery file is readable by you only.
            """
    )

    @Option(help: "Gallery: an SQLite file or a postgres:// URL; created if it does not exist.")
    var gallery: String

    @Option(help: "Model file; needed to create a gallery (default: the model the gallery was made with).")
    var model: String?

    @Option(help: "The identity the photos are enrolled as (new, or added to).")
    var name: String?

    @Option(help: "A folder of identity folders (DIR/<name>/<photo>.pgm): enroll everyone in it, each as its folder's name.")
    var folder: String?

    @OptionGroup var detectOptions: DetectOptionsGroup

    @Flag(help: "Enroll the readable photos and list the others, instead of enrolling nothing.")
    var skipBad = false

    @Flag(help: "Print JSON.")
    var json = false

    @Argument(help: "Photos of the person named by --name (PGM, PPM, PAM, PNG, JPEG or WebP).")
    var photos: [String] = []

    func validate() throws {
        switch (name, folder) {
        case (nil, nil): throw ValidationError("give --name with photos, or --folder")
        case (.some, .some): throw ValidationError("give either --name with photos or --folder, not both")
        case (.some, nil): guard !photos.isEmpty else { throw ValidationError("give at least one photo to enroll as \(name!)") }
        case (nil, .some):
            guard photos.isEmpty else { throw ValidationError("--folder takes no photo arguments (got \(photos[0]))") }
        }
    }

    func run() throws {
        let g: any GalleryStore
        let reports: [EnrollmentReport]
        do {
            if let model, access(gallery, F_OK) != 0 {
                // A first enroll: the photos are read and embedded before any gallery is made, so
                // an enroll that fails, or would enroll nothing, leaves no gallery behind.
                let m = try FaceModel.load(path: model)
                try detectOptions.apply(to: m)
                let plan =
                    try name.map { try Gallery.plan(name: $0, images: photos, model: m, gallery: gallery, skipBad: skipBad) }
                    ?? Gallery.planFolder(root: folder!, model: m, gallery: gallery, skipBad: skipBad)
                if plan.enrollsNothing, let first = plan.skippedPhotos.first {
                    if !json { for s in plan.skippedPhotos { print("  skipped \(s.path): \(s.reason)") } }
                    throw Self.nothingEnrolled(gallery, plan.skippedPhotos.count, first)
                }
                g = try GalleryStores.open(gallery, model: m, modelPath: model, mode: .openOrCreate)
                reports = try g.enroll(plan)
            } else {
                g = try openGallery(gallery, model: model, create: true)
                if let m = g.model { try detectOptions.apply(to: m) }
                if let name {
                    reports = [try g.enroll(name: name, images: photos, skipBad: skipBad)]
                } else {
                    reports = try g.enrollFolder(root: folder!, skipBad: skipBad)
                }
            }
        } catch let error as GalleryError {
            if case .badPhoto = error { throw CLIError("\(error); --skip-bad enrolls the rest") }
            throw error
        }

        // Every photo failed (none enrolled, none already there): an error after the listing.
        let nothing = reports.allSatisfy { $0.enrolled.isEmpty && $0.duplicates.isEmpty }
        let failures = reports.flatMap(\.skipped)
        if json {
            struct Output: Encodable {
                let gallery: String
                let created: Bool
                let modelFingerprint: String
                let identities: [EnrollmentReport]
            }
            try printJSON(
                Output(gallery: gallery, created: g.isNew, modelFingerprint: g.info.modelFingerprint, identities: reports))
            if nothing, let first = failures.first { throw Self.nothingEnrolled(gallery, failures.count, first) }
            return
        }
        if g.isNew {
            print("created gallery \(gallery) for model \(GalleryError.short(g.info.modelFingerprint)) (\(g.info.modelPath))")
        }
        for r in reports {
            if r.enrolled.isEmpty && r.templateCount == 0 {
                print("not enrolled \(r.identity):")
                for s in r.skipped { print("  skipped \(s.path): \(s.reason)") }
                continue
            }
            let photos: String = GalleryText.count(r.enrolled.count, "photo")
            let detail: String = r.isNewIdentity ? "new identity" : "\(GalleryText.count(r.templateCount, "template")) in all"
            print("enrolled \(r.identity): \(photos) (\(detail))")
            for d in r.duplicates { print("  duplicate \(d.path): \(d.reason)") }
            for s in r.skipped { print("  skipped \(s.path): \(s.reason)") }
        }
        if reports.count > 1 {
            var people = 0, photos = 0, skipped = 0, duplicates = 0
            for r in reports {
                if !r.enrolled.isEmpty { people += 1 }
                photos += r.enrolled.count
                skipped += r.skipped.count
                duplicates += r.duplicates.count
            }
            var line = "total: \(people) identities, \(photos) photos enrolled"
            if duplicates > 0 { line += ", \(duplicates) duplicates" }
            if skipped > 0 { line += ", \(skipped) skipped" }
            print(line)
        }
        if nothing, let first = failures.first { throw Self.nothingEnrolled(gallery, failures.count, first) }
    }

    static func nothingEnrolled(_ gallery: String, _ n: Int, _ first: SkippedPhoto) -> CLIError {
        CLIError("\(gallery): nothing enrolled: \(n) photo(s) skipped, the first \(first.path): \(first.reason)")
    }
}
