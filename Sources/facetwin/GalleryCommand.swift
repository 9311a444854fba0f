import ArgumentParser
import FaceTwin
import FaceTwinPostgres
import Foundation

struct GalleryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gallery",
        abstract: "List, show, remove, rename, export, import and copy the identities of a gallery.",
        discussion:
            "A gallery is made and filled by `facetwin enroll` (or `gallery import --model`); these commands need no model.",
        subcommands: [
            GalleryListCommand.self, GalleryShowCommand.self, GalleryRemoveCommand.self, GalleryRenameCommand.self,
            GalleryExportCommand.self, GalleryImportCommand.self, GalleryCopyCommand.self
        ]
    )
}

struct GalleryListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the gallery's identities with their number of templates."
    )

    @Option(help: "Gallery: an SQLite file or a postgres:// URL.")
    var gallery: String

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let g = try GalleryStores.open(gallery)
        let identities = try g.identities()
        if json {
            struct Output: Encodable { let gallery: String; let info: GalleryInfo; let identities: [IdentitySummary] }
            try printJSON(Output(gallery: gallery, info: g.info, identities: identities))
            return
        }
        var templates = 0
        var width = 8
        for i in identities {
            templates += i.templateCount
            width = max(width, i.name.count)
        }
        let people: String = identities.count == 1 ? "1 identity" : "\(identities.count) identities"
        let fingerprint: String = GalleryError.short(g.info.modelFingerprint)
        let created: String = GalleryText.date(g.info.createdAt)
        print("gallery \(gallery): \(people), \(GalleryText.count(templates, "template"))")
        print("model \(fingerprint) (\(g.info.modelPath)), created \(created)")
        guard !identities.isEmpty else { return }
        print("\(GalleryText.pad("identity", width))  templates  enrolled")
        for i in identities {
            let name: String = GalleryText.pad(i.name, width)
            let count: String = GalleryText.pad(String(i.templateCount), 9, right: true)
            let date: String = GalleryText.date(i.enrolledAt)
            print("\(name)  \(count)  \(date)")
        }
    }
}

struct GalleryShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one identity's templates: when each photo was enrolled, its SHA-256 and path."
    )

    @Option(help: "Gallery: an SQLite file or a postgres:// URL.")
    var gallery: String

    @Flag(help: "Print JSON (with the embeddings).")
    var json = false

    @Argument(help: "Identity name.")
    var name: String

    func run() throws {
        let g = try GalleryStores.open(gallery)
        let templates = try g.templates(of: name)
        if json {
            struct Output: Encodable { let gallery: String; let identity: String; let templates: [GalleryTemplate] }
            try printJSON(Output(gallery: gallery, identity: name, templates: templates))
            return
        }
        print("\(name): \(GalleryText.count(templates.count, "template")) in \(gallery)")
        for t in templates {
            let date: String = GalleryText.date(t.enrolledAt)
            let sha: String = String(t.imageSHA256.prefix(12))
            print("  #\(t.id)  \(date)  sha256 \(sha)  \(t.imagePath)")
        }
    }
}

struct GalleryRemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove an identity and all its templates (deleted data is overwritten)."
    )

    @Option(help: "Gallery: an SQLite file or a postgres:// URL.")
    var gallery: String

    @Argument(help: "Identity name.")
    var name: String

    func run() throws {
        let removed = try GalleryStores.open(gallery, forWriting: true).remove(name: name)
        print("removed \(name) (\(GalleryText.count(removed, "template")))")
    }
}

struct GalleryRenameCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rename",
        abstract: "Rename an identity, keeping its templates."
    )

    @Option(help: "Gallery: an SQLite file or a postgres:// URL.")
    var gallery: String

    @Argument(help: "Current identity name.")
    var old: String

    @Argument(help: "New identity name (not already in the gallery).")
    var new: String

    func run() throws {
        try GalleryStores.open(gallery, forWriting: true).rename(old: old, new: new)
        print("renamed \(old) to \(new)")
    }
}

struct GalleryExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write every template to a CSV file: identity, path, sha256 and the embedding's values.",
        discussion: "The first line records the model's fingerprint and the dimension; `gallery import` reads the file."
    )

    @Option(help: "Gallery: an SQLite file or a postgres:// URL.")
    var gallery: String

    @Option(help: "The CSV file to write.")
    var out: String

    func run() throws {
        let count = try GalleryStores.open(gallery).export(to: out)
        print("exported \(GalleryText.count(count, "template")) to \(out)")
    }
}

struct GalleryImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Add the templates of a `gallery export` file to a gallery, all or none.",
        discussion:
            "The file's model fingerprint must be the gallery's; --model creates a new gallery. A template "
            + "already in the gallery (same identity and SHA-256) is left out and counted."
    )

    @Option(help: "Gallery: an SQLite file or a postgres:// URL (created with --model when missing).")
    var gallery: String

    @Option(help: "The model the templates were made with (needed to create a gallery).")
    var model: String?

    @Argument(help: "The CSV file written by `facetwin gallery export`.")
    var file: String

    func run() throws {
        let export = try TemplateExport.read(path: file)
        let g: any GalleryStore
        if let model {
            // Checked before the gallery is opened, so a mismatch creates nothing.
            try export.check(model: try FaceModel.load(path: model), target: "model \(model)")
            g = try openGallery(gallery, model: model, create: true)
        } else {
            do throws(GalleryError) {
                g = try GalleryStores.open(gallery, forWriting: true)
            } catch {
                if case .notFound(let path) = error { throw CLIError("\(path): no gallery here; give --model to create one") }
                throw error
            }
        }
        let report = try g.importTemplates(export)
        let people = report.newIdentities.count == 1 ? "1 new identity" : "\(report.newIdentities.count) new identities"
        print(
            "imported \(GalleryText.count(report.imported, "template")) into \(gallery) (\(people), "
                + "\(GalleryText.count(report.duplicates, "duplicate")) left out)")
    }
}

struct GalleryCopyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy every template of one gallery into another: SQLite to PostgreSQL or back, all or none.",
        discussion:
            "The destination is created bound to the source's model (the model the source recorded, or --model, "
            + "whose fingerprint must be the source's), or must already be a gallery of that model. A template "
            + "the destination already holds (same identity and SHA-256) is left out and counted."
    )

    @Argument(help: "The gallery to copy: an SQLite file or a postgres:// URL.")
    var source: String

    @Argument(help: "The gallery to copy into: an SQLite file or a postgres:// URL.")
    var destination: String

    @Option(help: "The source's model, when it is no longer where the source recorded it.")
    var model: String?

    func run() throws {
        let from = try GalleryStores.open(source)
        let export = try from.templateExport()
        let modelPath = model ?? from.info.modelPath
        let m: FaceModel
        do {
            m = try FaceModel.load(path: modelPath)
        } catch {
            throw CLIError("\(error) (the model gallery \(source) was made with; pass --model)")
        }
        try export.check(model: m, target: "model \(modelPath)")
        let to = try GalleryStores.open(destination, model: m, modelPath: modelPath, mode: .openOrCreate)
        let report = try to.importTemplates(export)
        print(
            "copied \(GalleryText.count(report.imported, "template")) of \(GalleryText.count(export.rows.count, "template")) "
                + "from \(from.path) to \(to.path) (\(GalleryText.count(report.duplicates, "duplicate")) left out)")
    }
}
